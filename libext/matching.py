"""Finding the library's record an incoming record should overlay.

Rules, tried in the order given (``--match``):

``001``
    the control number, where the 003 (control number organisation) agrees when both sides
    have one;
``035``
    a system control number (035 $a) the two records share;
``isbn``
    an ISBN of 020 $a or $z, compared as ISBN-13 (hyphens and qualifiers dropped);
``issn``
    an ISSN of 022.

The first rule that finds a record wins. 035, ISBN and ISSN never join two records of one
catalogue: a record whose 001 differs from the incoming one's under the same 003 is not
taken by them, nor one that the same import wrote (one file, one catalogue) with no 003 on
either side or one. 035, ISBN and ISSN are looked up in
:class:`libext.models.MatchKey`, which :func:`refresh_match_keys` keeps in step with every
write through the record store (imports, harvests, edits) as an ``after_write`` hook.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from operator import attrgetter
from typing import Protocol

import pymarc
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from libext.bulk import any_of, insert_rows
from libext.models import ImportOutcome, Library, MatchKey, Record
from libext.store import RecordStore, created_records, prepared_extras
from marc.extract import Extracted, RecordLike
from marc.isbn import isbn_candidates, normalize_issn
from marc.pickling import flat_pickle

RULES = ("001", "035", "isbn", "issn")
DEFAULT_RULES = RULES
#: The values each key rule but 001 looks up, read from a :class:`Keys` (``Keys.by_rule``).
_KEY_VALUES = {
    "035": attrgetter("system_numbers"),
    "isbn": attrgetter("isbns"),
    "issn": attrgetter("issns"),
}
#: The rules looked up in the match keys (every rule but 001).
KEY_RULES = tuple(_KEY_VALUES)


class MatchRuleError(ValueError):
    """Raised for a ``--match`` value naming an unknown rule."""


def parse_rules(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"001,isbn"`` → ``("001", "isbn")``; empty means the default rules."""
    if text is None:
        return DEFAULT_RULES
    items = text.split(",") if isinstance(text, str) else list(text)
    rules = tuple(dict.fromkeys(i.strip().lower().lstrip("=") for i in items if i.strip()))
    rules = tuple("035" if r in ("035a", "system") else r for r in rules)
    unknown = [r for r in rules if r not in RULES]
    if unknown:
        raise MatchRuleError(
            f"unknown match rule(s) {', '.join(unknown)}; use any of {', '.join(RULES)}"
        )
    return rules or DEFAULT_RULES


@flat_pickle
@dataclass(slots=True)
class Keys:
    """The identifiers of one incoming record."""

    control_number: str = ""
    control_org: str = ""
    system_numbers: list[str] = field(default_factory=list)
    isbns: list[str] = field(default_factory=list)
    issns: list[str] = field(default_factory=list)

    def by_rule(self, rule: str) -> list[str]:
        """The values a key rule (``035``, ``isbn`` or ``issn``; not ``001``, which
        :meth:`Matcher.match` looks up by local id) looks up; KeyError for another."""
        return _KEY_VALUES[rule](self)  # type: ignore[no-any-return]


def _control(record: pymarc.Record, tag: str) -> str:
    fld = record.get(tag)
    return (fld.data or "").strip() if fld is not None and fld.control_field else ""


def keys_of(record: pymarc.Record, extracted: Extracted | None = None) -> Keys:
    """The match keys of a pymarc record.

    ``extracted`` (:func:`marc.extract.extract` of the same record) saves reading the control
    numbers and normalising the ISBNs a second time.
    """
    system = [
        s.value.strip()[:255]
        for f in record.get_fields("035")
        for s in f.subfields
        if s.code == "a" and s.value and s.value.strip()
    ]
    issns: list[str] = []
    for f in record.get_fields("022"):
        for s in f.subfields:
            if s.code in "ayz":
                norm = normalize_issn(s.value)
                if norm and norm not in issns:
                    issns.append(norm)
    if extracted is not None:
        return Keys(
            extracted.control_number,
            extracted.control_org,
            list(dict.fromkeys(system)),
            list(extracted.isbns),
            issns,
        )
    isbn_raw = [
        s.value for f in record.get_fields("020") for s in f.subfields if s.code in "az" and s.value
    ]
    return Keys(
        control_number=_control(record, "001"),
        control_org=_control(record, "003"),
        system_numbers=list(dict.fromkeys(system)),
        isbns=isbn_candidates(isbn_raw),
        issns=issns,
    )


