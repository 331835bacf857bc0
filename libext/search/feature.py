"""Wires the search into the extension: the store hook that keeps clusters and index current."""

from __future__ import annotations

from flask import Flask

from libext.search.indexer import after_write


def init_app(app: Flask, state: object) -> None:
    """Register the search index's ``after_write`` hook on the record store."""
    hooks = state.after_write  # type: ignore[attr-defined]
    if after_write not in hooks:
        hooks.append(after_write)
