"""Hostile MARC files other than XML: what a crafted MARC-in-JSON, ISO 2709 or MARCMaker file
can do to a parser (recursion, huge numbers, lying lengths, endless lines) ends as a rejected
record or an unusable-file error, never a crash, a hang or an HTTP 500."""

from __future__ import annotations

import io

import pytest
from flask import Flask

from marc.errors import MarcError
from marc.reader import MarcReader
from tests.security.conftest import Seeded
from tests.security.test_fuzz import hang_guard

GOOD_JSON = (
    b'{"leader":"00000nam a2200000 a 4500","fields":[{"001":"ok-1"},'
    b'{"245":{"ind1":"1","ind2":"0","subfields":[{"a":"T\\u00ean s\\u00e1ch"}]}}]}'
)
HOSTILE = {
    "json-deep-nesting": b'{"leader":"x","fields":' + b"[" * 100_000 + b"]" * 100_000 + b"}\n",
    "json-huge-number": b'{"leader":"x","fields":[' + b"9" * 50_000 + b"]}\n",
    "json-top-level-nesting": b"[" * 200_000 + b"]" * 200_000,
    "json-long-string": b'{"leader":"' + b"a" * 2_000_000 + b'","fields":[]}\n',
    "iso2709-lying-lengths": b"99999nam a2299999 a 4500" + b"245" + b"9" * 9 + b"\x1e" * 3,
    "iso2709-directory-only": b"00100nam a2200100 a 4500" + b"2450099900000" * 6 + b"\x1e\x1d",
    "mrk-endless-line": b"=LDR  00000nam a2200000 a 4500\n=245  10$a" + b"x" * 3_000_000,
}


@pytest.mark.parametrize("data", list(HOSTILE.values()), ids=list(HOSTILE))
def test_reader_rejects_without_crashing(data: bytes) -> None:
    with hang_guard():
        try:
            results = list(MarcReader(io.BytesIO(data + b"\n" + GOOD_JSON)))
        except MarcError as exc:
            assert str(exc).strip()
            return
    for result in results:
        assert result.ok or (result.reason or "").strip()


@pytest.mark.parametrize("name", list(HOSTILE))
def test_import_api_answers_hostile_files_without_a_500(
    app: Flask, seeded: Seeded, name: str
) -> None:
    with hang_guard():
        response = app.test_client().post(
            "/api/imports",
            data={"library": "HNM", "file": (io.BytesIO(HOSTILE[name]), f"{name}.dat")},
            headers={"Authorization": f"Bearer {seeded.tokens['own']}"},
            content_type="multipart/form-data",
        )
    assert response.status_code in (201, 400, 422), response.get_data(as_text=True)[:500]
    assert response.is_json
