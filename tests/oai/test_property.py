"""Whatever the arguments, the provider answers with a schema-valid OAI-PMH document."""

from __future__ import annotations

import pymarc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oai.arguments import VERB_ARGUMENTS
from oai.crosswalk import marcxml, oai_dc
from oai.source import HoldingInfo
from tests.oai.conftest import OAI, REPOSITORY_ID, Harness, sample_repository, token_of
from tests.oai.test_crosswalk import DC_SCHEMA, MARC_SCHEMA

HARNESS = Harness(sample_repository(), page_size=3)
_, _first = HARNESS.ask("verb=ListRecords&metadataPrefix=oai_dc")
REAL_TOKEN = token_of(_first).text

NAMES = st.sampled_from(
    ["verb", "identifier", "metadataPrefix", "from", "until", "set", "resumptionToken"]
) | st.text(max_size=12)
VALUES = (
    st.sampled_from(
        [
            *VERB_ARGUMENTS,
            "oai_dc",
            "marc21",
            "marcxml",
            "mods",
            "2024-01-10",
            "2024-01-10T10:30:15Z",
            "2024-13-45",
            "9999-12-31",
            "0001-01-01T00:00:00Z",
            "library:HNM",
            "type",
            "type:em",
            f"oai:{REPOSITORY_ID}:1",
            f"oai:{REPOSITORY_ID}:5",
            f"oai:{REPOSITORY_ID}:22",
            f"oai:{REPOSITORY_ID}:%E1%BA%A1",
            f"oai:{REPOSITORY_ID}:99999999999999999999999",
            REAL_TOKEN,
            REAL_TOKEN[:-3],
            "",
        ]
    )
    | st.text(max_size=40)
    | st.text(alphabet=st.characters(max_codepoint=0x1F), max_size=5)
)
PAIRS = st.lists(st.tuples(NAMES, VALUES), max_size=6)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs=PAIRS)
def test_no_argument_mix_raises_or_breaks_the_schema(pairs: list[tuple[str, str]]) -> None:
    response, root = HARNESS.ask(pairs)  # asserts HTTP 200 and schema validity
    assert root.tag == f"{OAI}OAI-PMH"
    if response.error_codes:
        assert response.error_codes == tuple(e.get("code") for e in root.iter(f"{OAI}error"))


@settings(max_examples=200, deadline=None)
@given(verb=st.sampled_from(list(VERB_ARGUMENTS)), pairs=PAIRS)
def test_every_verb_with_any_arguments(verb: str, pairs: list[tuple[str, str]]) -> None:
    response, _ = HARNESS.ask([("verb", verb), *pairs])
    assert response.status == 200


# --- the crosswalks: any MARC content gives schema-valid MARCXML and oai_dc ---

TAGS = st.sampled_from(["001", "003", "005", "008", "00A", "000", "020", "100", "245", "260",
                        "264", "500", "505", "650", "651", "700", "856", "852", "952", "FMT",
                        "abc", "Abc", "9ZZ", "1", ""])  # fmt: skip
TEXT = st.text(max_size=30) | st.sampled_from(
    ["", "&amp;", "<x/>", ']]>"', "Hà Nội", "e\u0323\u0302"]
)
CODES = st.text(max_size=2)


@st.composite
def marc_records(draw: st.DrawFn) -> pymarc.Record:
    record = pymarc.Record(force_utf8=True)
    record.leader = pymarc.Leader(draw(st.text(min_size=0, max_size=26)).ljust(24)[:24])
    for _ in range(draw(st.integers(0, 12))):
        tag = draw(TAGS)
        if tag.startswith("00") and tag.isdigit():
            record.add_field(pymarc.Field(tag=tag, data=draw(TEXT)))
        else:
            subfields = [
                pymarc.Subfield(draw(CODES), draw(TEXT)) for _ in range(draw(st.integers(0, 4)))
            ]
            record.add_field(
                pymarc.Field(
                    tag=tag,
                    indicators=pymarc.Indicators(
                        draw(st.text(max_size=1)), draw(st.text(max_size=1))
                    ),
                    subfields=subfields,
                )
            )
    return record


@settings(max_examples=400, deadline=None)
@given(record=marc_records(), with_holdings=st.booleans(), holding_text=TEXT)
def test_any_marc_record_crosswalks_to_schema_valid_xml(
    record: pymarc.Record, with_holdings: bool, holding_text: str
) -> None:
    holdings = (
        (HoldingInfo("HNM", holding_text, holding_text, holding_text),) if with_holdings else ()
    )
    xml = marcxml(record, holdings)
    assert MARC_SCHEMA.validate(xml), MARC_SCHEMA.error_log
    assert DC_SCHEMA.validate(oai_dc(record)), DC_SCHEMA.error_log
