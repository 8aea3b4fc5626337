"""Family registry: name → module exposing `build_spec(variant, profile, **options)`."""

from __future__ import annotations

import argparse
import importlib
from types import ModuleType
from typing import Any

FAMILIES: dict[str, str] = {
    "forecasting": "pipelines.families.forecasting",
    "sentiment": "pipelines.families.sentiment",
    "char_rnn": "pipelines.families.char_rnn",
    "translation": "pipelines.families.translation",
}


def family_module(name: str) -> ModuleType:
    if name not in FAMILIES:
        raise ValueError(f"unknown family {name!r}; available: {sorted(FAMILIES)}")
    return importlib.import_module(FAMILIES[name])


def parse_args(parser: argparse.ArgumentParser,
               argv: list[str] | None) -> tuple[argparse.Namespace, dict[str, Any]]:
    """Parses `argv` with the chosen family's own options added to `parser`
    (which must define --family); returns the arguments and the family
    options that were given, ready for `build_spec(**options)`."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--family", default="forecasting")
    family = pre.parse_known_args(argv)[0].family
    module = family_module(family) if family in FAMILIES else None
    if module is not None:
        module.add_cli_arguments(parser.add_argument_group(f"{family} options"))
    args = parser.parse_args(argv)
    if module is None:
        parser.error(f"unknown family {family!r}; available: {sorted(FAMILIES)}")
    options = {k: getattr(args, k) for k in module.CLI_OPTIONS if getattr(args, k, None) is not None}
    return args, options
