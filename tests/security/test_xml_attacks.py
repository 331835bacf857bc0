"""Hostile XML: billion laughs, quadratic blow-up, external entities and DTDs.

Every parser of outside XML must refuse these files with a clear message and store nothing:
the MARCXML reader (and through it the import CLI and API) and the harvester's feed parser.
The fixtures are in ``tests/security/data``; the harvester variants wrap the same DOCTYPE
around an OAI-PMH ``ListRecords`` page.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from sqlalchemy import func, select

from libext.models import Record
from marc.errors import MarcError
from marc.reader import MarcReader
from oai.harvest.feed import BrokenXML
from oai.harvest.feed import parse as parse_feed
from tests.conftest import make_app
from tests.harvest import oai_server as srv
from tests.harvest.conftest import STORE_CONFIG, cli
from tests.security.test_fuzz import hang_guard

DATA = Path(__file__).resolve().parent / "data"
ATTACKS = sorted(DATA.glob("*.xml"))
ATTACK_IDS = [p.stem for p in ATTACKS]

# Known gaps in other features' parsers, reported to their owners. Strict: once a gap is fixed
# the test passes, xfail turns into a failure, and the marker must go.


def _params(gaps: dict[str, str]) -> list[object]:
    return [
        pytest.param(p, id=p.stem, marks=pytest.mark.xfail(strict=True, reason=gaps[p.stem]))
        if p.stem in gaps
        else pytest.param(p, id=p.stem)
        for p in ATTACKS
    ]


#: What a refusal may say: it names the DOCTYPE, the DTD or the entities it refuses.
REFUSAL = re.compile(r"doctype|dtd|entit", re.IGNORECASE)


def test_every_attack_is_present() -> None:
    assert set(ATTACK_IDS) >= {
        "billion_laughs",
        "quadratic_blowup",
        "external_entity_file",
        "external_dtd",
        "external_parameter_entity",
    }


def as_oai_page(attack: Path) -> bytes:
    """The attack's DOCTYPE around a ListRecords page whose record uses its entities."""
    text = attack.read_text()
    doctype = re.search(r"<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>\n", text, re.DOTALL)
    record = re.search(r"<record>.*</record>", text, re.DOTALL)
    assert doctype and record
    marc = record.group(0).replace("<record>", '<record xmlns="http://www.loc.gov/MARC21/slim">')
    page = srv.list_page([srv.oai_record("oai:test:1", "2026-01-01", marc)], None).decode()
    declaration, _, rest = page.partition("\n")
    return f"{declaration}\n{doctype.group(0)}{rest}".encode()


# --- the MARCXML reader, the import CLI and the import API ---------------------------------------
REFUSED = _params({})
REFUSED_CLEARLY = _params({})


def _read(attack: Path) -> tuple[list[object], str]:
    """(accepted records, the refusal messages) of reading ``attack``."""
    with hang_guard():
        try:
            results = list(MarcReader(str(attack)))
        except MarcError as exc:
            return [], str(exc)
    return [r.record for r in results if r.record is not None], " ".join(
        r.reason or "" for r in results
    )


@pytest.mark.parametrize("attack", REFUSED)
def test_marcxml_reader_accepts_no_record(attack: Path) -> None:
    accepted, _ = _read(attack)
    assert not accepted, f"{attack.name}: records accepted: {accepted}"


@pytest.mark.parametrize("attack", REFUSED_CLEARLY)
def test_marcxml_reader_says_why(attack: Path) -> None:
    accepted, message = _read(attack)
    assert not accepted
    assert REFUSAL.search(message), f"unclear refusal: {message}"


@pytest.fixture
def import_app(db_url: str) -> Iterator[Flask]:
    from tests.security.conftest import secure_app, seed

    app = secure_app(db_url)
    app.extensions["libext_test_seed"] = seed(app)
    yield app
    with app.app_context():
        app.extensions["libext"].db.engine.dispose()


def _titles(app: Flask) -> list[str]:
    with app.app_context():
        session = app.extensions["libext"].db.session
        return sorted(session.scalars(select(Record.title).where(Record.deleted.is_(False))))


@pytest.mark.parametrize("attack", REFUSED)
def test_import_cli_refuses_with_exit_2_and_stores_nothing(import_app: Flask, attack: Path) -> None:
    before = _titles(import_app)
    with hang_guard():
        result = import_app.test_cli_runner().invoke(
            args=["libext", "import", str(attack), "--library", "HNM", "--json"]
        )
    assert result.exit_code == 2, result.output
    assert _titles(import_app) == before


