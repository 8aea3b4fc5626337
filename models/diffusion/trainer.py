"""TFX Trainer entry point (`run_fn`) for the diffusion family.

Reads Transform's scaled images (``image_scaled`` in [−1, 1], the
"symmetric" scaling; the shape comes from the transform output), noises
each one at a random step t of the cosine schedule and trains the U-Net to
predict that noise (Huber loss, Nadam: the book's). Training draws t and
the noise from a seeded stream, a fresh draw every batch; validation draws
them per image from its position in the split (stateless), so two runs'
validation losses are measured on the same noisy images, whatever the batch
size. The export samples inside its graph (``sampling``) and writes raw
uint8 images through the inverse of the transform graph's scaling.

Signatures (images are uint8 ``[n, H, W, C]``; "scaled" is float32 in the
model's space, [−1, 1]):

  generate         n (int32, 1..10,000), seed (int64), steps (int32),
                   sampler (string) → ``images`` and ``scaled``.
                   sampler "ddim": the deterministic DDIM sampler over
                   ``steps`` (1..T) model calls; "ddpm": the full ancestral
                   loop, always all T model calls, so ``steps`` must be T
                   (or 0, "all"). Anything else fails naming what is
                   allowed. The same seed gives the same images.
  predict_noise    images (uint8), time (int32 [n], 1..T), seed (int64) →
                   ``noise`` (the ε added, drawn from the seed),
                   ``noisy`` (x_t, scaled), ``predicted_noise`` (ε̂) and
                   ``denoising_loss`` (per image, Huber).
  serving_default  serialized raw tf.Examples (``examples`` [n], what the
                   Evaluator feeds) → per-example ``denoising_loss`` (Huber
                   of ε̂ against ε) at a step and noise derived from a hash
                   of the serialized example: a model's score on a split is
                   reproducible and comparable between models.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import absl.logging
import keras
import numpy as np
import tensorflow as tf
import tensorflow_transform as tft

from models.common import export, image_inputs
from models.common import training as common_training
from models.common.arguments import canonical_name, check_int, check_learning_rate
from models.diffusion import architectures, sampling
from models.diffusion.schedule import Schedule, cosine_schedule, keyed_step_and_noise, noisy
from preprocessing import image_contract as contract

SIGNATURE_GENERATE = "generate"
SIGNATURE_PREDICT_NOISE = "predict_noise"

OUTPUT_IMAGES = "images"  # uint8 [n, H, W, C]
OUTPUT_SCALED = "scaled"  # float32 [n, H, W, C] in [-1, 1]
OUTPUT_LOSS = "denoising_loss"  # float32 [n]

SAMPLERS = ("ddpm", "ddim")
MAX_IMAGES = 10_000  # images one generate call may ask for

BOOK_TRAIN_IMAGES = 55_000

# Salt of the serving_default keys (hashes of the serialized examples).
_SCORE_SALT = 1


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """What `custom_config` may carry; defaults are the book's."""

    variant: str = architectures.DEFAULT_VARIANT
    timesteps: int = architectures.BOOK_T  # T
    s: float = architectures.BOOK_S  # the cosine schedule's offset
    max_beta: float = architectures.BOOK_MAX_BETA
    batch_size: int = architectures.BOOK_BATCH_SIZE
    steps_per_epoch: int = math.ceil(BOOK_TRAIN_IMAGES / architectures.BOOK_BATCH_SIZE)
    learning_rate: float = 1e-3  # Nadam (Keras' default, the book's)
    shuffle_buffer: int = 60_000  # the whole split: a full shuffle
    seed: int = 42
    source_digest: str = ""  # which data the run saw (recorded, not used)

    @classmethod
    def from_custom_config(cls, custom_config: dict[str, Any] | None) -> "TrainConfig":
        """The options in `custom_config`, each checked: ValueError naming
        the first bad one."""
        config = common_training.config_from_custom(cls, custom_config, "diffusion")
        canonical_name("diffusion", config.variant, architectures.VARIANTS)
        for name in ("timesteps", "batch_size", "steps_per_epoch", "shuffle_buffer"):
            check_int(name, getattr(config, name), 1)
        check_int("seed", config.seed, 0)
        check_learning_rate(config.learning_rate)
        if not isinstance(config.source_digest, str):
            raise ValueError(f"source_digest must be a string, got {config.source_digest!r}")
        config.schedule()  # checks s and max_beta
        return config

    def schedule(self) -> Schedule:
        return cosine_schedule(self.timesteps, self.s, self.max_beta)


