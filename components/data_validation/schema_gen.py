"""``CuratedSchemaGen``: a family's curated schema as the pipeline's schema."""

# No `from __future__ import annotations`: TFX's @component reads the
# annotations as types.
import os

from google.protobuf import text_format
from tfx.dsl.component.experimental.annotations import OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import standard_artifacts
from tfx.utils import io_utils

from tensorflow_metadata.proto.v0 import schema_pb2


@component
def CuratedSchemaGen(  # pylint: disable=invalid-name
    schema: OutputArtifact[standard_artifacts.Schema],
    schema_text: Parameter[str],
) -> None:
    """Writes a family's curated schema (text proto) as the ``Schema`` artifact.

    What ImportSchemaGen does, but from the schema's text instead of a file
    path: a path fixed when the pipeline is compiled names a file on the
    compiling machine, not inside the container that runs the step on
    Kubeflow or Vertex AI. The text also makes the schema part of the cache
    key, so editing it re-validates.
    """
    parsed = text_format.Parse(schema_text, schema_pb2.Schema())  # fails on a bad schema
    io_utils.write_pbtxt_file(os.path.join(schema.uri, "schema.pbtxt"), parsed)
