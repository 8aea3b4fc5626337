"""Every registered family satisfies the family interface and builds its smoke spec."""

import argparse
import types

import pytest

from pipelines import families
from pipelines.spec import FamilySpec


@pytest.mark.parametrize("name", sorted(families.FAMILIES))
def test_registered_family_has_the_interface(name):
    module = families.family_module(name)
    assert isinstance(module, families.FamilyModule)
    group = argparse.ArgumentParser().add_argument_group(name)
    module.add_cli_arguments(group)
    dests = {action.dest for action in group._group_actions}
    assert set(module.CLI_OPTIONS) <= dests, set(module.CLI_OPTIONS) - dests
    spec = module.build_spec(module.DEFAULT_VARIANT, "smoke")
    assert isinstance(spec, FamilySpec) and spec.name == name


def test_a_module_missing_a_piece_is_named(monkeypatch):
    fake = types.ModuleType("fake_family")
    fake.NAME = "fake"
    fake.build_spec = lambda *a, **k: None
    monkeypatch.setitem(families.FAMILIES, "fake", "fake_family")
    monkeypatch.setattr(families.importlib, "import_module", lambda _: fake)
    with pytest.raises(TypeError, match="lacks DEFAULT_VARIANT, DEFAULT_PROFILE, CLI_OPTIONS, "
                                        "add_cli_arguments"):
        families.family_module("fake")


# Families whose examples have a curated schema (value domains, drift);
# char_rnn and translation still infer theirs from each run's data.
CURATED = {"forecasting", "sentiment", "classifier", "autoencoders", "gan", "diffusion"}


@pytest.mark.parametrize("name", sorted(families.FAMILIES))
def test_curated_schema_covers_what_the_data_source_writes(name):
    module = families.family_module(name)
    spec = module.build_spec(module.DEFAULT_VARIANT, "smoke")
    if name not in CURATED:
        assert spec.schema is None
        return
    features = {f.name: f for f in spec.schema.feature}
    assert features and all(f.presence.min_fraction == 1.0 for f in features.values())
    # Every family watches at least one feature for drift between spans.
    assert any(f.HasField("drift_comparator") for f in features.values())
