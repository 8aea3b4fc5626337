"""Tests for models.autoencoders.architectures (TensorFlow backend).

Small images (16×16: the convolutional variant needs 8 pixels a side) keep
every fit to a few steps; the book's 28×28 sizes are checked by parameter
counts only.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from models.autoencoders import architectures as arch

SHAPE = (16, 16, 1)
RNG = np.random.default_rng(0)


def _images(n: int = 32, shape=SHAPE, seed: int = 0) -> np.ndarray:
    """Smooth random blobs in [0, 1]: something an autoencoder can learn."""
    rng = np.random.default_rng(seed)
    h, w, c = shape
    yy, xx = np.mgrid[0:h, 0:w]
    centres = rng.uniform(0, 1, size=(n, 2)) * (h, w)
    blobs = np.exp(-((yy - centres[:, :1, None]) ** 2 + (xx - centres[:, 1:, None]) ** 2) / 8.0)
    return np.repeat(blobs[..., None], c, axis=-1).astype("float32")


def _np(x) -> np.ndarray:
    return keras.ops.convert_to_numpy(x)


# --- Building ---------------------------------------------------------------------


@pytest.mark.parametrize("variant", arch.VARIANTS)
def test_every_variant_builds_with_an_encoder_and_a_decoder(variant):
    model = arch.build_model(variant, SHAPE, learning_rate=0.005)
    assert tuple(model.input.shape) == (None, *SHAPE)
    assert tuple(model.output.shape) == (None, *SHAPE)
    encoder, decoder = arch.encoder(model), arch.decoder(model)
    codings = arch.DEFAULT_CODINGS[variant]
    assert tuple(decoder.input.shape) == (None, codings)
    outputs = encoder.output if isinstance(encoder.output, list) else [encoder.output]
    assert [tuple(o.shape) for o in outputs] == [(None, codings)] * (2 if variant == "variational" else 1)
    assert arch.is_variational(model) == (variant == "variational")
    assert isinstance(model.optimizer, keras.optimizers.Nadam)
    assert float(_np(model.optimizer.learning_rate)) == pytest.approx(0.005)
    assert isinstance(model.loss, keras.losses.MeanSquaredError)
    x = _images(4)
    assert _np(arch.codings(model, x)).shape == (4, codings)
    assert _np(decoder(arch.codings(model, x))).shape == (4, *SHAPE)


def test_the_book_sizes_and_parameter_counts():
    pixels = 28 * 28
    stacked = arch.build_model("stacked")
    # 784-100-30-100-784, weights and biases.
    expected = (pixels * 100 + 100) + (100 * 30 + 30) + (30 * 100 + 100) + (100 * pixels + pixels)
    assert stacked.count_params() == expected == 163_814
    tied = arch.build_model("tied")
    # The encoder's kernels and biases, and a bias per decoder layer.
    assert tied.count_params() == (pixels * 100 + 100) + (100 * 30 + 30) + 100 + pixels
    assert tied.count_params() / stacked.count_params() == pytest.approx(0.5, abs=0.01)
    denoising = arch.build_model("denoising")
    assert denoising.count_params() == stacked.count_params()
    assert arch.build_model("sparse_l1").count_params() == (
        (pixels * 100 + 100) + (100 * 300 + 300) + (300 * 100 + 100) + (100 * pixels + pixels))
    vae = arch.build_model("variational")
    assert arch.encoder(vae).count_params() == (pixels * 150 + 150) + (150 * 100 + 100) + 2 * (100 * 10 + 10)
    assert arch.decoder(vae).count_params() == (10 * 100 + 100) + (100 * 150 + 150) + (150 * pixels + pixels)
    conv = arch.build_model("convolutional")
    grids = [tuple(layer.output.shape[1:3]) for layer in arch.encoder(conv).layers
             if isinstance(layer, keras.layers.MaxPool2D)]
    assert grids == [(14, 14), (7, 7), (3, 3)]  # the book's
    shapes = [tuple(layer.output.shape[1:]) for layer in arch.decoder(conv).layers
              if isinstance(layer, keras.layers.Conv2DTranspose)]
    assert shapes == [(7, 7, 32), (14, 14, 16), (28, 28, 1)]  # 3 → 7 → 14 → 28
    for name in arch.VARIANTS:
        assert arch.BOOK_EPOCHS[name] >= 10 and arch.BOOK_BATCH_SIZE[name] in (32, 128)


@pytest.mark.parametrize("shape", [(8, 8, 1), (9, 12, 3), (15, 16, 2), (32, 29, 3)])
def test_convolutional_decoder_restores_any_image_size(shape):
    model = arch.build_model("convolutional", shape, codings_size=5)
    assert tuple(model.output.shape) == (None, *shape)
    assert _np(model(_images(2, shape))).shape == (2, *shape)


def test_output_activation_sigmoid_bounds_the_pixels():
    model = arch.build_model("stacked", SHAPE, output_activation="sigmoid")
    out = _np(model(_images(4) * 100.0))
    assert out.min() >= 0.0 and out.max() <= 1.0


@pytest.mark.parametrize("kwargs, match", [
    (dict(variant="deep"), "Unknown autoencoders variant 'deep'"),
    (dict(variant="stacked", codings_size=0), "codings_size must be >= 1"),
    (dict(variant="stacked", codings_size=2.5), "codings_size must be an integer"),
    (dict(variant="stacked", codings_size=256), "smaller than the 256 values"),
    (dict(variant="variational", codings_size=300), "smaller than the 256 values"),
    (dict(variant="convolutional", image_shape=(7, 28, 1)), "must be >= 8"),
    (dict(variant="stacked", image_shape=(16, 16)), "image_shape must be"),
    (dict(variant="stacked", image_shape=(16, 0, 1)), "image_shape must be"),
    (dict(variant="stacked", noise="gaussian"), "denoising variant only"),
    (dict(variant="denoising", noise="salt"), "noise must be one of dropout, gaussian"),
    (dict(variant="denoising", noise_level=1.0), "dropout rate"),
    (dict(variant="denoising", noise="gaussian", noise_level=-0.1), "standard deviation"),
    (dict(variant="stacked", output_activation="tanh"), "output_activation must be one of"),
    (dict(variant="stacked", learning_rate=0.0), "learning_rate"),
])
def test_bad_arguments_are_clear_errors(kwargs, match):
    kwargs = {"image_shape": SHAPE, **kwargs}
    with pytest.raises(ValueError, match=match):
        arch.build_model(kwargs.pop("variant"), kwargs.pop("image_shape"), **kwargs)


def test_sparse_variants_may_be_overcomplete_and_kl_target_is_checked():
    assert arch.build_model("sparse_l1", SHAPE, codings_size=300).count_params() > 0
    with pytest.raises(ValueError, match="target must be a sparsity"):
        arch.build_sparse_kl(SHAPE, target=1.0)
    with pytest.raises(ValueError, match="weight must be a finite number >= 0"):
        arch.build_sparse_l1(SHAPE, weight=-1e-4)


def test_sub_model_lookup_names_the_problem():
    with pytest.raises(ValueError, match="has no 'encoder' sub-model"):
        arch.encoder(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)], name="plain"))


# --- Custom pieces -------------------------------------------------------------------


def test_kl_regularizer_matches_numpy():
    activations = RNG.uniform(0.01, 0.99, size=(16, 7)).astype("float32")
    activations[:, 0] = 1.0  # clipped to 1 − ε, not log(0)
    regularizer = arch.KLDivergenceRegularizer(weight=5e-3, target=0.1)
    q = np.clip(activations.mean(axis=0), 1e-7, 1 - 1e-7).astype("float64")
    p = 0.1
    expected = 5e-3 * np.sum(p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q)))
    assert float(_np(regularizer(activations))) == pytest.approx(expected, rel=1e-4)
    # No penalty at the target sparsity.
    assert float(_np(regularizer(np.full((4, 3), 0.1, "float32")))) == pytest.approx(0.0, abs=1e-6)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(regularizer))
    assert (restored.weight, restored.target) == (5e-3, 0.1)


def test_sampling_statistics_and_latent_loss():
    n, size = 20_000, 3
    mean = np.tile(np.array([[0.5, -2.0, 0.0]], "float32"), (n, 1))
    log_var = np.tile(np.log(np.array([[1.0, 0.25, 4.0]], "float32")), (n, 1))
    layer = arch.Sampling(seed=1)
    z = _np(layer([mean, log_var]))
    assert z.shape == (n, size)
    np.testing.assert_allclose(z.mean(axis=0), [0.5, -2.0, 0.0], atol=0.05)
    np.testing.assert_allclose(z.var(axis=0), [1.0, 0.25, 4.0], rtol=0.05)
    assert not np.allclose(_np(layer([mean[:5], log_var[:5]])), z[:5])  # fresh noise every call

    m, lv = RNG.normal(size=(6, 4)).astype("float32"), RNG.normal(size=(6, 4)).astype("float32")
    expected = -0.5 * np.sum(1 + lv - np.exp(lv) - m ** 2, axis=-1)
    np.testing.assert_allclose(_np(arch.latent_loss(m, lv)), expected, rtol=1e-5)
    assert np.all(_np(arch.latent_loss(np.zeros((2, 4)), np.zeros((2, 4)))) == 0)  # N(0, 1) itself


def test_regularizer_and_latent_terms_add_to_the_loss_per_example():
    """The loss minus the MSE metric is the penalty, divided by the batch size
    for the activity regularizers (Keras' rule, the book's tf.keras's too)."""
    x = _images(16)
    for variant in ("sparse_l1", "sparse_kl", "variational"):
        model = arch.build_model(variant, SHAPE)
        result = model.evaluate(x, x, batch_size=len(x), verbose=0, return_dict=True)
        penalty = result["loss"] - result["mse"]
        if variant == "variational":
            m, lv = (_np(t) for t in arch.encoder(model)(x))
            expected = np.mean(-0.5 * np.sum(1 + lv - np.exp(lv) - m ** 2, axis=-1)) / math.prod(SHAPE)
        else:
            codings = _np(arch.codings(model, x)).astype("float64")
            if variant == "sparse_l1":
                expected = arch.L1_WEIGHT * np.abs(codings).sum() / len(x)
            else:
                q = codings.mean(axis=0)
                p = arch.KL_TARGET
                kl = np.sum(p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q)))
                expected = arch.KL_WEIGHT * kl / len(x)
        assert penalty == pytest.approx(expected, rel=2e-3), variant


