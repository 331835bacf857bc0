"""Generated MARC files for import tests (real shared files are used where they exist)."""

from __future__ import annotations

from pathlib import Path

import pymarc

from marc.writer import record_to_iso2709


def book(
    control: str,
    title: str,
    *,
    isbn: str | None = None,
    issn: str | None = None,
    system: str | None = None,
    org: str | None = "VN-HNM",
    barcode: str | None = None,
    local: str | None = None,
    status: str = "n",
) -> pymarc.Record:
    """A small bibliographic record with the identifiers a test needs."""
    record = pymarc.Record(force_utf8=True, leader=f"00000{status}am a2200000 i 4500")
    record.add_field(pymarc.Field(tag="001", data=control))
    if org:
        record.add_field(pymarc.Field(tag="003", data=org))
    record.add_field(pymarc.Field(tag="008", data="150101s2015    vm            000 1 vie d"))

    def data(tag: str, code: str, value: str, ind: str = "  ") -> None:
        record.add_field(
            pymarc.Field(tag, pymarc.Indicators(ind[0], ind[1]), [pymarc.Subfield(code, value)])
        )

    if isbn:
        data("020", "a", isbn)
    if issn:
        data("022", "a", issn)
    if system:
        data("035", "a", system)
    data("245", "a", title, "10")
    data("260", "b", "Nxb Giáo dục")
    if local:
        data("590", "a", local)
    if barcode:
        record.add_field(
            pymarc.Field(
                "852",
                pymarc.Indicators(" ", " "),
                [
                    pymarc.Subfield("a", "HNM"),
                    pymarc.Subfield("h", "895.922"),
                    pymarc.Subfield("p", barcode),
                ],
            )
        )
    return record


def write_iso(path: Path, records: list[pymarc.Record]) -> Path:
    """Write records as UTF-8 ISO 2709."""
    path.write_bytes(b"".join(record_to_iso2709(r) for r in records))
    return path


def many(count: int, prefix: str = "gen") -> list[pymarc.Record]:
    """``count`` distinct Vietnamese records."""
    return [
        book(f"{prefix}{i:06d}", f"Lịch sử Việt Nam tập {i}", isbn=None, barcode=f"B{i:06d}")
        for i in range(count)
    ]
