"""An in-memory :class:`~oai.source.RecordSource` and a small Vietnamese sample repository.

It implements the seam contract literally (keyset order on ``(datestamp, key)``, inclusive
bounds, persistent deletions, hierarchical setSpecs), so the provider can be tested without a
database and a change between two pages can be made by hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import pymarc

from oai.source import HoldingInfo, ListQuery, Provenance, SetInfo, SourceRecord

LIBRARIES = {
    "HNM": "Thư viện tỉnh Hà Nam",
    "DDA": "Thư viện huyện Duy Tiên",
}
TYPE_NAMES = {
    "am": "Sách",
    "as": "Ấn phẩm định kỳ",
    "em": "Bản đồ",
}


class MemorySource:
    """Records kept in a dict; ``put`` and ``delete`` change them like a cataloguer would."""

    def __init__(self, records: Iterable[SourceRecord] = (), sets: Iterable[SetInfo] = ()):
        self.records: dict[int | str, SourceRecord] = {r.key: r for r in records}
        self.set_infos = list(sets)

    def with_sets(self, sets: Iterable[SetInfo]) -> MemorySource:
        """The same source, offering ``sets``."""
        self.set_infos = list(sets)
        return self

    # -- changes -------------------------------------------------------------------------
    def put(self, record: SourceRecord) -> None:
        """Add or replace a record."""
        self.records[record.key] = record

    def touch(self, key: int | str, datestamp: datetime) -> None:
        """Mark a record changed at ``datestamp``."""
        self.records[key] = self.records[key].replace(datestamp=datestamp)

    def delete(self, key: int | str, datestamp: datetime) -> None:
        """Delete a record; it stays listable as a deletion."""
        self.records[key] = self.records[key].replace(
            deleted=True, record=None, marc_bytes=None, datestamp=datestamp
        )

    # -- the seam ------------------------------------------------------------------------
    def earliest_datestamp(self) -> datetime | None:
        return min((r.datestamp for r in self.records.values()), default=None)

    def get(self, key: int | str) -> SourceRecord | None:
        return self.records.get(key)

    def parse_key(self, text: str) -> int | str | None:
        if text.isascii() and text.isdigit() and not (len(text) > 1 and text[0] == "0"):
            return int(text)
        return None

    def _matches(self, record: SourceRecord, query: ListQuery) -> bool:
        if query.since is not None and record.datestamp < query.since:
            return False
        if query.until is not None and record.datestamp > query.until:
            return False
        if query.set_spec is not None and not any(
            s == query.set_spec or s.startswith(query.set_spec + ":") for s in record.sets
        ):
            return False
        if not query.include_deleted and record.deleted:
            return False
        if query.library_code is not None and record.library_code != query.library_code:
            return False
        return query.keys is None or record.key in query.keys

    def list(self, query: ListQuery, limit: int) -> list[SourceRecord]:
        rows = sorted(
            (r for r in self.records.values() if self._matches(r, query)),
            key=lambda r: (r.datestamp, r.key),
        )
        if query.after is not None:
            rows = [r for r in rows if (r.datestamp, r.key) > query.after]
        return rows[:limit]

    def count(self, query: ListQuery) -> int:
        return sum(1 for r in self.records.values() if self._matches(r, query))

    def sets(self) -> list[SetInfo]:
        return list(self.set_infos)


def marc_record(key: int, title: str, library: str, material: str = "am") -> pymarc.Record:
    """A plausible Vietnamese catalogue record."""
    record = pymarc.Record(force_utf8=True)
    record.leader = pymarc.Leader(f"00000n{material} a2200000 i 4500")
    record.add_field(
        pymarc.Field(tag="001", data=f"{library}{key:06d}"),
        pymarc.Field(tag="003", data=library),
        pymarc.Field(tag="008", data="240101s2019    vm a          000 0 vie d"),
        pymarc.Field(
            tag="020",
            indicators=pymarc.Indicators(" ", " "),
            subfields=[pymarc.Subfield("a", f"97860400{key:05d}"), pymarc.Subfield("c", "85000đ")],
        ),
        pymarc.Field(
            tag="100",
            indicators=pymarc.Indicators("1", " "),
            subfields=[pymarc.Subfield("a", "Nguyễn, Du,"), pymarc.Subfield("d", "1765-1820.")],
        ),
        pymarc.Field(
            tag="245",
            indicators=pymarc.Indicators("1", "0"),
            subfields=[
                pymarc.Subfield("a", f"{title} /"),
                pymarc.Subfield("c", "Nguyễn Du."),
            ],
        ),
        pymarc.Field(
            tag="264",
            indicators=pymarc.Indicators(" ", "1"),
            subfields=[
                pymarc.Subfield("a", "Hà Nội :"),
                pymarc.Subfield("b", "Văn học,"),
                pymarc.Subfield("c", "2019."),
            ],
        ),
        pymarc.Field(
            tag="650",
            indicators=pymarc.Indicators(" ", "7"),
            subfields=[
                pymarc.Subfield("a", "Văn học Việt Nam"),
                pymarc.Subfield("y", "Thế kỷ 19"),
                pymarc.Subfield("2", "bộ TK TVQG"),
            ],
        ),
        pymarc.Field(
            tag="852",
            indicators=pymarc.Indicators(" ", " "),
            subfields=[pymarc.Subfield("a", library), pymarc.Subfield("h", "895.922")],
        ),
    )
    return record


def source_record(
    key: int,
    datestamp: datetime,
    library: str = "HNM",
    material: str = "am",
    deleted: bool = False,
    metadata: bool = True,
    provenance: Provenance | None = None,
) -> SourceRecord:
    """A :class:`SourceRecord` of the sample repository."""
    record = None
    if metadata and not deleted:
        record = marc_record(key, f"Truyện Kiều, bản {key}", library, material)
    return SourceRecord(
        key=key,
        datestamp=datestamp,
        deleted=deleted,
        record=record,
        sets=(f"library:{library}", f"type:{material}"),
        holdings=(
            (HoldingInfo(library, LIBRARIES[library], "895.922 NG-D", f"{library}{key:05d}",
                         "Kho mở", "available"),)
            if record is not None
            else ()
        ),
        provenance=provenance,
        library_code=library,
    )  # fmt: skip


def sample_sets() -> list[SetInfo]:
    """library:CODE and type:XX sets with Vietnamese names, and their parents."""
    return [
        SetInfo("library", "Thư viện"),
        *(SetInfo(f"library:{code}", name) for code, name in LIBRARIES.items()),
        SetInfo("type", "Loại tài liệu"),
        *(
            SetInfo(f"type:{code}", name, description=f"Biểu ghi có đầu biểu 06-07 = {code}")
            for code, name in TYPE_NAMES.items()
        ),
    ]
