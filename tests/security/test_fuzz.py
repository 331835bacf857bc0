"""Property-based tests: whatever the OAI arguments, search query, API parameters or MARC bytes,
libext answers (HTTP 200 schema-valid OAI, a 200 or 400 search, a read or a rejected record):
never a 500, an exception or a hang.

Each example runs under :func:`hang_guard`, a generous wall-clock bound that catches a hang
(an endless loop, a pathological regular expression); it is not a speed assertion.
"""

from __future__ import annotations

import io
import shutil
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from urllib.parse import urlencode

import pytest
from flask import Flask, url_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from werkzeug.routing import IntegerConverter

from libext.accounts import add_user, create_token
from libext.demo import load_demo
from marc.errors import MarcError
from marc.reader import MarcReader
from tests.conftest import make_app
from tests.oai.conftest import validated
from tests.paths import MARC_DIR

#: Seconds one example may take before it counts as a hang.
HANG_SECONDS = 30
OAI_NS = {"oai": "http://www.openarchives.org/OAI/2.0/"}
REPOSITORY_ID = "fuzz.libext.example"


class Hang(Exception):
    """An example ran past :data:`HANG_SECONDS`."""


@contextmanager
def hang_guard(seconds: int = HANG_SECONDS) -> Iterator[None]:
    """Raise :class:`Hang` in the test if the block runs longer than ``seconds``.

    pytest-timeout's own alarm (same signal) is put back afterwards with the time it had left.
    """

    def alarm(_signum: int, _frame: FrameType | None) -> None:
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    outer_left = signal.alarm(seconds)
    if outer_left:
        signal.alarm(min(seconds, outer_left))
    started = time.monotonic()
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        if outer_left:
            signal.alarm(max(1, int(outer_left - (time.monotonic() - started))))


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Flask]:
    """One app on SQLite with the demo network loaded, shared by every example."""
    target = tmp_path_factory.mktemp("fuzz") / "fuzz.sqlite3"
    shutil.copyfile(sqlite_template, target)
    app = make_app(
        f"sqlite:///{target}",
        LIBEXT_OAI_PAGE_SIZE=7,
        LIBEXT_OAI_REPOSITORY_IDENTIFIER=REPOSITORY_ID,
        LIBEXT_AUTH_PRINCIPAL_LOADER=None,
    )
    with app.app_context():
        load_demo(app.extensions["libext"])
        session = app.extensions["libext"].db.session
        add_user(session, "fuzz-admin", "admin")
        app.config["FUZZ_ADMIN_TOKEN"] = create_token(session, "fuzz-admin").secret
    yield app
    with app.app_context():
        app.extensions["libext"].db.engine.dispose()


# --- OAI-PMH --------------------------------------------------------------------------------
VERBS = [
    "Identify",
    "ListMetadataFormats",
    "ListSets",
    "ListIdentifiers",
    "ListRecords",
    "GetRecord",
]
OAI_NAMES = st.sampled_from(
    ["verb", "identifier", "metadataPrefix", "from", "until", "set", "resumptionToken"]
) | st.text(max_size=10)
OAI_VALUES = st.sampled_from(
    [
        *VERBS,
        "oai_dc",
        "marc21",
        "marcxml",
        "mods",
        "2024-01-10",
        "2024-01-10T10:30:15Z",
        "2024-13-45",
        "1900-01-01",
        "9999-12-31T23:59:59Z",
        "library:HNM",
        "library:",
        "library:HNM:extra",
        f"oai:{REPOSITORY_ID}:1",
        f"oai:{REPOSITORY_ID}:2",
        f"oai:{REPOSITORY_ID}:-1",
        f"oai:{REPOSITORY_ID}:99999999999999999999999999",
        "oai:other.example:1",
        "%00",
        "",
    ]
) | st.text(max_size=40)
OAI_PAIRS = st.lists(st.tuples(OAI_NAMES, OAI_VALUES), max_size=6)


def _real_token(app: Flask) -> str:
    body = app.test_client().get("/oai?verb=ListRecords&metadataPrefix=oai_dc").data
    token = etree.fromstring(body).find(".//oai:resumptionToken", OAI_NS)
    assert token is not None and token.text
    return token.text


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(verb=st.sampled_from([*VERBS, None]), pairs=OAI_PAIRS, post=st.booleans(), data=st.data())
def test_oai_endpoint_answers_200_and_schema_valid(
    demo_app: Flask,
    verb: str | None,
    pairs: list[tuple[str, str]],
    post: bool,
    data: st.DataObject,
) -> None:
    arguments = ([("verb", verb)] if verb else []) + pairs
    if data.draw(st.booleans(), label="use a real resumption token"):
        token = _real_token(demo_app)
        # A fixed range (not len(token)): hypothesis replays draws, and tokens vary in length.
        cut = data.draw(st.integers(0, 300), label="token cut")
        arguments.append(("resumptionToken", token[:cut]))
    client = demo_app.test_client()
    with hang_guard():
        if post:
            response = client.post(
                "/oai",
                data=urlencode(arguments),
                content_type="application/x-www-form-urlencoded",
            )
        else:
            response = client.get("/oai?" + urlencode(arguments))
    assert response.status_code == 200, response.data[:500]
    validated(response.data)


