"""``SampleQualityEvaluator``: the Evaluator of the generative families.

TFMA scores a model's prediction for each evaluation example; a generator
has no prediction per example, and the Fréchet distance is a statistic of
two whole sets of images, so the generative families bless with this
component instead (``executor.py`` says how). Its ``blessing`` output is a
``ModelBlessing`` like the Evaluator's: the Pusher pushes only a blessed
model, and the latest-blessed-model resolver finds this component's
blessings for the next run's change threshold.
"""

from __future__ import annotations

import json
import math
from typing import Any, Optional

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import channel_utils, standard_artifacts

from components.sample_quality import executor, spec
from preprocessing import image_contract as contract

FEATURE_SIGNATURE = "features"  # what the classifier family exports


class SampleQualityEvaluator(base_component.BaseComponent):
    """Blesses a generator whose samples are close enough to real images.

    Args:
      examples: raw examples holding ``contract.IMAGE`` (ExampleGen's output).
      model: the candidate generator; its SavedModel has a ``generate``
        signature (``n``, ``seed`` [+ ``generate_args``] → uint8 ``images``).
      feature_model: the frozen classifier whose ``feature_signature``
        (uint8 ``images`` → ``features``, ``probabilities``) embeds images.
      baseline_model: the last blessed generator, for the change threshold.
      split: the split of `examples` whose images are the reference.
      num_samples: images generated per model (≥ 2).
      max_real: real images read from the split at most.
      seed: batch i of samples is drawn with seed + i, for every model.
      batch_size: images per ``generate`` call.
      generate_args: further inputs of ``generate`` (e.g. a sampler and
        its number of steps).
      max_frechet_distance: value threshold (0: none).
      frechet_tolerance: change threshold: the candidate may be at most this
        much worse than the baseline.
      min_class_coverage: value threshold on the class coverage (0: none).
      max_class_share: value threshold on the largest class share (1: none).
    """

    SPEC_CLASS = spec.SampleQualityEvaluatorSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, examples: types.BaseChannel, model: types.BaseChannel,
                 feature_model: types.BaseChannel,
                 baseline_model: Optional[types.BaseChannel] = None, *,
                 split: str = contract.EVAL, num_samples: int = 2000, max_real: int = 10_000,
                 seed: int = 42, batch_size: int = 250,
                 generate_args: Optional[dict[str, Any]] = None,
                 max_frechet_distance: float = 0.0, frechet_tolerance: float = 0.0,
                 min_class_coverage: float = 0.0, max_class_share: float = 1.0):
        check_parameters(num_samples=num_samples, max_real=max_real, batch_size=batch_size,
                         max_frechet_distance=max_frechet_distance,
                         frechet_tolerance=frechet_tolerance,
                         min_class_coverage=min_class_coverage, max_class_share=max_class_share)
        super().__init__(spec.SampleQualityEvaluatorSpec(
            examples=examples, model=model, feature_model=feature_model,
            baseline_model=baseline_model, split=split, num_samples=num_samples,
            max_real=max_real, seed=seed, batch_size=batch_size,
            generate_args=json.dumps(generate_args or {}, sort_keys=True),
            max_frechet_distance=float(max_frechet_distance),
            frechet_tolerance=float(frechet_tolerance),
            min_class_coverage=float(min_class_coverage), max_class_share=float(max_class_share),
            feature_signature=FEATURE_SIGNATURE,
            evaluation=channel_utils.as_channel([standard_artifacts.ModelEvaluation()]),
            blessing=channel_utils.as_channel([standard_artifacts.ModelBlessing()])))


def check_parameters(*, num_samples: int, max_real: int, batch_size: int,
                     max_frechet_distance: float, frechet_tolerance: float,
                     min_class_coverage: float, max_class_share: float) -> None:
    """A clear error for each parameter out of range, when the pipeline is built."""
    for name, value in (("num_samples", num_samples), ("max_real", max_real)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 2:
            raise ValueError(f"{name} must be an integer >= 2 (a covariance needs two images), "
                             f"got {value!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    for name, value in (("max_frechet_distance", max_frechet_distance),
                        ("frechet_tolerance", frechet_tolerance)):
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    for name, value in (("min_class_coverage", min_class_coverage),
                        ("max_class_share", max_class_share)):
        if not 0 <= value <= 1:
            raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
