"""Verb and argument validation of OAI-PMH requests, dates and their granularity.

:func:`parse_request` takes the request's ``key=value`` pairs exactly as they arrived (so a
repeated argument can be seen) and returns an :class:`OAIRequest`, or raises
:class:`~oai.errors.BadVerb` / :class:`~oai.errors.BadArgument` with a sentence that says what
to fix. It knows nothing about the repository's records, formats or sets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from lxml import etree

from oai.errors import BadArgument, BadVerb

Granularity = Literal["day", "second"]

#: The repository's finest granularity, as Identify announces it.
GRANULARITY = "YYYY-MM-DDThh:mm:ssZ"

#: For each verb: (required arguments, optional arguments, exclusive argument or None).
VERB_ARGUMENTS: dict[str, tuple[frozenset[str], frozenset[str], str | None]] = {
    "Identify": (frozenset(), frozenset(), None),
    "ListMetadataFormats": (frozenset(), frozenset({"identifier"}), None),
    "ListSets": (frozenset(), frozenset(), "resumptionToken"),
    "GetRecord": (frozenset({"identifier", "metadataPrefix"}), frozenset(), None),
    "ListIdentifiers": (
        frozenset({"metadataPrefix"}),
        frozenset({"from", "until", "set"}),
        "resumptionToken",
    ),
    "ListRecords": (
        frozenset({"metadataPrefix"}),
        frozenset({"from", "until", "set"}),
        "resumptionToken",
    ),
}

# Syntax of the values the schema constrains (OAI-PMH.xsd metadataPrefixType, setSpecType):
# a value outside them could not even be echoed in <request>, so it is a badArgument.
_PREFIX_RE = re.compile(r"[A-Za-z0-9\-_.!~*'()]+")
_SET_SPEC_RE = re.compile(r"[A-Za-z0-9\-_.!~*'()]+(?::[A-Za-z0-9\-_.!~*'()]+)*")
_DAY_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_SECOND_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z")


# The <request> element echoes ``identifier`` as xs:anyURI: the schema validator's own idea
# of a URI is the one that counts, so a one-element schema asks it.
_ANY_URI = etree.XMLSchema(
    etree.fromstring(
        b'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
        b'<xs:element name="u" type="xs:anyURI"/></xs:schema>'
    )
)


def is_any_uri(value: str) -> bool:
    """Whether ``value`` is a valid ``xs:anyURI`` (what an OAI identifier must be)."""
    element = etree.Element("u")
    try:
        element.text = value
    except ValueError:  # characters XML cannot carry at all
        return False
    return _ANY_URI.validate(element)


@dataclass(frozen=True, slots=True)
class OAIRequest:
    """A syntactically valid OAI-PMH request.

    ``arguments`` keeps every ``key=value`` pair as received (verb excluded), for the
    ``<request>`` element. ``since`` and ``until`` are inclusive naive-UTC bounds: ``until``
    already covers the whole day or second it names.
    """

    verb: str
    arguments: dict[str, str] = field(default_factory=dict)
    identifier: str | None = None
    metadata_prefix: str | None = None
    set_spec: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    resumption_token: str | None = None


def parse_datestamp(text: str) -> tuple[datetime, Granularity]:
    """Parse an OAI UTCdatetime (``YYYY-MM-DD`` or ``YYYY-MM-DDThh:mm:ssZ``).

    Returns the naive UTC start of the day or second, with the granularity used. Anything
    else, fractions of a second or minutes-only included, raises :class:`BadArgument`.
    """
    day = _DAY_RE.fullmatch(text)
    second = None if day else _SECOND_RE.fullmatch(text)
    match = day or second
    if match is None:
        raise BadArgument(
            f"'{text}' is not a date of this repository's granularity: use YYYY-MM-DD or "
            "YYYY-MM-DDThh:mm:ssZ (UTC)."
        )
    try:
        value = datetime(*(int(part) for part in match.groups()))  # type: ignore[misc]
    except ValueError:
        raise BadArgument(f"'{text}' is not a real calendar date or time.") from None
    return value, ("day" if day else "second")


def format_datestamp(value: datetime) -> str:
    """A naive UTC datetime as ``YYYY-MM-DDThh:mm:ssZ`` (fractions of a second dropped)."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def end_of(value: datetime, granularity: Granularity) -> datetime:
    """The last instant inside the day or second that ``value`` starts (inclusive ``until``)."""
    step = timedelta(days=1) if granularity == "day" else timedelta(seconds=1)
    try:
        return value + step - timedelta(microseconds=1)
    except OverflowError:  # until=9999-12-31
        return datetime.max


