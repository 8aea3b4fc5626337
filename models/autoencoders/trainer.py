"""TFX Trainer entry point (`run_fn`) for the autoencoders family.

Reads Transform's scaled images (``image_scaled``, float32 [H, W, C]; the
shape comes from the transform output), trains the configured variant of
`architectures` to reproduce them (inputs = targets; the denoising
variant's noise is a layer inside the model), and exports a SavedModel that
takes raw images: the transform graph scales them exactly as in training,
and its inverse turns reconstructions back into uint8 pixels.

Signatures (images are uint8 ``[n, H, W]`` or ``[n, H, W, C]``; "scaled"
outputs are float32 ``[n, H, W, C]`` in the space the model was trained in):

  serving_default  serialized raw tf.Examples (ExampleGen's ``image``
                   int64 list, what the Evaluator feeds) → per-example
                   ``reconstruction_mse`` in the scaled space (the TFMA
                   metric's input; the book's loss).
  encode           images → ``codings`` [n, codings_size] (for the
                   variational autoencoder the mean μ, and ``codings_log_var``).
  decode           codings → ``images`` (uint8) and ``scaled``.
  reconstruct      images → ``images``, ``scaled``, ``reconstruction_mse``;
                   equal to decode(encode(images)).
  encode_png, reconstruct_png
                   the same from PNG (or JPEG, GIF, BMP) bytes [n].
  sample           (variational only) n, seed → ``images``, ``scaled``,
                   ``codings``: codings drawn from N(0, I) with stateless
                   random ops, so a seed always gives the same images.

Every signature is deterministic: the variational autoencoder encodes to
its mean codings, and the denoising variant's noise is off at inference.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import absl.logging
import keras
import tensorflow as tf
import tensorflow_transform as tft

from models.autoencoders import architectures, evaluation
from models.common import export, image_inputs
from models.common import training as common_training
from models.common.arguments import canonical_name, check_learning_rate
from preprocessing import image_contract as contract

SIGNATURE_ENCODE = "encode"
SIGNATURE_DECODE = "decode"
SIGNATURE_RECONSTRUCT = "reconstruct"
SIGNATURE_ENCODE_PNG = "encode_png"
SIGNATURE_RECONSTRUCT_PNG = "reconstruct_png"
SIGNATURE_SAMPLE = "sample"

OUTPUT_CODINGS = "codings"
OUTPUT_LOG_VAR = "codings_log_var"
OUTPUT_IMAGES = "images"  # uint8 [n, H, W, C]
OUTPUT_SCALED = "scaled"  # float32 [n, H, W, C], the model's space
OUTPUT_MSE = evaluation.RECONSTRUCTION_MSE  # float32 [n]

MAX_SAMPLES = 10_000  # images one `sample` call may ask for

BOOK_TRAIN_IMAGES = 55_000


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """What `custom_config` may carry; defaults are the book's settings
    (of the stacked autoencoder: its 20 epochs are the family's business)."""

    variant: str = architectures.DEFAULT_VARIANT
    codings_size: int = 0  # 0: the variant's (the book's)
    noise: str = ""  # denoising: "dropout" (the book's, by default) or "gaussian"
    noise_level: float = 0.0  # 0: the noise's default (dropout rate 0.5, stddev 0.2)
    output_activation: str = "linear"
    batch_size: int = 32
    steps_per_epoch: int = math.ceil(BOOK_TRAIN_IMAGES / 32)  # one pass over the train split
    learning_rate: float = 1e-3  # Nadam (Keras' default, the book's)
    shuffle_buffer: int = 60_000  # the whole split: a full shuffle
    seed: int = 42
    source_digest: str = ""

    @classmethod
    def from_custom_config(cls, custom_config: dict[str, Any] | None) -> "TrainConfig":
        config = common_training.config_from_custom(cls, custom_config, "autoencoders")
        canonical_name("autoencoders", config.variant, architectures.VARIANTS)
        common_training.require_positive(config, "batch_size", "steps_per_epoch", "shuffle_buffer")
        if config.codings_size < 0:
            raise ValueError(f"codings_size must be >= 1 (or 0 for the variant's default), "
                             f"got {config.codings_size}")
        if config.noise or config.noise_level:
            if config.variant != "denoising":
                raise ValueError(f"noise and noise_level apply to the denoising variant only, "
                                 f"not to {config.variant!r}")
            architectures.check_noise(config.noise or "dropout", config.noise_level or None)
        if config.output_activation not in architectures.OUTPUT_ACTIVATIONS:
            raise ValueError(f"output_activation must be one of "
                             f"{', '.join(architectures.OUTPUT_ACTIVATIONS)}, "
                             f"got {config.output_activation!r}")
        check_learning_rate(config.learning_rate)
        return config


def build_model(config: TrainConfig, image_shape: tuple[int, int, int]) -> keras.Model:
    """The configured variant for images of `image_shape`, compiled."""
    return architectures.build_model(
        config.variant, image_shape, codings_size=config.codings_size or None,
        noise=config.noise or None, noise_level=config.noise_level or None,
        output_activation=config.output_activation, learning_rate=config.learning_rate,
        seed=config.seed)


def _inputs_are_targets(features: dict[str, tf.Tensor]) -> tuple[tf.Tensor, tf.Tensor]:
    images = features[contract.IMAGE_SCALED]
    return images, images


def make_dataset(file_patterns: list[str] | str, tft_output: tft.TFTransformOutput,
                 config: TrainConfig, *, training: bool) -> tf.data.Dataset:
    """Batches of (scaled images, the same images)."""
    return image_inputs.dataset(file_patterns, tft_output, batch_size=config.batch_size,
                                training=training, seed=config.seed,
                                to_model_io=_inputs_are_targets,
                                shuffle_buffer=config.shuffle_buffer)


class AutoencoderServing(tf.Module):
    """The exported object: the transform graph (and its inverse) + the
    model's encoder and decoder."""

    def __init__(self, model: keras.Model, tft_output: tft.TFTransformOutput,
                 config: TrainConfig | None = None):
        super().__init__()
        self.model = model
        self.model_variables = export.tf_variables(model)
        self.encoder = architectures.encoder(model)
        self.decoder = architectures.decoder(model)
        self.images = image_inputs.ImageTransform(tft_output)
        self._shape = image_inputs.image_shape(tft_output)
        self._variational = architectures.is_variational(model)
        self._codings_size = int(self.decoder.input.shape[-1])
        # ExampleGen's raw pixel feature, as the schema has it (what the
        # Evaluator feeds serving_default).
        self._raw_image_spec = tft_output.raw_feature_spec()[contract.IMAGE]

    # -- pieces -------------------------------------------------------------------

    def _as_batch(self, images: tf.Tensor) -> tf.Tensor:
        """uint8 [n, H, W] (one channel) or [n, H, W, C] → [n, H, W, C]; any
        other shape fails naming the expected ones."""
        height, width, channels = self._shape
        dims = tf.shape(images)[1:]

        def matches(expected: list[int]) -> tf.Tensor:
            # Padded, so that shapes of any length compare (statically too).
            leading = tf.pad(dims, [[0, len(expected)]])[:len(expected)]
            return tf.logical_and(tf.equal(tf.size(dims), len(expected)),
                                  tf.reduce_all(tf.equal(leading, expected)))

        valid = matches([height, width, channels])
        if channels == 1:
            valid = tf.logical_or(valid, matches([height, width]))
        with tf.control_dependencies([tf.debugging.assert_equal(
                valid, True, message=f"images must be uint8 [n, {height}, {width}, {channels}]"
                + (f" or [n, {height}, {width}]" if channels == 1 else ""))]):
            return tf.reshape(images, [-1, height, width, channels])

    def _encode_scaled(self, scaled: tf.Tensor) -> dict[str, tf.Tensor]:
        outputs = self.encoder(scaled, training=False)
        if self._variational:
            mean, log_var = outputs
            return {OUTPUT_CODINGS: mean, OUTPUT_LOG_VAR: log_var}
        return {OUTPUT_CODINGS: outputs}

    def _decode(self, codings: tf.Tensor) -> dict[str, tf.Tensor]:
        scaled = self.decoder(codings, training=False)
        return {OUTPUT_IMAGES: self.images.unscale(scaled), OUTPUT_SCALED: scaled}

    def _reconstruct_scaled(self, scaled: tf.Tensor) -> dict[str, tf.Tensor]:
        decoded = self._decode(self._encode_scaled(scaled)[OUTPUT_CODINGS])
        errors = tf.reduce_mean(tf.square(decoded[OUTPUT_SCALED] - scaled), axis=[1, 2, 3])
        return {**decoded, OUTPUT_MSE: errors}

    def _scale(self, images: tf.Tensor) -> tf.Tensor:
        return self.images.scale(self._as_batch(images))

    # -- signatures ---------------------------------------------------------------

    def signatures(self) -> dict[str, Any]:
        images_spec = tf.TensorSpec(None, tf.uint8, name="images")  # rank 3 or 4
        png_spec = tf.TensorSpec([None], tf.string, name="png")

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
        def serve_examples(serialized):
            parsed = tf.io.parse_example(serialized, {contract.IMAGE: self._raw_image_spec})
            scaled = self.images.tft_layer(parsed)[contract.IMAGE_SCALED]
            return {OUTPUT_MSE: self._reconstruct_scaled(scaled)[OUTPUT_MSE]}

        @tf.function(input_signature=[images_spec])
        def encode(images):
            return self._encode_scaled(self._scale(images))

        @tf.function(input_signature=[
            tf.TensorSpec([None, self._codings_size], tf.float32, name="codings")])
        def decode(codings):
            return self._decode(codings)

        @tf.function(input_signature=[images_spec])
        def reconstruct(images):
            return self._reconstruct_scaled(self._scale(images))

        @tf.function(input_signature=[png_spec])
        def encode_png(png):
            return self._encode_scaled(self._scale(self.images.decode(png)))

        @tf.function(input_signature=[png_spec])
        def reconstruct_png(png):
            return self._reconstruct_scaled(self._scale(self.images.decode(png)))

        signatures = {"serving_default": serve_examples, SIGNATURE_ENCODE: encode,
                      SIGNATURE_DECODE: decode, SIGNATURE_RECONSTRUCT: reconstruct,
                      SIGNATURE_ENCODE_PNG: encode_png,
                      SIGNATURE_RECONSTRUCT_PNG: reconstruct_png}

        if self._variational:
            @tf.function(input_signature=[tf.TensorSpec([], tf.int32, name="n"),
                                          tf.TensorSpec([], tf.int64, name="seed")])
            def sample(n, seed):
                checks = [tf.debugging.assert_greater_equal(n, 1, message="sample: n must be >= 1"),
                          tf.debugging.assert_less_equal(
                              n, MAX_SAMPLES, message=f"sample: n must be <= {MAX_SAMPLES}")]
                with tf.control_dependencies(checks):
                    codings = tf.random.stateless_normal(
                        tf.stack([n, self._codings_size]), seed=tf.stack([seed, tf.constant(0, tf.int64)]))
                return {**self._decode(codings), OUTPUT_CODINGS: codings}

            signatures[SIGNATURE_SAMPLE] = sample
        return signatures


def train(config: TrainConfig, train_files: list[str], eval_files: list[str],
          tft_output: tft.TFTransformOutput, train_steps: int,
          eval_steps: int | None = None) -> tuple[keras.Model, dict]:
    """Trains; the image shape comes from the transform output."""
    shape = image_inputs.image_shape(tft_output)
    train_ds = make_dataset(train_files, tft_output, config, training=True)
    eval_ds = make_dataset(eval_files, tft_output, config, training=False)
    model = build_model(config, shape)
    model.summary(print_fn=absl.logging.info)
    stats = common_training.fit(model, train_ds, eval_ds, train_steps=train_steps,
                                steps_per_epoch=config.steps_per_epoch,
                                batch_size=config.batch_size, eval_steps=eval_steps)
    stats.update(image_shape=list(shape), parameters=model.count_params(),
                 codings_size=int(architectures.decoder(model).input.shape[-1]))
    return model, stats


def run_fn(fn_args) -> None:
    """TFX Trainer (GenericExecutor) entry point."""
    common_training.run(fn_args, TrainConfig, train, AutoencoderServing)
