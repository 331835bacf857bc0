"""Imports every route module of the API so their routes land on the blueprint."""

from __future__ import annotations

import importlib
import pkgutil

import blueprints.api as _api

for _info in pkgutil.iter_modules(_api.__path__):
    if _info.name not in ("routes",):
        importlib.import_module(f"blueprints.api.{_info.name}")
