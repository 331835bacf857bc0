"""Small builders for MARC test records (no files needed)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pymarc
import pytest

from marc import iso2709


def make_iso(
    fields: list[tuple[str, bytes]], leader09: str = "a", status: str = "n", type_: str = "a"
) -> bytes:
    """ISO 2709 bytes from (tag, encoded field body) pairs; leader/09 as given."""
    leader = f"00000{status}{type_}m {leader09}2200000   4500"
    return iso2709.serialize(leader, fields)


def data_field(ind: str, *subfields: tuple[str, bytes]) -> bytes:
    """Encoded data field body: indicators then $code value..."""
    return ind.encode("ascii") + b"".join(b"\x1f" + c.encode() + v for c, v in subfields)


def simple_record(control: str = "rec1", title: str = "A title", **extra: str) -> pymarc.Record:
    """A small valid UTF-8 record."""
    record = pymarc.Record(force_utf8=True, leader="00000nam a2200000 i 4500")
    record.add_field(pymarc.Field(tag="001", data=control))
    record.add_field(
        pymarc.Field(
            tag="245",
            indicators=pymarc.Indicators("1", "0"),
            subfields=[pymarc.Subfield("a", title)],
        )
    )
    for tag, value in extra.items():
        record.add_field(
            pymarc.Field(
                tag=tag.lstrip("f"),
                indicators=pymarc.Indicators(" ", " "),
                subfields=[pymarc.Subfield("a", value)],
            )
        )
    return record


def yaz_marcdump() -> str:
    """Path of yaz-marcdump, or skip (``make system-deps`` installs it)."""
    path = shutil.which("yaz-marcdump")
    if path is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("yaz-marcdump is required under CI=true (Debian package yaz)")
        pytest.skip("yaz-marcdump not installed (Debian package yaz; make system-deps)")
    return path


def run_yaz(*args: str, data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run yaz-marcdump with ``args``; stdin ``data``."""
    return subprocess.run(
        [yaz_marcdump(), *args], input=data, capture_output=True, check=False, timeout=60
    )


def shared_records() -> list[pymarc.Record]:
    """Every record our reader accepts from the shared MARC files (ISO 2709 and MARCXML);
    files it cannot open at all are left to the importer's own tests."""
    from marc.errors import MarcError
    from marc.reader import MarcReader
    from tests.paths import MARC_DIR

    records: list[pymarc.Record] = []
    for path in sorted(MARC_DIR.iterdir()):
        if path.suffix not in (".mrc", ".xml", ".dat", ".iso"):
            continue
        try:
            records.extend(r.record for r in MarcReader(path) if r.record is not None)
        except MarcError:
            continue
    return records
