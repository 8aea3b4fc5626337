"""Curated schemas: shipped with the code, imported by ImportSchemaGen.

A family's schema is built by a function next to its preprocessing (the
contract of its features) and shipped as ``preprocessing/schemas/<family>.pbtxt``
for its default shapes, so a container built from this repository has it.
A run with other shapes (another window length, say) gets the same schema
with those shapes, written once to the local cache.
"""

from __future__ import annotations

import hashlib
import os

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

SHIPPED_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "preprocessing", "schemas")


def shipped_path(family: str) -> str:
    return os.path.join(SHIPPED_DIR, f"{family}.pbtxt")


def schema_file(family: str, schema: schema_pb2.Schema, cache_dir: str = "") -> str:
    """A file holding `schema`: the shipped one when it is the same schema,
    else a copy in `cache_dir` (default ~/.cache/keras_tfx_pipelines/schemas)."""
    text = text_format.MessageToString(schema)
    shipped = shipped_path(family)
    if os.path.exists(shipped):
        with open(shipped) as f:
            if text_format.Parse(f.read(), schema_pb2.Schema()) == schema:
                return shipped
    cache_dir = cache_dir or os.path.join(os.path.expanduser("~"), ".cache",
                                          "keras_tfx_pipelines", "schemas")
    path = os.path.join(cache_dir, f"{family}-{hashlib.sha256(text.encode()).hexdigest()[:12]}",
                        "schema.pbtxt")
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)  # atomic: parallel runs never read half a file
    return path


def write_shipped(family: str, schema: schema_pb2.Schema) -> str:
    """Writes the shipped schema (developers: after changing a schema function)."""
    path = shipped_path(family)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(f"# The curated schema of the {family} family, default shapes.\n"
                "# Generated from its schema function; see pipelines/schemas.py.\n")
        f.write(text_format.MessageToString(schema))
    return path
