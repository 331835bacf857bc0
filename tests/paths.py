"""Where the tests find the shared reference data (outside the repository)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
#: ../shared/data beside the repository: real MARC files, recorded OAI responses, schemas.
SHARED_DATA = (REPO_ROOT.parent / "shared" / "data").resolve()
XSD_DIR = SHARED_DATA / "xsd"
MARC_DIR = SHARED_DATA / "marc"
OAI_DIR = SHARED_DATA / "oai"
