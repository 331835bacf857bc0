"""Loading MARC files into the store through the record path.

This is the plain loader the demo network uses: ISO 2709 read record by record, each record
stored through :class:`libext.store.RecordStore`, committed in batches, broken records
reported with their position and reason while the others go in.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pymarc

from libext.models import Library
from libext.store import RecordStore


@dataclass
class ImportError_:
    """One record that could not be stored."""

    ordinal: int
    offset: int
    control_number: str | None
    reason: str

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "ordinal": self.ordinal,
            "offset": self.offset,
            "control_number": self.control_number,
            "reason": self.reason,
        }


@dataclass
class ImportSummary:
    """Counts of one file's load. Invariant: read = created + updated + skipped + rejected."""

    read: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    errors: list[ImportError_] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "read": self.read,
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "rejected": self.rejected,
            "errors": [e.to_dict() for e in self.errors],
        }


def _iso2709_chunks(data: bytes) -> Iterator[tuple[int, bytes]]:
    # Split on the record terminator ourselves: one record with a wrong length then costs
    # only that record, not the rest of the file.
    offset = 0
    for chunk in data.split(b"\x1d"):
        if chunk.strip(b"\r\n\x00 "):
            yield offset, chunk + b"\x1d"
        offset += len(chunk) + 1


def _lossless(raw: bytes) -> bytes | None:
    """``raw`` itself when it is already what the store keeps (NFC UTF-8, leader/09 'a')."""
    if raw[9:10] != b"a":
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return raw if unicodedata.is_normalized("NFC", text) else None


def import_file(
    store: RecordStore,
    library: Library,
    path: str | Path,
    *,
    skip_deleted: bool = False,
    batch_size: int = 500,
) -> ImportSummary:
    """Store every record of an ISO 2709 file for ``library``, committing every batch.

    With ``skip_deleted`` a record whose stored match was deleted stays deleted (counted as
    skipped) instead of coming back.
    """
    summary = ImportSummary()
    pending = 0
    for ordinal, (offset, raw) in enumerate(_iso2709_chunks(Path(path).read_bytes()), start=1):
        summary.read += 1
        try:
            record = pymarc.Record(data=raw, to_unicode=True, force_utf8=True)
        except Exception as exc:  # pymarc raises many types for many kinds of damage
            summary.rejected += 1
            summary.errors.append(ImportError_(ordinal, offset, None, f"unreadable: {exc}"))
            continue
        if record.get("245") is None:
            summary.rejected += 1
            control = record.get("001")
            summary.errors.append(
                ImportError_(ordinal, offset, control.data if control else None, "no 245 title")
            )
            continue
        if skip_deleted:
            control = record.get("001")
            existing = store.find(library, control.data.strip()) if control else None
            if existing is not None and existing.deleted:
                summary.skipped += 1
                continue
        result = store.save(library, record, marc_bytes=_lossless(raw))
        if result.action == "created":
            summary.created += 1
        elif result.action == "updated":
            summary.updated += 1
        else:
            summary.skipped += 1
        pending += 1
        if pending >= batch_size:
            store.flush()
            store.session.commit()
            pending = 0
    store.flush()
    store.session.commit()
    return summary
