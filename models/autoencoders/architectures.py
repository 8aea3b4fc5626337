"""Autoencoders from *Hands-On ML* (3rd ed.), chapter 17 (MODELS.md §5).

Every model reconstructs float32 images ``[batch, height, width, channels]``
(Transform's ``image_scaled``: pixels in [0, 1] with the default "unit"
scaling) and is built from two named sub-models, so the halves can be used on
their own (``encoder(model)`` / ``decoder(model)``, or
``model.get_layer("encoder")``)::

    inputs ──► encoder ──► codings ──► decoder ──► reconstructions

The variants (one builder each, with the book's sizes):

* ``stacked``: 784-100-30-100-784, ReLU hidden layers, linear output.
* ``tied``: the same shape with tied weights: each decoder layer is a
  ``DenseTranspose`` that multiplies by the transposed kernel of its mirror
  encoder layer and keeps only its own bias (about half the parameters).
* ``convolutional``: Conv2D 16/32/64 (3×3, same, ReLU) each followed by a
  2×2 max-pool, then Conv2D(30) and global average pooling → 30 codings;
  the decoder is a Dense layer reshaped to the last pooled grid and three
  stride-2 Conv2DTranspose layers back to the input size.
* ``denoising``: the stacked model with noise on its inputs while training
  (Dropout(0.5), the book's, or GaussianNoise(0.2)); inference sees clean
  images.
* ``sparse_l1``: 100 ReLU → 300 sigmoid codings with an L1 activity penalty
  (``ActivityRegularization(l1=1e-4)``).
* ``sparse_kl``: the same 300 sigmoid codings with a KL-divergence activity
  regularizer pulling each coding's mean activation toward 0.1 (weight
  5e-3): about 10% of the codings are active for an image.
* ``variational``: 150-100 ReLU → mean μ and log-variance γ = log σ² of 10
  Gaussian codings; ``Sampling`` draws z = μ + σ·ε and adds the latent loss
  KL(N(μ, σ²) ‖ N(0, 1)) divided by the number of pixels (784) so that it
  is on the scale of the per-pixel MSE; the decoder mirrors the encoder
  (100-150-784). The encoder returns ``[μ, γ]``; sampling sits between the
  halves, so encoding an image is deterministic (its mean codings).

All are compiled with Nadam and the mean squared error over pixels (the
book's loss); the regularizers' and the latent loss's terms are added to it
during training and validation, as in the book, and the ``mse`` metric
reports the reconstruction error alone.

Keras' activity regularizers (and ``ActivityRegularization``) divide their
penalty by the batch size, as tf.keras 2 did when the book was written, so
the book's weights keep their meaning.

Backend-neutral Keras 3 (``keras``, ``keras.ops`` and ``keras.random``
only); the custom pieces are registered serializables and survive a
``.keras`` save and reload (tied weights stay tied).
"""

from __future__ import annotations

import math
import numbers

import keras
from keras import ops

from models.common.arguments import (canonical_name, check_image_shape, check_int,
                                     check_learning_rate)

VARIANTS: tuple[str, ...] = (
    "stacked", "tied", "convolutional", "denoising", "sparse_l1", "sparse_kl", "variational")
DEFAULT_VARIANT = "stacked"

# The book's coding sizes.
DEFAULT_CODINGS: dict[str, int] = {
    "stacked": 30, "tied": 30, "convolutional": 30, "denoising": 30,
    "sparse_l1": 300, "sparse_kl": 300, "variational": 10,
}
# Variants that compress (fewer codings than pixels); the sparse ones are
# kept sparse by their penalty instead and may have more.
UNDERCOMPLETE_VARIANTS: tuple[str, ...] = (
    "stacked", "tied", "convolutional", "denoising", "variational")
SPARSE_VARIANTS: tuple[str, ...] = ("sparse_l1", "sparse_kl")