@dataclass(slots=True)
class Match:
    """The record found for an incoming record, the rule that found it, and a note when
    the rule found several. Then the first live one is taken (the first of all when none
    is live): the records of the incoming record's first value that finds any come first,
    oldest first, then those of its next values."""

    record: Record
    rule: str
    note: str = ""


class PlannedRecords(Protocol):
    """Records a dry run would have written, that later records of its file must find as
    they would find the written ones (the library's record as the run left it)."""

    def find(self, local_id: str) -> Record | None:
        """The planned state of the record with ``local_id``, if the run planned one."""

    def lookup(self, kind: str, values: Sequence[str]) -> dict[str, list[Record]]:
        """Planned records by value, of those whose keys of ``kind`` hold one of ``values``."""

    def made_here(self, local_id: str) -> bool:
        """Whether the run planned the record with ``local_id`` as new."""


class Matcher:
    """Matches a chunk of incoming records against one library with a few queries.

    ``planned`` (a dry run's) is consulted after the database, and its state of a record
    stands for the stored one.
    """

    def __init__(
        self,
        store: RecordStore,
        library: Library,
        rules: Sequence[str],
        planned: PlannedRecords | None = None,
    ) -> None:
        self.store = store
        self.session: Session = store.session
        self.library = library
        self.rules = tuple(rules)
        self.planned = planned
        #: The import's batch, once it has one: records it created are of the same file.
        self.batch_id: int | None = None
        self._by_key: dict[tuple[str, str], list[Record]] = {}
        #: Of the chunk's candidates, ids of those this batch created, and id() of the
        #: records created in the chunk itself.
        self._made: set[int] = set()
        self._made_objects: set[int] = set()
        #: id() of a candidate -> the keys it is listed under (built by the first rekey).
        self._where: dict[int, list[tuple[str, str]]] | None = None

    def prepare(self, keys: Iterable[Keys]) -> None:
        """Look up every key of a chunk at once (call before :meth:`match`)."""
        keys = list(keys)
        self._by_key = {}
        self._made = set()
        self._made_objects = set()
        self._where = None
        if "001" in self.rules:
            self.store.prefetch(self.library, [k.control_number for k in keys if k.control_number])
        found: dict[tuple[str, str], list[int]] = {}
        library_id = self.library.id
        for kind in KEY_RULES:
            if kind not in self.rules:
                continue
            # The chunk's distinct values of this kind, gathered by C loops (a bulk load
            # looks up thousands per chunk).
            values = sorted(set(chain.from_iterable(map(_KEY_VALUES[kind], keys))))
            if not values:
                continue
            # One kind per query, so (library_id, kind, value IN …) seeks the lookup index; a
            # row-value IN over (kind, value) made SQLite scan every key of the library, a
            # cost that grew with the catalogue (5 s of a 10,000-record import into 100,000).
            rows = self.session.execute(
                select(MatchKey.kind, MatchKey.value, MatchKey.record_id).where(
                    MatchKey.library_id == library_id,
                    MatchKey.kind == kind,
                    any_of(self.session, MatchKey.value, values),
                )
            )
            for row_kind, value, record_id in rows:
                found.setdefault((row_kind, value), []).append(record_id)
        if found:
            self._load(found)
        if self.planned is not None:
            self._add_planned(keys)

    def _load(self, found: dict[tuple[str, str], list[int]]) -> None:
        ids = sorted({rid for rids in found.values() for rid in rids})
        with self.session.no_autoflush:
            records = {
                rec.id: rec
                for rec in self.session.scalars(
                    select(Record)
                    .where(any_of(self.session, Record.id, ids))
                    .options(selectinload(Record.holdings))
                )
            }
        for key, rids in found.items():
            self._by_key[key] = [records[r] for r in sorted(set(rids)) if r in records]
        if self.batch_id is not None:
            self._made = set(
                self.session.scalars(
                    select(ImportOutcome.record_id).where(
                        ImportOutcome.batch_id == self.batch_id,
                        ImportOutcome.action == "created",
                        any_of(self.session, ImportOutcome.record_id, ids),
                    )
                )
            )

    def _add_planned(self, keys: list[Keys]) -> None:
        """Bring the chunk's candidates to the state the dry run planned: a stored record it
        changed is a candidate only under the keys it has now (it is found in its planned
        state, see :meth:`match`), and the records it planned follow the stored ones (as
        their ids would)."""
        assert self.planned is not None
        planned_state = self.planned
        for kind in KEY_RULES:
            if kind not in self.rules:
                continue
            values = sorted(set(chain.from_iterable(map(_KEY_VALUES[kind], keys))))
            found = planned_state.lookup(kind, values)
            for value in values:
                now = found.get(value, [])
                holding = {rec.local_id for rec in now}
                candidates = [
                    rec
                    for rec in self._by_key.get((kind, value), [])
                    if rec.local_id in holding or planned_state.find(rec.local_id) is None
                ]
                known = {rec.local_id for rec in candidates}
                candidates += [rec for rec in now if rec.local_id not in known]
                if candidates:
                    self._by_key[(kind, value)] = candidates
                else:
                    self._by_key.pop((kind, value), None)

    def remember(self, keys: Keys, record: Record) -> None:
        """Make a record created in this chunk findable by the records after it."""
        self._made_objects.add(id(record))
        self._add(keys, record)

    def rekey(self, record: Record, keys: Keys, now: Record | None = None) -> None:
        """``record`` was changed in this chunk and now has ``keys``: the records after it
        find it by those, not by the ones it had (``now``: what stands for it from here,
        a dry run's planned state)."""
        if self._where is None:  # where each candidate is listed, once per chunk
            self._where = {}
            for key, found in self._by_key.items():
                for rec in found:
                    self._where.setdefault(id(rec), []).append(key)
        for key in self._where.pop(id(record), ()):
            self._by_key[key].remove(record)
        self._add(keys, record if now is None else now)

    def _add(self, keys: Keys, record: Record) -> None:
        for rule in KEY_RULES:
            for value in keys.by_rule(rule):
                found = self._by_key.setdefault((rule, value), [])
                if record not in found:
                    found.append(record)
                    if self._where is not None:
                        self._where.setdefault(id(record), []).append((rule, value))

    def match(self, keys: Keys) -> Match | None:
        """The library's record ``keys`` identify, by the first rule that finds one."""
        for rule in self.rules:
            if rule == "001":
                if not keys.control_number:
                    continue
                local_id = keys.control_number[:255]
                found = self.planned.find(local_id) if self.planned is not None else None
                if found is None:
                    found = self.store.find(self.library, local_id)
                if found is None:
                    continue
                if keys.control_org and found.control_org and found.control_org != keys.control_org:
                    continue  # the same number from another organisation's numbering
                return Match(found, "001")
            candidates: list[Record] = []
            for value in keys.by_rule(rule):
                for stored in self._by_key.get((rule, value), []):
                    rec = stored
                    if self.planned is not None and stored.id is not None:
                        rec = self.planned.find(stored.local_id) or stored
                    if rec not in candidates and not _another_record_of_one_source(
                        keys, rec, self._same_file(rec)
                    ):
                        candidates.append(rec)
            if candidates:
                live = [c for c in candidates if not c.deleted] or candidates
                note = f"{len(candidates)} records share this {rule}" if len(candidates) > 1 else ""
                return Match(live[0], rule, note)
        return None

    def _same_file(self, record: Record) -> bool:
        """Whether this import wrote ``record`` (created it, in this chunk or an earlier one;
        for a dry run, planned it as new)."""
        if id(record) in self._made_objects:
            return True
        if record.id is not None:
            return record.id in self._made
        return self.planned is not None and self.planned.made_here(record.local_id)


