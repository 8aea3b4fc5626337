"""TFX Trainer entry point (`run_fn`) for the gan family.

Reads Transform's scaled images (``image_scaled``, float32 [H, W, C]; the
shape comes from the transform output) and, for the conditional variant,
their labels; checks that Transform scales the pixels into the range the
variant's generator reaches (sigmoid: [0, 1], "unit"; tanh: [−1, 1],
"symmetric"); trains the configured variant of `architectures` (two phases
per step, see ``architectures.GAN``) and exports a SavedModel whose
generator writes raw uint8 images: the inverse of the transform graph's
scaling is applied inside it.

Signatures (images are uint8 ``[n, H, W, C]``; labels int64 class ids):

  generate         n (int32 scalar, 1..10,000), seed (int64 scalar) →
                   ``images`` uint8, ``scaled`` (float32, the generator's
                   output space), ``codings`` (float32 [n, codings_size]);
                   the conditional variant also returns ``labels`` [n],
                   balanced: i mod num_classes. Codings come from
                   ``tf.random.stateless_normal`` seeded by ``seed``: the
                   same seed always gives the same images.
  generate_labels  (conditional only) labels [n], seed → the same outputs
                   for the given labels.
  discriminate     images (conditional: and labels) → ``real_probability``
                   [n], the discriminator's P(real).
  serving_default  serialized raw tf.Examples (ExampleGen's ``image`` int64
                   list; conditional: and ``label``) → ``real_probability``
                   [n]: what a BulkInferrer would run.

Every signature runs both networks in inference mode, so each is a
deterministic function of its inputs.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import absl.logging
import numpy as np
import tensorflow as tf
import tensorflow_transform as tft

from models.common import export, image_inputs
from models.common import training as common_training
from models.common.arguments import canonical_name, check_int, check_learning_rate
from models.gan import architectures
from preprocessing import image_contract as contract

SIGNATURE_GENERATE = "generate"
SIGNATURE_GENERATE_LABELS = "generate_labels"
SIGNATURE_DISCRIMINATE = "discriminate"

OUTPUT_IMAGES = "images"  # uint8 [n, H, W, C]
OUTPUT_SCALED = "scaled"  # float32 [n, H, W, C], the generator's space
OUTPUT_CODINGS = "codings"  # float32 [n, codings_size]
OUTPUT_LABELS = "labels"  # int64 [n] (conditional)
OUTPUT_REAL_PROBABILITY = "real_probability"  # float32 [n]

MAX_IMAGES = 10_000  # images one generate call may ask for

BOOK_TRAIN_IMAGES = 55_000
SCALING_TOLERANCE = 1e-4


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """What `custom_config` may carry; defaults are the book's DCGAN (its
    50 epochs are the family spec's business)."""

    variant: str = architectures.DEFAULT_VARIANT
    codings_size: int = 0  # 0: the variant's (the book's: simple 30, DCGAN 100)
    batch_size: int = 32
    steps_per_epoch: int = math.ceil(BOOK_TRAIN_IMAGES / 32)  # one pass over the train split
    learning_rate: float = 0.0  # both RMSprops'; 0: the variant's (Keras' default, the book's)
    replay_size: int = 0  # past fakes kept for experience replay; 0: off (the book's)
    replay_fraction: float = architectures.DEFAULT_REPLAY_FRACTION
    num_classes: int = architectures.DEFAULT_NUM_CLASSES  # conditional: label ids 0..n-1
    seed: int = 42
    source_digest: str = ""
    shuffle_buffer: int = 60_000  # the whole split: a full shuffle

    @classmethod
    def from_custom_config(cls, custom_config: dict[str, Any] | None) -> "TrainConfig":
        config = common_training.config_from_custom(cls, custom_config, "gan")
        canonical_name("gan", config.variant, architectures.VARIANTS)
        check_int("codings_size", config.codings_size, 0, why=" (0: the variant's)")
        for name in ("batch_size", "steps_per_epoch", "shuffle_buffer"):
            check_int(name, getattr(config, name), 1)
        check_learning_rate(config.learning_rate, allow_zero=True)
        architectures.check_replay(config.replay_size, config.replay_fraction)
        if config.conditional:
            architectures.check_num_classes(config.num_classes)
        else:
            check_int("num_classes", config.num_classes, 1)
        check_int("seed", config.seed, 0)
        if not isinstance(config.source_digest, str):
            raise ValueError(f"source_digest must be a string, got {config.source_digest!r}")
        return config

    @property
    def conditional(self) -> bool:
        return self.variant == architectures.CONDITIONAL


def check_scaling(tft_output: tft.TFTransformOutput, variant: str) -> None:
    """Transform must map the pixel values 0 and 255 to the ends of what the
    generator's output activation reaches (sigmoid [0, 1], tanh [−1, 1]) at
    every pixel, or generated pixels could never be black or white (or
    would be clipped). Probed on the transform graph itself."""
    black, white = image_inputs.scaled_extremes(tft_output)
    scaling = architectures.SCALING[variant]
    low, high = architectures.OUTPUT_RANGE[scaling]
    if not (np.allclose(black, low, atol=SCALING_TOLERANCE)
            and np.allclose(white, high, atol=SCALING_TOLERANCE)):
        raise ValueError(
            f"the {variant} generator outputs pixels in [{low:g}, {high:g}] but Transform "
            f"scales 0..255 to [{black.mean():.3g}, {white.mean():.3g}] (mean over pixels): "
            f"use Transform's {scaling!r} scaling with fixed statistics for this variant")


