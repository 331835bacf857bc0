"""The OAI-PMH client: the one module that knows which client library is underneath.

Built on sickle, which builds the requests and follows resumption tokens. Everything sickle does
not do for a harvest that must survive a provincial network is added here, in
:class:`OAIClient`, and nothing outside this module imports sickle, so the library can be
swapped by rewriting this file alone:

* 503 / 429 with ``Retry-After`` (seconds or an HTTP date) is honoured up to
  :attr:`RetryPolicy.retry_after_max`; a longer wait gives up with :class:`RetryAfterTooLong`
  (waiting less than asked is not flow control, waiting hours stalls the nightly run);
* other 5xx, timeouts and connection resets are retried with exponential backoff and jitter,
  at most :attr:`RetryPolicy.max_attempts` tries per request;
* a page that is not well-formed, safe OAI-PMH is fetched again, then :class:`BrokenPageError`;
* a page larger than :attr:`RetryPolicy.max_page_bytes` is refused;
* other HTTP errors stop at once (:class:`UnexpectedResponse`), as the harvester guidelines ask;
* OAI ``<error>`` answers become :mod:`oai.harvest.errors` classes; ``noRecordsMatch`` is an
  empty, successful list.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import requests
import sickle
import sickle.iterator
import sickle.models
import sickle.response
from lxml import etree

from oai.harvest import feed
from oai.harvest.errors import (
    BrokenPageError,
    OAIProtocolError,
    RetryAfterTooLong,
    TransportError,
    UnexpectedResponse,
    protocol_error,
)

log = logging.getLogger(__name__)

_OAI = f"{{{feed.OAI_NS}}}"
USER_AGENT = "libext-harvester/0.1 (OAI-PMH)"
#: Redirects followed per request (each target checked by the URL guard).
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class RetryPolicy:
    """How hard the client tries before giving up on one request. Times are in seconds."""

    #: Tries per request, the first one included (5xx, timeouts, resets, broken pages).
    max_attempts: int = 5
    #: First backoff delay; doubled after each failure, with jitter.
    backoff_base: float = 2.0
    #: Longest backoff delay.
    backoff_max: float = 60.0
    #: Longest ``Retry-After`` honoured; a provider asking for more makes the run give up.
    retry_after_max: float = 300.0
    #: Wait after a 503 without ``Retry-After`` (the guidelines ask for "minutes").
    retry_after_default: float = 120.0
    #: Connect timeout.
    connect_timeout: float = 10.0
    #: Read timeout: longest silence while waiting for or reading a response.
    read_timeout: float = 120.0
    #: Largest response body accepted, in bytes.
    max_page_bytes: int = 256 * 1024 * 1024


@dataclass(frozen=True)
class IdentifyInfo:
    """What ``Identify`` says about a repository."""

    repository_name: str
    base_url: str
    protocol_version: str
    granularity: str
    earliest_datestamp: str
    deleted_record: str
    admin_emails: tuple[str, ...] = ()


@dataclass(frozen=True)
class MetadataFormatInfo:
    """One entry of ``ListMetadataFormats``."""

    prefix: str
    schema: str
    namespace: str


@dataclass
class Page:
    """One ``ListRecords`` response.

    ``token`` is the resumption token for the *next* page (``None`` on the last one): commit it
    together with this page's records and a later run can go on from there.
    """

    number: int
    records: list[etree._Element]
    token: str | None
    response_date: str
    cursor: int | None = None
    complete_list_size: int | None = None
    expiration_date: str | None = None
    repairs: list[str] = field(default_factory=list)
    #: Byte sequences replaced by :data:`oai.harvest.feed.INVALID_BYTES_MARK`.
    invalid_sequences: int = 0
    #: The response as parsed: UTF-8 XML, repaired (see :func:`oai.harvest.feed.clean`).
    data: bytes = b""


def page_records(root: etree._Element) -> list[etree._Element]:
    """The ``<record>`` elements of a parsed ``ListRecords`` response."""
    container = root.find(f"{_OAI}ListRecords")
    return [] if container is None else container.findall(f"{_OAI}record")


class _NoRecordsMatch(Exception):
    pass


class _Response(sickle.response.OAIResponse):  # type: ignore[misc]
    """A fetched, cleaned and parsed response: sickle's type, parsed once."""

    def __init__(self, params: Mapping[str, Any], root: etree._Element, cleaned: feed.CleanFeed):
        super().__init__(http_response=None, params=dict(params))
        self._root = root
        self.cleaned = cleaned

    @property
    def xml(self) -> etree._Element:
        return self._root

    @property
    def raw(self) -> str:
        return self.cleaned.data.decode("utf-8")


