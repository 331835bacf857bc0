"""The ``flask libext`` command group.

Commands are thin: they call library code and print its report. Every command that reports
takes ``--json`` and then prints exactly one JSON document on stdout. Exit status: 0 success,
1 partial failure (reported), 2 unusable arguments or input.
"""

from __future__ import annotations

from flask.cli import AppGroup

cli = AppGroup("libext", help="libext: MARC import/export, OAI-PMH, union-catalogue search.")

# Each module adds its commands to ``cli`` when imported.
from libext.cli import database, demo, harvest, imports, library, records, search, users  # noqa: E402, F401
