"""GANs from *Hands-On ML* (3rd ed.), chapter 17 (MODELS.md §6), in Keras 3.

Each variant is a generator, codings → images, and a discriminator,
images → the probability that they are real, held together by ``GAN``::

    codings ~ N(0, I) ──► generator ──► fakes ──┐
                                                 ├──► discriminator ──► P(real)
                              real images ───────┘

The variants (one builder each, with the book's sizes):

* ``simple``: the book's dense GAN. Generator Dense(100, SELU) →
  Dense(150, SELU) → Dense(H·W·C, sigmoid) → Reshape from 30 codings;
  discriminator Flatten → Dense(150, SELU) → Dense(100, SELU) →
  Dense(1, sigmoid). Pixels in [0, 1] (Transform's "unit" scaling).
* ``dcgan``: the book's deep convolutional GAN. 100 codings →
  Dense(H/4 · W/4 · 128) → Reshape → BN → Conv2DTranspose(64, 5, s2, ReLU)
  → BN → Conv2DTranspose(C, 5, s2, tanh); discriminator Conv2D(64, 5, s2)
  → LeakyReLU(0.2) → Dropout(0.4) → Conv2D(128, 5, s2) → LeakyReLU(0.2) →
  Dropout(0.4) → Flatten → Dense(1, sigmoid). The book's 7×7 start is
  H/4 × W/4 here, so H and W must be multiples of 4. Pixels in [−1, 1]
  (the "symmetric" scaling).
* ``conditional``: the DCGAN conditioned on the class, the book's named
  extension. The generator sees its codings concatenated with a learned
  label embedding; the discriminator sees the label as one more image
  channel (embedding → Dense(H·W) → Reshape(H, W, 1)), so it can refuse a
  good image of the wrong class.

``GAN`` trains both with its own ``train_step`` and two optimizers (RMSprop,
the book's: Nadam made the simple GAN collapse), one phase each:

1. ``train_discriminator``: real images with target 1 and fakes with target
   0; gradients are applied to the discriminator's weights only.
2. ``train_generator``: fakes through the discriminator with target 1
   (the generator wants them called real); gradients are applied to the
   generator's weights only.

This is what the book's "freeze the discriminator, then compile the
combined model" did; current Keras does not guarantee that trick, an
explicit variable list does. The modes follow the book's loop: phase 1 runs
the generator in inference mode (its batch-norm statistics are left alone,
and the discriminator learns from the fakes that ``generate`` would serve),
phase 2 runs both networks in training mode (the generator's batch norm on
batch statistics, the discriminator's dropout on).

Optional experience replay (``replay_size`` > 0): a ring buffer of past
fakes, a non-trainable variable of the model, from which ``replay_fraction``
of each discriminator batch's fakes are drawn, so that the discriminator
does not forget the modes the generator has left (and the generator cannot
cycle back to them unpunished).

Metrics: ``d_loss`` and ``g_loss`` (binary cross-entropy of each phase),
``d_real_accuracy`` and ``d_fake_accuracy`` (share of real images the
discriminator calls real, of fakes it calls fake). ``evaluate`` and the
validation of ``fit`` report the same on held-out real images.

Keras 3 with the TensorFlow backend (``tf.GradientTape`` in the phases);
``GAN`` is a registered serializable: ``model.save("gan.keras")`` and
``keras.models.load_model`` round-trip both networks, both optimizers and
the replay buffer.
"""

from __future__ import annotations

import math
import numbers
from typing import Sequence

import keras
import tensorflow as tf

from models.common.arguments import (canonical_name, check_image_shape, check_int,
                                     check_learning_rate)

VARIANTS: tuple[str, ...] = ("simple", "dcgan", "conditional")
DEFAULT_VARIANT = "dcgan"
CONDITIONAL = "conditional"

# The book's coding sizes and training schedules (the conditional GAN is not
# in the book: it keeps the DCGAN's).
CODINGS_SIZE: dict[str, int] = {"simple": 30, "dcgan": 100, "conditional": 100}
BOOK_EPOCHS: dict[str, int] = {"simple": 50, "dcgan": 50, "conditional": 50}
BOOK_BATCH_SIZE: dict[str, int] = {"simple": 32, "dcgan": 32, "conditional": 32}
BOOK_LEARNING_RATE: dict[str, float] = {v: 1e-3 for v in VARIANTS}  # RMSprop's default