class _Sickle(sickle.Sickle):  # type: ignore[misc]
    """sickle with our transport: ``harvest`` is the only request path it uses."""

    def __init__(self, endpoint: str, fetch: Callable[[Mapping[str, Any]], _Response]) -> None:
        super().__init__(endpoint, iterator=sickle.iterator.OAIResponseIterator)
        self._fetch = fetch

    def harvest(self, **kwargs: Any) -> _Response:
        return self._fetch(kwargs)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


class OAIClient:
    """Talks OAI-PMH to one repository, retrying as :class:`RetryPolicy` says.

    ``sleep`` and ``rng`` are injectable so callers (and tests) can observe the waits;
    ``url_guard`` is called with every redirect target and raises to refuse it.
    """

    def __init__(
        self,
        base_url: str,
        policy: RetryPolicy | None = None,
        *,
        user_agent: str = USER_AGENT,
        contact: str | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        url_guard: Callable[[str], object] | None = None,
    ) -> None:
        self.base_url = base_url
        self.policy = policy or RetryPolicy()
        self._session = session or requests.Session()
        self._url_guard = url_guard
        self._headers = {"User-Agent": user_agent}
        if contact:
            self._headers["From"] = contact
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._sickle = _Sickle(base_url, self._fetch)
        #: Requests made (each retry counts), for logs and tests.
        self.requests_made = 0

    def close(self) -> None:
        """Release pooled connections."""
        self._session.close()

    def __enter__(self) -> OAIClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- verbs ---------------------------------------------------------------------------------

    def identify(self) -> IdentifyInfo:
        """``Identify``: name, base URL, granularity, earliest datestamp, deletion support."""
        info = self._sickle.Identify()
        emails = info._identify_dict.get("adminEmail", [])
        return IdentifyInfo(
            repository_name=(getattr(info, "repositoryName", "") or "").strip(),
            base_url=(getattr(info, "baseURL", "") or "").strip(),
            protocol_version=(getattr(info, "protocolVersion", "") or "").strip(),
            granularity=(getattr(info, "granularity", "") or "YYYY-MM-DD").strip(),
            earliest_datestamp=(getattr(info, "earliestDatestamp", "") or "").strip(),
            deleted_record=(getattr(info, "deletedRecord", "") or "").strip(),
            admin_emails=tuple(e.strip() for e in emails if e),
        )

    def list_metadata_formats(self) -> list[MetadataFormatInfo]:
        """``ListMetadataFormats`` for the whole repository."""
        formats = []
        for response in self._sickle.ListMetadataFormats():
            for element in response.xml.iter(f"{_OAI}metadataFormat"):
                item = sickle.models.MetadataFormat(element)
                formats.append(
                    MetadataFormatInfo(
                        prefix=(getattr(item, "metadataPrefix", "") or "").strip(),
                        schema=(getattr(item, "schema", "") or "").strip(),
                        namespace=(getattr(item, "metadataNamespace", "") or "").strip(),
                    )
                )
        return formats

    def list_sets(self) -> list[tuple[str, str]]:
        """``ListSets``: ``(setSpec, setName)`` of every set; empty when there are no sets."""
        sets: list[tuple[str, str]] = []
        try:
            for response in self._sickle.ListSets():
                for element in response.xml.iter(f"{_OAI}set"):
                    spec = (element.findtext(f"{_OAI}setSpec") or "").strip()
                    name = (element.findtext(f"{_OAI}setName") or "").strip()
                    sets.append((spec, name))
        except OAIProtocolError as exc:
            if exc.code == "noSetHierarchy":
                return []
            raise
        return sets

    def list_records(
        self,
        metadata_prefix: str | None = None,
        *,
        set_spec: str | None = None,
        from_: str | None = None,
        until: str | None = None,
        token: str | None = None,
    ) -> Iterator[Page]:
        """``ListRecords`` page by page; with ``token``, resume an interrupted list.

        A page is fetched only when the previous one has been consumed, so a caller that commits
        each page before asking for the next never holds more than one page in memory.
        """
        if token:
            params: dict[str, str] = {"resumptionToken": token}
        else:
            if not metadata_prefix:
                raise ValueError("metadata_prefix is required when not resuming")
            params = {"metadataPrefix": metadata_prefix}
            if set_spec:
                params["set"] = set_spec
            if from_:
                params["from"] = from_
            if until:
                params["until"] = until
        try:
            responses = self._sickle.ListRecords(**params)
        except _NoRecordsMatch:
            return
        number = 0
        while True:
            try:
                response = next(responses)
            except StopIteration:
                return
            except _NoRecordsMatch:  # an empty last page after a token, seen in the wild
                return
            number += 1
            yield self._page(number, response)

    # -- internals -----------------------------------------------------------------------------

    @staticmethod
    def _page(number: int, response: _Response) -> Page:
        root = response.xml
        container = root.find(f"{_OAI}ListRecords")
        token_element = None if container is None else container.find(f"{_OAI}resumptionToken")
        token = cursor = size = expires = None
        if token_element is not None:
            token = (token_element.text or "").strip() or None
            cursor = _int_or_none(token_element.get("cursor"))
            size = _int_or_none(token_element.get("completeListSize"))
            expires = token_element.get("expirationDate")
        return Page(
            number=number,
            records=page_records(root),
            token=token,
            response_date=(root.findtext(f"{_OAI}responseDate") or "").strip(),
            cursor=cursor,
            complete_list_size=size,
            expiration_date=expires,
            repairs=list(response.cleaned.repairs),
            invalid_sequences=response.cleaned.invalid_sequences,
            data=response.cleaned.data,
        )

    def _fetch(self, params: Mapping[str, Any]) -> _Response:
        """One OAI request with the whole retry policy; returns a parsed response."""
        policy = self.policy
        verb = params.get("verb", "?")
        last_problem = ""
        broken = False
        for attempt in range(1, policy.max_attempts + 1):
            wait = 0.0
            broken = False
            try:
                status, headers, body = self._get(params)
            except requests.RequestException as exc:
                last_problem = f"{type(exc).__name__}: {exc}"
                wait = self._backoff(attempt)
            else:
                if status in (503, 429):
                    asked = parse_retry_after(headers.get("Retry-After"))
                    last_problem = f"HTTP {status}" + (
                        f" (Retry-After {asked:.0f} s)" if asked is not None else ""
                    )
                    if asked is None:
                        asked = policy.retry_after_default
                    if asked > policy.retry_after_max:
                        raise RetryAfterTooLong(
                            f"{self.base_url}: HTTP {status}, the provider asks to wait "
                            f"{asked:.0f} s, more than the {policy.retry_after_max:.0f} s limit",
                            asked,
                        )
                    wait = asked
                elif status >= 500:
                    last_problem = f"HTTP {status}"
                    wait = self._backoff(attempt)
                else:
                    result = self._interpret(params, status, body)
                    if isinstance(result, _Response):
                        return result
                    last_problem = result
                    broken = True
                    wait = self._backoff(attempt)
            if attempt < policy.max_attempts:
                log.warning(
                    "%s %s: %s; retry %d/%d in %.1f s",
                    self.base_url,
                    verb,
                    last_problem,
                    attempt,
                    policy.max_attempts - 1,
                    wait,
                )
                self._sleep(wait)
        if broken:
            raise BrokenPageError(
                f"{self.base_url} {verb}: {last_problem} ({policy.max_attempts} attempts)"
            )
        raise TransportError(
            f"{self.base_url} {verb}: {last_problem} ({policy.max_attempts} attempts)"
        )

    def _interpret(self, params: Mapping[str, Any], status: int, body: bytes) -> _Response | str:
        """Parse a non-5xx answer; a string return is a retryable problem."""
        cleaned = feed.clean(body)
        try:
            root = feed.parse(cleaned.data)
        except feed.BrokenXML as exc:
            if status != 200:
                raise UnexpectedResponse(
                    f"{self.base_url}: HTTP {status} {params.get('verb', '')}"
                ) from None
            return str(exc)
        errors = root.findall(f"{_OAI}error")
        if errors:
            codes = [e.get("code", "") for e in errors]
            if "noRecordsMatch" in codes:
                raise _NoRecordsMatch()
            first = errors[0]
            raise protocol_error(first.get("code", "unknown"), (first.text or "").strip())
        if status != 200:
            # Some providers send a valid answer with 4xx; without an <error> it is suspect.
            raise UnexpectedResponse(f"{self.base_url}: HTTP {status} {params.get('verb', '')}")
        return _Response(params, root, cleaned)

    def _get(self, params: Mapping[str, Any]) -> tuple[int, Mapping[str, str], bytes]:
        """One HTTP GET, redirects checked, body read with the size limit.

        Redirects are followed here, not by requests, so that each target goes through the
        URL guard (a redirect must not lead the harvester into the internal network).
        """
        policy = self.policy
        url = self.base_url
        query: dict[str, Any] | None = dict(params)
        for _hop in range(MAX_REDIRECTS + 1):
            self.requests_made += 1
            with self._session.get(
                url,
                params=query,
                headers=self._headers,
                timeout=(policy.connect_timeout, policy.read_timeout),
                stream=True,
                allow_redirects=False,
            ) as response:
                status = response.status_code
                if response.is_redirect:
                    location = response.headers.get("Location")
                    if not location:
                        raise UnexpectedResponse(f"{url}: HTTP {status} without a Location")
                    url = urljoin(response.url, location)
                    if self._url_guard is not None:
                        self._url_guard(url)
                    query = None  # the Location carries the whole request
                    continue
                if status >= 500 or status == 429:
                    return status, response.headers, b""
                length = response.headers.get("Content-Length")
                if length and length.isdigit() and int(length) > policy.max_page_bytes:
                    raise BrokenPageError(
                        f"{self.base_url}: response of {length} bytes is over the "
                        f"{policy.max_page_bytes} byte limit"
                    )
                chunks = []
                size = 0
                for chunk in response.iter_content(chunk_size=256 * 1024):
                    size += len(chunk)
                    if size > policy.max_page_bytes:
                        raise BrokenPageError(
                            f"{self.base_url}: response is over the "
                            f"{policy.max_page_bytes} byte limit"
                        )
                    chunks.append(chunk)
                return status, response.headers, b"".join(chunks)
        raise UnexpectedResponse(f"{self.base_url}: more than {MAX_REDIRECTS} redirects")

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter: between half and all of base * 2^(attempt-1)."""
        ceiling = min(self.policy.backoff_max, self.policy.backoff_base * 2 ** (attempt - 1))
        return self._rng.uniform(ceiling / 2, ceiling)


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


__all__ = [
    "IdentifyInfo",
    "MetadataFormatInfo",
    "OAIClient",
    "Page",
    "RetryPolicy",
    "parse_retry_after",
]