def check_scaling(tft_output: tft.TFTransformOutput) -> None:
    """The noise model assumes pixels in [−1, 1] (x_T ~ N(0, I) is on that
    scale, and the samplers clip to it): probed on the transform graph with
    an all-black and an all-white image. ValueError otherwise."""
    black, white = image_inputs.scaled_extremes(tft_output)
    if not (np.allclose(black, -1.0, atol=1e-4) and np.allclose(white, 1.0, atol=1e-4)):
        raise ValueError(f"diffusion needs pixels in [-1, 1] but Transform scales 0 to "
                         f"[{black.min():.3g}, {black.max():.3g}] and 255 to "
                         f"[{white.min():.3g}, {white.max():.3g}]: use the 'symmetric' scaling "
                         "with fixed statistics")


def make_dataset(file_patterns: list[str] | str, tft_output: tft.TFTransformOutput,
                 config: TrainConfig, *, training: bool) -> tf.data.Dataset:
    """Batches of ({"X_noisy": x_t, "time": t}, ε): a step t in 1..T per image."""
    alpha_bar = tf.constant(config.schedule().alpha_bar)
    shape = image_inputs.image_shape(tft_output)
    ds = image_inputs.dataset(file_patterns, tft_output, batch_size=config.batch_size,
                              training=training, seed=config.seed,
                              to_model_io=lambda features: features[contract.IMAGE_SCALED],
                              shuffle_buffer=config.shuffle_buffer)

    def model_io(images, t, noise):
        return {"X_noisy": noisy(images, t, noise, alpha_bar), "time": t}, noise

    if training:
        def at_random(images, seed):
            step_seed, noise_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
            t = tf.random.stateless_uniform(tf.shape(images)[:1], step_seed, minval=1,
                                            maxval=config.timesteps + 1, dtype=tf.int32)
            return model_io(images, t, tf.random.stateless_normal(tf.shape(images), noise_seed))

        # A fresh stateless seed per batch, from a stream seeded by the config.
        seeds = tf.data.Dataset.random(seed=config.seed).batch(2)
        return tf.data.Dataset.zip(ds, seeds).map(at_random, num_parallel_calls=tf.data.AUTOTUNE)

    def by_position(batch, images):
        # Image k of the split gets the t and noise of key k, in every run.
        keys = batch * config.batch_size + tf.range(tf.shape(images, tf.int64)[0])
        t, noise = keyed_step_and_noise(keys, config.seed, config.timesteps, shape)
        return model_io(images, t, noise)

    return ds.enumerate().map(by_position, num_parallel_calls=tf.data.AUTOTUNE)