# --- search ---------------------------------------------------------------------------------
QUERY_PIECES = st.sampled_from(
    [
        "truyện",
        "kiều",
        "nguyễn du",
        "Đ",
        "đ",
        "title:",
        "author:",
        "subject:",
        "isbn:",
        "year:",
        "nam:",
        "tacgia:",
        "year:1990-1999",
        "year:9999-0000",
        "isbn:978-604-1-12345-6",
        "isbn:X",
        '"',
        "“",
        "*",
        "kieu*",
        "AND",
        "OR",
        "NOT",
        "NEAR(",
        "(",
        ")",
        "^",
        "-",
        "+",
        ":",
        "'",
        ";",
        "--",
        "%",
        "_",
        "\\",
        "\x00",
        "\u200b",
        "ア",
        "🙂",
        "a" * 600,
    ]
)
QUERIES = st.lists(QUERY_PIECES | st.text(max_size=20), max_size=12).map(
    lambda parts: " ".join(parts)
) | st.text(max_size=200)
PARAM_VALUES = st.sampled_from(["", "0", "1", "-1", "2", "100", "101", "99999999999999999999", "x"])
SEARCH_PARAMS = st.fixed_dictionaries(
    {},
    optional={
        "page": PARAM_VALUES | st.text(max_size=8),
        "size": PARAM_VALUES | st.text(max_size=8),
        "sort": st.sampled_from(["relevance", "title", "year", "-year", "new", ""])
        | st.text(max_size=8),
        "library": st.sampled_from(["HNM", "PLY", "", "XXX"]) | st.text(max_size=8),
        "type": st.sampled_from(["am", "em", "z"]) | st.text(max_size=4),
        "lang": st.sampled_from(["vie", "eng", "vi", "en", "x"]) | st.text(max_size=4),
        "decade": st.sampled_from(["1990", "199", "abcd", "-10"]) | st.text(max_size=6),
        "subject": st.text(max_size=30),
        "author": st.text(max_size=30),
    },
)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(q=QUERIES, params=SEARCH_PARAMS)
def test_search_page_and_api_never_fail(demo_app: Flask, q: str, params: dict[str, str]) -> None:
    client = demo_app.test_client()
    query = urlencode({"q": q, **params})
    with hang_guard():
        page = client.get(f"/?{query}")
        api = client.get(f"/api/search?{query}")
    assert page.status_code in (200, 400), page.status_code
    assert api.status_code in (200, 400), api.status_code
    assert api.is_json
    if api.status_code == 200:
        assert isinstance(api.get_json()["results"], list)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    q=QUERIES | st.sampled_from(['dc.title = "kiều"', "cql.anywhere any x", 'title="', "a and"]),
    params=st.fixed_dictionaries(
        {},
        optional={
            "startRecord": PARAM_VALUES,
            "maximumRecords": PARAM_VALUES,
            "recordSchema": st.sampled_from(["marcxml", "dc", "mods", ""]) | st.text(max_size=8),
            "version": st.sampled_from(["1.1", "1.2", "2.0", ""]),
            "operation": st.sampled_from(["searchRetrieve", "explain", "scan", ""]),
        },
    ),
)
def test_sru_answers_xml_never_a_500(demo_app: Flask, q: str, params: dict[str, str]) -> None:
    args = {"operation": "searchRetrieve", "version": "1.2", "query": q, **params}
    with hang_guard():
        response = demo_app.test_client().get("/sru?" + urlencode(args))
    assert response.status_code < 500
    etree.fromstring(response.data)


# --- every GET endpoint -------------------------------------------------------------------------
PARAM_NAMES = st.sampled_from(
    [
        "q", "page", "size", "sort", "library", "type", "lang", "decade", "subject", "author",
        "format", "since", "include_deleted", "verb", "metadataPrefix", "identifier", "set",
        "from", "until", "resumptionToken", "operation", "version", "query", "startRecord",
        "maximumRecords", "recordSchema", "next", "split", "status",
    ]
) | st.text(max_size=8)  # fmt: skip
ANY_VALUE = PARAM_VALUES | QUERY_PIECES | st.text(max_size=40)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_every_get_endpoint_survives_any_arguments(demo_app: Flask, data: st.DataObject) -> None:
    rules = sorted(
        (
            rule
            for rule in demo_app.url_map.iter_rules()
            if rule.endpoint.startswith("libext_") and "GET" in (rule.methods or ())
        ),
        key=lambda rule: rule.rule,
    )
    rule = data.draw(st.sampled_from(rules), label="route")
    values: dict[str, object] = {}
    for name in rule.arguments:
        if isinstance(rule._converters[name], IntegerConverter):
            values[name] = data.draw(st.integers(0, 500) | st.integers(0, 2**70), label=name)
        else:
            values[name] = data.draw(st.text(min_size=1, max_size=30), label=name)
    params = data.draw(st.lists(st.tuples(PARAM_NAMES, ANY_VALUE), max_size=6), label="query")
    as_admin = data.draw(st.booleans(), label="as admin")
    with demo_app.test_request_context():
        url = url_for(rule.endpoint, **values)
    headers = {"Authorization": f"Bearer {demo_app.config['FUZZ_ADMIN_TOKEN']}"} if as_admin else {}
    with hang_guard():
        response = demo_app.test_client().get(url + "?" + urlencode(params), headers=headers)
        response.get_data()  # streamed answers (exports) run to their end
    assert response.status_code < 500, (url, params, response.get_data(as_text=True)[:300])


