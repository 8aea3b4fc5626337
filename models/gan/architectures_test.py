"""Tests for models.gan.architectures (TensorFlow backend).

The book's 28×28 sizes are checked by parameter counts only; everything that
trains uses 12×12 images and a few steps.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from models.gan import architectures as arch

SHAPE = (12, 12, 1)
BOOK_SHAPE = (28, 28, 1)


def _np(x) -> np.ndarray:
    return np.array(keras.ops.convert_to_numpy(x))


def _snapshot(model: keras.Model) -> dict[str, np.ndarray]:
    """Every weight, trainable or not (batch-norm statistics included), by path.
    Random-number generator states (dropout's seeds) are variables, not
    weights, and are left out."""
    return {w.path: _np(w).copy() for w in model.weights}


def _changed(before: dict[str, np.ndarray], model: keras.Model) -> set[str]:
    return {w.path for w in model.weights if not np.array_equal(before[w.path], _np(w))}


def _images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, (n, *SHAPE)).astype("float32")


# --- The book's networks ---------------------------------------------------------


def test_the_book_sizes_and_parameter_counts():
    pixels = 28 * 28
    generator, discriminator = arch.build_networks("simple", BOOK_SHAPE)
    assert tuple(generator.input.shape) == (None, 30)
    assert tuple(generator.output.shape) == (None, *BOOK_SHAPE)
    # 30-100-150-784, then 784-150-100-1.
    assert generator.count_params() == ((30 * 100 + 100) + (100 * 150 + 150)
                                        + (150 * pixels + pixels))
    assert discriminator.count_params() == (pixels * 150 + 150) + (150 * 100 + 100) + (100 + 1)

    generator, discriminator = arch.build_networks("dcgan", BOOK_SHAPE)
    assert tuple(generator.input.shape) == (None, 100)
    assert tuple(generator.get_layer("grid").output.shape) == (None, 7, 7, 128)  # the book's start
    assert tuple(generator.output.shape) == (None, *BOOK_SHAPE)
    # Dense(100 → 7·7·128) + BN(128: γ, β, moving mean and variance)
    # + ConvT(128 → 64, 5×5) + BN(64) + ConvT(64 → 1, 5×5).
    expected = ((100 * 6272 + 6272) + 4 * 128 + (25 * 128 * 64 + 64) + 4 * 64 + (25 * 64 + 1))
    assert generator.count_params() == expected == 840_705
    assert len(generator.non_trainable_weights) == 4  # the two BNs' moving statistics
    # Conv(1 → 64, 5×5) + Conv(64 → 128, 5×5) + Dense(7·7·128 → 1).
    expected = (25 * 64 + 64) + (25 * 64 * 128 + 128) + (6272 + 1)
    assert discriminator.count_params() == expected == 212_865
    assert tuple(discriminator.output.shape) == (None, 1)

    generator, discriminator = arch.build_networks("conditional", BOOK_SHAPE, num_classes=10)
    # The DCGAN's, with a 50-d label embedding concatenated to the codings...
    assert generator.count_params() == 840_705 + 10 * 50 + 50 * 6272
    # ...and as an extra image channel: embedding → Dense(28·28), one more
    # input channel for the first convolution.
    assert discriminator.count_params() == (212_865 + 10 * 50 + (50 * pixels + pixels)
                                            + 25 * 64)
    assert [tuple(i.shape) for i in discriminator.inputs] == [(None, *BOOK_SHAPE), (None,)]


@pytest.mark.parametrize("variant", arch.VARIANTS)
def test_every_variant_builds_compiled_with_two_optimizers(variant):
    model = arch.build_model(variant, SHAPE, codings_size=8, num_classes=3, learning_rate=0.01)
    assert model.codings_size == 8 and model.conditional == (variant == "conditional")
    assert isinstance(model.d_optimizer, keras.optimizers.RMSprop)
    assert isinstance(model.g_optimizer, keras.optimizers.RMSprop)
    assert model.d_optimizer is not model.g_optimizer
    assert float(_np(model.d_optimizer.learning_rate)) == pytest.approx(0.01)
    codings = tf.random.normal((2, 8))
    inputs = [codings, tf.constant([0, 2])] if model.conditional else codings
    images = _np(model(inputs))
    assert images.shape == (2, *SHAPE)
    low, high = arch.OUTPUT_RANGE[arch.SCALING[variant]]
    assert low <= images.min() and images.max() <= high
    assert arch.build_model(variant, SHAPE).codings_size == arch.CODINGS_SIZE[variant]


def test_constants_cover_every_variant():
    for table in (arch.CODINGS_SIZE, arch.BOOK_EPOCHS, arch.BOOK_BATCH_SIZE, arch.SCALING):
        assert set(table) == set(arch.VARIANTS)
    assert arch.DEFAULT_VARIANT in arch.VARIANTS
    assert arch.BOOK_EPOCHS["simple"] == 50 and arch.BOOK_BATCH_SIZE["dcgan"] == 32
    assert arch.SCALING == {"simple": "unit", "dcgan": "symmetric", "conditional": "symmetric"}


@pytest.mark.parametrize("call, message", [
    (lambda: arch.build_networks("dcgan", (10, 10, 1)), "multiples of 4"),
    (lambda: arch.build_networks("stylegan", SHAPE), "Unknown gan variant"),
    (lambda: arch.build_networks("dcgan", (12, 12)), "image_shape"),
    (lambda: arch.build_networks("simple", SHAPE, codings_size=-3), "codings_size"),
    (lambda: arch.build_networks("conditional", SHAPE, num_classes=1), "num_classes"),
    (lambda: arch.build_model("dcgan", SHAPE, replay_size=-1), "replay_size"),
    (lambda: arch.build_model("dcgan", SHAPE, replay_fraction=1.5), "replay_fraction"),
    (lambda: arch.build_model("dcgan", SHAPE, learning_rate=-1.0), "learning_rate"),
])
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --- Two-phase training ----------------------------------------------------------


@pytest.mark.parametrize("variant", ["dcgan", "conditional"])
def test_each_phase_updates_only_its_own_network(variant):
    gan = arch.build_model(variant, SHAPE, codings_size=8, num_classes=3)
    images = tf.constant(_images(6))
    labels = tf.constant([0, 1, 2, 0, 1, 2]) if gan.conditional else None
    g_before, d_before = _snapshot(gan.generator), _snapshot(gan.discriminator)

    gan.train_discriminator(images, labels)
    # Not a generator weight moves, its batch-norm statistics included: the
    # generator makes the fakes in inference mode, as in the book's loop.
    assert _changed(g_before, gan.generator) == set()
    assert _changed(d_before, gan.discriminator) == {
        w.path for w in gan.discriminator.trainable_weights}
    assert int(_np(gan.d_optimizer.iterations)) == 1
    assert int(_np(gan.g_optimizer.iterations)) == 0

    d_before = _snapshot(gan.discriminator)
    gan.train_generator(6)
    assert _changed(d_before, gan.discriminator) == set()
    # Every generator weight moves: the trainable ones by the step, the
    # moving statistics because the generator trains in training mode.
    assert _changed(g_before, gan.generator) == {w.path for w in gan.generator.weights}
    assert int(_np(gan.d_optimizer.iterations)) == 1
    assert int(_np(gan.g_optimizer.iterations)) == 1


def test_experience_replay_fills_the_ring_and_mixes_in_past_fakes():
    gan = arch.build_model("conditional", SHAPE, codings_size=4, num_classes=3, replay_size=6,
                           replay_fraction=0.5)
    first = tf.fill((4, *SHAPE), 0.25)
    mixed, labels = gan.replay_fakes(first, tf.constant([0, 1, 2, 0]))
    # Nothing to replay yet: the batch is unchanged, and stored with its labels.
    np.testing.assert_array_equal(_np(mixed), _np(first))
    assert int(_np(gan.replay_filled)) == 4 and int(_np(gan.replay_next)) == 4
    np.testing.assert_array_equal(_np(gan.replay_labels)[:4], [0, 1, 2, 0])
    np.testing.assert_array_equal(_np(gan.replay_images)[:4], _np(first))
    assert not _np(gan.replay_images)[4:].any()

    second = tf.fill((4, *SHAPE), -0.5)
    mixed, labels = gan.replay_fakes(second, tf.constant([1, 1, 1, 1]))
    # Half the batch comes from the buffer (fakes of the first batch, with
    # their own labels); the rest is new.
    np.testing.assert_array_equal(_np(mixed)[:2], _np(first)[:2])
    np.testing.assert_array_equal(_np(mixed)[2:], _np(second)[2:])
    assert set(_np(labels)[:2]) <= {0, 1, 2} and list(_np(labels)[2:]) == [1, 1]
    # The ring wrapped: slots 4, 5, 0, 1 hold the second batch.
    assert int(_np(gan.replay_filled)) == 6 and int(_np(gan.replay_next)) == 2
    stored = _np(gan.replay_images)[:, 0, 0, 0]
    np.testing.assert_array_equal(stored, [-0.5, -0.5, 0.25, 0.25, -0.5, -0.5])

    # A batch larger than the ring keeps its last fakes only.
    third = tf.reshape(tf.range(8, dtype=tf.float32), (8, 1, 1, 1)) * tf.ones((8, *SHAPE))
    gan.replay_fakes(third, tf.zeros((8,), tf.int32))
    assert sorted(_np(gan.replay_images)[:, 0, 0, 0]) == [2, 3, 4, 5, 6, 7]

    # In training, the discriminator phase feeds the buffer.
    gan.train_discriminator(tf.constant(_images(4)), tf.constant([0, 1, 2, 0]))
    assert int(_np(gan.replay_next)) == (2 + 6 + 4) % 6


def test_fit_validates_and_the_model_saves_and_loads(tmp_path):
    gan = arch.build_model("conditional", SHAPE, codings_size=8, num_classes=3, replay_size=4)
    data = tf.data.Dataset.from_tensor_slices((_images(8), np.arange(8) % 3)).batch(4)
    history = gan.fit(data, epochs=1, validation_data=data, shuffle=False, verbose=0).history
    for name in ("d_loss", "g_loss", "d_real_accuracy", "d_fake_accuracy"):
        assert np.isfinite(history[name][0]) and np.isfinite(history[f"val_{name}"][0])
    assert int(_np(gan.d_optimizer.iterations)) == int(_np(gan.g_optimizer.iterations)) == 2
    assert int(_np(gan.replay_filled)) == 4

    path = str(tmp_path / "gan.keras")
    gan.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, arch.GAN) and loaded.conditional and loaded.num_classes == 3
    assert (loaded.replay_size, loaded.seed, loaded.codings_size) == (4, 42, 8)
    codings, ids = tf.random.normal((3, 8)), tf.constant([0, 1, 2])
    np.testing.assert_array_equal(_np(loaded.generator([codings, ids], training=False)),
                                  _np(gan.generator([codings, ids], training=False)))
    images = tf.constant(_images(3))
    np.testing.assert_array_equal(_np(loaded.discriminator([images, ids])),
                                  _np(gan.discriminator([images, ids])))
    # Both optimizers come back compiled, with their state, and so does the buffer.
    assert int(_np(loaded.d_optimizer.iterations)) == int(_np(loaded.g_optimizer.iterations)) == 2
    for old, new in zip(gan.d_optimizer.variables + gan.g_optimizer.variables,
                        loaded.d_optimizer.variables + loaded.g_optimizer.variables):
        np.testing.assert_array_equal(_np(old), _np(new))
    np.testing.assert_array_equal(_np(loaded.replay_images), _np(gan.replay_images))
    loaded.train_generator(2)  # training resumes where it stopped
    assert int(_np(loaded.g_optimizer.iterations)) == 3
