"""What a library keeps to itself: the fields and subfields left out of public exports.

Anyone may export a library's records; only its cataloguers (and administrators) get them
whole. This module is the one place that says what "internal" means, and why each part is:

* **Local fields, every 9XX tag.** MARC 21 leaves 9XX to each system, and ILSs fill it with
  their working data: Koha's 952 is one item per copy (barcode ``$p``, price ``$g``/``$v``,
  internal note ``$x``, circulation counts, acquisition source ``$e``), 942 its local item
  type and cataloguing defaults, other systems put order, fund and vendor data there. None
  of it is bibliographic description, and a public copy must not depend on one vendor's
  local layout.
* **852 $x (nonpublic note)** is by definition the note the public does not see, and
  **852 $p (piece designation)** is the copy's barcode: a barcode lets anyone act for that
  copy at a self-check or renewal terminal, so it stays out of public 852s, including the
  852s written from a source's holdings.
* **876-878 (item information) $x, $p, $c, $d, $e**: the same nonpublic note and barcode,
  plus the item's cost, acquisition date and acquisition source.
* **541 (immediate source of acquisition)**: who gave or sold the copy, at what price
  and under which accession number: donors' names and the library's purchase terms. The
  field's first indicator can say "not private", but it is left blank or wrong so often in
  migrated data that a public export leaves every 541 out.
* **583 (action note)**: processing, preservation and weeding decisions with the staff
  member who took them (``$k``) and internal reasons; the same unreliable privacy indicator.

Everything else (description, access points, subjects, holdings' library, location, call
number, public notes ``$z``) is public.
"""

from __future__ import annotations

import pymarc

#: Whole fields left out of public exports (besides every 9XX tag).
INTERNAL_TAGS = frozenset({"541", "583"})
#: Subfields left out of public exports, per tag.
INTERNAL_SUBFIELDS: dict[str, frozenset[str]] = {
    "852": frozenset("px"),
    **dict.fromkeys(("876", "877", "878"), frozenset("cdepx")),
}


def is_internal_tag(tag: str) -> bool:
    """True when every field with ``tag`` is internal (local 9XX, 541, 583)."""
    return tag.startswith("9") or tag in INTERNAL_TAGS


def has_internal_data(tags: set[str]) -> bool:
    """Whether a record with fields tagged ``tags`` may hold internal data (cheap check on a
    record's directory before parsing it)."""
    return any(is_internal_tag(t) or t in INTERNAL_SUBFIELDS for t in tags)


def public_field(field: pymarc.Field) -> pymarc.Field | None:
    """``field`` without its internal subfields; None when nothing public is left."""
    if is_internal_tag(field.tag):
        return None
    hidden = INTERNAL_SUBFIELDS.get(field.tag)
    if hidden is None or field.is_control_field():
        return field
    kept = [sf for sf in field.subfields if sf.code not in hidden]
    if len(kept) == len(field.subfields):
        return field
    if not kept:
        return None
    return pymarc.Field(field.tag, pymarc.Indicators(field.indicator1, field.indicator2), kept)


def public_record(record: pymarc.Record) -> pymarc.Record:
    """A copy of ``record`` without internal fields and subfields (the record is unchanged)."""
    copy = pymarc.Record(force_utf8=True)
    copy.leader = record.leader
    copy.fields = [f for f in (public_field(f) for f in record.fields) if f is not None]  # type: ignore[assignment]
    return copy
