"""TFX Trainer entry point (`run_fn`) for the gan family.

Reads Transform's scaled images (``image_scaled``; the shape and the pixel
range come from the transform output), trains the configured variant of
`architectures` (two phases per step, see ``architectures.GAN``) and exports
a SavedModel whose generator writes raw uint8 images: the inverse of the
transform graph's scaling is applied inside it.

Signatures (images are uint8 ``[n, H, W, C]``):

  generate         n (int32), seed (int64) → ``images``, ``scaled`` (the
                   generator's output space), ``codings``; the conditional
                   variant also returns ``labels`` (balanced: i mod the
                   number of classes). Codings come from stateless random
                   ops: the same seed always gives the same images.
  generate_labels  (conditional only) labels (int64 [n]), seed → the same.
  discriminate     images (conditional: and labels) → ``real_probability`` [n].
  serving_default  serialized raw tf.Examples → ``real_probability`` (the
                   discriminator's view of ExampleGen's examples).

Every signature runs the networks in inference mode.
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
from models.gan import architectures
from preprocessing import image_contract as contract

SIGNATURE_GENERATE = "generate"
SIGNATURE_GENERATE_LABELS = "generate_labels"
SIGNATURE_DISCRIMINATE = "discriminate"
MAX_IMAGES = 10_000  # images one generate call may ask for

BOOK_TRAIN_IMAGES = 55_000


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """What `custom_config` may carry; defaults are the book's DCGAN."""

    variant: str = architectures.DEFAULT_VARIANT
    codings_size: int = 0  # 0: the variant's (the book's)
    batch_size: int = 32
    steps_per_epoch: int = math.ceil(BOOK_TRAIN_IMAGES / 32)
    learning_rate: float = 0.0  # 0: the variant's (RMSprop's default, the book's)
    replay_size: int = 0  # experience replay off
    replay_fraction: float = 0.5
    num_classes: int = 10  # conditional: label ids 0..num_classes-1
    shuffle_buffer: int = 60_000
    seed: int = 42
    source_digest: str = ""

    @classmethod
    def from_custom_config(cls, custom_config: dict[str, Any] | None) -> "TrainConfig":
        config = common_training.config_from_custom(cls, custom_config, "gan")
        canonical_name("gan", config.variant, architectures.VARIANTS)
        common_training.require_positive(config, "batch_size", "steps_per_epoch", "shuffle_buffer")
        if config.codings_size < 0:
            raise ValueError(f"codings_size must be >= 1 (or 0 for the variant's default), "
                             f"got {config.codings_size}")
        if config.learning_rate:
            check_learning_rate(config.learning_rate)
        elif config.learning_rate < 0:
            raise ValueError(f"learning_rate must be > 0, got {config.learning_rate}")
        if config.replay_size < 0:
            raise ValueError(f"replay_size must be >= 0 (0: no experience replay), "
                             f"got {config.replay_size}")
        if not 0.0 <= config.replay_fraction <= 1.0:
            raise ValueError(f"replay_fraction must be between 0 and 1, "
                             f"got {config.replay_fraction}")
        if config.variant == architectures.CONDITIONAL and config.num_classes < 2:
            raise ValueError(f"num_classes must be >= 2 for the conditional GAN, "
                             f"got {config.num_classes}")
        return config

    @property
    def conditional(self) -> bool:
        return self.variant == architectures.CONDITIONAL


def check_scaling(tft_output: tft.TFTransformOutput, variant: str) -> None:
    """The transform must scale pixels into what the generator's output
    activation reaches (sigmoid [0, 1], tanh [−1, 1]): probed on the graph."""
    low, high = image_inputs.scaled_range(tft_output)
    scaling = architectures.SCALING[variant]
    expected = architectures.OUTPUT_RANGE[scaling]
    if not (math.isclose(low, expected[0], abs_tol=1e-4)
            and math.isclose(high, expected[1], abs_tol=1e-4)):
        raise ValueError(f"the {variant} generator outputs pixels in {list(expected)} but "
                         f"Transform scales 0..255 to [{low:.3g}, {high:.3g}]: use the "
                         f"{scaling!r} scaling with fixed statistics")


def make_dataset(file_patterns: list[str] | str, tft_output: tft.TFTransformOutput,
                 config: TrainConfig, *, training: bool) -> tf.data.Dataset:
    """Batches of scaled images (conditional: (images, labels))."""

    def to_model_io(features: dict[str, tf.Tensor]):
        images = features[contract.IMAGE_SCALED]
        if config.conditional:
            return images, tf.cast(features[contract.LABEL_XF], tf.int32)
        return images

    return image_inputs.dataset(file_patterns, tft_output, batch_size=config.batch_size,
                                training=training, seed=config.seed, to_model_io=to_model_io,
                                shuffle_buffer=config.shuffle_buffer)


def build_model(config: TrainConfig, image_shape: tuple[int, int, int]) -> architectures.GAN:
    return architectures.build_model(
        config.variant, image_shape, codings_size=config.codings_size,
        num_classes=config.num_classes, learning_rate=config.learning_rate,
        replay_size=config.replay_size, replay_fraction=config.replay_fraction, seed=config.seed)