# The book's training schedules (epochs; batch size, Keras' default 32
# except for the variational autoencoder).
BOOK_EPOCHS: dict[str, int] = {
    "stacked": 20, "tied": 10, "convolutional": 10, "denoising": 10,
    "sparse_l1": 10, "sparse_kl": 10, "variational": 25,
}
BOOK_BATCH_SIZE: dict[str, int] = {variant: 32 for variant in VARIANTS} | {"variational": 128}
# The book's validation loss on Fashion-MNIST (regularization and latent
# terms included, as Keras reports it).
BOOK_VAL_LOSS: dict[str, float] = {
    "stacked": 0.0132, "tied": 0.0133, "convolutional": 0.0121, "denoising": 0.0166,
    "sparse_l1": 0.0111, "sparse_kl": 0.0099, "variational": 0.0311,
}

NOISES: tuple[str, ...] = ("dropout", "gaussian")
DEFAULT_NOISE_LEVEL: dict[str, float] = {"dropout": 0.5, "gaussian": 0.2}  # rate; stddev
OUTPUT_ACTIVATIONS: tuple[str, ...] = ("linear", "sigmoid")

HIDDEN_UNITS = 100  # stacked, tied, denoising, sparse
VAE_HIDDEN_UNITS = (150, 100)
CONV_FILTERS = (16, 32, 64)
CONV_DECODER_CHANNELS = 16  # of the Dense layer reshaped to the last pooled grid
# Poolings halve the image three times: each side must keep at least one pixel.
CONV_MIN_SIDE = 2 ** len(CONV_FILTERS)
L1_WEIGHT = 1e-4
KL_WEIGHT = 5e-3
KL_TARGET = 0.1

ENCODER, DECODER, SAMPLING = "encoder", "decoder", "sampling"
SERIALIZATION_PACKAGE = "autoencoders"


