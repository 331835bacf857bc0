"""Built-in accounts and API tokens: the standalone app's login, and its principal loader.

Inside a host ILS the host's own login normally plugs in instead (``LIBEXT_AUTH_PRINCIPAL_LOADER``);
these accounts are what the standalone app, or a host without a login of its own, uses.

* Passwords are hashed with argon2id (``argon2-cffi``, RFC 9106 parameters); a hash made with
  older parameters is upgraded at the next successful login.
* API tokens are 256 random bits, shown once when created and stored as a SHA-256 digest: a
  digest this fast is safe for a secret this long, and lets each request find its token by
  index. Revoked tokens stay listed (with when), so an administrator can see what existed.
* :func:`load_principal` reads ``Authorization: Bearer <token>`` first, else the session of a
  logged-in user. A request that sends a bearer header is never authenticated by its cookie.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Response, after_this_request, current_app, request, session
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from libext.auth import ROLE_ADMIN, ROLES, Principal
from libext.models import ApiToken, Library, User, utcnow

log = logging.getLogger(__name__)

#: Letters, digits and ``.-_@``: safe in URLs, logs and the command line.
USERNAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
TOKEN_PREFIX = "lxt_"
#: Characters of a token kept in clear, so that ``token list`` can tell tokens apart.
TOKEN_SHOWN = 12
#: ``last_used`` is written at most this often per token, not on every API call.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)
SESSION_USER = "libext_user"
SESSION_VERSION = "libext_user_version"
SESSION_SINCE = "libext_login_at"

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this when the account does not exist costs the same time as a real
    check, so the time a login takes does not tell whether the name exists.

    Made on the first failed lookup, not at import: an argon2id hash takes 64 MiB for a
    moment, which every command-line job and worker process would otherwise carry as peak
    memory without ever logging anyone in.
    """
    return _hasher.hash(secrets.token_hex(16))


class AccountError(Exception):
    """Raised when an account operation cannot be done; the message says why and how to fix it."""


# --- passwords ------------------------------------------------------------------------------
def check_password_strength(password: str) -> None:
    """Refuse passwords that are too short, too long or all blanks."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at most {MAX_PASSWORD_LENGTH} characters")
    if not password.strip():
        raise AccountError("the password must not be only spaces")


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(user: User | None, password: str) -> bool:
    """True when ``password`` is ``user``'s; takes the same time when ``user`` is None."""
    stored = user.password_hash if user is not None else None
    try:
        _hasher.verify(stored or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return stored is not None


# --- users ----------------------------------------------------------------------------------
def find_user(db: Session, name: str) -> User | None:
    """The user called ``name``, or None."""
    return db.scalar(select(User).where(User.name == name))


def _libraries(db: Session, codes: Iterable[str]) -> list[Library]:
    codes = sorted(set(codes))
    found = {lib.code: lib for lib in db.scalars(select(Library).where(Library.code.in_(codes)))}
    missing = [c for c in codes if c not in found]
    if missing:
        raise AccountError(
            f"no library with code {', '.join(missing)} (see 'flask libext library list')"
        )
    return [found[c] for c in codes]


def add_user(
    db: Session, name: str, role: str, libraries: Iterable[str] = (), password: str | None = None
) -> User:
    """Create an account; a cataloguer needs at least one library, an admin needs none."""
    if not USERNAME_PATTERN.fullmatch(name):
        raise AccountError(
            f"invalid user name {name!r}: use 1-64 letters, digits, '.', '_', '@' or '-'"
        )
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}: use {' or '.join(ROLES)}")
    libs = _libraries(db, libraries)
    if role != ROLE_ADMIN and not libs:
        raise AccountError("a cataloguer needs at least one --library CODE")
    if find_user(db, name) is not None:
        raise AccountError(f"user {name} already exists")
    if password is not None:
        check_password_strength(password)
    user = User(
        name=name,
        role=role,
        libraries=libs,
        password_hash=hash_password(password) if password is not None else None,
    )
    db.add(user)
    db.commit()
    return user


def set_password(db: Session, name: str, password: str) -> User:
    """Change a password; every session opened with the old one ends."""
    user = _existing(db, name)
    check_password_strength(password)
    user.password_hash = hash_password(password)
    user.session_version += 1
    db.commit()
    return user


def remove_user(db: Session, name: str) -> None:
    """Delete an account with its tokens."""
    user = _existing(db, name)
    db.delete(user)
    db.commit()


def list_users(db: Session) -> list[User]:
    """Every account, by name."""
    return list(db.scalars(select(User).order_by(User.name)))


def _existing(db: Session, name: str) -> User:
    user = find_user(db, name)
    if user is None:
        raise AccountError(f"no user called {name} (see 'flask libext user list')")
    return user


def principal_of(user: User) -> Principal:
    """The principal a built-in account stands for."""
    return Principal(
        name=user.name, roles=frozenset({user.role}), libraries=frozenset(user.library_codes)
    )


