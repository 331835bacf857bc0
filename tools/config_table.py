"""Print README's configuration table from libext/config.py, or rewrite it in place.

``python tools/config_table.py --write`` replaces the table between the
``<!-- config-table -->`` markers of README.md, so the README always lists every key.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from libext.config import SETTINGS

START, END = "<!-- config-table:start -->", "<!-- config-table:end -->"


def table() -> str:
    """The markdown table of every LIBEXT_* key."""
    lines = ["| key | default | meaning |", "| --- | --- | --- |"]
    for setting in SETTINGS:
        default = json.dumps(setting.default, ensure_ascii=False, default=str)
        doc = " ".join(setting.doc.split()).replace("|", "\\|")
        lines.append(f"| `{setting.name}` | `{default}` | {doc} |")
    return "\n".join(lines)


def main() -> int:
    if "--write" not in sys.argv:
        print(table())
        return 0
    readme = Path(__file__).resolve().parents[1] / "README.md"
    text = readme.read_text()
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    readme.write_text(f"{head}{START}\n{table()}\n{END}{tail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
