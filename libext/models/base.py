"""Declarative base shared by every libext model.

libext's tables live in their own :class:`~sqlalchemy.MetaData` (all prefixed ``libext_``) so
that they never collide with a host ILS's tables, while sessions and engines come from the
host's Flask-SQLAlchemy instance when there is one.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of libext's models."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """The current time as a naive UTC datetime, as every libext timestamp is stored.

    Naive because SQLite has no time zones; UTC because OAI-PMH datestamps are UTC.
    """
    return datetime.now(UTC).replace(tzinfo=None)