def test_tied_decoder_uses_the_encoder_kernels_transposed():
    model = arch.build_model("tied", SHAPE)
    dense = [layer for layer in arch.encoder(model).layers if isinstance(layer, keras.layers.Dense)]
    transposes = [layer for layer in arch.decoder(model).layers
                  if isinstance(layer, arch.DenseTranspose)]
    assert [t.dense for t in transposes] == dense[::-1]
    # The decoder's only weights of its own are a bias per layer.
    shared = {id(w) for w in arch.encoder(model).weights}
    own = [w for w in arch.decoder(model).weights if id(w) not in shared]
    assert [tuple(w.shape) for w in own] == [(100,), (math.prod(SHAPE),)]
    # decoder(codings) == act(codings @ W2.T + b) → W1.T + b', by hand.
    codings = np.abs(RNG.normal(size=(3, 30))).astype("float32")
    w1, w2 = (_np(d.kernel) for d in dense)
    b_hidden, b_pixels = (_np(t.bias) for t in transposes)
    expected = np.maximum(codings @ w2.T + b_hidden, 0) @ w1.T + b_pixels
    np.testing.assert_allclose(_np(arch.decoder(model)(codings)).reshape(3, -1), expected,
                               rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="ties to a keras.layers.Dense"):
        arch.DenseTranspose(keras.layers.Conv2D(2, 3))


