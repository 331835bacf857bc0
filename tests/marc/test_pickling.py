"""flat_pickle: dataclasses that cross processes pickle as their constructor's arguments."""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field

import pytest

from libext.store import prepare
from marc.pickling import flat_pickle
from marc.reader import MarcReader
from tests.libext.marc_files import many, write_iso


@flat_pickle
@dataclass(slots=True)
class Pair:
    left: int
    right: list[str] = field(default_factory=list)


def test_round_trip_keeps_every_field_and_pickles_as_a_call() -> None:
    pair = Pair(1, ["một", "hai"])
    assert pickle.loads(pickle.dumps(pair)) == pair
    assert pair.__reduce__() == (Pair, (1, ["một", "hai"]))


def test_fields_outside_init_are_refused() -> None:
    @dataclass
    class Counted:
        a: int
        b: int
        c: int = field(init=False, default=0)

    with pytest.raises(TypeError, match="__init__ fields"):
        flat_pickle(Counted)


def test_read_results_and_prepared_records_survive_the_trip(tmp_path) -> None:
    path = write_iso(tmp_path / "two.mrc", many(2))
    for result in MarcReader(path):
        assert result.record is not None
        prepared = prepare(result.record, result.marc)
        result.record = None
        assert pickle.loads(pickle.dumps(result)) == result
        assert pickle.loads(pickle.dumps(prepared)) == prepared


def test_search_preparations_survive_the_trip(tmp_path) -> None:
    """What the search preparer sends back from a reading worker: facts, payload, document."""
    from libext.search.indexer import member_prep

    path = write_iso(tmp_path / "two.mrc", many(2))
    for result in MarcReader(path):
        assert result.record is not None
        prep = member_prep(result.record, result.marc)
        again = pickle.loads(pickle.dumps(prep))
        assert again == prep and again.doc == prep.doc and again.facts == prep.facts
        assert type(again.facts.publisher) is frozenset
