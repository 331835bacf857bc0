"""A tiny host ILS with its own book table, publishing it through libext's host seam.

It stands for an existing Flask ILS: its own Flask-SQLAlchemy instance, its own ``Book``
model, and a :class:`BookSource` that turns books into MARC records on the fly, so that
libext's OAI provider and exporter serve them without copying anything into libext's tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import pymarc
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import String, and_, func, or_, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from libext import LibExt
from oai.source import HoldingInfo, ListQuery, SetInfo, SourceRecord


class HostBase(DeclarativeBase):
    """The host's own declarative base (nothing shared with libext)."""


db = SQLAlchemy(model_class=HostBase)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Book(db.Model):  # type: ignore[name-defined,misc]
    """The host's book table: flat columns, no MARC anywhere."""

    __tablename__ = "book"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    author: Mapped[str] = mapped_column(String(255), default="")
    isbn: Mapped[str] = mapped_column(String(20), default="")
    year: Mapped[int | None] = mapped_column()
    shelfmark: Mapped[str] = mapped_column(String(64), default="")
    withdrawn: Mapped[bool] = mapped_column(default=False)
    updated: Mapped[datetime] = mapped_column(default=_now)


HOST_LIBRARY = "HOST"


def book_to_marc(book: Book) -> pymarc.Record:
    """The host's mapping of a book row to a minimal MARC 21 record."""
    record = pymarc.Record(force_utf8=True, leader="     nam a22     7a 4500")
    record.add_field(pymarc.Field(tag="001", data=f"book{book.id}"))
    record.add_field(pymarc.Field(tag="003", data=HOST_LIBRARY))
    year = f"{book.year:04d}" if book.year else "uuuu"
    record.add_field(pymarc.Field(tag="008", data=f"000000s{year}    vm            000 0 vie d"))
    if book.isbn:
        record.add_field(
            pymarc.Field(
                tag="020", indicators=[" ", " "], subfields=[pymarc.Subfield("a", book.isbn)]
            )
        )
    if book.author:
        record.add_field(
            pymarc.Field(
                tag="100", indicators=["0", " "], subfields=[pymarc.Subfield("a", book.author)]
            )
        )
    record.add_field(
        pymarc.Field(tag="245", indicators=["0", "0"], subfields=[pymarc.Subfield("a", book.title)])
    )
    return record


class BookSource:
    """:class:`oai.source.RecordSource` over the host's ``book`` table (keys: book ids)."""

    def earliest_datestamp(self) -> datetime | None:
        return db.session.scalar(select(func.min(Book.updated)))

    def parse_key(self, text: str) -> int | None:
        return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else None

    def get(self, key: int | str) -> SourceRecord | None:
        book = db.session.get(Book, key) if isinstance(key, int) else None
        return self._to_source(book) if book is not None else None

    def list(self, query: ListQuery, limit: int) -> list[SourceRecord]:
        stmt = self._filtered(select(Book), query)
        if query.after is not None:
            stamp, key = query.after
            stmt = stmt.where(or_(Book.updated > stamp, and_(Book.updated == stamp, Book.id > key)))
        stmt = stmt.order_by(Book.updated, Book.id).limit(limit)
        return [self._to_source(b) for b in db.session.scalars(stmt)]

    def count(self, query: ListQuery) -> int:
        return int(db.session.scalar(self._filtered(select(func.count(Book.id)), query)) or 0)

    def sets(self) -> Iterable[SetInfo]:
        return [SetInfo(f"library:{HOST_LIBRARY}", "Thư viện của hệ thống chủ")]

    @staticmethod
    def _filtered(stmt, query: ListQuery):  # type: ignore[no-untyped-def]
        if query.since is not None:
            stmt = stmt.where(Book.updated >= query.since)
        if query.until is not None:
            stmt = stmt.where(Book.updated <= query.until)
        if not query.include_deleted:
            stmt = stmt.where(Book.withdrawn.is_(False))
        if query.set_spec not in (None, "library", f"library:{HOST_LIBRARY}"):
            stmt = stmt.where(Book.id < 0)
        if query.library_code not in (None, HOST_LIBRARY):
            stmt = stmt.where(Book.id < 0)
        if query.keys is not None:
            stmt = stmt.where(Book.id.in_([k for k in query.keys if isinstance(k, int)]))
        return stmt

    @staticmethod
    def _to_source(book: Book) -> SourceRecord:
        return SourceRecord(
            key=book.id,
            datestamp=book.updated,
            deleted=book.withdrawn,
            record=book_to_marc(book),
            sets=(f"library:{HOST_LIBRARY}",),
            holdings=(HoldingInfo(library_code=HOST_LIBRARY, call_number=book.shelfmark),),
            library_code=HOST_LIBRARY,
        )


SAMPLE_BOOKS = [
    ("Truyện Kiều", "Nguyễn Du", "9786042083550", 2015, "895.9221 NG-D"),
    ("Số đỏ", "Vũ Trọng Phụng", "9786049695695", 2016, "895.92233 V-P"),
    ("Dế Mèn phiêu lưu ký", "Tô Hoài", "9786042088531", 2017, "895.9223 T-H"),
    ("Tắt đèn", "Ngô Tất Tố", "", 1939, "895.92233 NG-T"),
]


def create_host_app(db_url: str, **config: object) -> Flask:
    """The host ILS's app factory: its own db first, then libext on top, fed by BookSource."""
    app = Flask("host_ils")
    app.config.update(TESTING=True, SECRET_KEY="host-secret", SQLALCHEMY_DATABASE_URI=db_url)
    app.config.update(config)
    db.init_app(app)
    LibExt(app, record_source=BookSource())
    with app.app_context():
        HostBase.metadata.create_all(db.engine)
    return app


def add_sample_books(app: Flask) -> list[int]:
    """Fill the host's table with a few books; returns their ids."""
    with app.app_context():
        books = [
            Book(title=t, author=a, isbn=i, year=y, shelfmark=s) for t, a, i, y, s in SAMPLE_BOOKS
        ]
        db.session.add_all(books)
        db.session.commit()
        return [b.id for b in books]
