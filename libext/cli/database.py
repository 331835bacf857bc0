"""``flask libext init-db``."""

from __future__ import annotations

import click
from flask import current_app

from libext.cli import cli
from libext.cli.output import emit
from libext.migrate import upgrade


@cli.command("init-db")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def init_db(as_json: bool) -> None:
    """Create or upgrade libext's tables through the migrations (safe to run again)."""
    engine = current_app.extensions["libext"].db.engine
    applied = upgrade(engine)
    text = f"Database upgraded: {', '.join(applied)}" if applied else "Database already up to date."
    emit({"applied": applied}, as_json, text)