@pytest.mark.parametrize("attack", REFUSED)
def test_import_api_refuses_and_stores_nothing(import_app: Flask, attack: Path) -> None:
    seeded = import_app.extensions["libext_test_seed"]
    before = _titles(import_app)
    with hang_guard(), attack.open("rb") as upload:
        response = import_app.test_client().post(
            "/api/imports",
            data={"library": "HNM", "file": (upload, attack.name)},
            headers={"Authorization": f"Bearer {seeded.tokens['own']}"},
            content_type="multipart/form-data",
        )
    assert response.status_code in (400, 422), response.get_data(as_text=True)
    assert response.is_json
    assert _titles(import_app) == before


# --- the harvester --------------------------------------------------------------------------
@pytest.mark.parametrize("attack", _params({}))
def test_feed_parser_refuses(attack: Path) -> None:
    with hang_guard(), pytest.raises(BrokenXML, match=REFUSAL):
        parse_feed(as_oai_page(attack))


@pytest.fixture
def harvest_app(db_url: str) -> Iterator[Flask]:
    app = make_app(db_url, **STORE_CONFIG)
    yield app
    with app.app_context():
        app.extensions["libext"].db.engine.dispose()


@pytest.mark.parametrize("attack", _params({}))
def test_harvest_of_a_hostile_feed_fails_and_stores_nothing(
    harvest_app: Flask, attack: Path
) -> None:
    feed = srv.generated_feed(1, 1)
    feed.pages[None] = as_oai_page(attack)
    with srv.OAIServer(feed) as server:
        code, added = cli(harvest_app, "source", "add", "HNM", "--url", server.url)
        assert code == 0, added
        with hang_guard():
            code, report = cli(harvest_app, "harvest", "HNM")
    assert code == 1, report
    (source,) = report["sources"]
    assert source["status"] != "ok"
    assert REFUSAL.search(source["error"] or ""), source
    with harvest_app.app_context():
        session = harvest_app.extensions["libext"].db.session
        assert session.scalar(select(func.count(Record.id))) == 0


# --- harvest-source addresses (the SSRF guard) ------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/oai",
        "http://localhost/oai",
        "http://[::1]/oai",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/oai",
        "http://192.168.1.10/oai",
        "http://172.16.0.1/oai",
        "http://0.0.0.0/oai",
        "file:///etc/passwd",
        "ftp://example.org/oai",
        "gopher://127.0.0.1:25/",
        "http://user:pass@example.org/oai",
    ],
)
def test_source_urls_to_internal_networks_are_refused(db_url: str, url: str) -> None:
    app = make_app(db_url)  # no LIBEXT_HARVEST_ALLOWED_NETWORKS
    code, data = cli(app, "source", "add", "HNM", "--url", url)
    assert code == 2
    assert data["error"]
    response = app.test_client().post(
        "/api/sources",
        json={"code": "HNM", "url": url},
        headers={"X-Test-User": "root;roles=admin"},
    )
    assert response.status_code in (400, 422), response.get_data(as_text=True)
    assert response.is_json
    with app.app_context():
        app.extensions["libext"].db.engine.dispose()


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str]

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.hits.append(self.path)
        body = srv.list_page([], None)
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def _serve(host: str, handler: type[BaseHTTPRequestHandler]) -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer((host, 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_source_cannot_redirect_the_harvester_into_a_refused_network(db_url: str) -> None:
    """An allowed source answering ListRecords with a redirect to a refused address."""
    hits: list[str] = []
    internal_handler = type("Internal", (_Recorder,), {"hits": hits})
    with _serve("127.0.0.2", internal_handler) as internal:
        target = f"http://127.0.0.2:{internal.server_address[1]}/secret"

        class Redirecting(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                verb = parse_qs(urlsplit(self.path).query).get("verb", [""])[0]
                if verb == "ListRecords":
                    self.send_response(302)
                    self.send_header("Location", target)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = srv.identify() if verb == "Identify" else srv.formats()
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        with _serve("127.0.0.1", Redirecting) as public:
            config = dict(STORE_CONFIG, LIBEXT_HARVEST_ALLOWED_NETWORKS=["127.0.0.1/32"])
            app = make_app(db_url, **config)
            url = f"http://127.0.0.1:{public.server_address[1]}/oai"
            code, data = cli(app, "source", "add", "HNM", "--url", url)
            assert code == 0, data
            code, report = cli(app, "harvest", "HNM")
            with app.app_context():
                app.extensions["libext"].db.engine.dispose()
    assert hits == [], f"the harvester followed a redirect into 127.0.0.2: {hits}"
    assert code == 1, report
