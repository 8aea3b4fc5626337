"""GANs of *Hands-On ML* (3rd ed.), chapter 17 (MODELS.md §6), in Keras 3.

Variants:

* ``simple``: the book's dense GAN. Generator Dense(100, selu) →
  Dense(150, selu) → Dense(H·W·C, sigmoid) from 30 codings; discriminator
  Flatten → Dense(150, selu) → Dense(100, selu) → Dense(1, sigmoid).
  RMSprop (Nadam collapsed in the book), pixels in [0, 1].
* ``dcgan``: the book's deep convolutional GAN. Codings 100 → Dense(H/4 ·
  W/4 · 128) → BN → Conv2DTranspose(64, 5, s2, relu) → BN →
  Conv2DTranspose(C, 5, s2, tanh); discriminator Conv2D(64, 5, s2, leaky
  ReLU 0.2) → Dropout 0.4 → Conv2D(128, 5, s2, leaky ReLU 0.2) → Dropout 0.4
  → Dense(1, sigmoid). Pixels in [−1, 1].
* ``conditional``: the DCGAN conditioned on the class (the book's named
  extension): the generator sees its codings concatenated with a label
  embedding; the discriminator sees the label as an extra image channel.

``GAN`` holds both networks and trains them with its own ``train_step`` and
two optimizers, one phase each: the discriminator on a batch of real images
(target 1) and fakes (target 0), then the generator through the
discriminator with target 1. Each phase applies gradients to its own
network's variables only, which is what "freeze the discriminator, then
compile" tried to do and current Keras does not guarantee. Optional
experience replay keeps a buffer of past fakes and mixes some of them into
each discriminator batch, so the discriminator does not forget the modes
the generator left.
"""

from __future__ import annotations

from typing import Sequence

import keras
import tensorflow as tf

VARIANTS = ("simple", "dcgan", "conditional")
DEFAULT_VARIANT = "dcgan"
CONDITIONAL = "conditional"
CODINGS_SIZE = {"simple": 30, "dcgan": 100, "conditional": 100}
BOOK_EPOCHS = {"simple": 50, "dcgan": 50, "conditional": 50}
BOOK_BATCH_SIZE = {"simple": 32, "dcgan": 32, "conditional": 32}
BOOK_LEARNING_RATE = {"simple": 1e-3, "dcgan": 1e-3, "conditional": 1e-3}  # RMSprop's default
# Transform's pixel scaling for each variant's generator output activation.
SCALING = {"simple": "unit", "dcgan": "symmetric", "conditional": "symmetric"}
OUTPUT_RANGE = {"unit": (0.0, 1.0), "symmetric": (-1.0, 1.0)}
LABEL_EMBEDDING = 50  # size of the conditional variant's label embedding


def _simple_generator(shape: Sequence[int], codings: int) -> keras.Model:
    inputs = keras.Input(shape=(codings,), name="codings")
    x = keras.layers.Dense(100, activation="selu", kernel_initializer="he_normal",
                           name="hidden_1")(inputs)
    x = keras.layers.Dense(150, activation="selu", kernel_initializer="he_normal",
                           name="hidden_2")(x)
    x = keras.layers.Dense(int(shape[0] * shape[1] * shape[2]), activation="sigmoid",
                           name="pixels")(x)
    return keras.Model(inputs, keras.layers.Reshape(tuple(shape), name="image")(x),
                       name="generator")


def _simple_discriminator(shape: Sequence[int]) -> keras.Model:
    inputs = keras.Input(shape=tuple(shape), name="image")
    x = keras.layers.Flatten(name="flatten")(inputs)
    x = keras.layers.Dense(150, activation="selu", kernel_initializer="he_normal",
                           name="hidden_1")(x)
    x = keras.layers.Dense(100, activation="selu", kernel_initializer="he_normal",
                           name="hidden_2")(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="real_probability")(x)
    return keras.Model(inputs, outputs, name="discriminator")


