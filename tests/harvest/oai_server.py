"""A fault-injecting OAI-PMH server on loopback, for the harvester tests and the benchmark.

A real HTTP server (``http.server`` in a thread) answers ``ListRecords`` from a chain of pages —
recorded real responses from the shared data folder or generated feeds — and ``Identify`` /
``ListMetadataFormats`` from fixed documents. Faults are queued per request:

* ``status(503, retry_after="1")`` / ``status(500)`` — an HTTP error answer;
* ``slow(seconds)`` — wait before answering (the client's read timeout fires);
* ``reset()`` — send half the response, then reset the TCP connection;
* ``body(bytes)`` — answer 200 with these bytes instead (broken XML, wrong encoding…).

Each fault is matched by the page it hits (``None`` is the first request of a list, otherwise
the resumption token) and fires ``times`` times; every request is logged.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
OAI_DATA = SHARED_DATA / "oai"

FIRST = None  #: fault target: the first request of a list


@dataclass
class Fault:
    """One fault: what happens, for which page, how many times."""

    kind: str  # "status", "slow", "reset", "body"
    page: str | None = FIRST
    times: int = 1
    status: int = 200
    retry_after: str | None = None
    location: str | None = None
    delay: float = 0.0
    content: bytes = b""


def status(
    code: int,
    page: str | None = FIRST,
    times: int = 1,
    retry_after: str | None = None,
    location: str | None = None,
) -> Fault:
    """An HTTP error (or redirect, with ``location``) answer."""
    return Fault("status", page, times, status=code, retry_after=retry_after, location=location)


def slow(delay: float, page: str | None = FIRST, times: int = 1) -> Fault:
    """Wait ``delay`` seconds, then answer normally."""
    return Fault("slow", page, times, delay=delay)


def reset(page: str | None = FIRST, times: int = 1) -> Fault:
    """Send half of the answer, then reset the connection."""
    return Fault("reset", page, times)


def body(content: bytes, page: str | None = FIRST, times: int = 1) -> Fault:
    """Answer 200 with ``content`` instead of the page."""
    return Fault("body", page, times, content=content)


@dataclass
class Feed:
    """The pages of one list: ``pages[token]`` is the page answering that token."""

    pages: dict[str | None, bytes]
    identify: bytes = b""
    formats: bytes = b""
    #: The ListSets answer (default: a real provider's noSetHierarchy error).
    sets: bytes = b""
    #: Tokens the server rejects with badResumptionToken (expired).
    expired: set[str] = field(default_factory=set)


class OAIServer:
    """The server, used as ``with OAIServer(feed) as server``; ``server.url`` is the base URL."""

    def __init__(self, feed: Feed, faults: Sequence[Fault] = ()) -> None:
        self.feed = feed
        self.faults = list(faults)
        self.log: list[dict[str, str]] = []
        self._lock = threading.Lock()
        handler = _make_handler(self)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._httpd.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/oai"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> OAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def add_fault(self, fault: Fault) -> None:
        """Queue one more fault."""
        with self._lock:
            self.faults.append(fault)

    def take_fault(self, page: str | None) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.page == page and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def answer(self, params: dict[str, str]) -> tuple[str | None, bytes]:
        """The page key and the normal answer to ``params``."""
        verb = params.get("verb")
        if verb == "Identify":
            return "Identify", self.feed.identify
        if verb == "ListMetadataFormats":
            return "ListMetadataFormats", self.feed.formats
        if verb == "ListSets":
            return "ListSets", self.feed.sets or recorded("sickle", "noSetHierarchy.xml")
        if verb != "ListRecords":
            return verb, oai_error("badVerb", f"verb {verb!r} not served here")
        token = params.get("resumptionToken")
        if token is not None and (token in self.feed.expired or token not in self.feed.pages):
            # A real provider's answer to an expired token.
            return token, recorded("vufindharvest", "token_error_response.xml")
        return token, self.feed.pages[token]


def _make_handler(server: OAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            params = {key: values[0] for key, values in query.items()}
            with server._lock:
                server.log.append(params)
            key, content = server.answer(params)
            fault = server.take_fault(key)
            if fault is not None and fault.kind == "slow":
                time.sleep(fault.delay)
            elif fault is not None and fault.kind == "status":
                payload = b"<html><body>Service unavailable</body></html>"
                self.send_response(fault.status)
                if fault.retry_after is not None:
                    self.send_header("Retry-After", fault.retry_after)
                if fault.location is not None:
                    self.send_header("Location", fault.location)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            elif fault is not None and fault.kind == "reset":
                self.send_response(200)
                self.send_header("Content-Type", "text/xml; charset=utf-8")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content[: len(content) // 2])
                self.wfile.flush()
                # SO_LINGER 0: close() sends a TCP RST instead of a FIN.
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.close()
                self.close_connection = True
                return
            elif fault is not None and fault.kind == "body":
                content = fault.content
            self.send_response(200)
            self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            try:
                self.wfile.write(content)
            except OSError:  # the client gave up (timeout test)
                self.close_connection = True

        def finish(self) -> None:
            with contextlib.suppress(OSError, ValueError):
                super().finish()

    return Handler


# -- documents -----------------------------------------------------------------------------------

_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
    "<responseDate>{date}</responseDate><request>http://127.0.0.1/oai</request>"
)


def oai_error(code: str, message: str = "", date: str = "2026-01-01T00:00:00Z") -> bytes:
    """An OAI-PMH error response."""
    return (
        _HEAD.format(date=date) + f'<error code="{code}">{escape(message)}</error></OAI-PMH>'
    ).encode()


def identify(granularity: str = "YYYY-MM-DDThh:mm:ssZ", earliest: str = "2020-01-01T00:00:00Z"):
    """An Identify response."""
    return (
        _HEAD.format(date="2026-01-01T00:00:00Z")
        + "<Identify><repositoryName>Test district library</repositoryName>"
        "<baseURL>http://127.0.0.1/oai</baseURL><protocolVersion>2.0</protocolVersion>"
        "<adminEmail>admin@example.org</adminEmail>"
        f"<earliestDatestamp>{earliest}</earliestDatestamp>"
        f"<deletedRecord>persistent</deletedRecord><granularity>{granularity}</granularity>"
        "</Identify></OAI-PMH>"
    ).encode()


def marc_record(number: int, title: str | None = None) -> str:
    """A MARCXML record (inside ``<metadata>``) for generated feeds."""
    title = title if title is not None else f"Sách thử số {number}"
    return (
        '<record xmlns="http://www.loc.gov/MARC21/slim">'
        "<leader>00000nam a2200000 a 4500</leader>"
        f'<controlfield tag="001">rec{number}</controlfield>'
        '<controlfield tag="008">260101s2026    vm            000 0 vie d</controlfield>'
        f'<datafield tag="020" ind1=" " ind2=" "><subfield code="a">97860400{number:05d}</subfield>'
        "</datafield>"
        f'<datafield tag="245" ind1="1" ind2="0"><subfield code="a">{escape(title)}</subfield>'
        "</datafield></record>"
    )


def oai_record(
    identifier: str, datestamp: str, metadata: str | None = None, deleted: bool = False
) -> str:
    """A ``<record>`` of a ListRecords page."""
    status_attr = ' status="deleted"' if deleted else ""
    header = (
        f"<header{status_attr}><identifier>{identifier}</identifier>"
        f"<datestamp>{datestamp}</datestamp></header>"
    )
    if deleted or metadata is None:
        return f"<record>{header}</record>"
    return f"<record>{header}<metadata>{metadata}</metadata></record>"


def list_page(records: Sequence[str], token: str | None, date: str = "2026-01-01T00:00:00Z"):
    """A ListRecords page; ``token`` ``None`` writes the empty token that ends the list."""
    token_xml = f"<resumptionToken>{token}</resumptionToken>" if token else "<resumptionToken/>"
    return (
        _HEAD.format(date=date)
        + "<ListRecords>"
        + "".join(records)
        + token_xml
        + "</ListRecords></OAI-PMH>"
    ).encode()


def generated_feed(
    count: int,
    page_size: int,
    *,
    prefix: str = "oai:test:",
    record: Callable[[int], str] = marc_record,
    deleted: Sequence[int] = (),
    omit: Sequence[int] = (),
) -> Feed:
    """``count`` MARCXML records in pages of ``page_size``; tokens are ``p2``, ``p3``…

    ``deleted`` records are listed as deletions; ``omit`` ones are not listed at all (a
    repository that keeps no deletions).
    """
    pages: dict[str | None, bytes] = {}
    numbers = [n for n in range(1, count + 1) if n not in omit]
    chunks = [numbers[i : i + page_size] for i in range(0, len(numbers), page_size)] or [[]]
    for index, chunk in enumerate(chunks):
        key = None if index == 0 else f"p{index + 1}"
        next_token = f"p{index + 2}" if index + 1 < len(chunks) else None
        items = [
            oai_record(
                f"{prefix}{n}",
                f"2026-01-01T00:{n // 60 % 60:02d}:{n % 60:02d}Z",
                None if n in deleted else record(n),
                deleted=n in deleted,
            )
            for n in chunk
        ]
        pages[key] = list_page(items, next_token)
    return Feed(pages=pages, identify=identify(), formats=formats())


def formats(prefixes: Sequence[str] = ("oai_dc", "marc21")) -> bytes:
    """A ListMetadataFormats response."""
    known = {
        "oai_dc": (
            "http://www.openarchives.org/OAI/2.0/oai_dc.xsd",
            "http://www.openarchives.org/OAI/2.0/oai_dc/",
        ),
        "marc21": (
            "http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd",
            "http://www.loc.gov/MARC21/slim",
        ),
        "marcxml": (
            "http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd",
            "http://www.loc.gov/MARC21/slim",
        ),
    }
    items = "".join(
        f"<metadataFormat><metadataPrefix>{p}</metadataPrefix><schema>{known[p][0]}</schema>"
        f"<metadataNamespace>{known[p][1]}</metadataNamespace></metadataFormat>"
        for p in prefixes
    )
    return (
        _HEAD.format(date="2026-01-01T00:00:00Z")
        + f"<ListMetadataFormats>{items}</ListMetadataFormats></OAI-PMH>"
    ).encode()


def recorded(*relative: str) -> bytes:
    """A recorded real response from the shared data folder."""
    return OAI_DATA.joinpath(*relative).read_bytes()
