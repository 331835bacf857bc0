"""Exceptions raised by the OAI-PMH harvester.

Every exception derives from :class:`HarvestError`, so a caller that only wants to report "this
source failed" catches one class. The subclasses say *why*, because the reaction differs: a
transport failure is retried by the next run from the saved page, an expired resumption token
restarts the list from the high-water mark, a protocol error usually needs a librarian to fix
the source's settings.
"""

from __future__ import annotations


class HarvestError(Exception):
    """Base class of every harvester error; ``str()`` is a sentence fit for a harvest log."""


class TransportError(HarvestError):
    """The provider could not be reached or kept failing (5xx, timeouts, resets) after retries.

    Raised only once the retry budget is spent; the run stops and the next run resumes from the
    last committed page.
    """


class RetryAfterTooLong(TransportError):
    """A 503 asked to wait longer than the configured maximum, so the harvest gives up for now.

    Waiting less than the provider asked would be rude flow control; waiting for hours would
    stall a nightly run. ``retry_after`` is the wait the provider asked for, in seconds.
    """

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UnexpectedResponse(TransportError):
    """An HTTP status that must not be retried automatically (403, 404, a redirect loop…).

    The OAI-PMH harvester guidelines ask harvesters to stop, pending manual intervention.
    """


class BrokenPageError(HarvestError):
    """A page stayed unparseable (not well-formed, not OAI-PMH, too big or too deep) after retries.

    The run stops cleanly; every page before it is already committed.
    """


class UnsafeURLError(HarvestError):
    """A base URL is not http(s), or points at an address the configuration does not allow."""


class OAIProtocolError(HarvestError):
    """The provider answered with an OAI-PMH ``<error>``; ``code`` is its error code."""

    def __init__(self, code: str, message: str = "") -> None:
        text = f"OAI-PMH error {code}" + (f": {message}" if message else "")
        super().__init__(text)
        self.code = code
        self.message = message


class BadResumptionToken(OAIProtocolError):
    """The provider rejected a resumption token (expired or invalid): restart the list."""

    def __init__(self, message: str = "") -> None:
        super().__init__("badResumptionToken", message)


class CannotDisseminateFormat(OAIProtocolError):
    """The provider does not offer the requested metadata prefix."""

    def __init__(self, message: str = "") -> None:
        super().__init__("cannotDisseminateFormat", message)


class NoSetHierarchy(OAIProtocolError):
    """A set was requested from a provider that has no sets."""

    def __init__(self, message: str = "") -> None:
        super().__init__("noSetHierarchy", message)


class RecordProblem(HarvestError):
    """One record could not be used (bad MARCXML, bad encoding, no identifier…).

    Never stops a page: the record is logged and skipped, the rest of the page is kept.
    ``identifier`` is the OAI identifier when the header was readable.
    """

    def __init__(self, reason: str, identifier: str | None = None) -> None:
        super().__init__(f"{identifier or 'record without identifier'}: {reason}")
        self.reason = reason
        self.identifier = identifier

    def __reduce__(self) -> tuple[type[RecordProblem], tuple[str, str | None]]:
        # Problems cross from reading worker processes; rebuilt from args alone, the message
        # would be taken for the reason.
        return RecordProblem, (self.reason, self.identifier)


#: OAI error codes with a class of their own; others become :class:`OAIProtocolError`.
PROTOCOL_ERRORS: dict[str, type[OAIProtocolError]] = {
    "badResumptionToken": BadResumptionToken,
    "cannotDisseminateFormat": CannotDisseminateFormat,
    "noSetHierarchy": NoSetHierarchy,
}


def protocol_error(code: str, message: str = "") -> OAIProtocolError:
    """The exception for an OAI-PMH error ``code``."""
    cls = PROTOCOL_ERRORS.get(code)
    if cls is not None:
        return cls(message)
    return OAIProtocolError(code, message)
