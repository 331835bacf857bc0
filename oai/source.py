"""The host seam: how the OAI-PMH provider and the exporter read records.

An ILS that keeps bibliographic data in its own tables implements :class:`RecordSource` and
hands it to ``LibExt(record_source=...)``; the provider and the exporter then publish those
records without copying them. libext's own store implements the same protocol
(``libext.seam.StoreRecordSource``).

The contract is small on purpose:

* every record has a stable ``key`` (an ``int`` or a ``str``, the same type for all records of
  one source) that is unique within the source and never reused;
* records are listed in ascending ``(datestamp, key)`` order, and a listing can restart strictly
  after a given ``(datestamp, key)`` position. That keyset, never an offset, is what resumption
  tokens carry, so a harvest that runs while records change neither skips nor repeats records
  that stayed unchanged throughout;
* a deleted record stays listable with ``deleted=True`` (OAI ``deletedRecord=persistent``);
* ``datestamp`` is a naive UTC :class:`~datetime.datetime` that changes whenever the record (its
  metadata, holdings or deleted flag) changes. Sources return it at the precision they store
  (microseconds included): the provider shows it to the second, but positions (``after``)
  must carry the full value, or records sharing a second would be listed twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import pymarc

#: Position in a listing: the ``(datestamp, key)`` of the last record already returned.
Position = tuple[datetime, int | str]


@dataclass(frozen=True, slots=True)
class HoldingInfo:
    """One copy of a record held by a library (exported as MARC 852)."""

    library_code: str
    library_name: str = ""
    call_number: str = ""
    barcode: str = ""
    location: str = ""
    status: str = ""


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a harvested record came from (OAI provenance ``originDescription``)."""

    base_url: str
    identifier: str
    datestamp: str
    metadata_namespace: str = "http://www.loc.gov/MARC21/slim"
    harvest_date: str = ""


def _parse_iso2709(data: bytes) -> pymarc.Record:
    return pymarc.Record(data=data, to_unicode=True, force_utf8=True)


class SourceRecord:
    """A record as a source hands it out.

    ``record`` is ``None`` only for deleted records whose metadata the source no longer has.
    A source that keeps UTF-8 ISO 2709 may pass ``marc_bytes`` alone: ``record`` is then
    parsed on first access only, so listings that never look at the metadata
    (ListIdentifiers, counts, exports of the stored bytes) never pay for parsing.
    ``sets`` are OAI setSpecs (``library:HNM``, ``type:am``…) the record belongs to.
    """

    __slots__ = (
        "_record",
        "datestamp",
        "deleted",
        "holdings",
        "key",
        "library_code",
        "marc_bytes",
        "provenance",
        "sets",
    )

    def __init__(
        self,
        key: int | str,
        datestamp: datetime,
        deleted: bool,
        record: pymarc.Record | None = None,
        sets: Sequence[str] = (),
        holdings: Sequence[HoldingInfo] = (),
        provenance: Provenance | None = None,
        library_code: str | None = None,
        marc_bytes: bytes | None = None,
    ) -> None:
        self.key = key
        self.datestamp = datestamp
        self.deleted = deleted
        self._record = record
        self.sets = sets
        self.holdings = holdings
        self.provenance = provenance
        #: The library the record belongs to (its code), when the source knows one.
        self.library_code = library_code
        #: ISO 2709 bytes as stored, when the source keeps them (exports stay byte-identical).
        self.marc_bytes = marc_bytes

    @property
    def record(self) -> pymarc.Record | None:
        """The MARC record, parsed from ``marc_bytes`` on first access when not given."""
        if self._record is None and self.marc_bytes is not None:
            self._record = _parse_iso2709(self.marc_bytes)
        return self._record

    #: Constructor arguments, in order.
    FIELDS = (
        "key",
        "datestamp",
        "deleted",
        "record",
        "sets",
        "holdings",
        "provenance",
        "library_code",
        "marc_bytes",
    )

    def replace(self, **changes: Any) -> SourceRecord:
        """A copy with ``changes`` applied (as :func:`dataclasses.replace` would)."""
        values = {name: getattr(self, name) for name in self.FIELDS if name != "record"}
        values["record"] = self._record
        values.update(changes)
        return SourceRecord(**values)

    @property
    def has_metadata(self) -> bool:
        """True when the source has the record's metadata (without parsing it)."""
        return self._record is not None or self.marc_bytes is not None

    def __repr__(self) -> str:
        state = "deleted" if self.deleted else "live"
        return f"<SourceRecord {self.key!r} {self.datestamp:%Y-%m-%dT%H:%M:%S} {state}>"


@dataclass(frozen=True, slots=True)
class SetInfo:
    """An OAI set: its spec and a human-readable name."""

    spec: str
    name: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class ListQuery:
    """Which records a listing asks for. All bounds are inclusive; ``None`` is unbounded.

    ``after`` is exclusive: only records strictly after that ``(datestamp, key)``.
    ``include_deleted`` is False for exports that leave deletions out.
    """

    since: datetime | None = None
    until: datetime | None = None
    set_spec: str | None = None
    after: Position | None = None
    include_deleted: bool = True
    library_code: str | None = None
    keys: Sequence[int | str] | None = field(default=None)


@runtime_checkable
class RecordSource(Protocol):
    """What the OAI provider and the exporter need from wherever records live."""

    def earliest_datestamp(self) -> datetime | None:
        """The smallest datestamp of any record, deleted ones included; None when empty."""
        ...

    def get(self, key: int | str) -> SourceRecord | None:
        """One record by key, deleted or not; None when the key was never used."""
        ...

    def parse_key(self, text: str) -> int | str | None:
        """Turn the local part of an OAI identifier back into a key; None when malformed."""
        ...

    def list(self, query: ListQuery, limit: int) -> list[SourceRecord]:
        """Up to ``limit`` records matching ``query`` in ``(datestamp, key)`` order."""
        ...

    def count(self, query: ListQuery) -> int:
        """How many records match ``query`` (``after`` ignored): ``completeListSize``."""
        ...

    def sets(self) -> Iterable[SetInfo]:
        """Every set the source offers; empty when it has no set hierarchy."""
        ...
