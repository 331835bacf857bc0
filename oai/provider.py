"""The OAI-PMH 2.0 data provider: a request's arguments in, a complete response out.

:class:`Provider` reads records only through a :class:`~oai.source.RecordSource` and knows
nothing of HTTP: the view hands it the request's ``(key, value)`` pairs and the base URL and
sends back the :class:`OAIResponse` it gets. Protocol errors are answered as OAI ``<error>``
elements with HTTP 200; :meth:`Provider.handle` never raises. If the source itself fails (the
database is down), the answer is HTTP 503 with ``Retry-After``, which the protocol defines for
a repository that is temporarily unavailable.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

from lxml import etree

from oai import xml
from oai.arguments import GRANULARITY, OAIRequest, parse_request
from oai.crosswalk import (
    MARC_NS,
    MARC_SCHEMA,
    OAI_DC_NS,
    OAI_DC_SCHEMA,
    marcxml_text,
    oai_dc,
)
from oai.errors import (
    BadArgument,
    BadResumptionToken,
    BadVerb,
    CannotDisseminateFormat,
    IdDoesNotExist,
    NoMetadataFormats,
    NoRecordsMatch,
    NoSetHierarchy,
    OAIError,
)
from oai.resumption_token import ResumptionState, TokenCodec
from oai.source import ListQuery, RecordSource, SourceRecord

logger = logging.getLogger(__name__)

# guidelines-oai-identifier: the namespace part is a domain name; the local part may hold
# these characters directly, everything else is %-escaped with upper-case hex.
_REPOSITORY_IDENTIFIER = re.compile(r"[a-zA-Z][a-zA-Z0-9\-]*(\.[a-zA-Z][a-zA-Z0-9\-]*)+")
_LOCAL_SAFE = "-_.!~*'();/?:@&=+$,"
_EMAIL = re.compile(r"\S+@(\S+\.)+\S+")
# Provenance datestamps are passed through as received, so they are checked, not reformatted.
_UTC_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?)?")


@dataclass(frozen=True, slots=True)
class MetadataFormat:
    """A metadata format the repository disseminates, with its crosswalk.

    ``render`` gives the metadata as an element, or as the text of one (which must be a
    well-formed element declaring its namespaces: it is spliced into the response as is,
    the fast path for formats with many elements per record).
    """

    prefix: str
    schema: str
    namespace: str
    render: Callable[[SourceRecord], etree._Element | str]


def _render_marcxml(record: SourceRecord) -> str:
    assert record.record is not None
    return marcxml_text(record.record, record.holdings)


def _render_oai_dc(record: SourceRecord) -> etree._Element:
    assert record.record is not None
    return oai_dc(record.record)


#: marc21 is MARCXML; ``marcxml`` is the same format under the prefix Koha and others use.
METADATA_FORMATS: tuple[MetadataFormat, ...] = (
    MetadataFormat("marc21", MARC_SCHEMA, MARC_NS, _render_marcxml),
    MetadataFormat("marcxml", MARC_SCHEMA, MARC_NS, _render_marcxml),
    MetadataFormat("oai_dc", OAI_DC_SCHEMA, OAI_DC_NS, _render_oai_dc),
)


@dataclass(frozen=True, slots=True)
class ProviderSettings:
    """What Identify announces and how lists are paged.

    ``repository_identifier`` is a domain name the repository controls (identifiers are
    ``oai:<repository_identifier>:<local id>``); ``page_size`` is records per list response;
    ``token_lifetime`` is how long a resumption token stays valid; ``compression`` lists the
    content encodings the HTTP layer applies when asked (announced by Identify).
    """

    repository_name: str
    repository_identifier: str
    admin_emails: Sequence[str]
    page_size: int = 100
    token_lifetime: timedelta = timedelta(days=7)
    compression: Sequence[str] = ()

    def __post_init__(self) -> None:
        if not _REPOSITORY_IDENTIFIER.fullmatch(self.repository_identifier):
            raise ValueError(
                f"OAI repository identifier {self.repository_identifier!r} must be a domain "
                "name the repository controls, e.g. 'thuvien.example.gov.vn'."
            )
        if not self.admin_emails or not all(_EMAIL.fullmatch(e) for e in self.admin_emails):
            raise ValueError("OAI needs at least one administrator e-mail address (a@b.c).")
        if self.page_size < 1:
            raise ValueError("OAI page size must be at least 1.")
        if self.token_lifetime <= timedelta(0):
            raise ValueError("OAI resumption token lifetime must be positive.")


@dataclass(frozen=True, slots=True)
class OAIResponse:
    """What the view sends: body, HTTP status and headers, plus what was answered."""

    body: bytes
    status: int = 200
    verb: str | None = None
    error_codes: tuple[str, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/xml; charset=utf-8"


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Provider:
    """Answers OAI-PMH requests over one :class:`RecordSource`.

    ``secret`` signs resumption tokens; ``clock`` returns the current naive UTC time (tests
    pass their own to expire tokens).
    """

    def __init__(
        self,
        source: RecordSource,
        settings: ProviderSettings,
        secret: str | bytes,
        clock: Callable[[], datetime] = _utcnow,
        formats: Sequence[MetadataFormat] = METADATA_FORMATS,
    ) -> None:
        self.source = source
        self.settings = settings
        self.clock = clock
        self.formats = {f.prefix: f for f in formats}
        self.tokens = TokenCodec(secret, settings.repository_identifier, settings.token_lifetime)
        self._prefix = f"oai:{settings.repository_identifier}:"

    # --- identifiers -------------------------------------------------------------------

    def identifier(self, key: int | str) -> str:
        """The OAI identifier of the record with ``key``."""
        return self._prefix + quote(str(key), safe=_LOCAL_SAFE)

    def key_of(self, identifier: str) -> int | str | None:
        """The source key an OAI identifier names, or None if it is not one of ours."""
        if not identifier.startswith(self._prefix):
            return None
        local = identifier[len(self._prefix) :]
        text = unquote(local, errors="strict") if "%" in local else local
        # Identifiers are compared as strings: only the canonical escaping names a record.
        if not text or quote(text, safe=_LOCAL_SAFE) != local:
            return None
        return self.source.parse_key(text)

    # --- entry point -------------------------------------------------------------------

    def handle(self, pairs: Iterable[tuple[str, str]], base_url: str) -> OAIResponse:
        """Answer one request given as ``(key, value)`` pairs, in arrival order."""
        now = self.clock()
        pairs = list(pairs)
        try:
            try:
                request = parse_request(pairs)
            except (BadVerb, BadArgument) as error:
                return self._errors(now, base_url, None, [error], verb=None)
            try:
                root = xml.envelope(now, base_url, {"verb": request.verb, **request.arguments})
                # Metadata rendered as text, spliced in by serialize(); local to this call so
                # one Provider may serve several threads.
                fragments: list[str] = []
                getattr(self, f"_{request.verb}")(root, request, now, fragments)
            except _Errors as errors:
                return self._errors(now, base_url, request, errors.errors, verb=request.verb)
            except OAIError as error:
                return self._errors(now, base_url, request, [error], verb=request.verb)
            return OAIResponse(xml.serialize(root, fragments), verb=request.verb)
        except Exception:
            logger.exception("OAI-PMH request failed: %r", pairs)
            return OAIResponse(
                b"The repository is temporarily unable to answer; please retry later.\n",
                status=503,
                headers={"Retry-After": "60"},
                content_type="text/plain; charset=utf-8",
            )

    def _errors(
        self,
        now: datetime,
        base_url: str,
        request: OAIRequest | None,
        errors: Sequence[OAIError],
        verb: str | None,
    ) -> OAIResponse:
        codes = tuple(e.code for e in errors)
        # badVerb/badArgument: the base URL alone, no attributes (protocol 3.2).
        attributes = None
        if request is not None and not {"badVerb", "badArgument"} & set(codes):
            attributes = {"verb": request.verb, **request.arguments}
        root = xml.envelope(now, base_url, attributes)
        xml.add_errors(root, ((e.code, e.message) for e in errors))
        return OAIResponse(xml.serialize(root), verb=verb, error_codes=codes)

    # --- verbs -------------------------------------------------------------------------

    def _Identify(
        self, root: etree._Element, request: OAIRequest, now: datetime, fragments: list[str]
    ) -> None:
        settings = self.settings
        earliest = self.source.earliest_datestamp()
        # An empty repository: any record written from now on is dated now or later.
        earliest = (earliest or now).replace(microsecond=0)
        body = xml.sub(root, "Identify")
        xml.sub(body, "repositoryName", settings.repository_name)
        xml.sub(body, "baseURL", root.find(f"{{{xml.OAI_NS}}}request").text)
        xml.sub(body, "protocolVersion", "2.0")
        for email in settings.admin_emails:
            xml.sub(body, "adminEmail", email)
        xml.sub(body, "earliestDatestamp", xml.format_utc(earliest))
        xml.sub(body, "deletedRecord", "persistent")
        xml.sub(body, "granularity", GRANULARITY)
        for encoding in settings.compression:
            xml.sub(body, "compression", encoding)
        first = self.source.list(ListQuery(), 1)
        sample = self.identifier(first[0].key if first else 1)
        description = xml.sub(body, "description")
        description.append(xml.oai_identifier_description(settings.repository_identifier, sample))

    def _ListMetadataFormats(
        self, root: etree._Element, request: OAIRequest, now: datetime, fragments: list[str]
    ) -> None:
        if request.identifier is not None:
            record = self._get(request.identifier)
            if not record.deleted and not record.has_metadata:
                raise NoMetadataFormats(
                    f"{request.identifier} has no metadata that can be disseminated."
                )
        body = xml.sub(root, "ListMetadataFormats")
        for fmt in self.formats.values():
            element = xml.sub(body, "metadataFormat")
            xml.sub(element, "metadataPrefix", fmt.prefix)
            xml.sub(element, "schema", fmt.schema)
            xml.sub(element, "metadataNamespace", fmt.namespace)

    def _ListSets(
        self, root: etree._Element, request: OAIRequest, now: datetime, fragments: list[str]
    ) -> None:
        if request.resumption_token is not None:
            raise BadResumptionToken("This repository lists all its sets in one response.")
        sets = list(self.source.sets())
        if not sets:
            raise NoSetHierarchy("This repository does not organise its records in sets.")
        body = xml.sub(root, "ListSets")
        for info in sets:
            element = xml.sub(body, "set")
            xml.sub(element, "setSpec", info.spec)
            xml.sub(element, "setName", info.name or info.spec)
            if info.description:
                dc = etree.Element(
                    f"{{{OAI_DC_NS}}}dc",
                    nsmap={"oai_dc": OAI_DC_NS, "dc": "http://purl.org/dc/elements/1.1/"},
                )
                dc.set(f"{{{xml.XSI_NS}}}schemaLocation", f"{OAI_DC_NS} {OAI_DC_SCHEMA}")
                xml.sub(dc, "{http://purl.org/dc/elements/1.1/}description", info.description)
                xml.sub(element, "setDescription").append(dc)

    def _GetRecord(
        self, root: etree._Element, request: OAIRequest, now: datetime, fragments: list[str]
    ) -> None:
        assert request.identifier is not None and request.metadata_prefix is not None
        fmt = self.formats.get(request.metadata_prefix)
        errors: list[OAIError] = []
        record = None
        try:
            record = self._get(request.identifier)
        except IdDoesNotExist as error:
            errors.append(error)
        if fmt is None:
            errors.append(self._unknown_format(request.metadata_prefix))
        elif record is not None and not record.deleted and not record.has_metadata:
            errors.append(
                CannotDisseminateFormat(f"{request.identifier} has no metadata to disseminate.")
            )
        if errors:
            raise _Errors(errors)
        assert record is not None and fmt is not None
        self._record(xml.sub(root, "GetRecord"), record, fmt, fragments)

    def _ListIdentifiers(
        self, root: etree._Element, request: OAIRequest, now: datetime, fragments: list[str]
    ) -> None:
        self._list(root, request, now, fragments, headers_only=True)

    def _ListRecords(
        self, root: etree._Element, request: OAIRequest, now: datetime, fragments: list[str]
    ) -> None:
        self._list(root, request, now, fragments, headers_only=False)

    # --- helpers -----------------------------------------------------------------------

    def _unknown_format(self, prefix: str) -> CannotDisseminateFormat:
        return CannotDisseminateFormat(
            f"'{prefix}' is not a metadata format of this repository; "
            f"use one of: {', '.join(self.formats)}."
        )

    def _get(self, identifier: str) -> SourceRecord:
        try:
            key = self.key_of(identifier)
        except UnicodeDecodeError:
            key = None
        record = self.source.get(key) if key is not None else None
        if record is None:
            raise IdDoesNotExist(f"{identifier} is not an identifier of this repository.")
        return record

    def _list(
        self,
        root: etree._Element,
        request: OAIRequest,
        now: datetime,
        fragments: list[str],
        headers_only: bool,
    ) -> None:
        verb = request.verb
        if request.resumption_token is not None:
            state = self.tokens.decode(request.resumption_token, verb, now)
            fmt = self.formats.get(state.metadata_prefix or "")
            if fmt is None:
                raise BadResumptionToken("This resumption token names an unknown format.")
            query = ListQuery(
                since=state.since, until=state.until, set_spec=state.set_spec, after=state.after
            )
            cursor, size = state.cursor, state.complete_list_size
        else:
            assert request.metadata_prefix is not None
            errors: list[OAIError] = []
            fmt = self.formats.get(request.metadata_prefix)
            if fmt is None:
                errors.append(self._unknown_format(request.metadata_prefix))
            if request.set_spec is not None and not any(True for _ in self.source.sets()):
                errors.append(NoSetHierarchy("This repository has no sets; leave out 'set'."))
            if errors:
                raise _Errors(errors)
            assert fmt is not None
            query = ListQuery(since=request.since, until=request.until, set_spec=request.set_spec)
            cursor, size = 0, self.source.count(query)
            if size == 0:
                raise NoRecordsMatch("No records match this request.")

        page, more = self._page(query)
        if not page:
            raise NoRecordsMatch(
                "No records match this request."
                if request.resumption_token is None
                else "The records this list still had to deliver are gone; the list is complete."
            )
        body = xml.sub(root, verb)
        for record in page:
            if headers_only:
                self._header(body, record)
            else:
                self._record(body, record, fmt, fragments)

        # The size announced on the first page is kept; it only grows when records were added
        # to the range meanwhile, so that the cursor never passes it.
        size = max(size, cursor + len(page) + (1 if more else 0))
        if more:
            last = page[-1]
            expires = (now + self.settings.token_lifetime).replace(microsecond=0)
            token = self.tokens.encode(
                ResumptionState(
                    verb=verb,
                    metadata_prefix=fmt.prefix,
                    set_spec=query.set_spec,
                    since=query.since,
                    until=query.until,
                    after=(last.datestamp, last.key),
                    cursor=cursor + len(page),
                    complete_list_size=size,
                    expires=expires,
                )
            )
            xml.resumption_token(body, token, cursor, size, expires)
        elif request.resumption_token is not None:
            xml.resumption_token(body, "", cursor, size, None)

    def _page(self, query: ListQuery) -> tuple[list[SourceRecord], bool]:
        """One page of disseminable records after ``query.after``, and whether more follow.

        A live record without metadata (a source that lost it) cannot be disseminated in any
        format, so it is left out of lists exactly as GetRecord refuses it.
        """
        limit = self.settings.page_size
        page: list[SourceRecord] = []
        after = query.after
        while True:
            batch = self.source.list(
                ListQuery(
                    since=query.since, until=query.until, set_spec=query.set_spec, after=after
                ),
                limit + 1,
            )
            for record in batch:
                if record.deleted or record.has_metadata:
                    if len(page) == limit:
                        return page, True
                    page.append(record)
                else:
                    logger.warning("OAI: record %r has no metadata; left out", record.key)
            if len(batch) <= limit:
                return page, False
            after = (batch[-1].datestamp, batch[-1].key)

    def _header(self, parent: etree._Element, record: SourceRecord) -> None:
        xml.header(
            parent, self.identifier(record.key), record.datestamp, record.sets, record.deleted
        )

    def _record(
        self,
        parent: etree._Element,
        record: SourceRecord,
        fmt: MetadataFormat,
        fragments: list[str],
    ) -> None:
        element = xml.sub(parent, "record")
        self._header(element, record)
        if record.deleted:
            return
        metadata = fmt.render(record)
        if isinstance(metadata, str):
            xml.sub(element, "metadata").append(xml.placeholder(len(fragments)))
            fragments.append(metadata)
        else:
            xml.sub(element, "metadata").append(metadata)
        about = self._provenance(record, fmt)
        if about is not None:
            xml.sub(element, "about").append(about)

    def _provenance(self, record: SourceRecord, fmt: MetadataFormat) -> etree._Element | None:
        origin = record.provenance
        if origin is None or not origin.base_url or not origin.identifier:
            return None
        if not _UTC_DATETIME.fullmatch(origin.datestamp):
            logger.warning("OAI: record %r has an unusable origin datestamp", record.key)
            return None
        # The harvest date is the origin's responseDate; a source that did not keep it gives
        # the time the record was stored, which is when it was harvested.
        harvest_date = origin.harvest_date
        if not _UTC_DATETIME.fullmatch(harvest_date):
            harvest_date = xml.format_utc(record.datestamp)
        return xml.provenance(
            base_url=origin.base_url,
            identifier=origin.identifier,
            datestamp=origin.datestamp,
            metadata_namespace=origin.metadata_namespace,
            harvest_date=harvest_date,
            # Disseminated in another format than harvested means crosswalked, i.e. altered.
            altered=origin.metadata_namespace != fmt.namespace,
        )


class _Errors(Exception):
    """Several OAI errors of one request, answered together (protocol section 3.6)."""

    def __init__(self, errors: list[OAIError]) -> None:
        super().__init__(", ".join(e.code for e in errors))
        self.errors = errors
