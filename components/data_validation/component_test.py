"""CuratedSchemaGen writes the schema text as a Schema artifact; a bad text fails."""

import os

import pytest
from google.protobuf import text_format
from tfx.types import standard_artifacts
from tfx.utils import io_utils

from components.data_validation import CuratedSchemaGen
from preprocessing import forecasting


def _artifact(tmp_path):
    artifact = standard_artifacts.Schema()
    artifact.uri = str(tmp_path / "schema")
    return artifact


def test_writes_the_schema(tmp_path):
    schema = forecasting.curated_schema(n_steps=30, horizon=5)
    artifact = _artifact(tmp_path)
    CuratedSchemaGen.test_call(schema=artifact, schema_text=text_format.MessageToString(schema))
    written = io_utils.SchemaReader().read(os.path.join(artifact.uri, "schema.pbtxt"))
    assert written == schema
    assert [d.size for d in written.feature[0].shape.dim] == [30]


def test_bad_schema_text_fails(tmp_path):
    with pytest.raises(text_format.ParseError):
        CuratedSchemaGen.test_call(schema=_artifact(tmp_path), schema_text="feature { nme: 'x' }")
