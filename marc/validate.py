"""Checks a decoded record must pass before it is stored.

:func:`validate` returns ``(errors, warnings)``. Errors reject the record (each is a sentence
for the import report); warnings go into the report but the record is kept. The rules are
the MARC 21 structure rules that other systems rely on, which are also what the MARC 21 slim
schema (MARCXML) enforces, so every stored record can be exported as valid MARCXML.
"""

from __future__ import annotations

import re
from operator import itemgetter

import pymarc

_CONTROL_TAG = re.compile(r"00[1-9A-Za-z]")
_DATA_TAG = re.compile(
    r"0[1-9A-Z][0-9A-Z]|0[1-9a-z][0-9a-z]|[1-9A-Z][0-9A-Z]{2}|[1-9a-z][0-9a-z]{2}"
)
# Indicators and subfield codes are single characters: sets, checked once per subfield of
# every record of a bulk load, are several times cheaper than regular expressions.
_DIGITS_LOWER = frozenset("0123456789abcdefghijklmnopqrstuvwxyz")
_INDICATORS = _DIGITS_LOWER | {" "}
# Subfield codes the MARC 21 slim schema accepts; MARC 21 itself uses [a-z0-9].
_XSD_CODES = _DIGITS_LOWER | frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ!\"#$%&'()*+,-./:;<=>?{}_^`~[]\\")
_STATUS = set("acdnp")
_TYPES = set("acdefgijkmoprt")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1c\x7f]")
#: Tags and indicator pairs already found valid: a dictionary look-up instead of a regular
#: expression or two set look-ups, for every field of a bulk load.
_GOOD_DATA_TAGS: set[str] = set()
_GOOD_PAIRS = frozenset((a, b) for a in _INDICATORS for b in _INDICATORS)
_code = itemgetter(0)
_value = itemgetter(1)
# ISO 2709's own delimiters cannot appear inside data: the record would not read back.
_DELIMITERS = re.compile(r"[\x1d\x1e\x1f]")


def validate(record: pymarc.Record) -> tuple[list[str], list[str]]:
    """Check ``record``; return (errors, warnings) as sentences for a cataloguer."""
    errors: list[str] = []
    warnings: list[str] = []
    leader = str(record.leader)
    if len(leader) != 24 or not leader.isascii():
        errors.append(f"leader is {len(leader)} characters, not 24")
        return errors, warnings
    deleted = leader[5] == "d"
    if leader[5] not in _STATUS:
        warnings.append(f"leader/05 record status {leader[5]!r} is not a MARC 21 code")
    if leader[6] not in _TYPES:
        errors.append(f"leader/06 type of record {leader[6]!r} is not a MARC 21 code")
    tags = [f.tag for f in record.fields]
    if not record.fields:
        errors.append("record has no fields")
    if "245" not in tags and not deleted:
        if "200" in tags and any(f.tag == "200" and not f.control_field for f in record.fields):
            errors.append(
                "missing 245 (title); the record looks like UNIMARC (title in 200), "
                "which is not MARC 21"
            )
        else:
            errors.append("missing 245 (title)")
    elif tags.count("245") > 1:
        warnings.append("more than one 245 (title) field")
    for f in record.fields:
        tag = f.tag
        if f.control_field:
            if not _CONTROL_TAG.fullmatch(tag):
                errors.append(f"tag {tag!r} is not a valid control field tag")
            elif f.data is None or f.data == "":
                warnings.append(f"control field {tag} is empty")
            elif _DELIMITERS.search(f.data):
                errors.append(f"field {tag} contains a MARC delimiter character (0x1D-0x1F)")
            elif _CONTROL_CHARS.search(f.data):
                warnings.append(f"field {tag} contains control characters")
            continue
        if tag not in _GOOD_DATA_TAGS:
            if not _DATA_TAG.fullmatch(tag):
                errors.append(f"tag {tag!r} is not a valid MARC tag")
                continue
            if len(_GOOD_DATA_TAGS) < 10_000:
                _GOOD_DATA_TAGS.add(tag)
        ind = f.indicators or ("", "")
        try:
            good = ind in _GOOD_PAIRS
        except TypeError:  # a pair holding something unhashable, a list...: not good
            good = False
        if not good:
            for pos, value in ((1, ind[0]), (2, ind[1])):
                if not isinstance(value, str) or value not in _INDICATORS:
                    errors.append(f"field {tag} has an invalid indicator {pos} ({value!r})")
        subfields = f.subfields
        if not subfields:
            warnings.append(f"field {tag} has no subfields")
            continue
        # The common case in one pass of C loops: standard codes and no control character
        # in any value. Anything else (or a value that is not text) is looked at one by one.
        try:
            if (
                _DIGITS_LOWER.issuperset(map(_code, subfields))
                and "".join(map(_value, subfields)).isprintable()
            ):
                continue
        except TypeError:
            pass
        for sub in subfields:
            if sub.code not in _XSD_CODES:
                errors.append(f"field {tag} has an invalid subfield code {sub.code!r}")
            elif sub.code not in _DIGITS_LOWER:
                warnings.append(f"field {tag} has a non-standard subfield code {sub.code!r}")
            value = sub.value
            if not value or value.isprintable():  # the common case: no control character
                continue
            if _DELIMITERS.search(value):
                errors.append(
                    f"field {tag} ${sub.code} contains a MARC delimiter character (0x1D-0x1F)"
                )
            elif _CONTROL_CHARS.search(value):
                warnings.append(f"field {tag} ${sub.code} contains control characters")
    return errors, warnings
