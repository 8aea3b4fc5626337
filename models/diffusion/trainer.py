"""TFX Trainer entry point (`run_fn`) for the diffusion family.

Reads Transform's scaled images (``image_scaled`` in [−1, 1]; the shape
comes from the transform output), noises each one at a random step t of the
cosine schedule and trains the U-Net to predict that noise (Huber loss,
Nadam: the book's). The validation batches are noised with stateless random
ops keyed by the batch's position, so the validation loss of two runs is
measured on the same noisy images. The export samples inside its graph
(``sampling``) and writes raw uint8 images through the inverse of the
transform graph's scaling.

Signatures (images are uint8 ``[n, H, W, C]``):

  generate         n (int32), seed (int64), steps (int32), sampler (string:
                   "ddpm" or "ddim") → ``images`` and ``scaled`` (in [−1, 1]
                   before rounding). ``ddim`` takes ``steps`` model calls
                   (1..T); ``ddpm`` always takes all T (``steps`` is
                   ignored). The same seed gives the same images.
  predict_noise    images (uint8), time (int32 [n]), seed → ``noise`` (the ε
                   added), ``predicted_noise`` and ``noisy`` (x_t, scaled).
  serving_default  serialized raw tf.Examples → per-example
                   ``denoising_loss`` (Huber) at a step and noise derived
                   from a hash of the example: reproducible scores of a split.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import absl.logging
import keras
import tensorflow as tf
import tensorflow_transform as tft

from models.common import export, image_inputs
from models.common import training as common_training
from models.common.arguments import canonical_name, check_learning_rate
from models.diffusion import architectures, sampling
from models.diffusion.schedule import Schedule, cosine_schedule, noisy
from preprocessing import image_contract as contract

SIGNATURE_GENERATE = "generate"
SIGNATURE_PREDICT_NOISE = "predict_noise"
SAMPLERS = ("ddpm", "ddim")
MAX_IMAGES = 10_000  # images one generate call may ask for

BOOK_TRAIN_IMAGES = 55_000


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """What `custom_config` may carry; defaults are the book's."""

    variant: str = architectures.DEFAULT_VARIANT
    timesteps: int = architectures.BOOK_T
    s: float = architectures.BOOK_S
    max_beta: float = architectures.BOOK_MAX_BETA
    batch_size: int = architectures.BOOK_BATCH_SIZE
    steps_per_epoch: int = math.ceil(BOOK_TRAIN_IMAGES / architectures.BOOK_BATCH_SIZE)
    learning_rate: float = 1e-3  # Nadam (Keras' default, the book's)
    shuffle_buffer: int = 60_000
    seed: int = 42
    source_digest: str = ""

    @classmethod
    def from_custom_config(cls, custom_config: dict[str, Any] | None) -> "TrainConfig":
        config = common_training.config_from_custom(cls, custom_config, "diffusion")
        canonical_name("diffusion", config.variant, architectures.VARIANTS)
        common_training.require_positive(config, "timesteps", "batch_size", "steps_per_epoch",
                                         "shuffle_buffer")
        check_learning_rate(config.learning_rate)
        config.schedule()  # checks s and max_beta
        return config

    def schedule(self) -> Schedule:
        return cosine_schedule(self.timesteps, self.s, self.max_beta)


def check_scaling(tft_output: tft.TFTransformOutput) -> None:
    """The noise model assumes pixels in [−1, 1]: probed on the transform graph."""
    low, high = image_inputs.scaled_range(tft_output)
    if not (math.isclose(low, -1.0, abs_tol=1e-4) and math.isclose(high, 1.0, abs_tol=1e-4)):
        raise ValueError(f"diffusion needs pixels in [-1, 1] but Transform scales 0..255 to "
                         f"[{low:.3g}, {high:.3g}]: use the 'symmetric' scaling with fixed "
                         "statistics")


def make_dataset(file_patterns: list[str] | str, tft_output: tft.TFTransformOutput,
                 config: TrainConfig, *, training: bool) -> tf.data.Dataset:
    """Batches of ({"X_noisy", "time"}, noise): a random step per image."""
    alpha_bar = tf.constant(config.schedule().alpha_bar)

    def noised(images: tf.Tensor, seed: tf.Tensor):
        n = tf.shape(images)[0]
        t = tf.random.stateless_uniform([n], seed, minval=1, maxval=config.timesteps + 1,
                                        dtype=tf.int32)
        noise = tf.random.stateless_normal(tf.shape(images), seed + 1)
        return {"X_noisy": noisy(images, t, noise, alpha_bar), "time": t}, noise

    ds = image_inputs.dataset(file_patterns, tft_output, batch_size=config.batch_size,
                              training=training, seed=config.seed,
                              to_model_io=lambda f: f[contract.IMAGE_SCALED],
                              shuffle_buffer=config.shuffle_buffer)
    if training:
        # A fresh draw every batch, from a seeded stream.
        seeds = tf.data.Dataset.random(seed=config.seed).batch(2)
        return tf.data.Dataset.zip(ds, seeds).map(
            lambda images, s: noised(images, s), num_parallel_calls=tf.data.AUTOTUNE)
    # The same noise for the same batch position, every run.
    return ds.enumerate().map(
        lambda i, images: noised(images, tf.stack([tf.cast(config.seed, tf.int64), i * 2])),
        num_parallel_calls=tf.data.AUTOTUNE)


