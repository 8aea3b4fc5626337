"""Building blocks of the families' curated schemas (TFMD's Schema proto)."""

from __future__ import annotations

from tensorflow_metadata.proto.v0 import schema_pb2


def required(schema: schema_pb2.Schema, name: str, kind: int, size: int = 1
             ) -> schema_pb2.Feature:
    """Adds feature `name` of type `kind` (schema_pb2.FLOAT/INT/BYTES) that
    every example has, with exactly `size` values (a fixed shape, as
    SchemaGen infers it and Transform parses it)."""
    feature = schema.feature.add(name=name, type=kind)
    feature.presence.min_fraction = 1.0
    feature.presence.min_count = 1
    feature.shape.dim.add(size=size)
    return feature
