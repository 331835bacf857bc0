"""Schema migrations (Alembic), run through ``flask libext init-db``.

libext keeps its own version table (``libext_alembic_version``) so that a host ILS that uses
Alembic for its own tables is not disturbed. Each feature adds a revision branching from the
foundation's; ``upgrade`` goes to every head.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

VERSION_TABLE = "libext_alembic_version"
SCRIPT_LOCATION = str(Path(__file__).with_name("migrations"))


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration bound to ``engine``."""
    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    cfg.attributes["engine"] = engine
    return cfg


def current_heads(engine: Engine) -> set[str]:
    """Revisions the database is at (empty for a new database)."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        return set(context.get_current_heads())


def script_heads(engine: Engine) -> set[str]:
    """Revisions the code ships as heads."""
    return set(ScriptDirectory.from_config(alembic_config(engine)).get_heads())


def upgrade(engine: Engine) -> list[str]:
    """Upgrade the schema to every head; returns the revisions the database went through."""
    before = current_heads(engine)
    command.upgrade(alembic_config(engine), "heads")
    after = current_heads(engine)
    return sorted(after - before)
