"""Building :class:`pymarc.Field` objects in bulk.

``pymarc.Field.__init__`` checks and converts its arguments (tag padding, legacy subfield
lists, indicator types); for a record of a dozen fields that is a good part of what reading
it costs. The readers here have already checked what they pass (a three-character tag, two
one-character indicators, a list of :class:`pymarc.Subfield`), so :func:`control_field` and
:func:`data_field` fill the field's slots directly. If pymarc ever lays its fields out
differently, they fall back to the constructor: same objects, only slower.
"""

from __future__ import annotations

import unicodedata

import pymarc
from pymarc import Field, Indicators, Subfield

__all__ = [
    "CONTROL_TAGS",
    "control_field",
    "data_field",
    "fields_from_iso2709",
    "make_subfield",
    "remove_nul",
]

_new = Field.__new__
#: The tags of control fields (001-009, and 000): no indicators, no subfields.
CONTROL_TAGS = frozenset(f"{n:03d}" for n in range(10))
# Field.__init__ sets exactly these slots (its fourth slot, the iteration position, is set
# when the field is iterated).
_DIRECT = {"tag", "data", "_indicators", "subfields", "control_field"} <= set(Field.__slots__)
#: The indicator pairs met in practice, made once: Indicators is a named tuple.
_PAIRS: dict[tuple[str, str], Indicators] = {}


def control_field(tag: str, data: str) -> Field:
    """A control field (001-009): ``tag`` must be three characters."""
    if not _DIRECT or tag not in CONTROL_TAGS:
        return Field(tag=tag, data=data)
    field = _new(Field)
    field.tag = tag
    field.data = data
    field._indicators = None
    field.subfields = []
    field.control_field = True
    return field


def data_field(tag: str, ind1: str, ind2: str, subfields: list[Subfield]) -> Field:
    """A data field: ``tag`` three characters, ``ind1``/``ind2`` one character each."""
    if not _DIRECT or len(tag) != 3 or tag in CONTROL_TAGS:
        return Field(tag=tag, indicators=Indicators(ind1, ind2), subfields=subfields)
    pair = _PAIRS.get((ind1, ind2))
    if pair is None:
        pair = _PAIRS.setdefault((ind1, ind2), Indicators(ind1, ind2))
    field = _new(Field)
    field.tag = tag
    field.data = None
    field._indicators = pair
    field.subfields = subfields
    field.control_field = False
    return field


#: ``make_subfield(Subfield, (code, value))`` makes a :class:`pymarc.Subfield` without the
#: Python-level constructor a named tuple has, which costs more than the tuple itself (a
#: record has dozens of subfields).
make_subfield = tuple.__new__
#: Indicator pairs by their two characters, as :func:`fields_from_iso2709` meets them.
_PAIRS_BY_TEXT: dict[str, Indicators] = {}


def fields_from_iso2709(tags: list[str], bodies: list[str]) -> list[Field] | None:
    """Fields from their tags and their texts as ISO 2709 lays them out (a data field's
    two indicators, then 0x1F and a code before each subfield; no field terminator).

    The caller has checked every subfield delimiter is followed by a code (0x21-0x7E).
    Returns None when a data field does not start with two ASCII indicators.
    """
    if not _DIRECT:
        return None
    fields: list[Field] = []
    append = fields.append
    for tag, body in zip(tags, bodies, strict=True):
        field = _new(Field)
        field.tag = tag
        if tag in CONTROL_TAGS:
            field.data = body
            field._indicators = None
            field.subfields = []
            field.control_field = True
        else:
            parts = body.split("\x1f")
            pair = _PAIRS_BY_TEXT.get(parts[0])
            if pair is None:
                ind = parts[0]
                if len(ind) != 2 or not ind.isascii():
                    return None
                pair = _PAIRS_BY_TEXT.setdefault(ind, Indicators(ind[0], ind[1]))
            del parts[0]
            field.data = None
            field._indicators = pair
            field.subfields = [make_subfield(Subfield, (p[0], p[1:])) for p in parts]
            field.control_field = False
        append(field)
    return fields


def remove_nul(record: pymarc.Record) -> list[str]:
    """Remove NUL characters (U+0000) from every text of ``record``, in place (in the leader,
    where each position counts, a NUL becomes a blank); returns the tags that had any
    (``LDR`` for the leader).

    A NUL is never text: some exports pad fields with them, and PostgreSQL text columns and
    XML both refuse the character, so a record carrying one could be neither stored nor
    exported. A text that had one is brought to NFC again: a NUL between a letter and its
    combining mark ("e", NUL, U+0302) kept them from composing, and once it is gone they
    must, or an NFC text would come out as NFD ("ê" spelled in two characters).
    """
    tags: list[str] = []
    leader = str(record.leader)
    if "\x00" in leader:
        record.leader = pymarc.Leader(leader.replace("\x00", " "))
        tags.append("LDR")
    for fld in record.fields:
        if fld.is_control_field():
            if fld.data and "\x00" in fld.data:
                fld.data = _without_nul(fld.data)
                tags.append(fld.tag)
            continue
        if any(sub.value and "\x00" in sub.value for sub in fld.subfields):
            fld.subfields = [
                Subfield(sub.code, _without_nul(sub.value)) if sub.value else sub
                for sub in fld.subfields
            ]
            tags.append(fld.tag)
    return list(dict.fromkeys(tags))


def _without_nul(text: str) -> str:
    if "\x00" not in text:
        return text
    return unicodedata.normalize("NFC", text.replace("\x00", ""))
