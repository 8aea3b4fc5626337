"""``DataValidator``: TFDV's validation against a curated schema, with drift
against the last validated span, that stops the run on any anomaly."""

from components.data_validation.component import DataValidator
from components.data_validation.schema_gen import CuratedSchemaGen
from components.data_validation.executor import DataValidationError

__all__ = ["CuratedSchemaGen", "DataValidationError", "DataValidator"]
