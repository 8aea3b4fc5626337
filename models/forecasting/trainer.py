"""TFX Trainer entry point (`run_fn`) for the forecasting family.

Reads Transform's output, trains the configured variant from
`models.forecasting.architectures`, and exports a SavedModel whose signatures
take raw series: the TFT graph (z-scoring) and its inverse are inside it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import absl.logging
import keras
import tensorflow as tf
import tensorflow_transform as tft

from models.common import data, export
from models.common import training as common_training
from models.forecasting import architectures
from preprocessing import forecasting as features

SIGNATURE_FORECAST = "forecast"
OUTPUT_FORECAST = "forecast"


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """What `custom_config` may carry; every field has the book's default."""

    variant: str = "seq2seq"
    n_steps: int = 50
    horizon: int = 10
    learning_rate: float | None = None  # None: the book's rate for the variant
    batch_size: int = 32
    steps_per_epoch: int = 219  # ceil(7000 / 32): one pass over the book's train split
    seed: int = 42
    cache: bool = True
    source_digest: str = ""  # set by the factory so code edits invalidate the cache

    @classmethod
    def from_custom_config(cls, custom_config: dict[str, Any] | None) -> "TrainConfig":
        config = common_training.config_from_custom(cls, custom_config, "forecasting")
        common_training.require_positive(config, "n_steps", "horizon", "batch_size", "steps_per_epoch")
        if config.learning_rate is not None and config.learning_rate < 0:
            raise ValueError(f"learning_rate must be >= 0, got {config.learning_rate}")
        return dataclasses.replace(config, variant=architectures.canonical_variant(config.variant))


def to_model_inputs(batch: dict[str, tf.Tensor], config: TrainConfig) -> tuple[tf.Tensor, tf.Tensor]:
    """Transformed features → (model input [b, n, 1], target in the variant's shape)."""
    series = batch[features.SERIES_SCALED]
    future = batch[features.TARGET_SCALED]
    x = series[..., tf.newaxis]
    steps = architectures.sequence_target_steps(config.variant, config.n_steps)
    if steps is None:
        return x, future
    # Sequence-to-sequence: at every step t the next `horizon` values.
    full = tf.concat([series, future], axis=-1)
    y = tf.signal.frame(full[..., 1:], frame_length=config.horizon, frame_step=1, axis=-1)
    return x, y[:, : config.n_steps, :][:, steps, :]


class ForecastServing(tf.Module):
    """The exported object: TFT layer + Keras model + inverse scaling."""

    def __init__(self, model: keras.Model, tft_output: tft.TFTransformOutput, config: TrainConfig):
        super().__init__()
        self.model = model
        self.model_variables = export.tf_variables(model)
        self.tft_layer = tft_output.transform_features_layer()
        self._sequence = config.variant in architectures.SEQUENCE_VARIANTS
        self._n_steps = config.n_steps

    def _forecast(self, raw_series: tf.Tensor) -> tf.Tensor:
        transformed = self.tft_layer({features.SERIES: raw_series})
        z = self.model(transformed[features.SERIES_SCALED][..., tf.newaxis], training=False)
        if self._sequence:
            z = z[:, -1, :]  # the forecast made after the last observed step
        mean = transformed[features.SCALE_CENTER][:, tf.newaxis]
        std = transformed[features.SCALE_FACTOR][:, tf.newaxis]
        return z * std + mean

    def signatures(self) -> dict[str, Any]:
        n_steps = self._n_steps

        @tf.function(input_signature=[tf.TensorSpec([None, n_steps], tf.float32, name="series")])
        def forecast(series):
            return {OUTPUT_FORECAST: self._forecast(series)}

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
        def serve_examples(serialized):
            spec = {features.SERIES: tf.io.FixedLenFeature([n_steps], tf.float32)}
            parsed = tf.io.parse_example(serialized, spec)
            return {OUTPUT_FORECAST: self._forecast(parsed[features.SERIES])}

        return {"serving_default": serve_examples, SIGNATURE_FORECAST: forecast}


def train(config: TrainConfig, train_files: list[str], eval_files: list[str],
          tft_output: tft.TFTransformOutput, train_steps: int,
          eval_steps: int | None = None) -> tuple[keras.Model, dict]:
    """Trains and returns the Keras model plus throughput/history stats."""
    spec = tft_output.transformed_feature_spec()
    to_xy = lambda batch: to_model_inputs(batch, config)  # noqa: E731
    train_ds = data.training_pipeline(data.transformed_dataset(train_files, spec),
                                      batch_size=config.batch_size, seed=config.seed,
                                      cache=config.cache, batch_map=to_xy)
    eval_ds = data.with_known_cardinality(
        data.transformed_dataset(eval_files, spec).batch(256)
        .map(to_xy, num_parallel_calls=tf.data.AUTOTUNE).cache())

    model = architectures.build_model(config.variant, config.n_steps, config.horizon,
                                      learning_rate=config.learning_rate, seed=config.seed)
    model.summary(print_fn=absl.logging.info)
    if not model.trainable_weights:
        absl.logging.info("variant %s has no weights: nothing to train", config.variant)
        return model, {"epochs": 0, "steps": 0}

    stats = common_training.fit(model, train_ds, eval_ds, train_steps=train_steps,
                         steps_per_epoch=config.steps_per_epoch, batch_size=config.batch_size,
                         eval_steps=eval_steps)
    return model, stats


def run_fn(fn_args) -> None:
    """TFX Trainer (GenericExecutor) entry point."""
    common_training.run(fn_args, TrainConfig, train, ForecastServing)