def parse_request(pairs: Iterable[tuple[str, str]]) -> OAIRequest:
    """Validate the verb and arguments of a request given as ``(key, value)`` pairs.

    Raises :class:`BadVerb` for a missing, repeated or unknown verb and :class:`BadArgument`
    for an unknown, repeated, missing, empty or malformed argument, or for ``resumptionToken``
    mixed with other arguments.
    """
    verbs: list[str] = []
    arguments: dict[str, str] = {}
    repeated: list[str] = []
    for key, value in pairs:
        if key == "verb":
            verbs.append(value)
        elif key in arguments:
            repeated.append(key)
        else:
            arguments[key] = value

    if not verbs:
        raise BadVerb("The request has no verb argument.")
    if len(verbs) > 1:
        raise BadVerb("The verb argument may be given only once.")
    verb = verbs[0]
    if verb not in VERB_ARGUMENTS:
        raise BadVerb(f"'{verb}' is not an OAI-PMH verb; use one of: {', '.join(VERB_ARGUMENTS)}.")
    if repeated:
        raise BadArgument(f"Argument repeated: {', '.join(sorted(set(repeated)))}.")

    required, optional, exclusive = VERB_ARGUMENTS[verb]
    allowed = required | optional | ({exclusive} if exclusive else set())
    unknown = sorted(set(arguments) - allowed)
    if unknown:
        raise BadArgument(f"{verb} does not take the argument(s): {', '.join(unknown)}.")
    empty = sorted(key for key, value in arguments.items() if value == "")
    if empty:
        raise BadArgument(f"Argument(s) given without a value: {', '.join(empty)}.")

    if exclusive and exclusive in arguments:
        if len(arguments) > 1:
            others = sorted(set(arguments) - {exclusive})
            raise BadArgument(f"{exclusive} is an exclusive argument; remove: {', '.join(others)}.")
        return OAIRequest(verb, dict(arguments), resumption_token=arguments[exclusive])

    missing = sorted(required - set(arguments))
    if missing:
        raise BadArgument(f"{verb} needs the argument(s): {', '.join(missing)}.")

    prefix = arguments.get("metadataPrefix")
    if prefix is not None and not _PREFIX_RE.fullmatch(prefix):
        raise BadArgument(f"'{prefix}' is not a legal metadataPrefix.")
    identifier = arguments.get("identifier")
    if identifier is not None and not is_any_uri(identifier):
        raise BadArgument(f"'{identifier}' is not a URI, so it cannot be an OAI identifier.")
    set_spec = arguments.get("set")
    if set_spec is not None and not _SET_SPEC_RE.fullmatch(set_spec):
        raise BadArgument(f"'{set_spec}' is not a legal setSpec.")

    since = until = None
    since_granularity = until_granularity = None
    if "from" in arguments:
        since, since_granularity = parse_datestamp(arguments["from"])
    if "until" in arguments:
        until, until_granularity = parse_datestamp(arguments["until"])
    if since_granularity and until_granularity and since_granularity != until_granularity:
        raise BadArgument("from and until must have the same granularity.")
    if since is not None and until is not None and since > until:
        raise BadArgument("from is later than until.")

    return OAIRequest(
        verb,
        dict(arguments),
        identifier=identifier,
        metadata_prefix=prefix,
        set_spec=set_spec,
        since=since,
        until=end_of(until, until_granularity) if until and until_granularity else None,
    )