class GanServing(tf.Module):
    """The exported object: the generator and discriminator + the transform
    graph (to scale real images) and its inverse (to write generated ones)."""

    def __init__(self, model: architectures.GAN, tft_output: tft.TFTransformOutput,
                 config: TrainConfig | None = None):
        super().__init__()
        self.model = model
        self.model_variables = export.tf_variables(model)
        self.generator = model.generator
        self.discriminator = model.discriminator
        self.images = image_inputs.ImageTransform(tft_output)
        self._shape = image_inputs.image_shape(tft_output)
        self._codings_size = model.codings_size
        self._conditional = model.conditional
        self._num_classes = model.num_classes
        self._raw_spec = {k: v for k, v in tft_output.raw_feature_spec().items()
                          if k == contract.IMAGE or (self._conditional and k == contract.LABEL)}

    def _checked_labels(self, labels: tf.Tensor) -> tf.Tensor:
        valid = tf.reduce_all((labels >= 0) & (labels < self._num_classes))
        check = tf.debugging.assert_equal(
            valid, True, message=f"labels must be class ids 0..{self._num_classes - 1}")
        with tf.control_dependencies([check]):
            return tf.cast(labels, tf.int32)

    def _generate(self, n: tf.Tensor, seed: tf.Tensor, labels: tf.Tensor | None) -> dict:
        checks = [tf.debugging.assert_greater_equal(n, 1, message="generate: n must be >= 1"),
                  tf.debugging.assert_less_equal(
                      n, MAX_IMAGES, message=f"generate: n must be <= {MAX_IMAGES}")]
        with tf.control_dependencies(checks):
            codings = tf.random.stateless_normal(
                tf.stack([n, self._codings_size]),
                seed=tf.stack([seed, tf.constant(0, tf.int64)]))
        inputs = [codings, labels] if self._conditional else codings
        scaled = self.generator(inputs, training=False)
        outputs = {"images": self.images.unscale(scaled), "scaled": scaled, "codings": codings}
        if self._conditional:
            outputs["labels"] = tf.cast(labels, tf.int64)
        return outputs

    def _discriminate(self, scaled: tf.Tensor, labels: tf.Tensor | None) -> dict:
        inputs = [scaled, labels] if self._conditional else scaled
        return {"real_probability": tf.reshape(self.discriminator(inputs, training=False), [-1])}

    def signatures(self) -> dict[str, Any]:
        height, width, channels = self._shape
        n_spec = tf.TensorSpec([], tf.int32, name="n")
        seed_spec = tf.TensorSpec([], tf.int64, name="seed")
        images_spec = tf.TensorSpec([None, height, width, channels], tf.uint8, name="images")
        labels_spec = tf.TensorSpec([None], tf.int64, name="labels")

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
        def serve_examples(serialized):
            parsed = tf.io.parse_example(serialized, self._raw_spec)
            scaled = self.images.tft_layer({contract.IMAGE: parsed[contract.IMAGE]})[
                contract.IMAGE_SCALED]
            labels = (self._checked_labels(parsed[contract.LABEL]) if self._conditional
                      else None)
            return self._discriminate(scaled, labels)

        if self._conditional:
            @tf.function(input_signature=[n_spec, seed_spec])
            def generate(n, seed):
                return self._generate(n, seed, tf.math.floormod(tf.range(n), self._num_classes))

            @tf.function(input_signature=[labels_spec, seed_spec])
            def generate_labels(labels, seed):
                return self._generate(tf.size(labels), seed, self._checked_labels(labels))

            @tf.function(input_signature=[images_spec, labels_spec])
            def discriminate(images, labels):
                return self._discriminate(self.images.scale(images), self._checked_labels(labels))

            return {"serving_default": serve_examples, SIGNATURE_GENERATE: generate,
                    SIGNATURE_GENERATE_LABELS: generate_labels,
                    SIGNATURE_DISCRIMINATE: discriminate}

        @tf.function(input_signature=[n_spec, seed_spec])
        def generate(n, seed):  # noqa: F811 - one definition per branch
            return self._generate(n, seed, None)

        @tf.function(input_signature=[images_spec])
        def discriminate(images):  # noqa: F811
            return self._discriminate(self.images.scale(images), None)

        return {"serving_default": serve_examples, SIGNATURE_GENERATE: generate,
                SIGNATURE_DISCRIMINATE: discriminate}


def train(config: TrainConfig, train_files: list[str], eval_files: list[str],
          tft_output: tft.TFTransformOutput, train_steps: int,
          eval_steps: int | None = None) -> tuple[architectures.GAN, dict]:
    """Trains; the image shape and pixel range come from the transform output."""
    check_scaling(tft_output, config.variant)
    shape = image_inputs.image_shape(tft_output)
    keras.utils.set_random_seed(config.seed)
    model = build_model(config, shape)
    model.generator.summary(print_fn=absl.logging.info)
    model.discriminator.summary(print_fn=absl.logging.info)
    stats = common_training.fit(
        model, make_dataset(train_files, tft_output, config, training=True),
        make_dataset(eval_files, tft_output, config, training=False), train_steps=train_steps,
        steps_per_epoch=config.steps_per_epoch, batch_size=config.batch_size,
        eval_steps=eval_steps)
    stats.update(image_shape=list(shape), codings_size=model.codings_size,
                 generator_parameters=model.generator.count_params(),
                 discriminator_parameters=model.discriminator.count_params())
    return model, stats


def run_fn(fn_args) -> None:
    """TFX Trainer (GenericExecutor) entry point."""
    common_training.run(fn_args, TrainConfig, train, GanServing)
