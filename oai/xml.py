"""Building OAI-PMH responses with lxml: the envelope, headers, records, errors.

Every element is created in its namespace with the ``schemaLocation`` the specification and
the metadata guidelines ask for, and every string that reaches the tree first loses the
characters XML 1.0 forbids (MARC data carries stray control characters; lxml would refuse them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from lxml import etree

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
OAI_SCHEMA = "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
OAI_IDENTIFIER_NS = "http://www.openarchives.org/OAI/2.0/oai-identifier"
OAI_IDENTIFIER_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai-identifier.xsd"
PROVENANCE_NS = "http://www.openarchives.org/OAI/2.0/provenance"
PROVENANCE_SCHEMA = "http://www.openarchives.org/OAI/2.0/provenance.xsd"

_XSI_LOCATION = f"{{{XSI_NS}}}schemaLocation"

# XML 1.0 Char production: everything outside it (C0 controls but tab/LF/CR, lone
# surrogates, U+FFFE/U+FFFF) makes a document unparseable. MARC's own delimiters
# (0x1D-0x1F) are in this range and turn up inside field data of badly converted records.
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean_text(value: str) -> str:
    """``value`` without the characters XML 1.0 does not allow."""
    return _ILLEGAL_XML.sub("", value)


def sub(parent: etree._Element, tag: str, text: str | None = None, **attrib: str) -> etree._Element:
    """Append a child ``tag`` (Clark notation or local name in the parent's namespace)."""
    if not tag.startswith("{"):
        tag = f"{{{OAI_NS}}}{tag}"
    element = etree.SubElement(parent, tag, attrib)
    if text is not None:
        element.text = clean_text(text)
    return element


def format_utc(value: datetime) -> str:
    """A naive UTC datetime as ``YYYY-MM-DDThh:mm:ssZ``."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def envelope(
    response_date: datetime, base_url: str, request_attributes: Mapping[str, str] | None
) -> etree._Element:
    """The ``<OAI-PMH>`` root with ``responseDate`` and ``request``.

    ``request_attributes`` is None when the answer is badVerb/badArgument: the protocol then
    wants the base URL alone, without attributes.
    """
    root = etree.Element(f"{{{OAI_NS}}}OAI-PMH", nsmap={None: OAI_NS, "xsi": XSI_NS})
    root.set(_XSI_LOCATION, f"{OAI_NS} {OAI_SCHEMA}")
    sub(root, "responseDate", format_utc(response_date))
    request = sub(root, "request", base_url)
    for key, value in (request_attributes or {}).items():
        request.set(key, clean_text(value))
    return root


def add_errors(root: etree._Element, errors: Iterable[tuple[str, str]]) -> None:
    """Append one ``<error code=...>`` per ``(code, message)``."""
    for code, message in errors:
        sub(root, "error", message or None, code=code)


def header(
    parent: etree._Element,
    identifier: str,
    datestamp: datetime,
    set_specs: Iterable[str],
    deleted: bool,
) -> etree._Element:
    """Append a record ``<header>`` (``status="deleted"`` for deletions)."""
    element = sub(parent, "header")
    if deleted:
        element.set("status", "deleted")
    sub(element, "identifier", identifier)
    sub(element, "datestamp", format_utc(datestamp))
    for spec in set_specs:
        sub(element, "setSpec", spec)
    return element


def resumption_token(
    parent: etree._Element,
    token: str,
    cursor: int,
    complete_list_size: int,
    expiration: datetime | None,
) -> etree._Element:
    """Append ``<resumptionToken>``; an empty ``token`` marks the last page of a list."""
    element = sub(parent, "resumptionToken", token or None)
    if expiration is not None and token:
        element.set("expirationDate", format_utc(expiration))
    element.set("completeListSize", str(complete_list_size))
    element.set("cursor", str(cursor))
    return element


def oai_identifier_description(
    repository_identifier: str, sample_identifier: str
) -> etree._Element:
    """The ``oai-identifier`` description of Identify (guidelines-oai-identifier)."""
    tag = f"{{{OAI_IDENTIFIER_NS}}}"
    root = etree.Element(f"{tag}oai-identifier", nsmap={None: OAI_IDENTIFIER_NS, "xsi": XSI_NS})
    root.set(_XSI_LOCATION, f"{OAI_IDENTIFIER_NS} {OAI_IDENTIFIER_SCHEMA}")
    sub(root, f"{tag}scheme", "oai")
    sub(root, f"{tag}repositoryIdentifier", repository_identifier)
    sub(root, f"{tag}delimiter", ":")
    sub(root, f"{tag}sampleIdentifier", sample_identifier)
    return root


def provenance(
    base_url: str,
    identifier: str,
    datestamp: str,
    metadata_namespace: str,
    harvest_date: str,
    altered: bool,
) -> etree._Element:
    """A ``<provenance>`` container with one ``originDescription`` (guidelines-provenance).

    ``datestamp`` and ``harvest_date`` are passed through as received: the guidelines forbid
    changing their granularity.
    """
    tag = f"{{{PROVENANCE_NS}}}"
    root = etree.Element(f"{tag}provenance", nsmap={None: PROVENANCE_NS, "xsi": XSI_NS})
    root.set(_XSI_LOCATION, f"{PROVENANCE_NS} {PROVENANCE_SCHEMA}")
    origin = sub(
        root,
        f"{tag}originDescription",
        harvestDate=clean_text(harvest_date),
        altered="true" if altered else "false",
    )
    sub(origin, f"{tag}baseURL", base_url)
    sub(origin, f"{tag}identifier", identifier)
    sub(origin, f"{tag}datestamp", datestamp)
    sub(origin, f"{tag}metadataNamespace", metadata_namespace)
    return root


def placeholder(index: int) -> etree._PI:
    """Where :func:`serialize` puts the ``index``-th pre-serialised fragment."""
    return etree.ProcessingInstruction(_PLACEHOLDER, str(index))


def serialize(root: etree._Element, fragments: Sequence[str] = ()) -> bytes:
    """The response document as UTF-8 bytes with the XML declaration the spec shows.

    Each :func:`placeholder` is replaced by its fragment. No text of the tree can look like a
    placeholder: character data and attribute values are written with ``<`` escaped.
    """
    body = etree.tostring(root, encoding="UTF-8", xml_declaration=False)
    if fragments:
        encoded = [f.encode("utf-8") for f in fragments]
        body = _PLACEHOLDER_RE.sub(lambda m: encoded[int(m.group(1))], body)
    return _DECLARATION + body


_PLACEHOLDER = "libext-fragment"
_PLACEHOLDER_RE = re.compile(rb"<\?libext-fragment (\d+)\?>")


_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
