"""Built-in accounts of the standalone app: users, their libraries, API tokens, login failures.

A host ILS that plugs its own login in (``LIBEXT_AUTH_PRINCIPAL_LOADER``) leaves these tables
empty. Passwords are stored only as argon2id hashes; API tokens only as SHA-256 digests (a
token is 256 random bits, so a fast digest is enough and lets a request find its token by
index), with the first characters kept in clear so an administrator can tell tokens apart.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from libext.models.base import Base, utcnow
from libext.models.library import Library

#: Which libraries a cataloguer catalogues for.
user_library = Table(
    "libext_user_library",
    Base.metadata,
    Column("user_id", ForeignKey("libext_user.id", ondelete="CASCADE"), primary_key=True),
    Column("library_id", ForeignKey("libext_library.id", ondelete="CASCADE"), primary_key=True),
)


class User(Base):
    """A built-in account: a cataloguer of some libraries, or an administrator.

    ``password_hash`` is None for an account that only uses API tokens (it cannot log in to
    the pages). ``session_version`` changes with the password, which ends every session that
    was opened with the old one.
    """

    __tablename__ = "libext_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    session_version: Mapped[int] = mapped_column(default=1)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    last_login: Mapped[datetime | None] = mapped_column()

    libraries: Mapped[list[Library]] = relationship(
        secondary=user_library, order_by=Library.code, lazy="selectin"
    )
    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ApiToken.id",
    )

    def __repr__(self) -> str:
        return f"<User {self.name} {self.role}>"

    @property
    def library_codes(self) -> list[str]:
        """Codes of the libraries this user catalogues for."""
        return [lib.code for lib in self.libraries]

    def to_dict(self) -> dict[str, object]:
        """The account as JSON-ready data (never the password hash)."""
        return {
            "name": self.name,
            "role": self.role,
            "libraries": self.library_codes,
            "has_password": self.password_hash is not None,
            "created": self.created.isoformat() if self.created else None,
            "last_login": self.last_login.isoformat() if self.last_login else None,
        }


class ApiToken(Base):
    """A bearer token of the JSON API, shown once when created and stored as a digest."""

    __tablename__ = "libext_api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("libext_user.id", ondelete="CASCADE"))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(255), default="")
    created: Mapped[datetime] = mapped_column(default=utcnow)
    last_used: Mapped[datetime | None] = mapped_column()
    revoked: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship(back_populates="tokens", lazy="joined")

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.prefix}… of {self.user_id}>"

    def to_dict(self) -> dict[str, object]:
        """The token's description as JSON-ready data (never the token or its digest)."""
        return {
            "id": self.id,
            "user": self.user.name,
            "prefix": self.prefix,
            "label": self.label,
            "created": self.created.isoformat() if self.created else None,
            "last_used": self.last_used.isoformat() if self.last_used else None,
            "revoked": self.revoked.isoformat() if self.revoked else None,
        }


class LoginFailure(Base):
    """One failed login, kept for the rate limiter's window (per account and per address).

    ``key`` is ``user:<name>`` or ``ip:<address>``. Rows older than the window are deleted as
    new failures come in.
    """

    __tablename__ = "libext_login_failure"
    __table_args__ = (Index("ix_libext_login_failure_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(160))
    at: Mapped[datetime] = mapped_column(default=utcnow)
