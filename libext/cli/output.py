"""Printing reports: one JSON document with ``--json``, readable text otherwise."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import Any

import click
from flask import current_app

EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_USAGE = 2


def emit(data: Any, as_json: bool, text: str | None = None) -> None:
    """Print ``data`` as one JSON document, or ``text`` (default: a readable rendering)."""
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(text if text is not None else _render(data))


def fail(message: str, as_json: bool = False, code: int = EXIT_USAGE) -> None:
    """Report an error (stderr, or a JSON ``{"error": …}`` on stdout) and exit."""
    if as_json:
        click.echo(json.dumps({"error": message}, ensure_ascii=False))
    else:
        click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def _render(data: Any) -> str:
    if isinstance(data, dict):
        return "\n".join(f"{k}: {v}" for k, v in data.items())
    return str(data)


def yield_cpu() -> None:
    """Lower this process's CPU priority by ``LIBEXT_BATCH_NICENESS`` (long batch jobs).

    An import or harvest run on the server that also answers readers would otherwise take
    a whole core from the search pages; niced, it still uses every idle cycle.
    """
    niceness = int(current_app.config.get("LIBEXT_BATCH_NICENESS", 0) or 0)
    if niceness > 0 and hasattr(os, "nice"):
        with contextlib.suppress(OSError):  # not permitted here: stay at normal priority
            os.nice(niceness)