# The Transform scaling each variant's output activation reaches (sigmoid:
# [0, 1], tanh: [−1, 1]); the family spec passes it to Transform.
SCALING: dict[str, str] = {"simple": "unit", "dcgan": "symmetric", "conditional": "symmetric"}
OUTPUT_RANGE: dict[str, tuple[float, float]] = {"unit": (0.0, 1.0), "symmetric": (-1.0, 1.0)}

DEFAULT_NUM_CLASSES = 10
DEFAULT_REPLAY_FRACTION = 0.5
SIMPLE_UNITS = (100, 150)  # the generator's; the discriminator mirrors them
DCGAN_FILTERS = (128, 64)  # the generator's grid and first transposed convolution
DISCRIMINATOR_FILTERS = (64, 128)
KERNEL_SIZE = 5
LEAKY_SLOPE = 0.2
DROPOUT_RATE = 0.4
LABEL_EMBEDDING = 50  # size of the conditional variant's label embedding
UPSAMPLINGS = 2  # stride-2 layers: H and W must be multiples of 2 ** 2

GENERATOR, DISCRIMINATOR = "generator", "discriminator"
SERIALIZATION_PACKAGE = "gan"


# ---------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------


def check_replay(replay_size: int, replay_fraction: float) -> tuple[int, float]:
    """(replay_size >= 0, replay_fraction in [0, 1]); ValueError naming the
    option otherwise."""
    replay_size = check_int("replay_size", replay_size, 0, why=" (0: no experience replay)")
    if (isinstance(replay_fraction, bool) or not isinstance(replay_fraction, numbers.Real)
            or not 0.0 <= replay_fraction <= 1.0):
        raise ValueError(f"replay_fraction must be a number between 0 and 1 (the share of each "
                         f"discriminator batch's fakes drawn from the replay buffer), "
                         f"got replay_fraction={replay_fraction!r}")
    return replay_size, float(replay_fraction)


def check_num_classes(num_classes: int) -> int:
    return check_int("num_classes", num_classes, 2, why=" for the conditional GAN")


# ---------------------------------------------------------------------------
# The networks
# ---------------------------------------------------------------------------


def _simple_generator(image_shape: tuple[int, int, int], codings_size: int) -> keras.Model:
    codings = keras.Input(shape=(codings_size,), name="codings")
    x = codings
    for i, units in enumerate(SIMPLE_UNITS, start=1):
        # LeCun initialization is what keeps SELU layers self-normalizing.
        x = keras.layers.Dense(units, activation="selu", kernel_initializer="lecun_normal",
                               name=f"hidden_{i}")(x)
    x = keras.layers.Dense(math.prod(image_shape), activation="sigmoid", name="pixels")(x)
    images = keras.layers.Reshape(image_shape, name="images")(x)
    return keras.Model(codings, images, name=GENERATOR)


def _simple_discriminator(image_shape: tuple[int, int, int]) -> keras.Model:
    images = keras.Input(shape=image_shape, name="images")
    x = keras.layers.Flatten(name="flatten")(images)
    for i, units in enumerate(reversed(SIMPLE_UNITS), start=1):
        x = keras.layers.Dense(units, activation="selu", kernel_initializer="lecun_normal",
                               name=f"hidden_{i}")(x)
    real = keras.layers.Dense(1, activation="sigmoid", name="real_probability")(x)
    return keras.Model(images, real, name=DISCRIMINATOR)


