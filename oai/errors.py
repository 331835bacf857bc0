"""OAI-PMH error conditions (protocol section 3.6) as exceptions.

The provider raises these while it validates a request and turns every one it catches into an
``<error code="...">`` element of an HTTP 200 response: an OAI error is data, not a failure.
"""

from __future__ import annotations

from typing import ClassVar


class OAIError(Exception):
    """Base class: a request the repository answers with an OAI-PMH ``<error>`` element.

    ``code`` is the protocol's error code; the message is the human-readable text of the
    element, so it should say what was wrong and how to ask correctly.
    """

    code: ClassVar[str] = "badArgument"

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class BadArgument(OAIError):
    """Illegal, missing, repeated or malformed argument (any verb)."""

    code = "badArgument"


class BadResumptionToken(OAIError):
    """A resumption token that is not ours, was altered, is malformed or has expired."""

    code = "badResumptionToken"


class BadVerb(OAIError):
    """The verb is missing, repeated or not one of the six OAI-PMH verbs."""

    code = "badVerb"


class CannotDisseminateFormat(OAIError):
    """The ``metadataPrefix`` is not offered by the repository or by the item."""

    code = "cannotDisseminateFormat"


class IdDoesNotExist(OAIError):
    """The ``identifier`` is unknown or not a legal identifier of this repository."""

    code = "idDoesNotExist"


class NoRecordsMatch(OAIError):
    """The ``from``/``until``/``set``/``metadataPrefix`` combination selects nothing."""

    code = "noRecordsMatch"


class NoMetadataFormats(OAIError):
    """The item exists but no metadata format can be disseminated for it."""

    code = "noMetadataFormats"


class NoSetHierarchy(OAIError):
    """The repository has no sets, yet ``ListSets`` or a ``set`` argument asked for them."""

    code = "noSetHierarchy"


#: Every error code of the protocol, mapped to its exception class.
ERROR_CLASSES: dict[str, type[OAIError]] = {
    cls.code: cls
    for cls in (
        BadArgument,
        BadResumptionToken,
        BadVerb,
        CannotDisseminateFormat,
        IdDoesNotExist,
        NoRecordsMatch,
        NoMetadataFormats,
        NoSetHierarchy,
    )
}