# ---------------------------------------------------------------------------
# Custom pieces
# ---------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
class DenseTranspose(keras.layers.Layer):
    """A Dense layer whose kernel is the transpose of another Dense layer's.

    ``DenseTranspose(dense)`` maps ``dense``'s outputs back to its inputs:
    ``activation(inputs @ dense.kernel.T + bias)``, with a bias of its own
    and no kernel of its own (the book's weight tying).

    The tie is an object reference, so it holds inside one model: a model
    that uses it must rebuild the tie when it is deserialized (see
    ``TiedAutoencoder``). Serialized on its own, the layer stores a copy of
    ``dense``'s config and comes back with an untied Dense of its own.
    """

    def __init__(self, dense: keras.layers.Dense, activation=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(dense, keras.layers.Dense):
            raise ValueError(f"DenseTranspose ties to a keras.layers.Dense, got {dense!r}")
        self.dense = dense
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        if not self.dense.built:
            raise ValueError(f"{self.name}: the tied layer {self.dense.name!r} must be built "
                             "(called on its inputs) before its transpose")
        tied_inputs, tied_units = self.dense.kernel.shape
        if input_shape[-1] is not None and input_shape[-1] != tied_units:
            raise ValueError(f"{self.name}: inputs have {input_shape[-1]} features, but the tied "
                             f"layer {self.dense.name!r} has {tied_units} units")
        # Only a bias of its own: one per input feature of the tied layer.
        self.bias = self.add_weight(name="bias", shape=(tied_inputs,), initializer="zeros")

    def call(self, inputs):
        return self.activation(ops.matmul(inputs, ops.transpose(self.dense.kernel)) + self.bias)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.dense.kernel.shape[0],)

    def get_config(self):
        return {**super().get_config(), "dense": keras.saving.serialize_keras_object(self.dense),
                "activation": keras.activations.serialize(self.activation)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["dense"] = keras.saving.deserialize_keras_object(config["dense"])
        return cls(**config)


@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
class KLDivergenceRegularizer(keras.regularizers.Regularizer):
    """Activity regularizer of the sparse autoencoder (the book's).

    For activations in (0, 1) (sigmoid codings), the mean activation q_j of
    each coding over the batch is compared with the target sparsity p:
    ``weight * Σ_j [p log(p / q_j) + (1 − p) log((1 − p) / (1 − q_j))]``,
    the KL divergence between Bernoulli(p) and Bernoulli(q_j) summed over
    the codings (Keras' ``kl_divergence`` of the two pairs, as the book
    computes it; q is clipped to [ε, 1 − ε]).
    """

    def __init__(self, weight: float = KL_WEIGHT, target: float = KL_TARGET):
        self.weight = _check_weight("weight", weight)
        if isinstance(target, bool) or not isinstance(target, numbers.Real) or not 0 < target < 1:
            raise ValueError(f"target must be a sparsity strictly between 0 and 1, got {target!r}")
        self.target = float(target)

    def __call__(self, inputs):
        epsilon = keras.config.epsilon()
        mean = ops.clip(ops.mean(inputs, axis=0), epsilon, 1.0 - epsilon)
        p = self.target
        kl = (p * ops.log(p / mean)
              + (1.0 - p) * ops.log((1.0 - p) / (1.0 - mean)))
        return self.weight * ops.sum(kl)

    def get_config(self):
        return {"weight": self.weight, "target": self.target}


@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
class Sampling(keras.layers.Layer):
    """``[mean, log_var]`` → codings ``mean + exp(log_var / 2) · ε``, ε ~ N(0, 1).

    It samples in training and inference alike (the book's layer). With
    ``latent_loss_weight`` > 0 it also adds ``latent_loss_weight`` × the
    batch mean of KL(N(mean, σ²) ‖ N(0, 1)) =
    ``−½ Σ (1 + log_var − exp(log_var) − mean²)`` to the model's losses
    (the book's ``model.add_loss``, which Keras 3 allows only in a layer).
    """

    def __init__(self, latent_loss_weight: float = 0.0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.latent_loss_weight = _check_weight("latent_loss_weight", latent_loss_weight)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        mean, log_var = inputs
        if self.latent_loss_weight:
            self.add_loss(self.latent_loss_weight * ops.mean(latent_loss(mean, log_var)))
        epsilon = keras.random.normal(ops.shape(log_var), seed=self.seed_generator)
        return mean + ops.exp(log_var / 2.0) * epsilon

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        return {**super().get_config(), "latent_loss_weight": self.latent_loss_weight,
                "seed": self.seed}


def latent_loss(mean, log_var):
    """Per-example KL(N(mean, exp(log_var)) ‖ N(0, I)), summed over codings."""
    return -0.5 * ops.sum(1.0 + log_var - ops.exp(log_var) - ops.square(mean), axis=-1)


@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
class TiedAutoencoder(keras.Model):
    """The tied-weights autoencoder as a model class, so that a reloaded
    model rebuilds its ties from its sizes (a functional config would
    restore each ``DenseTranspose`` with an untied copy of its Dense).

    Graph and layer names are those of the other variants: sub-models
    "encoder" (Flatten → Dense(hidden, ReLU) → Dense(codings, ReLU)) and
    "decoder" (DenseTranspose of each, in reverse → Reshape).
    """

    def __init__(self, image_shape, codings_size: int = DEFAULT_CODINGS["tied"],
                 hidden_units: int = HIDDEN_UNITS, output_activation: str = "linear", **kwargs):
        image_shape = check_image_shape(image_shape)
        codings_size = _check_codings("tied", codings_size, image_shape)
        hidden_units = check_int("hidden_units", hidden_units, 1)
        output_activation = _check_output_activation(output_activation)

        hidden = keras.layers.Dense(hidden_units, activation="relu", name="hidden")
        codings = keras.layers.Dense(codings_size, activation="relu", name="codings")
        images = keras.Input(shape=image_shape, name="images")
        encoder = keras.Model(images, codings(hidden(keras.layers.Flatten()(images))), name=ENCODER)

        decoder_inputs = keras.Input(shape=(codings_size,), name="codings")
        x = DenseTranspose(codings, activation="relu", name="hidden_transpose")(decoder_inputs)
        x = DenseTranspose(hidden, activation=output_activation, name="pixels_transpose")(x)
        decoder = keras.Model(decoder_inputs, keras.layers.Reshape(image_shape)(x), name=DECODER)

        inputs = keras.Input(shape=image_shape, name="images")
        super().__init__(inputs, decoder(encoder(inputs)), **kwargs)
        self.image_shape = image_shape
        self.codings_size = codings_size
        self.hidden_units = hidden_units
        self.output_activation = output_activation

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable,
                "image_shape": list(self.image_shape), "codings_size": self.codings_size,
                "hidden_units": self.hidden_units, "output_activation": self.output_activation}


# ---------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------


def _check_weight(name: str, value: float) -> float:
    if (isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value)
            or value < 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {name}={value!r}")
    return float(value)


def _check_codings(variant: str, codings_size: int, image_shape: tuple[int, int, int]) -> int:
    codings_size = check_int("codings_size", codings_size, 1)
    pixels = math.prod(image_shape)
    if variant in UNDERCOMPLETE_VARIANTS and codings_size >= pixels:
        raise ValueError(
            f"codings_size must be smaller than the {pixels} values of an image "
            f"{list(image_shape)} for the {variant!r} autoencoder (it learns by compressing), "
            f"got codings_size={codings_size}")
    return codings_size


def _check_output_activation(output_activation: str) -> str:
    if output_activation not in OUTPUT_ACTIVATIONS:
        raise ValueError(f"output_activation must be one of {', '.join(OUTPUT_ACTIVATIONS)}, "
                         f"got {output_activation!r}")
    return output_activation


def check_noise(noise: str, noise_level: float | None) -> tuple[str, float]:
    """(noise, level) for the denoising variant: the level defaults to the
    book's (dropout rate 0.5, Gaussian standard deviation 0.2)."""
    if noise not in NOISES:
        raise ValueError(f"noise must be one of {', '.join(NOISES)}, got noise={noise!r}")
    if noise_level is None:
        return noise, DEFAULT_NOISE_LEVEL[noise]
    if isinstance(noise_level, bool) or not isinstance(noise_level, numbers.Real):
        raise ValueError(f"noise_level must be a number, got noise_level={noise_level!r}")
    if noise == "dropout" and not 0 < noise_level < 1:
        raise ValueError(f"the dropout rate (noise_level) must be > 0 and < 1, got {noise_level}")
    if noise == "gaussian" and not (math.isfinite(noise_level) and noise_level > 0):
        raise ValueError(f"the Gaussian noise's standard deviation (noise_level) must be > 0, "
                         f"got {noise_level}")
    return noise, float(noise_level)


# ---------------------------------------------------------------------------
# The variants
# ---------------------------------------------------------------------------


def _dense_decoder(image_shape, codings_size: int, hidden_units: tuple[int, ...],
                   output_activation: str) -> keras.Model:
    """codings → Dense(ReLU) per hidden size → Dense(pixels) → Reshape."""
    codings = keras.Input(shape=(codings_size,), name="codings")
    x = codings
    for units in hidden_units:
        x = keras.layers.Dense(units, activation="relu")(x)
    x = keras.layers.Dense(math.prod(image_shape), activation=output_activation)(x)
    return keras.Model(codings, keras.layers.Reshape(image_shape)(x), name=DECODER)


def _autoencoder(encoder: keras.Model, decoder: keras.Model, name: str) -> keras.Model:
    images = keras.Input(shape=encoder.input.shape[1:], name="images")
    return keras.Model(images, decoder(encoder(images)), name=name)


def build_stacked(image_shape, codings_size: int = 30, *,
                  output_activation: str = "linear") -> keras.Model:
    """784-100-30-100-784: two ReLU layers down, two back up."""
    images = keras.Input(shape=image_shape, name="images")
    x = keras.layers.Flatten()(images)
    x = keras.layers.Dense(HIDDEN_UNITS, activation="relu")(x)
    codings = keras.layers.Dense(codings_size, activation="relu")(x)
    encoder = keras.Model(images, codings, name=ENCODER)
    decoder = _dense_decoder(image_shape, codings_size, (HIDDEN_UNITS,), output_activation)
    return _autoencoder(encoder, decoder, "stacked")


def build_tied(image_shape, codings_size: int = 30, *,
               output_activation: str = "linear") -> keras.Model:
    """The stacked autoencoder with the decoder's kernels tied to the
    encoder's, transposed (``TiedAutoencoder``)."""
    return TiedAutoencoder(image_shape, codings_size, output_activation=output_activation,
                           name="tied")


def _upsample(x, filters: int, target: tuple[int, int], activation) -> keras.KerasTensor:
    """A 3×3 stride-2 Conv2DTranspose from a side s to the side 2s or 2s + 1
    that halving (a 2×2 max-pool) came from: "same" padding gives 2s,
    "valid" 2s + 1 (the book's 3 → 7); where height and width differ in
    parity, "valid" and a one-pixel crop of the even side."""
    extra = (target[0] - 2 * x.shape[1], target[1] - 2 * x.shape[2])  # 0 or 1 per side
    padding = "same" if extra == (0, 0) else "valid"
    x = keras.layers.Conv2DTranspose(filters, 3, strides=2, padding=padding,
                                     activation=activation)(x)
    if padding == "valid" and extra != (1, 1):
        x = keras.layers.Cropping2D(((0, 1 - extra[0]), (0, 1 - extra[1])))(x)
    return x


def build_convolutional(image_shape, codings_size: int = 30, *,
                        output_activation: str = "linear") -> keras.Model:
    """Conv 16/32/64 + 2×2 max-pools, Conv(codings) + global average
    pooling; decoded by Dense → Reshape → three stride-2 Conv2DTranspose."""
    height, width, channels = image_shape
    if min(height, width) < CONV_MIN_SIDE:
        raise ValueError(f"the convolutional autoencoder halves the image {len(CONV_FILTERS)} "
                         f"times: height and width must be >= {CONV_MIN_SIDE}, got "
                         f"{list(image_shape)}")
    sides = [(height, width)]  # the grid after each pooling
    for _ in CONV_FILTERS:
        sides.append((sides[-1][0] // 2, sides[-1][1] // 2))

    images = keras.Input(shape=image_shape, name="images")
    x = images
    for filters in CONV_FILTERS:
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPool2D(pool_size=2)(x)  # 28 → 14 → 7 → 3
    x = keras.layers.Conv2D(codings_size, 3, padding="same", activation="relu")(x)
    encoder = keras.Model(images, keras.layers.GlobalAveragePooling2D()(x), name=ENCODER)

    codings = keras.Input(shape=(codings_size,), name="codings")
    grid = sides[-1]
    x = keras.layers.Dense(grid[0] * grid[1] * CONV_DECODER_CHANNELS)(codings)
    x = keras.layers.Reshape((*grid, CONV_DECODER_CHANNELS))(x)
    # The encoder's filters in reverse order, minus the first: 32, 16, then the image channels.
    up_filters = (*CONV_FILTERS[-2::-1], channels)
    activations = ("relu",) * (len(up_filters) - 1) + (output_activation,)
    for filters, target, activation in zip(up_filters, sides[-2::-1], activations):
        x = _upsample(x, filters, target, activation)
    decoder = keras.Model(codings, x, name=DECODER)
    return _autoencoder(encoder, decoder, "convolutional")


def build_denoising(image_shape, codings_size: int = 30, *, noise: str = "dropout",
                    noise_level: float | None = None,
                    output_activation: str = "linear") -> keras.Model:
    """The stacked autoencoder, its inputs corrupted while training only:
    Dropout(0.5) (the book's) or GaussianNoise(0.2)."""
    noise, noise_level = check_noise(noise, noise_level)
    images = keras.Input(shape=image_shape, name="images")
    x = keras.layers.Flatten()(images)
    if noise == "dropout":
        x = keras.layers.Dropout(noise_level, name="noise")(x)
    else:
        x = keras.layers.GaussianNoise(noise_level, name="noise")(x)
    x = keras.layers.Dense(HIDDEN_UNITS, activation="relu")(x)
    codings = keras.layers.Dense(codings_size, activation="relu")(x)
    encoder = keras.Model(images, codings, name=ENCODER)
    decoder = _dense_decoder(image_shape, codings_size, (HIDDEN_UNITS,), output_activation)
    return _autoencoder(encoder, decoder, "denoising")


def _sparse(name: str, image_shape, codings_size: int, regularize, output_activation: str):
    images = keras.Input(shape=image_shape, name="images")
    x = keras.layers.Flatten()(images)
    x = keras.layers.Dense(HIDDEN_UNITS, activation="relu")(x)
    codings = regularize(x)
    encoder = keras.Model(images, codings, name=ENCODER)
    decoder = _dense_decoder(image_shape, codings_size, (HIDDEN_UNITS,), output_activation)
    return _autoencoder(encoder, decoder, name)


def build_sparse_l1(image_shape, codings_size: int = 300, *, weight: float = L1_WEIGHT,
                    output_activation: str = "linear") -> keras.Model:
    """300 sigmoid codings with an L1 activity penalty (weight 1e-4)."""
    weight = _check_weight("weight", weight)

    def regularize(x):
        codings = keras.layers.Dense(codings_size, activation="sigmoid", name="codings")(x)
        return keras.layers.ActivityRegularization(l1=weight, name="l1")(codings)

    return _sparse("sparse_l1", image_shape, codings_size, regularize, output_activation)


def build_sparse_kl(image_shape, codings_size: int = 300, *, weight: float = KL_WEIGHT,
                    target: float = KL_TARGET, output_activation: str = "linear") -> keras.Model:
    """300 sigmoid codings whose mean activations are pulled toward 0.1 by
    a KL-divergence activity regularizer (weight 5e-3)."""
    regularizer = KLDivergenceRegularizer(weight=weight, target=target)

    def regularize(x):
        return keras.layers.Dense(codings_size, activation="sigmoid",
                                  activity_regularizer=regularizer, name="codings")(x)

    return _sparse("sparse_kl", image_shape, codings_size, regularize, output_activation)


def build_variational(image_shape, codings_size: int = 10, *, seed: int | None = None,
                      output_activation: str = "linear") -> keras.Model:
    """150-100 → μ, log σ² (10 codings) → Sampling (+ latent loss / pixels)
    → 100-150 → pixels."""
    images = keras.Input(shape=image_shape, name="images")
    x = keras.layers.Flatten()(images)
    for units in VAE_HIDDEN_UNITS:
        x = keras.layers.Dense(units, activation="relu")(x)
    codings_mean = keras.layers.Dense(codings_size, name="codings_mean")(x)  # μ
    codings_log_var = keras.layers.Dense(codings_size, name="codings_log_var")(x)  # γ
    encoder = keras.Model(images, [codings_mean, codings_log_var], name=ENCODER)
    decoder = _dense_decoder(image_shape, codings_size, VAE_HIDDEN_UNITS[::-1], output_activation)

    inputs = keras.Input(shape=image_shape, name="images")
    mean, log_var = encoder(inputs)
    # The latent loss per pixel: on the scale of the reconstruction MSE.
    codings = Sampling(latent_loss_weight=1.0 / math.prod(image_shape), seed=seed,
                       name=SAMPLING)([mean, log_var])
    return keras.Model(inputs, decoder(codings), name="variational")


# ---------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------


def build_model(variant: str, image_shape=(28, 28, 1), *, codings_size: int | None = None,
                noise: str | None = None, noise_level: float | None = None,
                output_activation: str = "linear", learning_rate: float = 1e-3,
                seed: int = 42) -> keras.Model:
    """Builds and compiles one variant (see the module doc).

    Args:
      variant: one of `VARIANTS`.
      image_shape: (height, width, channels) of the images (Transform's).
      codings_size: the size of the codings; None: the book's for the
        variant (`DEFAULT_CODINGS`). Must be smaller than the number of
        pixel values for the undercomplete variants.
      noise, noise_level: the denoising variant's corruption, "dropout"
        (default; rate 0.5) or "gaussian" (stddev 0.2); an error for the
        other variants.
      output_activation: "linear" (the book's) or "sigmoid" (pixels in [0, 1]).
      learning_rate: Nadam's (> 0; the book uses Keras' default 1e-3).
      seed: seeds Python, NumPy and the backend for reproducible weights
        (and the variational autoencoder's sampling).

    Returns:
      A compiled model, images → reconstructions (same shape), with sub-models
      "encoder" and "decoder". Loss: MSE (+ the variant's penalty); metric "mse".
    """
    variant = canonical_name("autoencoders", variant, VARIANTS)
    image_shape = check_image_shape(image_shape)
    codings_size = _check_codings(
        variant, DEFAULT_CODINGS[variant] if codings_size is None else codings_size, image_shape)
    output_activation = _check_output_activation(output_activation)
    learning_rate = check_learning_rate(learning_rate)
    seed = check_int("seed", seed, 0)
    if variant != "denoising" and (noise is not None or noise_level is not None):
        raise ValueError(f"noise and noise_level apply to the denoising variant only, not to "
                         f"{variant!r}")

    keras.utils.set_random_seed(seed)
    common = dict(codings_size=codings_size, output_activation=output_activation)
    if variant == "denoising":
        model = build_denoising(image_shape, noise=noise or "dropout", noise_level=noise_level,
                                **common)
    elif variant == "variational":
        model = build_variational(image_shape, seed=seed, **common)
    else:
        builder = {"stacked": build_stacked, "tied": build_tied,
                   "convolutional": build_convolutional, "sparse_l1": build_sparse_l1,
                   "sparse_kl": build_sparse_kl}[variant]
        model = builder(image_shape, **common)
    model.compile(optimizer=keras.optimizers.Nadam(learning_rate=learning_rate),
                  loss=keras.losses.MeanSquaredError(),
                  metrics=[keras.metrics.MeanSquaredError(name="mse")],
                  # Fixed shapes; on a CPU, XLA's compile time outweighs what it saves here.
                  jit_compile=False)
    return model


def encoder(model: keras.Model) -> keras.Model:
    """The model's encoder: images → codings ([μ, log σ²] for the variational one)."""
    return _sub_model(model, ENCODER)


def decoder(model: keras.Model) -> keras.Model:
    """The model's decoder: codings → reconstructions."""
    return _sub_model(model, DECODER)


def _sub_model(model: keras.Model, name: str) -> keras.Model:
    try:
        return model.get_layer(name)
    except ValueError:
        raise ValueError(f"model {model.name!r} has no {name!r} sub-model; is it an autoencoder "
                         "from autoencoders.architectures.build_model?") from None


def is_variational(model: keras.Model) -> bool:
    """True when the encoder returns [μ, log σ²] (the variational autoencoder)."""
    return isinstance(encoder(model).output, (list, tuple))


def codings(model: keras.Model, images, training: bool = False):
    """Deterministic codings of `images`: the encoder's output, or the mean μ
    for the variational autoencoder."""
    out = encoder(model)(images, training=training)
    return out[0] if isinstance(out, (list, tuple)) else out
