"""``flask libext library add|list``."""

from __future__ import annotations

import re

import click
from sqlalchemy import select

from libext.cli import cli
from libext.cli.output import emit, fail
from libext.db import get_session
from libext.models import Library, live_record_counts

CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")


@cli.group("library")
def library_group() -> None:
    """Libraries of the network."""


@library_group.command("add")
@click.argument("code")
@click.option("--name", required=True, help="The library's name.")
@click.option("--isil", default=None, help="ISIL-style identifier, e.g. VN-HNM.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def add(code: str, name: str, isil: str | None, as_json: bool) -> None:
    """Add a library with CODE (letters, digits, '.', '_', '-'; used in set specs and URLs)."""
    if not CODE_PATTERN.fullmatch(code):
        fail(f"invalid library code {code!r}: use letters, digits, '.', '_' or '-'", as_json)
    if not name.strip():
        fail("the library's name must not be empty", as_json)
    session = get_session()
    if session.scalar(select(Library).where(Library.code == code)) is not None:
        fail(f"library {code} already exists", as_json)
    library = Library(code=code, name=name.strip(), isil=isil)
    session.add(library)
    session.commit()
    emit(library.to_dict(), as_json, f"Added library {code}: {library.name}")


@library_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def list_(as_json: bool) -> None:
    """List the libraries with their record counts."""
    session = get_session()
    counts = live_record_counts(session)
    rows = []
    for lib in session.scalars(select(Library).order_by(Library.code)):
        rows.append({**lib.to_dict(), "records": counts.get(lib.id, 0)})
    text = "\n".join(f"{r['code']:<10} {r['records']:>7}  {r['name']}" for r in rows)
    emit({"libraries": rows}, as_json, text or "No libraries yet.")
