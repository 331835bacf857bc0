"""``flask libext demo``."""

from __future__ import annotations

import click
from flask import current_app

from libext.cli import cli
from libext.cli.output import EXIT_PARTIAL, emit
from libext.demo import load_demo


@cli.command("demo")
@click.option("--json", "as_json", is_flag=True, help="Print the load report as JSON.")
def demo(as_json: bool) -> None:
    """Load the demo network (Hà Nam's provincial and district libraries); idempotent."""
    report = load_demo(current_app.extensions["libext"])
    lines = [
        f"{code}: read {r['read']}, created {r['created']}, updated {r['updated']}, "
        f"skipped {r['skipped']}, rejected {r['rejected']}"
        for code, r in report["libraries"].items()
    ]
    lines.append(f"deleted: {report['deleted']}")
    emit(report, as_json, "\n".join(lines))
    if any(r["rejected"] for r in report["libraries"].values()):
        raise SystemExit(EXIT_PARTIAL)