# --- API tokens -----------------------------------------------------------------------------
def token_digest(token: str) -> str:
    """The SHA-256 hex digest a token is stored as."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class NewToken:
    """A token just created: ``secret`` is shown this once and stored nowhere."""

    secret: str
    token: ApiToken


def create_token(db: Session, username: str, label: str = "") -> NewToken:
    """A new API token for ``username``."""
    user = _existing(db, username)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user=user, digest=token_digest(secret), prefix=secret[:TOKEN_SHOWN], label=label)
    db.add(row)
    db.commit()
    return NewToken(secret, row)


def list_tokens(db: Session, username: str | None = None) -> list[ApiToken]:
    """Every token (of ``username`` when given), oldest first."""
    query = select(ApiToken).join(ApiToken.user).order_by(ApiToken.id)
    if username is not None:
        query = query.where(User.name == _existing(db, username).name)
    return list(db.scalars(query))


def revoke_token(db: Session, ident: str) -> ApiToken:
    """Revoke the token with id ``ident`` or whose shown prefix is ``ident``."""
    query = select(ApiToken)
    if ident.isdigit():
        query = query.where(ApiToken.id == int(ident))
    else:
        query = query.where(ApiToken.prefix == ident[:TOKEN_SHOWN])
    rows = list(db.scalars(query))
    if not rows:
        raise AccountError(f"no token {ident} (see 'flask libext token list')")
    if len(rows) > 1:
        raise AccountError(f"several tokens start with {ident}: revoke by id")
    row = rows[0]
    if row.revoked is None:
        row.revoked = utcnow()
        db.commit()
    return row


def user_for_token(db: Session, secret: str) -> tuple[User, ApiToken] | None:
    """The user and token a bearer secret belongs to, unless unknown or revoked."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    row = db.scalar(select(ApiToken).where(ApiToken.digest == token_digest(secret)))
    # compare_digest: the lookup already matched, this only keeps the check constant-time.
    if (
        row is None
        or row.revoked is not None
        or not hmac.compare_digest(row.digest, token_digest(secret))
    ):
        return None
    return row.user, row


# --- sessions ---------------------------------------------------------------------------------
def log_in(user: User) -> None:
    """Start a session for ``user`` (a new session: nothing from before login survives)."""
    lang = session.get("libext_lang")
    session.clear()
    if lang:
        session["libext_lang"] = lang
    session[SESSION_USER] = user.id
    session[SESSION_VERSION] = user.session_version
    session[SESSION_SINCE] = int(time.time())


def log_out() -> None:
    """End the session's login."""
    for key in (SESSION_USER, SESSION_VERSION, SESSION_SINCE):
        session.pop(key, None)


def _session_expired() -> bool:
    # The cookie is signed but carries no expiry of its own: a login on a shared library
    # computer must not last for ever.
    lifetime = current_app.config["LIBEXT_AUTH_SESSION_LIFETIME"]
    since = session.get(SESSION_SINCE)
    if not lifetime:
        return False
    return not isinstance(since, int) or time.time() - since > float(lifetime)


def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer …`` header, or None.

    Other schemes are not ours: an intranet proxy's ``Basic`` credentials, which a browser
    resends on its own, must neither replace the session nor lift the CSRF check.
    """
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def load_principal() -> Principal | None:
    """The built-in principal loader: a bearer token, else the logged-in session user.

    A request with a bearer token is judged by the token alone, never by its cookie.
    """
    db: Session = current_app.extensions["libext"].db.session
    secret = bearer_token()
    if secret is not None:
        found = user_for_token(db, secret)
        if found is None:
            return None
        user, token = found
        _touch_later(token)
        return principal_of(user)
    user_id = session.get(SESSION_USER)
    if user_id is None:
        return None
    user = db.get(User, user_id)
    if user is None or user.session_version != session.get(SESSION_VERSION) or _session_expired():
        log_out()
        return None
    return principal_of(user)


def _touch_later(token: ApiToken) -> None:
    """Record the token's use, at most once a minute, after the response is sent.

    After the response and on its own connection: a long import may hold SQLite's write lock,
    and an API call must not wait for it just to note a time.
    """
    now = utcnow()
    if token.last_used is not None and now - token.last_used < TOKEN_TOUCH_INTERVAL:
        return
    engine = current_app.extensions["libext"].db.engine
    token_id = token.id

    def touch() -> None:
        try:
            with engine.begin() as conn:
                conn.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used=now))
        except Exception:  # a lost timestamp must never fail a request
            log.warning("could not record the use of API token %s", token_id, exc_info=True)

    @after_this_request
    def schedule(response: Response) -> Response:
        response.call_on_close(touch)
        return response


def note_login(db: Session, user: User, password: str) -> None:
    """Record a successful login; store a fresh hash if the old one's parameters are weaker."""
    user.last_login = utcnow()
    if user.password_hash and _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    db.commit()
