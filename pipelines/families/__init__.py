"""Family registry: name → module exposing `build_spec(variant, profile, **options)`."""

from __future__ import annotations

import importlib
from types import ModuleType

FAMILIES: dict[str, str] = {
    "forecasting": "pipelines.families.forecasting",
}


def family_module(name: str) -> ModuleType:
    if name not in FAMILIES:
        raise ValueError(f"unknown family {name!r}; available: {sorted(FAMILIES)}")
    return importlib.import_module(FAMILIES[name])
