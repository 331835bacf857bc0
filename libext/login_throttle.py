"""Login rate limiting, kept in the database.

Failed logins are counted per account and per client address over a sliding window
(``LIBEXT_AUTH_LOGIN_WINDOW``); past ``LIBEXT_AUTH_LOGIN_MAX_FAILURES`` for the account, or
``LIBEXT_AUTH_LOGIN_MAX_FAILURES_PER_ADDRESS`` for the address, the login form answers 429
without looking at the password until the oldest failure leaves the window.

Why a table and not Flask-Limiter: Flask-Limiter's in-memory store counts per worker process
(four gunicorn workers allow four times the limit, and a restart forgets), and its shared
stores need Redis, Memcached or MongoDB, services a provincial library rarely runs. The
database is already there and shared by every worker; a login is rare enough that a row per
failure costs nothing. Counting failures (not requests) also means a librarian who logs in
correctly is never slowed down.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from libext.models import LoginFailure, utcnow


@dataclass(frozen=True, slots=True)
class Limits:
    """How many failures are allowed per account and per address in ``window``."""

    per_account: int
    per_address: int
    window: timedelta

    @classmethod
    def from_config(cls, config: Any) -> Limits:
        """The limits configured on the app."""
        return cls(
            per_account=int(config["LIBEXT_AUTH_LOGIN_MAX_FAILURES"]),
            per_address=int(config["LIBEXT_AUTH_LOGIN_MAX_FAILURES_PER_ADDRESS"]),
            window=timedelta(seconds=float(config["LIBEXT_AUTH_LOGIN_WINDOW"])),
        )


def _keys(username: str, address: str | None) -> tuple[str, str]:
    # Names are compared case-folded so "Admin" and "admin" share one budget.
    return f"user:{username.casefold()[:150]}", f"ip:{address or '-'}"


def retry_after(db: Session, limits: Limits, username: str, address: str | None) -> int | None:
    """Seconds until another attempt is allowed, or None when one is allowed now."""
    user_key, ip_key = _keys(username, address)
    since = utcnow() - limits.window
    waits = []
    for key, allowed in ((user_key, limits.per_account), (ip_key, limits.per_address)):
        count, oldest = db.execute(
            select(func.count(LoginFailure.id), func.min(LoginFailure.at)).where(
                LoginFailure.key == key, LoginFailure.at > since
            )
        ).one()
        if count >= allowed and oldest is not None:
            waits.append((oldest + limits.window - utcnow()).total_seconds())
    if not waits:
        return None
    return max(1, int(max(waits)) + 1)


def record_failure(db: Session, limits: Limits, username: str, address: str | None) -> None:
    """Count a failed login against the account and the address; forget expired failures."""
    now = utcnow()
    db.execute(delete(LoginFailure).where(LoginFailure.at <= now - limits.window))
    for key in _keys(username, address):
        db.add(LoginFailure(key=key, at=now))
    db.commit()


def clear_account(db: Session, username: str) -> None:
    """Forget the account's failures after a successful login (the address's stay)."""
    user_key, _ = _keys(username, None)
    db.execute(delete(LoginFailure).where(LoginFailure.key == user_key))
    db.commit()