def _upsampling_stack(x, shape: Sequence[int]):
    """Dense output → H/4 x W/4 x 128 → two strided transposed convolutions → image."""
    h, w, c = shape
    x = keras.layers.Reshape((h // 4, w // 4, 128), name="feature_map")(x)
    x = keras.layers.BatchNormalization(name="bn_1")(x)
    x = keras.layers.Conv2DTranspose(64, 5, strides=2, padding="same", activation="relu",
                                     name="upsample_1")(x)
    x = keras.layers.BatchNormalization(name="bn_2")(x)
    return keras.layers.Conv2DTranspose(c, 5, strides=2, padding="same", activation="tanh",
                                        name="upsample_2")(x)


def _downsampling_stack(x):
    x = keras.layers.Conv2D(64, 5, strides=2, padding="same",
                            activation=keras.layers.LeakyReLU(0.2), name="downsample_1")(x)
    x = keras.layers.Dropout(0.4, name="dropout_1")(x)
    x = keras.layers.Conv2D(128, 5, strides=2, padding="same",
                            activation=keras.layers.LeakyReLU(0.2), name="downsample_2")(x)
    x = keras.layers.Dropout(0.4, name="dropout_2")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    return keras.layers.Dense(1, activation="sigmoid", name="real_probability")(x)


def _dcgan_generator(shape: Sequence[int], codings: int) -> keras.Model:
    inputs = keras.Input(shape=(codings,), name="codings")
    x = keras.layers.Dense((shape[0] // 4) * (shape[1] // 4) * 128, name="project")(inputs)
    return keras.Model(inputs, _upsampling_stack(x, shape), name="generator")


def _dcgan_discriminator(shape: Sequence[int]) -> keras.Model:
    inputs = keras.Input(shape=tuple(shape), name="image")
    return keras.Model(inputs, _downsampling_stack(inputs), name="discriminator")


def _conditional_generator(shape: Sequence[int], codings: int, num_classes: int) -> keras.Model:
    noise = keras.Input(shape=(codings,), name="codings")
    label = keras.Input(shape=(), dtype="int32", name="label")
    embedded = keras.layers.Embedding(num_classes, LABEL_EMBEDDING, name="label_embedding")(label)
    x = keras.layers.Concatenate(name="codings_and_label")([noise, embedded])
    x = keras.layers.Dense((shape[0] // 4) * (shape[1] // 4) * 128, name="project")(x)
    return keras.Model([noise, label], _upsampling_stack(x, shape), name="generator")


def _conditional_discriminator(shape: Sequence[int], num_classes: int) -> keras.Model:
    h, w, _ = shape
    image = keras.Input(shape=tuple(shape), name="image")
    label = keras.Input(shape=(), dtype="int32", name="label")
    embedded = keras.layers.Embedding(num_classes, LABEL_EMBEDDING, name="label_embedding")(label)
    plane = keras.layers.Dense(h * w, name="label_plane")(embedded)
    plane = keras.layers.Reshape((h, w, 1), name="label_channel")(plane)
    x = keras.layers.Concatenate(name="image_and_label")([image, plane])
    return keras.Model([image, label], _downsampling_stack(x), name="discriminator")


def build_networks(variant: str, image_shape: Sequence[int], *, codings_size: int = 0,
                   num_classes: int = 10) -> tuple[keras.Model, keras.Model]:
    """(generator, discriminator) of `variant` for images of `image_shape`."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown gan variant {variant!r}; available: {', '.join(VARIANTS)}")
    shape = tuple(int(d) for d in image_shape)
    codings = codings_size or CODINGS_SIZE[variant]
    if variant != "simple" and (shape[0] % 4 or shape[1] % 4):
        raise ValueError(f"the {variant} generator upsamples twice by 2: image height and width "
                         f"must be multiples of 4, got {shape[:2]}")
    if variant == "simple":
        return _simple_generator(shape, codings), _simple_discriminator(shape)
    if variant == "dcgan":
        return _dcgan_generator(shape, codings), _dcgan_discriminator(shape)
    if num_classes < 2:
        raise ValueError(f"the conditional GAN needs num_classes >= 2, got {num_classes}")
    return (_conditional_generator(shape, codings, num_classes),
            _conditional_discriminator(shape, num_classes))


@keras.saving.register_keras_serializable(package="gan")
class GAN(keras.Model):
    """A generator and a discriminator trained against each other.

    Data: batches of real images (``conditional``: ``(images, labels)``).
    ``compile(d_optimizer=..., g_optimizer=...)`` takes one optimizer per
    network. ``replay_size`` > 0 turns experience replay on: that many past
    fakes are kept, and ``replay_fraction`` of each discriminator batch's
    fakes come from them once the buffer has been filled once.
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model, *,
                 codings_size: int, conditional: bool = False, num_classes: int = 0,
                 replay_size: int = 0, replay_fraction: float = 0.5, seed: int = 42, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.codings_size = int(codings_size)
        self.conditional = bool(conditional)
        self.num_classes = int(num_classes)
        self.replay_size = int(replay_size)
        self.replay_fraction = float(replay_fraction)
        self.seed = int(seed)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.bce = keras.losses.BinaryCrossentropy()
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")  # mean D(real)
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")  # mean D(fake)
        if self.replay_size:
            shape = tuple(generator.output.shape[1:])
            self.replay_buffer = self.add_weight(
                shape=(self.replay_size, *shape), initializer="zeros", trainable=False,
                name="replay_buffer")
            self.replay_filled = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                                 name="replay_filled", dtype="int32")
        # Both networks are functional models, built with their inputs.
        self.built = True

    def compile(self, d_optimizer: keras.optimizers.Optimizer,
                g_optimizer: keras.optimizers.Optimizer, **kwargs) -> None:
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.d_real_tracker,
                self.d_fake_tracker]

    def call(self, inputs, training: bool = False):
        """codings (conditional: [codings, labels]) → images."""
        return self.generator(inputs, training=training)

    # -- the two phases -----------------------------------------------------------

    def _codings(self, batch_size) -> tf.Tensor:
        return keras.random.normal((batch_size, self.codings_size), seed=self.seed_generator)

    def _random_labels(self, batch_size) -> tf.Tensor:
        return keras.random.randint((batch_size,), 0, self.num_classes, seed=self.seed_generator,
                                    dtype="int32")

    def _generator_inputs(self, batch_size, labels=None):
        codings = self._codings(batch_size)
        if not self.conditional:
            return codings
        return [codings, self._random_labels(batch_size) if labels is None else labels]

    def _discriminate(self, images, labels, training: bool):
        inputs = [images, labels] if self.conditional else images
        return self.discriminator(inputs, training=training)

    def _replayed(self, fakes: tf.Tensor) -> tf.Tensor:
        """Replaces part of `fakes` by past ones and stores the new ones."""
        batch = tf.shape(fakes)[0]
        n_old = tf.cast(tf.round(self.replay_fraction * tf.cast(batch, tf.float32)), tf.int32)
        n_old = tf.where(self.replay_filled >= self.replay_size, n_old, 0)
        picks = keras.random.randint((batch,), 0, self.replay_size, seed=self.seed_generator,
                                     dtype="int32")
        old = tf.gather(self.replay_buffer, picks[:n_old])
        mixed = tf.concat([old, fakes[n_old:]], axis=0)
        # Ring buffer: the newest fakes overwrite the oldest.
        slots = tf.math.floormod(self.replay_filled + tf.range(batch), self.replay_size)
        self.replay_buffer.assign(tf.tensor_scatter_nd_update(
            self.replay_buffer, slots[:, tf.newaxis], tf.stop_gradient(fakes)))
        self.replay_filled.assign_add(batch)
        return mixed

    def train_discriminator(self, images, labels=None) -> tf.Tensor:
        """Phase 1: real images → 1, fakes → 0; updates the discriminator only."""
        batch = tf.shape(images)[0]
        fake_labels = labels
        fakes = self.generator(self._generator_inputs(batch, fake_labels), training=False)
        if self.replay_size:
            fakes = self._replayed(fakes)
        with tf.GradientTape() as tape:
            real_p = self._discriminate(images, labels, training=True)
            fake_p = self._discriminate(fakes, fake_labels, training=True)
            loss = (self.bce(tf.ones_like(real_p), real_p)
                    + self.bce(tf.zeros_like(fake_p), fake_p)) / 2.0
        weights = self.discriminator.trainable_weights
        self.d_optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
        self.d_real_tracker.update_state(tf.reduce_mean(real_p))
        self.d_fake_tracker.update_state(tf.reduce_mean(fake_p))
        return loss

    def train_generator(self, batch_size) -> tf.Tensor:
        """Phase 2: fakes through the discriminator → 1; updates the generator only."""
        labels = self._random_labels(batch_size) if self.conditional else None
        with tf.GradientTape() as tape:
            fakes = self.generator(self._generator_inputs(batch_size, labels), training=True)
            fake_p = self._discriminate(fakes, labels, training=False)
            loss = self.bce(tf.ones_like(fake_p), fake_p)
        weights = self.generator.trainable_weights
        self.g_optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
        return loss

    def _unpack(self, data):
        if self.conditional:
            images, labels = data
            return images, tf.cast(labels, tf.int32)
        return (data[0] if isinstance(data, tuple) else data), None

    def train_step(self, data):
        images, labels = self._unpack(data)
        d_loss = self.train_discriminator(images, labels)
        g_loss = self.train_generator(tf.shape(images)[0])
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        """Both losses on held-out real images, nothing updated."""
        images, labels = self._unpack(data)
        batch = tf.shape(images)[0]
        fakes = self.generator(self._generator_inputs(batch, labels), training=False)
        real_p = self._discriminate(images, labels, training=False)
        fake_p = self._discriminate(fakes, labels, training=False)
        self.d_loss_tracker.update_state((self.bce(tf.ones_like(real_p), real_p)
                                          + self.bce(tf.zeros_like(fake_p), fake_p)) / 2.0)
        self.g_loss_tracker.update_state(self.bce(tf.ones_like(fake_p), fake_p))
        self.d_real_tracker.update_state(tf.reduce_mean(real_p))
        self.d_fake_tracker.update_state(tf.reduce_mean(fake_p))
        return {m.name: m.result() for m in self.metrics}

    # -- serialization ------------------------------------------------------------

    def get_config(self) -> dict:
        return {**super().get_config(),
                "generator": keras.saving.serialize_keras_object(self.generator),
                "discriminator": keras.saving.serialize_keras_object(self.discriminator),
                "codings_size": self.codings_size, "conditional": self.conditional,
                "num_classes": self.num_classes, "replay_size": self.replay_size,
                "replay_fraction": self.replay_fraction, "seed": self.seed}

    @classmethod
    def from_config(cls, config: dict) -> "GAN":
        config = dict(config)
        generator = keras.saving.deserialize_keras_object(config.pop("generator"))
        discriminator = keras.saving.deserialize_keras_object(config.pop("discriminator"))
        return cls(generator, discriminator, **config)


def build_model(variant: str, image_shape: Sequence[int], *, codings_size: int = 0,
                num_classes: int = 10, learning_rate: float = 0.0, replay_size: int = 0,
                replay_fraction: float = 0.5, seed: int = 42) -> GAN:
    """The compiled GAN of `variant`: RMSprop for both networks, as the book."""
    codings = codings_size or CODINGS_SIZE[variant]
    generator, discriminator = build_networks(variant, image_shape, codings_size=codings,
                                              num_classes=num_classes)
    gan = GAN(generator, discriminator, codings_size=codings, conditional=variant == CONDITIONAL,
              num_classes=num_classes if variant == CONDITIONAL else 0, replay_size=replay_size,
              replay_fraction=replay_fraction, seed=seed, name=f"gan_{variant}")
    rate = learning_rate or BOOK_LEARNING_RATE[variant]
    gan.compile(d_optimizer=keras.optimizers.RMSprop(rate),
                g_optimizer=keras.optimizers.RMSprop(rate))
    return gan
