"""marc.fields builds the same pymarc fields as pymarc's constructor."""

from __future__ import annotations

import pytest
from pymarc import Field, Indicators, Subfield

from marc.fields import control_field, data_field


def _same(a: Field, b: Field) -> None:
    assert (a.tag, a.data, a.indicators, a.subfields, a.control_field) == (
        b.tag,
        b.data,
        b.indicators,
        b.subfields,
        b.control_field,
    )
    assert a.as_marc("utf-8") == b.as_marc("utf-8")
    assert str(a) == str(b)


@pytest.mark.parametrize("tag", ["001", "003", "008", "009", "00A", "245", "45", "0AB"])
def test_control_field_equals_the_constructor(tag: str) -> None:
    _same(control_field(tag, "Hà Nội 1998"), Field(tag=tag, data="Hà Nội 1998"))


@pytest.mark.parametrize("tag", ["245", "020", "852", "952", "9XX", "005", "45"])
@pytest.mark.parametrize("ind", [("1", "0"), (" ", " "), ("0", "7")])
def test_data_field_equals_the_constructor(tag: str, ind: tuple[str, str]) -> None:
    subfields = [Subfield("a", "Truyện Kiều /"), Subfield("c", "Nguyễn Du")]
    built = data_field(tag, ind[0], ind[1], list(subfields))
    _same(built, Field(tag=tag, indicators=Indicators(*ind), subfields=list(subfields)))
    assert built.control_field or built["a"] == "Truyện Kiều /"
    if not built.control_field:
        built.add_subfield("x", "thêm")  # the field stays a normal, mutable pymarc field
        assert built.get_subfields("x") == ["thêm"]
        assert [s.code for s in built] == ["a", "c", "x"]
