"""A model family, as the pipeline factory sees it."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, TypeVar

import tensorflow_model_analysis as tfma
from tfx.dsl.components.base import base_node
from tfx.types import BaseChannel

from tensorflow_metadata.proto.v0 import schema_pb2

# Every data source writes these splits; the factory relies on the convention.
TRAIN, EVAL, TEST = "train", "eval", "test"


@dataclasses.dataclass(frozen=True)
class EvaluationInputs:
    """What an evaluation step may read: the channels of the components
    before it (``baseline_model`` is None when no resolver runs)."""

    examples: BaseChannel  # ExampleGen's raw examples
    transformed_examples: BaseChannel
    transform_graph: BaseChannel
    schema: BaseChannel
    model: BaseChannel  # the Trainer's candidate
    baseline_model: BaseChannel | None  # the last blessed model


# Builds a family's own evaluation nodes; the last one has the id "Evaluator"
# and a ``blessing`` output (a ModelBlessing) that the Pusher obeys.
Evaluation = Callable[[EvaluationInputs], list[base_node.BaseNode]]


@dataclasses.dataclass(frozen=True)
class FamilySpec:
    """Everything that differs between families; the wiring does not.

    data_source: builds the ExampleGen (any component with an `examples`
        output holding train/eval/test splits).
    preprocessing_fn / run_fn: dotted paths into the installed package, so
        the same code runs locally and in a container.
    eval_config: TFMA metrics, slices and thresholds (value and change).
    evaluation: instead of TFMA's Evaluator, the family's own evaluation
        nodes (the generative families score samples, not predictions).
    preprocessing_config: options for `preprocessing_fn` (its `custom_config`).
    custom_config: the model's hyperparameters, handed to `run_fn`.
    schema: the family's curated schema (value domains, drift comparators)
        instead of one inferred from each run's own data.
    schema_path: a schema file to import instead (ImportSchemaGen).
    evaluation_split: the split the Evaluator blesses on (held out from
        training and validation when the data has one).
    """

    name: str
    data_source: Callable[[], base_node.BaseNode]
    preprocessing_fn: str
    run_fn: str
    train_steps: int
    eval_steps: int | None
    eval_config: tfma.EvalConfig | None
    preprocessing_config: dict[str, Any] = dataclasses.field(default_factory=dict)
    custom_config: dict[str, Any] = dataclasses.field(default_factory=dict)
    schema: schema_pb2.Schema | None = None
    schema_path: str | None = None
    evaluation_split: str = TEST
    evaluation: Evaluation | None = None

    def __post_init__(self) -> None:
        if (self.eval_config is None) == (self.evaluation is None):
            raise ValueError(f"family {self.name!r}: give either eval_config (TFMA's Evaluator) "
                             "or evaluation (the family's own nodes), not both or neither")
        if self.schema is not None and self.schema_path:
            raise ValueError(f"family {self.name!r}: give schema or schema_path, not both")


Profile = TypeVar("Profile")


def select_profile(profiles: dict[str, Profile], name: str, **overrides: Any) -> Profile:
    """The named profile with every override that is not None applied."""
    if name not in profiles:
        raise ValueError(f"unknown profile {name!r}; available: {sorted(profiles)}")
    return dataclasses.replace(profiles[name], **{k: v for k, v in overrides.items() if v is not None})
