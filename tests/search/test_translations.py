"""Every interface string has an English translation in the shipped catalogue."""

from __future__ import annotations

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo

from tests.paths import REPO_ROOT

CATALOGUE = REPO_ROOT / "libext" / "translations" / "en" / "LC_MESSAGES" / "messages.mo"
METHODS = [
    ("libext/**.py", "python"),
    ("blueprints/**.py", "python"),
    ("blueprints/templates/**.html", "jinja2"),
    ("blueprints/templates/**.xml", "jinja2"),
]


def interface_strings() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(REPO_ROOT),
        method_map=METHODS,
        keywords={"_": None, "gettext": None, "_l": None, "lazy_gettext": None},
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_interface_string_is_translated() -> None:
    with open(CATALOGUE, "rb") as handle:
        catalogue = read_mo(handle)
    translated = {str(m.id) for m in catalogue if m.id and m.string}
    strings = interface_strings()
    assert len(strings) > 50
    missing = sorted(strings - translated)
    assert not missing, f"add these to libext/translations/english.py: {missing}"