# --- MARC reader ----------------------------------------------------------------------------
def _sample_files() -> list[Path]:
    files = sorted(
        p
        for p in MARC_DIR.iterdir()
        if p.suffix in (".mrc", ".marc", ".dat", ".usmarc", ".xml", ".mrk", ".json")
        and p.stat().st_size < 60_000
    )
    return files


SAMPLES = _sample_files()
MUTATION = st.tuples(
    st.sampled_from(["flip", "delete", "insert", "truncate", "duplicate", "digit", "terminator"]),
    st.floats(min_value=0, max_value=1, allow_nan=False),
    st.binary(min_size=1, max_size=8),
)


def mutate(data: bytes, mutations: list[tuple[str, float, bytes]]) -> bytes:
    """Apply byte-level mutations; positions are fractions of the current length."""
    buf = bytearray(data)
    for op, where, payload in mutations:
        pos = int(where * len(buf)) if buf else 0
        if op == "flip" and buf:
            buf[min(pos, len(buf) - 1)] ^= payload[0] or 0xFF
        elif op == "delete":
            del buf[pos : pos + len(payload) * 7]
        elif op == "insert":
            buf[pos:pos] = payload
        elif op == "truncate":
            del buf[pos:]
        elif op == "duplicate":
            buf[pos:pos] = buf[pos : pos + 200]
        elif op == "digit" and buf:
            # lengths and addresses of the leader and directory are ASCII digits: lie in them
            at = min(pos, 23) if where < 0.5 else min(pos, len(buf) - 1)
            buf[at] = ord("0") + payload[0] % 10
        elif op == "terminator":
            buf[pos:pos] = bytes([0x1D, 0x1E, 0x1F][payload[0] % 3 : payload[0] % 3 + 1])
    return bytes(buf)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sample=st.sampled_from(SAMPLES),
    mutations=st.lists(MUTATION, min_size=1, max_size=5),
    fmt=st.sampled_from(["auto", "auto", "iso2709", "marcxml", "mrk", "json"]),
)
def test_marc_reader_survives_mutated_real_records(
    sample: Path, mutations: list[tuple[str, float, bytes]], fmt: str
) -> None:
    data = mutate(sample.read_bytes(), mutations)
    with hang_guard():
        try:
            for result in MarcReader(io.BytesIO(data), format=fmt):
                assert (result.record is None) == (result.reason is not None)
                if result.record is not None:
                    assert result.marc is not None
                    assert int(result.marc[:5]) == len(result.marc)
                else:
                    assert result.reason.strip()
        except MarcError as exc:  # the whole input unusable: a clear message, no crash
            assert str(exc).strip()


def test_samples_were_found() -> None:
    assert len(SAMPLES) >= 20, f"expected real MARC samples in {MARC_DIR}"


# --- the import API -------------------------------------------------------------------------------
IMPORT_FIELDS = st.fixed_dictionaries(
    {"library": st.sampled_from(["HNM", "PLY", "", "XXX", "hnm"]) | st.text(max_size=10)},
    optional={
        "format": st.sampled_from(["auto", "iso2709", "marcxml", "json", "mrk", "pdf", ""])
        | st.text(max_size=10),
        "encoding": st.sampled_from(["auto", "utf-8", "marc-8", "tcvn3", "vni", "x", ""])
        | st.text(max_size=10),
        "match": st.sampled_from(["001", "isbn", "001+003", "title", "", "001,isbn"])
        | st.text(max_size=20),
        "on_match": st.sampled_from(["replace", "merge", "skip", "always-new", ""])
        | st.text(max_size=10),
        "dry_run": st.sampled_from(["1", "0", "true", ""]) | st.text(max_size=5),
    },
)


def _sample_upload(data: st.DataObject) -> bytes:
    sample = data.draw(st.sampled_from(SAMPLES), label="file")
    mutations = data.draw(st.lists(MUTATION, max_size=3), label="mutations")
    return mutate(sample.read_bytes(), mutations)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(fields=IMPORT_FIELDS, data=st.data())
def test_import_api_answers_any_form_without_a_500(
    demo_app: Flask, fields: dict[str, str], data: st.DataObject
) -> None:
    body: dict[str, object] = dict(fields)
    if data.draw(st.booleans(), label="send a file"):
        name = data.draw(st.text(max_size=40), label="file name")
        body["file"] = (io.BytesIO(_sample_upload(data)), name)
    headers = {"Authorization": f"Bearer {demo_app.config['FUZZ_ADMIN_TOKEN']}"}
    with hang_guard():
        response = demo_app.test_client().post(
            "/api/imports", data=body, headers=headers, content_type="multipart/form-data"
        )
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    assert response.is_json