def huber(predicted: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
    """Keras' Huber loss (δ = 1) per image: the mean over its pixels."""
    error = tf.abs(predicted - target)
    loss = tf.where(error <= 1.0, 0.5 * tf.square(error), error - 0.5)
    return tf.reduce_mean(loss, axis=[1, 2, 3])


class DiffusionServing(tf.Module):
    """The exported object: the U-Net, the schedule, both samplers and the
    transform graph with its inverse (signatures in the module docstring)."""

    def __init__(self, model: keras.Model, tft_output: tft.TFTransformOutput,
                 config: TrainConfig):
        super().__init__()
        self.model = model
        self.model_variables = export.tf_variables(model)
        self.images = image_inputs.ImageTransform(tft_output)
        self._shape = image_inputs.image_shape(tft_output)
        self._schedule = config.schedule()
        self._timesteps = config.timesteps
        # ExampleGen's raw pixel feature, as the schema has it.
        self._raw_spec = {contract.IMAGE: tft_output.raw_feature_spec()[contract.IMAGE]}

    # -- pieces -------------------------------------------------------------------

    def _predict_noise(self, x: tf.Tensor, t: tf.Tensor) -> tf.Tensor:
        return self.model({"X_noisy": x, "time": t}, training=False)

    def _checked_generate_args(self, n, steps, sampler) -> list[tf.Operation]:
        T = self._timesteps
        is_ddpm, is_ddim = tf.equal(sampler, "ddpm"), tf.equal(sampler, "ddim")
        return [
            tf.debugging.assert_greater_equal(n, 1, message="generate: n must be >= 1"),
            tf.debugging.assert_less_equal(n, MAX_IMAGES,
                                           message=f"generate: n must be <= {MAX_IMAGES}"),
            tf.debugging.assert_equal(
                is_ddpm | is_ddim, True,
                message=f"generate: sampler must be one of {', '.join(SAMPLERS)}"),
            tf.debugging.assert_equal(
                ~is_ddim | ((steps >= 1) & (steps <= T)), True,
                message=f"generate: ddim steps must be between 1 and {T} (T)"),
            tf.debugging.assert_equal(
                ~is_ddpm | tf.equal(steps, 0) | tf.equal(steps, T), True,
                message=f"generate: the ddpm sampler takes all T = {T} steps: steps must be "
                        f"{T} (or 0); use the ddim sampler for fewer"),
        ]

    def _generate(self, n, seed, steps, sampler) -> dict[str, tf.Tensor]:
        with tf.control_dependencies(self._checked_generate_args(n, steps, sampler)):
            shape = tf.concat([[n], tf.constant(self._shape, tf.int32)], axis=0)
        scaled = tf.cond(
            tf.equal(sampler, "ddpm"),
            lambda: sampling.ddpm(self._predict_noise, self._schedule, shape, seed),
            lambda: sampling.ddim(self._predict_noise, self._schedule, shape, seed, steps))
        scaled = tf.clip_by_value(scaled, -1.0, 1.0)  # DDPM's last step is not clipped
        return {OUTPUT_IMAGES: self.images.unscale(scaled), OUTPUT_SCALED: scaled}

    def _denoising(self, scaled: tf.Tensor, t: tf.Tensor, noise: tf.Tensor) -> dict:
        x_t = noisy(scaled, t, noise, self._schedule.alpha_bar)
        predicted = self._predict_noise(x_t, t)
        return {"noisy": x_t, "predicted_noise": predicted, OUTPUT_LOSS: huber(predicted, noise)}

    # -- signatures ---------------------------------------------------------------

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
                message=f"predict_noise: time must be between 1 and {self._timesteps}")
            with tf.control_dependencies([check]):
                scaled = self.images.scale(images)
            noise = tf.random.stateless_normal(tf.shape(scaled), sampling.stream_seed(seed, 0))
            return {"noise": noise, **self._denoising(scaled, time, noise)}

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
        def serve_examples(serialized):
            parsed = tf.io.parse_example(serialized, self._raw_spec)
            scaled = self.images.tft_layer(parsed)[contract.IMAGE_SCALED]
            keys = tf.strings.to_hash_bucket_fast(serialized, 2**62)
            t, noise = keyed_step_and_noise(keys, _SCORE_SALT, self._timesteps, self._shape)
            return {OUTPUT_LOSS: self._denoising(scaled, t, noise)[OUTPUT_LOSS]}

        return {"serving_default": serve_examples, SIGNATURE_GENERATE: generate,
                SIGNATURE_PREDICT_NOISE: predict_noise}


def train(config: TrainConfig, train_files: list[str], eval_files: list[str],
          tft_output: tft.TFTransformOutput, train_steps: int,
          eval_steps: int | None = None) -> tuple[keras.Model, dict]:
    """Trains the U-Net; the image shape comes from the transform output,
    which must scale pixels to [−1, 1]."""
    check_scaling(tft_output)
    shape = image_inputs.image_shape(tft_output)
    train_ds = make_dataset(train_files, tft_output, config, training=True)
    eval_ds = make_dataset(eval_files, tft_output, config, training=False)
    keras.utils.set_random_seed(config.seed)
    model = architectures.build_model(shape, config.timesteps, learning_rate=config.learning_rate)
    model.summary(print_fn=absl.logging.info)
    stats = common_training.fit(model, train_ds, eval_ds, train_steps=train_steps,
                                steps_per_epoch=config.steps_per_epoch,
                                batch_size=config.batch_size, eval_steps=eval_steps)
    stats.update(image_shape=list(shape), parameters=model.count_params(),
                 timesteps=config.timesteps, book_val_loss=architectures.BOOK_VAL_LOSS)
    return model, stats


def run_fn(fn_args) -> None:
    """TFX Trainer (GenericExecutor) entry point."""
    common_training.run(fn_args, TrainConfig, train, DiffusionServing)