def _another_record_of_one_source(keys: Keys, record: Record, same_file: bool) -> bool:
    """True when ``record`` and the incoming record are two records of one catalogue: their
    control numbers (001) differ, and they are of one numbering: the same 003, or, for a
    record this import wrote (``same_file``: a file is one catalogue's export), no 003 on
    one side or both.

    Sharing an ISBN, ISSN or 035 does not make them one: the volumes of a set often carry
    the set's ISBN, and a system that numbered two records apart says they are two.
    Overlaying one with the other would lose a record. Across imports, a 001 without a 003
    says nothing of whose numbering it is (a Koha export after an older system's, a vendor's
    file): the keys are what finds the record there, as they are for records from elsewhere
    or without a 001.
    """
    if not (
        keys.control_number
        and record.control_number
        and keys.control_number[:64] != record.control_number
    ):
        return False
    org, other = (keys.control_org or "")[:64], record.control_org or ""
    if org and other:
        return org == other
    return same_file


def _system_numbers(marc: bytes) -> list[str]:
    """035 $a values read straight from stored ISO 2709 (no full parse)."""
    try:
        base = int(marc[12:17])
    except ValueError:
        return []
    out: list[str] = []
    directory = marc[24 : base - 1]
    for i in range(0, len(directory) - 11, 12):
        if directory[i : i + 3] != b"035":
            continue
        length, start = int(directory[i + 3 : i + 7]), int(directory[i + 7 : i + 12])
        body = marc[base + start : base + start + length - 1]
        for part in body.split(b"\x1f")[1:]:
            if part[:1] == b"a":
                value = part[1:].decode("utf-8", "replace").strip()
                if value:
                    out.append(value[:255])
    return list(dict.fromkeys(out))


