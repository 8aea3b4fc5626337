"""The shipped schema files are what the schema functions build."""

import pytest

from pipelines import schemas


@pytest.mark.parametrize("family", sorted(schemas.curated_schemas()))
def test_shipped_schema_matches_its_function(family):
    assert schemas.read_shipped(family) == schemas.curated_schemas()[family](), (
        f"run `python -m pipelines.schemas` after changing the {family} schema")
