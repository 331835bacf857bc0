"""Libraries of the network."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from libext.models.base import Base, utcnow


class Library(Base):
    """A library of the network: the provincial library, a district library, a commune one.

    ``code`` is the short code used in set specs (``library:HNM``), CLI arguments and URLs;
    ``isil`` is its ISIL-style identifier (``VN-HNM``) written in 852 $a and 040 $a.
    The ``oai_*`` columns describe the library's own OAI-PMH endpoint when the union catalogue
    harvests it (the harvester keeps its state in its own tables).
    """

    __tablename__ = "libext_library"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    isil: Mapped[str | None] = mapped_column(String(64))
    oai_url: Mapped[str | None] = mapped_column(String(1024))
    oai_prefix: Mapped[str | None] = mapped_column(String(64))
    oai_set: Mapped[str | None] = mapped_column(String(255))
    created: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<Library {self.code}>"

    def to_dict(self) -> dict[str, object]:
        """The library as JSON-ready data."""
        return {
            "code": self.code,
            "name": self.name,
            "isil": self.isil,
            "oai_url": self.oai_url,
            "oai_prefix": self.oai_prefix,
            "oai_set": self.oai_set,
        }
