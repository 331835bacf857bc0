"""Packaging: setup.cfg lists every package (tests and bench never installed)."""

from __future__ import annotations

import configparser

from tests.paths import REPO_ROOT


def test_setup_cfg_lists_every_package() -> None:
    config = configparser.ConfigParser()
    config.read(REPO_ROOT / "setup.cfg")
    listed = {p.strip() for p in config["options"]["packages"].split() if p.strip()}
    found = set()
    for init in REPO_ROOT.glob("**/__init__.py"):
        parts = init.parent.relative_to(REPO_ROOT).parts
        if parts and parts[0] not in ("tests", "bench", "build") and not parts[0].startswith("."):
            found.add(".".join(parts))
    assert found == listed, f"missing: {found - listed}; stale: {listed - found}"
