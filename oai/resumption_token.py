"""Stateless, signed resumption tokens that carry a keyset position.

A token holds everything needed to continue a list: the verb, the original selection
(``metadataPrefix``, ``set``, ``from``, ``until``), the ``(datestamp, key)`` of the last record
already sent, the cursor and the list size announced on the first page, and its own expiry. It
is signed with the caller's secret (``itsdangerous``), salted with the repository identifier,
so a token altered by hand, minted by another repository or another deployment, or past its
expiry is refused with :class:`~oai.errors.BadResumptionToken`. Nothing is kept on the server,
so any worker of any process can answer the next page, and tokens survive restarts.

The position is a keyset, never an offset: records added, changed or deleted while a harvest
runs cannot shift the records still to come.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadData, URLSafeSerializer

from oai.errors import BadResumptionToken
from oai.source import Position

#: Bumped when the payload layout changes, so older tokens are refused cleanly.
_FORMAT = 1


@dataclass(frozen=True, slots=True)
class ResumptionState:
    """Where a list request sequence stands.

    ``since``/``until`` are the inclusive bounds of the original request; ``after`` is the
    position of the last record sent; ``cursor`` counts the records sent before the page this
    token asks for.
    """

    verb: str
    metadata_prefix: str | None
    set_spec: str | None
    since: datetime | None
    until: datetime | None
    after: Position
    cursor: int
    complete_list_size: int
    expires: datetime


def _dt(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_dt(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("datetime expected")
    return datetime.fromisoformat(value)


class TokenCodec:
    """Encodes and checks resumption tokens for one repository.

    ``secret`` signs the tokens (keep it stable across workers and restarts, or harvests in
    progress have to start over); ``namespace`` (the repository identifier) keeps tokens of two
    repositories that share a secret apart; ``lifetime`` is how long a token stays valid.
    """

    def __init__(self, secret: str | bytes, namespace: str, lifetime: timedelta) -> None:
        if not secret:
            raise ValueError("resumption tokens need a non-empty secret to sign them")
        self._serializer = URLSafeSerializer(secret, salt=f"libext-oai-token:{namespace}")
        self.lifetime = lifetime

    def encode(self, state: ResumptionState) -> str:
        """The opaque, URL-safe token for ``state``."""
        datestamp, key = state.after
        payload = [
            _FORMAT,
            state.verb,
            state.metadata_prefix,
            state.set_spec,
            _dt(state.since),
            _dt(state.until),
            datestamp.isoformat(),
            key,
            state.cursor,
            state.complete_list_size,
            _dt(state.expires),
        ]
        token = self._serializer.dumps(payload)
        return token if isinstance(token, str) else token.decode("ascii")

    def decode(self, token: str, verb: str, now: datetime) -> ResumptionState:
        """Check ``token`` for ``verb`` at ``now`` (naive UTC) and return its state.

        Raises :class:`BadResumptionToken` when the signature does not match (altered, or
        issued by another repository), when the token belongs to another verb, or when it has
        expired.
        """
        try:
            payload = self._serializer.loads(token)
        except BadData:
            raise BadResumptionToken(
                "This resumption token was not issued by this repository or has been altered; "
                "start the list again without it."
            ) from None
        try:
            (fmt, token_verb, prefix, set_spec, since, until, datestamp, key, cursor, size,
             expires) = payload  # fmt: skip
            if fmt != _FORMAT or not isinstance(key, int | str) or isinstance(key, bool):
                raise ValueError("unknown token format")
            state = ResumptionState(
                verb=str(token_verb),
                metadata_prefix=prefix,
                set_spec=set_spec,
                since=_parse_dt(since),
                until=_parse_dt(until),
                after=(datetime.fromisoformat(datestamp), key),
                cursor=int(cursor),
                complete_list_size=int(size),
                expires=_parse_dt(expires) or now,
            )
        except (TypeError, ValueError):
            raise BadResumptionToken(
                "This resumption token is from an older version of the repository software; "
                "start the list again without it."
            ) from None
        if state.verb != verb:
            raise BadResumptionToken(
                f"This resumption token continues a {state.verb} list, not {verb}."
            )
        if now >= state.expires:
            raise BadResumptionToken(
                f"This resumption token expired at {state.expires:%Y-%m-%dT%H:%M:%SZ}; "
                "start the list again (use 'from' to skip what you already have)."
            )
        return state
