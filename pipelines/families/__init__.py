"""Family registry: name → module exposing `build_spec(variant, profile, **options)`."""

from __future__ import annotations

import argparse
import importlib
from types import ModuleType
from typing import Any, Callable, Protocol, cast, runtime_checkable

from pipelines.spec import FamilySpec

FAMILIES: dict[str, str] = {
    "forecasting": "pipelines.families.forecasting",
    "sentiment": "pipelines.families.sentiment",
    "char_rnn": "pipelines.families.char_rnn",
    "translation": "pipelines.families.translation",
    "autoencoders": "pipelines.families.autoencoders",
    "classifier": "pipelines.families.classifier",
    "gan": "pipelines.families.gan",
    "diffusion": "pipelines.families.diffusion",
}


@runtime_checkable
class FamilyModule(Protocol):
    """What a family module must define; checked when it is loaded, so a
    family missing a piece fails by name instead of deep inside a run."""

    NAME: str
    DEFAULT_VARIANT: str
    DEFAULT_PROFILE: str
    CLI_OPTIONS: tuple[str, ...]
    build_spec: Callable[..., FamilySpec]  # (variant, profile, **options)
    add_cli_arguments: Callable[[argparse._ArgumentGroup], None]


def family_module(name: str) -> FamilyModule:
    if name not in FAMILIES:
        raise ValueError(f"unknown family {name!r}; available: {sorted(FAMILIES)}")
    module: ModuleType = importlib.import_module(FAMILIES[name])
    missing = [attr for attr in FamilyModule.__annotations__ if not hasattr(module, attr)]
    if missing:
        raise TypeError(f"family module {module.__name__} lacks {', '.join(missing)} "
                        "(see pipelines.families.FamilyModule)")
    if module.NAME != name:
        raise TypeError(f"family module {module.__name__} has NAME {module.NAME!r}, "
                        f"registered as {name!r}")
    return cast(FamilyModule, module)


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