@pytest.mark.parametrize("noise", arch.NOISES)
def test_denoising_noise_is_only_applied_in_training(noise):
    model = arch.build_model("denoising", SHAPE, noise=noise)
    x = _images(8)
    clean = _np(arch.codings(model, x))
    np.testing.assert_array_equal(_np(arch.codings(model, x)), clean)
    np.testing.assert_array_equal(_np(model(x, training=False)), _np(model(x)))
    assert not np.allclose(_np(arch.codings(model, x, training=True)), clean)
    # Without noise the denoising encoder is the stacked one.
    layer = arch.encoder(model).get_layer("noise")
    assert isinstance(layer, keras.layers.Dropout if noise == "dropout" else keras.layers.GaussianNoise)


# --- Training, saving -----------------------------------------------------------------


# An optimizer saved before its first step is not built; the reloaded one is.
@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
@pytest.mark.parametrize("variant", arch.VARIANTS)
def test_trains_saves_and_reloads(variant, tmp_path):
    model = arch.build_model(variant, SHAPE, learning_rate=0.01)
    x = _images(64)
    history = model.fit(x, x, batch_size=32, epochs=3, verbose=0, shuffle=False).history
    assert all(np.isfinite(history["loss"]))
    assert history["mse"][-1] < history["mse"][0]

    path = tmp_path / f"{variant}.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert type(reloaded) is type(model)
    assert reloaded.count_params() == model.count_params()
    probe = _images(5, seed=3)
    codings = _np(arch.codings(model, probe))
    np.testing.assert_allclose(_np(arch.codings(reloaded, probe)), codings, atol=1e-6)
    np.testing.assert_allclose(_np(arch.decoder(reloaded)(codings)), _np(arch.decoder(model)(codings)),
                               atol=1e-6)
    if variant != "variational":  # the whole model is deterministic at inference
        np.testing.assert_allclose(_np(reloaded(probe)), _np(model(probe)), atol=1e-6)
    if variant == "tied":  # the ties survive the reload, and further training
        transposes = [layer for layer in arch.decoder(reloaded).layers
                      if isinstance(layer, arch.DenseTranspose)]
        encoder_dense = [layer for layer in arch.encoder(reloaded).layers
                         if isinstance(layer, keras.layers.Dense)]
        assert [t.dense for t in transposes] == encoder_dense[::-1]
        reloaded.fit(x, x, batch_size=32, epochs=1, verbose=0)
        assert len(reloaded.trainable_weights) == 6