def make_dataset(file_patterns: list[str] | str, tft_output: tft.TFTransformOutput,
                 config: TrainConfig, *, training: bool) -> tf.data.Dataset:
    """Batches of scaled images (conditional: (images, int32 labels))."""

    def to_model_io(features: dict[str, tf.Tensor]):
        images = features[contract.IMAGE_SCALED]
        if not config.conditional:
            return images
        labels = features[contract.LABEL_XF]
        # A label the embedding has no row for: fail naming the option.
        check = tf.debugging.assert_equal(
            tf.reduce_all((labels >= 0) & (labels < config.num_classes)), True,
            message=f"labels must be class ids 0..{config.num_classes - 1} "
                    f"(num_classes={config.num_classes})")
        with tf.control_dependencies([check]):
            return images, tf.cast(labels, tf.int32)

    return image_inputs.dataset(file_patterns, tft_output, batch_size=config.batch_size,
                                training=training, seed=config.seed, to_model_io=to_model_io,
                                shuffle_buffer=config.shuffle_buffer)


def build_model(config: TrainConfig, image_shape: tuple[int, int, int]) -> architectures.GAN:
    """The configured variant for images of `image_shape`, compiled."""
    return architectures.build_model(
        config.variant, image_shape, codings_size=config.codings_size,
        num_classes=config.num_classes, learning_rate=config.learning_rate,
        replay_size=config.replay_size, replay_fraction=config.replay_fraction, seed=config.seed)


class GanServing(tf.Module):
    """The exported object: the generator and the discriminator, the
    transform graph (to scale real images) and its inverse (to write
    generated ones as uint8 pixels)."""

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
        # ExampleGen's raw features, as the schema has them.
        raw_spec = tft_output.raw_feature_spec()
        self._raw_spec = {contract.IMAGE: raw_spec[contract.IMAGE]}
        if self._conditional:
            self._raw_spec[contract.LABEL] = raw_spec[contract.LABEL]

    # -- pieces -------------------------------------------------------------------

    def _checked_labels(self, labels: tf.Tensor) -> tf.Tensor:
        """int64 class ids → int32; an id out of range fails naming the range."""
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
        outputs = {OUTPUT_IMAGES: self.images.unscale(scaled), OUTPUT_SCALED: scaled,
                   OUTPUT_CODINGS: codings}
        if self._conditional:
            outputs[OUTPUT_LABELS] = tf.cast(labels, tf.int64)
        return outputs

    def _discriminate(self, scaled: tf.Tensor, labels: tf.Tensor | None) -> dict:
        inputs = [scaled, labels] if self._conditional else scaled
        probability = self.discriminator(inputs, training=False)
        return {OUTPUT_REAL_PROBABILITY: tf.reshape(probability, [-1])}

    # -- signatures ---------------------------------------------------------------

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

        if not self._conditional:
            @tf.function(input_signature=[n_spec, seed_spec])
            def generate(n, seed):
                return self._generate(n, seed, None)

            @tf.function(input_signature=[images_spec])
            def discriminate(images):
                return self._discriminate(self.images.scale(images), None)

            return {"serving_default": serve_examples, SIGNATURE_GENERATE: generate,
                    SIGNATURE_DISCRIMINATE: discriminate}

        @tf.function(input_signature=[n_spec, seed_spec])
        def generate_balanced(n, seed):
            # Every class equally often (to one image): what the sample-quality
            # evaluator's class coverage expects of a good generator.
            return self._generate(n, seed, tf.math.floormod(tf.range(n), self._num_classes))

        @tf.function(input_signature=[labels_spec, seed_spec])
        def generate_labels(labels, seed):
            return self._generate(tf.size(labels), seed, self._checked_labels(labels))

        @tf.function(input_signature=[images_spec, labels_spec])
        def discriminate_labelled(images, labels):
            return self._discriminate(self.images.scale(images), self._checked_labels(labels))

        return {"serving_default": serve_examples, SIGNATURE_GENERATE: generate_balanced,
                SIGNATURE_GENERATE_LABELS: generate_labels,
                SIGNATURE_DISCRIMINATE: discriminate_labelled}


def train(config: TrainConfig, train_files: list[str], eval_files: list[str],
          tft_output: tft.TFTransformOutput, train_steps: int,
          eval_steps: int | None = None) -> tuple[architectures.GAN, dict]:
    """Trains; the image shape and the pixel range come from the transform output."""
    check_scaling(tft_output, config.variant)
    shape = image_inputs.image_shape(tft_output)
    train_ds = make_dataset(train_files, tft_output, config, training=True)
    eval_ds = make_dataset(eval_files, tft_output, config, training=False)
    model = build_model(config, shape)
    model.generator.summary(print_fn=absl.logging.info)
    model.discriminator.summary(print_fn=absl.logging.info)
    stats = common_training.fit(model, train_ds, eval_ds, train_steps=train_steps,
                                steps_per_epoch=config.steps_per_epoch,
                                batch_size=config.batch_size, eval_steps=eval_steps)
    stats.update(image_shape=list(shape), codings_size=model.codings_size,
                 generator_parameters=model.generator.count_params(),
                 discriminator_parameters=model.discriminator.count_params())
    return model, stats


def run_fn(fn_args) -> None:
    """TFX Trainer (GenericExecutor) entry point."""
    common_training.run(fn_args, TrainConfig, train, GanServing)
