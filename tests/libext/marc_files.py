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


#: The copies :func:`koha_book` holds, as each is exported: one 852 per Koha 952 item.
KOHA_852S = [
    [("a", "HNM"), ("b", "Kho mở"), ("h", "895.922 NG-D"), ("p", "KOHA-1")],
    [("a", "HNM"), ("b", "Phòng đọc"), ("h", "895.922 NG-D"), ("p", "KOHA-2"), ("z", "lost")],
]


def koha_book(control: str, title: str) -> pymarc.Record:
    """A record as Koha exports it: its copies are 952 items (with a 942 item type)."""
    record = book(control, title)

    def local(tag: str, *pairs: tuple[str, str]) -> pymarc.Field:
        subs = [pymarc.Subfield(code, value) for code, value in pairs]
        return pymarc.Field(tag, pymarc.Indicators(" ", " "), subs)

    record.add_field(
        local("942", ("c", "BK")),
        local(
            "952",
            ("a", "HNM"),
            ("b", "HNM"),
            ("c", "Kho mở"),
            ("o", "895.922 NG-D"),
            ("p", "KOHA-1"),
            ("g", "120000"),
            ("y", "BK"),
        ),
        local(
            "952",
            ("a", "HNM"),
            ("c", "Phòng đọc"),
            ("o", "895.922 NG-D"),
            ("p", "KOHA-2"),
            ("1", "1"),
        ),
    )
    return record


def koha_exported(record: pymarc.Record, *, barcodes: bool = True) -> pymarc.Record:
    """What an export writes for :func:`koha_book`: the record as it was, but its 952 items
    written as the 852s :data:`KOHA_852S` in MARC 21 order (before the 9XX fields)."""
    copies = [
        pymarc.Field(
            "852",
            pymarc.Indicators(" ", " "),
            [pymarc.Subfield(c, v) for c, v in pairs if barcodes or c != "p"],
        )
        for pairs in KOHA_852S
    ]
    kept = [f for f in record.fields if f.tag != "952"]
    at = next(i for i, f in enumerate(kept) if f.tag == "942")
    out = pymarc.Record(force_utf8=True, leader=str(record.leader))
    out.fields = kept[:at] + copies + kept[at:]
    return out