class DiffusionServing(tf.Module):
    """The exported object: the U-Net, the schedule, the samplers and the
    transform graph with its inverse."""

    def __init__(self, model: keras.Model, tft_output: tft.TFTransformOutput,
                 config: TrainConfig):
        super().__init__()
        self.model = model
        self.model_variables = export.tf_variables(model)
        self.images = image_inputs.ImageTransform(tft_output)
        self._shape = image_inputs.image_shape(tft_output)
        self._schedule = config.schedule()
        self._timesteps = config.timesteps
        self._raw_spec = {contract.IMAGE: tft_output.raw_feature_spec()[contract.IMAGE]}

    def _predict_noise(self, x: tf.Tensor, t: tf.Tensor) -> tf.Tensor:
        return self.model({"X_noisy": x, "time": t}, training=False)

    def _generate(self, n, seed, steps, sampler) -> dict[str, tf.Tensor]:
        checks = [
            tf.debugging.assert_greater_equal(n, 1, message="generate: n must be >= 1"),
            tf.debugging.assert_less_equal(n, MAX_IMAGES,
                                           message=f"generate: n must be <= {MAX_IMAGES}"),
            tf.debugging.assert_equal(
                tf.reduce_any(tf.equal(sampler, tf.constant(SAMPLERS))), True,
                message=f"generate: sampler must be one of {', '.join(SAMPLERS)}"),
            tf.debugging.assert_equal(
                tf.logical_or(tf.equal(sampler, "ddpm"),
                              tf.logical_and(steps >= 1, steps <= self._timesteps)), True,
                message=f"generate: ddim steps must be between 1 and {self._timesteps}"),
        ]
        with tf.control_dependencies(checks):
            shape = tf.concat([[n], tf.constant(self._shape, tf.int32)], axis=0)
        scaled = tf.cond(
            tf.equal(sampler, "ddpm"),
            lambda: sampling.ddpm(self._predict_noise, self._schedule, shape, seed),
            lambda: sampling.ddim(self._predict_noise, self._schedule, shape, seed, steps))
        scaled = tf.clip_by_value(scaled, -1.0, 1.0)
        return {"images": self.images.unscale(scaled), "scaled": scaled}

    def _denoising(self, scaled: tf.Tensor, t: tf.Tensor, noise: tf.Tensor) -> dict:
        x_t = noisy(scaled, t, noise, tf.constant(self._schedule.alpha_bar))
        predicted = self._predict_noise(x_t, t)
        error = tf.abs(predicted - noise)
        huber = tf.where(error <= 1.0, 0.5 * tf.square(error), error - 0.5)  # Keras' delta 1
        return {"noisy": x_t, "predicted_noise": predicted,
                "denoising_loss": tf.reduce_mean(huber, axis=[1, 2, 3])}

    def signatures(self) -> dict[str, Any]:
        height, width, channels = self._shape

        @tf.function(input_signature=[tf.TensorSpec([], tf.int32, name="n"),
                                      tf.TensorSpec([], tf.int64, name="seed"),
                                      tf.TensorSpec([], tf.int32, name="steps"),
                                      tf.TensorSpec([], tf.string, name="sampler")])
        def generate(n, seed, steps, sampler):
            return self._generate(n, seed, steps, sampler)

        @tf.function(input_signature=[
            tf.TensorSpec([None, height, width, channels], tf.uint8, name="images"),
            tf.TensorSpec([None], tf.int32, name="time"),
            tf.TensorSpec([], tf.int64, name="seed")])
        def predict_noise(images, time, seed):
            check = tf.debugging.assert_equal(
                tf.reduce_all((time >= 1) & (time <= self._timesteps)), True,
                message=f"time must be between 1 and {self._timesteps}")
            with tf.control_dependencies([check]):
                scaled = self.images.scale(images)
            noise = tf.random.stateless_normal(tf.shape(scaled),
                                               tf.stack([seed, tf.constant(0, tf.int64)]))
            out = self._denoising(scaled, time, noise)
            return {"noise": noise, "predicted_noise": out["predicted_noise"],
                    "noisy": out["noisy"]}

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
        def serve_examples(serialized):
            parsed = tf.io.parse_example(serialized, self._raw_spec)
            scaled = self.images.tft_layer(parsed)[contract.IMAGE_SCALED]
            keys = tf.strings.to_hash_bucket_fast(serialized, 2**31 - 1)
            t = tf.cast(keys % self._timesteps, tf.int32) + 1
            noise = tf.map_fn(
                lambda key: tf.random.stateless_normal(
                    [height, width, channels], tf.stack([key, tf.constant(1, tf.int64)])),
                keys, fn_output_signature=tf.float32)
            return {"denoising_loss": self._denoising(scaled, t, noise)["denoising_loss"]}

        return {"serving_default": serve_examples, SIGNATURE_GENERATE: generate,
                SIGNATURE_PREDICT_NOISE: predict_noise}


def train(config: TrainConfig, train_files: list[str], eval_files: list[str],
          tft_output: tft.TFTransformOutput, train_steps: int,
          eval_steps: int | None = None) -> tuple[keras.Model, dict]:
    """Trains; the image shape comes from the transform output."""
    check_scaling(tft_output)
    shape = image_inputs.image_shape(tft_output)
    keras.utils.set_random_seed(config.seed)
    model = architectures.build_model(shape, config.timesteps, learning_rate=config.learning_rate)
    model.summary(print_fn=absl.logging.info)
    stats = common_training.fit(
        model, make_dataset(train_files, tft_output, config, training=True),
        make_dataset(eval_files, tft_output, config, training=False), train_steps=train_steps,
        steps_per_epoch=config.steps_per_epoch, batch_size=config.batch_size,
        eval_steps=eval_steps)
    stats.update(image_shape=list(shape), parameters=model.count_params(),
                 timesteps=config.timesteps, book_val_loss=architectures.BOOK_VAL_LOSS)
    return model, stats


def run_fn(fn_args) -> None:
    """TFX Trainer (GenericExecutor) entry point."""
    common_training.run(fn_args, TrainConfig, train, DiffusionServing)
