"""Time-series forecasting (MODELS.md §4) as a family spec.

Profiles:
  smoke      600 series, ~150 steps: seconds of training, for tests and CI.
  reference  the book: 10,000 series (7000/2000/1000), batch 32, 20 epochs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
from typing import Callable

import tensorflow_model_analysis as tfma

from components.series_example_gen import CsvSeriesExampleGen, SyntheticSeriesExampleGen
from models.forecasting import architectures
from pipelines.spec import FamilySpec, select_profile
from preprocessing import forecasting as features

NAME = "forecasting"
DEFAULT_VARIANT = "seq2seq"
DEFAULT_PROFILE = "reference"


@dataclasses.dataclass(frozen=True)
class Profile:
    n_series: int
    epochs: int
    batch_size: int = 32
    eval_steps: int | None = None  # None: the whole eval split

    def steps_per_epoch(self, n_train: int) -> int:
        return max(1, math.ceil(n_train / self.batch_size))


PROFILES: dict[str, Profile] = {
    "smoke": Profile(n_series=600, epochs=10),
    "reference": Profile(n_series=10_000, epochs=20),
}


def eval_config(*, skill_lower_bound: float = 1e-4,
                mse_change_tolerance: float = 0.05) -> tfma.EvalConfig:
    """MSE/MAE on the raw scale, and two gates for blessing:

    - value: skill vs the naive forecast must be positive (the model beats
      repeating the last value);
    - change: MSE may not get worse than the last blessed model by more than
      `mse_change_tolerance` (relative). Ignored when nothing is blessed yet.

    The served forecast is the last time step of seq2seq models, so this MSE
    over the horizon is the book's `last_time_step_mse` for them.
    """
    return tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(signature_name="serving_default",
                                    label_key="target", prediction_key="forecast")],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[tfma.MetricsSpec(metrics=[
            tfma.MetricConfig(class_name="ExampleCount"),
            tfma.MetricConfig(
                class_name="MeanSquaredError",
                threshold=tfma.MetricThreshold(change_threshold=tfma.GenericChangeThreshold(
                    direction=tfma.MetricDirection.LOWER_IS_BETTER,
                    relative={"value": mse_change_tolerance}))),
            tfma.MetricConfig(class_name="MeanAbsoluteError"),
            tfma.MetricConfig(
                class_name="NaiveForecastSkill",
                module="models.forecasting.evaluation",
                config=json.dumps({"series_key": "series"}),
                threshold=tfma.MetricThreshold(value_threshold=tfma.GenericValueThreshold(
                    lower_bound={"value": skill_lower_bound}))),
        ])],
    )


def build_spec(variant: str = DEFAULT_VARIANT, profile: str = DEFAULT_PROFILE, *,
               horizon: int = 10, n_steps: int = 50, csv_path: str | None = None,
               csv_layout: str = "long", csv_split_by: str = "series", stride: int = 1,
               n_series: int | None = None, epochs: int | None = None,
               learning_rate: float | None = None, seed: int = 42) -> FamilySpec:
    """The forecasting family for one variant and profile.

    With `csv_path` the user's own series are windowed into examples instead
    of the book's synthetic series.
    """
    variant = architectures.canonical_variant(variant)
    prof = select_profile(PROFILES, profile, n_series=n_series, epochs=epochs)
    if prof.epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {prof.epochs}")
    if horizon < 1 or n_steps < 8:
        raise ValueError(f"need horizon >= 1 and n_steps >= 8, got horizon={horizon}, n_steps={n_steps}")

    data_source: Callable
    if csv_path:
        data_source = lambda: CsvSeriesExampleGen(  # noqa: E731
            csv_path=csv_path, layout=csv_layout, n_steps=n_steps, horizon=horizon,
            stride=stride, split_by=csv_split_by)
        # Unknown size up front: an epoch is a nominal 219 steps (the book's).
        steps_per_epoch = Profile(n_series=10_000, epochs=1).steps_per_epoch(7000)
    else:
        data_source = lambda: SyntheticSeriesExampleGen(  # noqa: E731
            n_series=prof.n_series, n_steps=n_steps, horizon=horizon, seed=seed)
        steps_per_epoch = prof.steps_per_epoch(int(prof.n_series * 0.7))

    return FamilySpec(
        name=NAME,
        data_source=data_source,
        preprocessing_fn="preprocessing.forecasting.preprocessing_fn",
        run_fn="models.forecasting.trainer.run_fn",
        train_steps=steps_per_epoch * prof.epochs,
        eval_steps=prof.eval_steps,
        eval_config=eval_config(),
        # Curated: fixed shapes, finite values, drift of the value distribution.
        schema=features.curated_schema(n_steps, horizon),
        preprocessing_config={"scaling": "maxabs" if variant in architectures.BOUNDED_OUTPUT_VARIANTS
                              else "zscore"},
        custom_config={
            "variant": variant, "n_steps": n_steps, "horizon": horizon,
            "learning_rate": learning_rate, "batch_size": prof.batch_size,
            "steps_per_epoch": steps_per_epoch, "seed": seed,
        },
    )


CLI_OPTIONS = ("horizon", "n_steps", "epochs", "n_series", "learning_rate", "csv_path",
               "csv_layout", "csv_split_by", "stride")


def add_cli_arguments(group: argparse._ArgumentGroup) -> None:
    """Options of `build_spec` for the command lines (local run, Kubeflow)."""
    group.add_argument("--horizon", type=int, help="steps to forecast (default 10)")
    group.add_argument("--n-steps", type=int, help="input window length (default 50)")
    group.add_argument("--epochs", type=int, help="override the profile's epochs")
    group.add_argument("--n-series", type=int, help="synthetic series to generate (profile default)")
    group.add_argument("--learning-rate", type=float, help="default: the book's rate for the variant")
    group.add_argument("--csv", dest="csv_path", help="your own series instead of synthetic data")
    group.add_argument("--csv-layout", choices=["long", "wide"],
                       help="long: series_id,timestamp,value; wide: a series per row")
    group.add_argument("--split-by", dest="csv_split_by", choices=["series", "time"])
    group.add_argument("--stride", type=int, help="window stride over CSV series (default 1)")