#: The name :func:`match_key_pairs` is registered under as the store's preparer.
PREPARER_NAME = "match"


def match_key_pairs(
    record: RecordLike | None,
    marc: bytes,
    columns: dict[str, object],
    data: Extracted | None = None,
) -> list[tuple[str, str]]:
    """A record's match keys as (kind, value): 035 $a, ISBN-13s and ISSNs, from its stored
    bytes and row columns. Also the store's preparer (see :data:`libext.store.Preparer`),
    so that a bulk load's reading workers work them out."""
    del record, data  # the same keys come from what the store keeps
    pairs = [("035", value) for value in _system_numbers(marc)]
    pairs += [("isbn", value) for value in str(columns["isbns"] or "").split()]
    pairs += [("issn", value) for value in str(columns["issns"] or "").split()]
    return pairs


def refresh_match_keys(session: Session, changed: Sequence[int], deleted: Sequence[int]) -> None:
    """``after_write`` hook: rebuild the match keys of the records just written."""
    created = created_records(session)
    # A deleted record keeps its keys, so that a re-import finds it to revive it; one this
    # flush inserted already deleted (created, then deleted, before the flush) gets them.
    changed = [*changed, *(rid for rid in deleted if rid in created)]
    if not changed:
        return
    ready = prepared_extras(session, PREPARER_NAME)
    # record id → (library id, keys). Records this flush inserted, saved in prepared form,
    # with no key rows yet (a new id was never used before): their keys and library are
    # known, nothing to delete or query.
    found: dict[int, tuple[int, list[tuple[str, str]]]] = {
        rid: (created[rid], ready[rid])  # type: ignore[misc]
        for rid in changed
        if rid in created and rid in ready
    }
    ids = [rid for rid in changed if rid not in found]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        # The table, not the entity: an ORM delete would read back the ids it deletes.
        keys = MatchKey.__table__
        session.execute(delete(keys).where(any_of(session, keys.c.record_id, chunk)))
        # Records saved in prepared form come with their keys; only the others are read.
        known = [rid for rid in chunk if rid in ready]
        unread = [rid for rid in chunk if rid not in ready]
        if known:
            for rid, library_id in session.execute(
                select(Record.id, Record.library_id).where(any_of(session, Record.id, known))
            ):
                found[rid] = (library_id, ready[rid])  # type: ignore[assignment]
        if unread:
            for rec in session.execute(
                select(Record.id, Record.library_id, Record.marc, Record.isbns, Record.issns).where(
                    any_of(session, Record.id, unread)
                )
            ):
                columns = {"isbns": rec.isbns, "issns": rec.issns}
                found[rec.id] = (rec.library_id, match_key_pairs(None, rec.marc, columns))
    rows = [
        {"library_id": library_id, "record_id": rid, "kind": kind, "value": value}
        for rid, (library_id, pairs) in found.items()
        for kind, value in pairs
    ]
    if rows:
        # A Core INSERT of the table: the ORM's bulk insert prepares each row as an object.
        insert_rows(session, MatchKey.__table__, rows)


def init_app(app: object, state: object) -> None:
    """Feature initialiser: keep match keys in step with every store write."""
    del app
    hooks = state.after_write  # type: ignore[attr-defined]
    if refresh_match_keys not in hooks:
        hooks.append(refresh_match_keys)
    preparers = state.preparers  # type: ignore[attr-defined]
    if (PREPARER_NAME, match_key_pairs) not in preparers:
        preparers.append((PREPARER_NAME, match_key_pairs))