def _upsample_to_image(x, image_shape: tuple[int, int, int]):
    """Dense outputs → an H/4 × W/4 × 128 grid → two stride-2 transposed
    convolutions → the image (tanh)."""
    height, width, channels = image_shape
    grid_filters, hidden_filters = DCGAN_FILTERS
    x = keras.layers.Reshape((height // 4, width // 4, grid_filters), name="grid")(x)
    x = keras.layers.BatchNormalization(name="grid_norm")(x)
    x = keras.layers.Conv2DTranspose(hidden_filters, KERNEL_SIZE, strides=2, padding="same",
                                     activation="relu", name="upsample_1")(x)
    x = keras.layers.BatchNormalization(name="upsample_1_norm")(x)
    return keras.layers.Conv2DTranspose(channels, KERNEL_SIZE, strides=2, padding="same",
                                        activation="tanh", name="images")(x)


def _downsample_to_probability(x):
    """Two stride-2 convolutions (leaky ReLU, dropout) → P(real)."""
    for i, filters in enumerate(DISCRIMINATOR_FILTERS, start=1):
        x = keras.layers.Conv2D(filters, KERNEL_SIZE, strides=2, padding="same",
                                name=f"downsample_{i}")(x)
        x = keras.layers.LeakyReLU(negative_slope=LEAKY_SLOPE, name=f"downsample_{i}_leaky")(x)
        x = keras.layers.Dropout(DROPOUT_RATE, name=f"downsample_{i}_dropout")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    return keras.layers.Dense(1, activation="sigmoid", name="real_probability")(x)


def _grid_units(image_shape: tuple[int, int, int]) -> int:
    return (image_shape[0] // 4) * (image_shape[1] // 4) * DCGAN_FILTERS[0]


def _dcgan_generator(image_shape: tuple[int, int, int], codings_size: int) -> keras.Model:
    codings = keras.Input(shape=(codings_size,), name="codings")
    x = keras.layers.Dense(_grid_units(image_shape), name="project")(codings)
    return keras.Model(codings, _upsample_to_image(x, image_shape), name=GENERATOR)


def _dcgan_discriminator(image_shape: tuple[int, int, int]) -> keras.Model:
    images = keras.Input(shape=image_shape, name="images")
    return keras.Model(images, _downsample_to_probability(images), name=DISCRIMINATOR)


def _label_input() -> keras.KerasTensor:
    return keras.Input(shape=(), dtype="int32", name="labels")


def _conditional_generator(image_shape: tuple[int, int, int], codings_size: int,
                           num_classes: int) -> keras.Model:
    codings = keras.Input(shape=(codings_size,), name="codings")
    labels = _label_input()
    embedded = keras.layers.Embedding(num_classes, LABEL_EMBEDDING, name="label_embedding")(labels)
    x = keras.layers.Concatenate(name="codings_and_label")([codings, embedded])
    x = keras.layers.Dense(_grid_units(image_shape), name="project")(x)
    return keras.Model([codings, labels], _upsample_to_image(x, image_shape), name=GENERATOR)


def _conditional_discriminator(image_shape: tuple[int, int, int],
                               num_classes: int) -> keras.Model:
    height, width, _ = image_shape
    images = keras.Input(shape=image_shape, name="images")
    labels = _label_input()
    embedded = keras.layers.Embedding(num_classes, LABEL_EMBEDDING, name="label_embedding")(labels)
    # The label as one more channel: every convolution sees it at every position.
    plane = keras.layers.Dense(height * width, name="label_plane")(embedded)
    plane = keras.layers.Reshape((height, width, 1), name="label_channel")(plane)
    x = keras.layers.Concatenate(name="images_and_label")([images, plane])
    return keras.Model([images, labels], _downsample_to_probability(x), name=DISCRIMINATOR)


def build_networks(variant: str, image_shape: Sequence[int] = (28, 28, 1), *,
                   codings_size: int = 0,
                   num_classes: int = DEFAULT_NUM_CLASSES) -> tuple[keras.Model, keras.Model]:
    """(generator, discriminator) of `variant` for images of `image_shape`.

    `codings_size` 0 is the variant's (`CODINGS_SIZE`); `num_classes` is
    read by the conditional variant only. The convolutional variants need
    height and width divisible by 4.
    """
    variant = canonical_name("gan", variant, VARIANTS)
    image_shape = check_image_shape(image_shape)
    codings_size = check_int("codings_size", codings_size or CODINGS_SIZE[variant], 1)
    if variant == "simple":
        return _simple_generator(image_shape, codings_size), _simple_discriminator(image_shape)
    side = 2 ** UPSAMPLINGS
    if image_shape[0] % side or image_shape[1] % side:
        raise ValueError(f"the {variant} generator upsamples {UPSAMPLINGS} times by 2: image "
                         f"height and width must be multiples of {side}, got "
                         f"{list(image_shape)}")
    if variant == "dcgan":
        return _dcgan_generator(image_shape, codings_size), _dcgan_discriminator(image_shape)
    num_classes = check_num_classes(num_classes)
    return (_conditional_generator(image_shape, codings_size, num_classes),
            _conditional_discriminator(image_shape, num_classes))


# ---------------------------------------------------------------------------
# The adversarial model
# ---------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
class GAN(keras.Model):
    """A generator and a discriminator trained against each other.

    Data: batches of real images (the conditional GAN: ``(images, labels)``,
    int labels in [0, num_classes)). Calling the model runs the generator:
    codings (conditional: ``[codings, labels]``) → images.

    ``compile(d_optimizer, g_optimizer)`` takes one optimizer per network.
    ``replay_size`` > 0 turns experience replay on (see the module doc).
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model, *,
                 conditional: bool = False, num_classes: int = 0, replay_size: int = 0,
                 replay_fraction: float = DEFAULT_REPLAY_FRACTION, seed: int = 42,
                 codings_size: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        # The codings size is the generator's; an explicit one (older
        # configs stored it) must agree with it.
        generator_codings = int(generator.inputs[0].shape[-1])
        if codings_size is not None and int(codings_size) != generator_codings:
            raise ValueError(f"codings_size={codings_size} but the generator takes "
                             f"{generator_codings} codings")
        self.codings_size = generator_codings
        self.conditional = bool(conditional)
        self.num_classes = check_num_classes(num_classes) if self.conditional else 0
        self.replay_size, self.replay_fraction = check_replay(replay_size, replay_fraction)
        self.seed = check_int("seed", seed, 0)
        self.seed_generator = keras.random.SeedGenerator(self.seed)
        self.image_shape = tuple(int(d) for d in generator.outputs[0].shape[1:])

        self.bce = keras.losses.BinaryCrossentropy()
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_accuracy = keras.metrics.BinaryAccuracy(name="d_real_accuracy")
        self.d_fake_accuracy = keras.metrics.BinaryAccuracy(name="d_fake_accuracy")

        if self.replay_size:
            # State, not weights to learn: saved with the model, never trained.
            self.replay_images = self.add_weight(
                shape=(self.replay_size, *self.image_shape), initializer="zeros",
                trainable=False, name="replay_images")
            self.replay_labels = self.add_weight(
                shape=(self.replay_size,), initializer="zeros", trainable=False, dtype="int32",
                name="replay_labels")
            self.replay_filled = self.add_weight(  # slots holding a fake so far
                shape=(), initializer="zeros", trainable=False, dtype="int32",
                name="replay_filled")
            self.replay_next = self.add_weight(  # the ring's next slot to write
                shape=(), initializer="zeros", trainable=False, dtype="int32",
                name="replay_next")
        # Both networks are functional models, built on their inputs.
        self.built = True

    # -- compiling ----------------------------------------------------------------

    def compile(self, d_optimizer: keras.optimizers.Optimizer,
                g_optimizer: keras.optimizers.Optimizer, **kwargs) -> None:
        """One optimizer per network; `kwargs` go to `keras.Model.compile`
        (no optimizer, loss or metrics of its own: ``train_step`` has them)."""
        kwargs.setdefault("jit_compile", False)  # on a CPU, XLA's compile time outweighs it
        super().compile(optimizer=None, **kwargs)
        if d_optimizer is None or g_optimizer is None:
            raise ValueError("GAN.compile needs two optimizers, d_optimizer (the "
                             "discriminator's) and g_optimizer (the generator's)")
        self.d_optimizer = keras.optimizers.get(d_optimizer)
        self.g_optimizer = keras.optimizers.get(g_optimizer)
        # Built now, each on its own network's variables: their slots exist
        # before a reload restores them, and no step creates variables.
        if not self.d_optimizer.built:
            self.d_optimizer.build(self.discriminator.trainable_variables)
        if not self.g_optimizer.built:
            self.g_optimizer.build(self.generator.trainable_variables)

    def get_compile_config(self) -> dict:
        if not getattr(self, "compiled", False) or not hasattr(self, "d_optimizer"):
            return {}
        return {"d_optimizer": keras.optimizers.serialize(self.d_optimizer),
                "g_optimizer": keras.optimizers.serialize(self.g_optimizer),
                "jit_compile": self.jit_compile}

    def compile_from_config(self, config: dict) -> None:
        self.compile(d_optimizer=keras.optimizers.deserialize(config["d_optimizer"]),
                     g_optimizer=keras.optimizers.deserialize(config["g_optimizer"]),
                     jit_compile=config.get("jit_compile", False))

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        # Listed here so that fit and evaluate reset them every epoch.
        return [self.d_loss_tracker, self.g_loss_tracker, self.d_real_accuracy,
                self.d_fake_accuracy]

    def call(self, inputs, training: bool = False):
        """codings (conditional: [codings, labels]) → images."""
        return self.generator(inputs, training=training)

    # -- pieces of the phases -----------------------------------------------------

    def _codings(self, batch_size) -> tf.Tensor:
        return keras.random.normal((batch_size, self.codings_size), seed=self.seed_generator)

    def _random_labels(self, batch_size) -> tf.Tensor:
        return keras.random.randint((batch_size,), 0, self.num_classes,
                                    seed=self.seed_generator, dtype="int32")

    def _generate(self, codings, labels, training: bool) -> tf.Tensor:
        inputs = [codings, labels] if self.conditional else codings
        return self.generator(inputs, training=training)

    def _discriminate(self, images, labels, training: bool) -> tf.Tensor:
        inputs = [images, labels] if self.conditional else images
        return self.discriminator(inputs, training=training)

    def _discriminator_loss(self, real_p, fake_p) -> tf.Tensor:
        # The mean over the real and fake halves, as on the book's
        # concatenated batch.
        return (self.bce(tf.ones_like(real_p), real_p)
                + self.bce(tf.zeros_like(fake_p), fake_p)) / 2.0

    def replay_fakes(self, fakes: tf.Tensor, labels: tf.Tensor | None = None):
        """(fakes, labels) with the first ``replay_fraction`` of the batch
        swapped for fakes drawn from the buffer (once it holds any); the new
        fakes then go into the ring, overwriting the oldest."""
        batch = tf.shape(fakes)[0]
        labels = tf.zeros([batch], tf.int32) if labels is None else tf.cast(labels, tf.int32)
        filled = self.replay_filled.value
        n_old = tf.cast(tf.round(self.replay_fraction * tf.cast(batch, tf.float32)), tf.int32)
        n_old = tf.where(filled > 0, n_old, 0)
        draws = keras.random.uniform((batch,), seed=self.seed_generator)
        picks = tf.minimum(tf.cast(draws * tf.cast(filled, tf.float32), tf.int32),
                           tf.maximum(filled - 1, 0))[:n_old]
        mixed_fakes = tf.concat([tf.gather(self.replay_images, picks), fakes[n_old:]], axis=0)
        mixed_labels = tf.concat([tf.gather(self.replay_labels, picks), labels[n_old:]], axis=0)

        # A batch larger than the ring keeps only its last replay_size fakes.
        kept = tf.minimum(batch, self.replay_size)
        slots = tf.math.floormod(self.replay_next + tf.range(kept), self.replay_size)
        self.replay_images.assign(tf.tensor_scatter_nd_update(
            self.replay_images, slots[:, tf.newaxis], fakes[batch - kept:]))
        self.replay_labels.assign(tf.tensor_scatter_nd_update(
            self.replay_labels, slots[:, tf.newaxis], labels[batch - kept:]))
        self.replay_next.assign(tf.math.floormod(self.replay_next + kept, self.replay_size))
        self.replay_filled.assign(tf.minimum(filled + kept, self.replay_size))
        return mixed_fakes, (mixed_labels if self.conditional else None)

    # -- the two phases -----------------------------------------------------------

    def train_discriminator(self, images, labels=None) -> tf.Tensor:
        """Phase 1: real images → 1, fakes → 0; updates the discriminator only.

        The fakes of the conditional GAN get the real batch's labels. The
        generator runs in inference mode, as in the book's loop: nothing of
        it changes here, batch-norm statistics included.
        """
        batch = tf.shape(images)[0]
        labels = tf.cast(labels, tf.int32) if self.conditional else None
        fakes = self._generate(self._codings(batch), labels, training=False)
        fake_labels = labels
        if self.replay_size:
            fakes, fake_labels = self.replay_fakes(fakes, labels)
        with tf.GradientTape() as tape:
            real_p = self._discriminate(images, labels, training=True)
            fake_p = self._discriminate(fakes, fake_labels, training=True)
            loss = self._discriminator_loss(real_p, fake_p)
        weights = self.discriminator.trainable_weights
        self.d_optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
        self.d_real_accuracy.update_state(tf.ones_like(real_p), real_p)
        self.d_fake_accuracy.update_state(tf.zeros_like(fake_p), fake_p)
        return loss

    def train_generator(self, batch_size) -> tf.Tensor:
        """Phase 2: fakes through the discriminator → 1; updates the generator
        only (the discriminator's dropout is on, as in the book's combined
        model, but none of its weights move)."""
        labels = self._random_labels(batch_size) if self.conditional else None
        codings = self._codings(batch_size)
        with tf.GradientTape() as tape:
            fakes = self._generate(codings, labels, training=True)
            fake_p = self._discriminate(fakes, labels, training=True)
            loss = self.bce(tf.ones_like(fake_p), fake_p)
        weights = self.generator.trainable_weights
        self.g_optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
        return loss

    def _unpack(self, data):
        if self.conditional:
            images, labels = data[:2]
            return images, tf.cast(labels, tf.int32)
        return (data[0] if isinstance(data, (tuple, list)) else data), None

    def train_step(self, data):
        images, labels = self._unpack(data)
        d_loss = self.train_discriminator(images, labels)
        g_loss = self.train_generator(tf.shape(images)[0])
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        """Both losses and accuracies on held-out real images (and as many
        fresh fakes), everything in inference mode, nothing updated."""
        images, labels = self._unpack(data)
        fakes = self._generate(self._codings(tf.shape(images)[0]), labels, training=False)
        real_p = self._discriminate(images, labels, training=False)
        fake_p = self._discriminate(fakes, labels, training=False)
        self.d_loss_tracker.update_state(self._discriminator_loss(real_p, fake_p))
        self.g_loss_tracker.update_state(self.bce(tf.ones_like(fake_p), fake_p))
        self.d_real_accuracy.update_state(tf.ones_like(real_p), real_p)
        self.d_fake_accuracy.update_state(tf.zeros_like(fake_p), fake_p)
        return {m.name: m.result() for m in self.metrics}

    # -- serialization ------------------------------------------------------------

    def get_config(self) -> dict:
        return {"name": self.name, "trainable": self.trainable,
                "generator": keras.saving.serialize_keras_object(self.generator),
                "discriminator": keras.saving.serialize_keras_object(self.discriminator),
                "conditional": self.conditional, "num_classes": self.num_classes,
                "replay_size": self.replay_size, "replay_fraction": self.replay_fraction,
                "seed": self.seed}

    @classmethod
    def from_config(cls, config: dict) -> "GAN":
        config = dict(config)
        generator = keras.saving.deserialize_keras_object(config.pop("generator"))
        discriminator = keras.saving.deserialize_keras_object(config.pop("discriminator"))
        return cls(generator, discriminator, **config)


# ---------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------


def build_model(variant: str, image_shape: Sequence[int] = (28, 28, 1), *,
                codings_size: int = 0, num_classes: int = DEFAULT_NUM_CLASSES,
                learning_rate: float = 0.0, replay_size: int = 0,
                replay_fraction: float = DEFAULT_REPLAY_FRACTION, seed: int = 42) -> GAN:
    """Builds and compiles one variant (see the module doc).

    Args:
      variant: one of `VARIANTS`.
      image_shape: (height, width, channels) of the images (Transform's).
      codings_size: the generator's input size; 0: the book's (`CODINGS_SIZE`).
      num_classes: the conditional GAN's label ids are 0..num_classes-1
        (>= 2); ignored by the other variants.
      learning_rate: both RMSprop optimizers'; 0: the book's (Keras' default).
      replay_size, replay_fraction: experience replay (off at 0).
      seed: seeds Python, NumPy and the backend (initial weights) and the
        model's codings and label draws.

    Returns:
      A compiled `GAN`: ``model.generator``, ``model.discriminator``.
    """
    variant = canonical_name("gan", variant, VARIANTS)
    replay_size, replay_fraction = check_replay(replay_size, replay_fraction)
    learning_rate = check_learning_rate(learning_rate or BOOK_LEARNING_RATE[variant])
    seed = check_int("seed", seed, 0)
    keras.utils.set_random_seed(seed)
    generator, discriminator = build_networks(variant, image_shape, codings_size=codings_size,
                                              num_classes=num_classes)
    conditional = variant == CONDITIONAL
    model = GAN(generator, discriminator, conditional=conditional,
                num_classes=num_classes if conditional else 0, replay_size=replay_size,
                replay_fraction=replay_fraction, seed=seed, name=f"gan_{variant}")
    model.compile(d_optimizer=keras.optimizers.RMSprop(learning_rate),
                  g_optimizer=keras.optimizers.RMSprop(learning_rate))
    return model
