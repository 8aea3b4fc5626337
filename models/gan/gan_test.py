"""The GAN variants: the book's shapes, each training phase updating only
its own network, experience replay, save/load, and the trainer's export on
a tiny real Transform output (seeded generate, discriminate, scaling check)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

import keras
from models.common import image_testing
from models.gan import architectures, trainer

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

SHAPE = (12, 12, 1)


def _weights(model: keras.Model) -> list[np.ndarray]:
    return [keras.ops.convert_to_numpy(w).copy() for w in model.weights]


def _changed(before: list[np.ndarray], model: keras.Model) -> list[bool]:
    return [not np.array_equal(b, keras.ops.convert_to_numpy(w))
            for b, w in zip(before, model.weights)]


def test_book_dcgan_and_simple_gan_shapes():
    generator, discriminator = architectures.build_networks("dcgan", (28, 28, 1))
    assert generator.output.shape[1:] == (28, 28, 1)
    # Dense(100 → 7·7·128) + BN(128) + ConvT(128→64, 5x5) + BN(64) + ConvT(64→1, 5x5).
    assert generator.count_params() == (100 * 6272 + 6272) + 4 * 128 + (
        25 * 128 * 64 + 64) + 4 * 64 + (25 * 64 + 1)
    # Conv(1→64, 5x5) + Conv(64→128, 5x5) + Dense(7·7·128 → 1).
    assert discriminator.count_params() == (25 * 64 + 64) + (25 * 64 * 128 + 128) + (6272 + 1)
    generator, discriminator = architectures.build_networks("simple", (28, 28, 1))
    assert generator.input.shape[-1] == 30
    assert generator.count_params() == (30 * 100 + 100) + (100 * 150 + 150) + (150 * 784 + 784)
    with pytest.raises(ValueError, match="multiples of 4"):
        architectures.build_networks("dcgan", (10, 10, 1))
    with pytest.raises(ValueError, match="unknown gan variant"):
        architectures.build_networks("stylegan", SHAPE)


@pytest.mark.parametrize("variant", ["dcgan", "conditional"])
def test_each_phase_updates_only_its_own_network(variant):
    gan = architectures.build_model(variant, SHAPE, codings_size=8, num_classes=3)
    images = tf.random.uniform((6, *SHAPE), -1, 1)
    labels = tf.constant([0, 1, 2, 0, 1, 2])
    conditional = variant == "conditional"
    gan.train_generator(2)  # builds every optimizer variable before the snapshot
    gan.train_discriminator(images, labels if conditional else None)
    g_before, d_before = _weights(gan.generator), _weights(gan.discriminator)

    gan.train_discriminator(images, labels if conditional else None)
    assert not any(_changed(g_before, gan.generator))  # BN statistics included
    assert any(_changed(d_before, gan.discriminator))

    d_before = _weights(gan.discriminator)
    gan.train_generator(6)
    assert not any(_changed(d_before, gan.discriminator))
    changed = dict(zip([w.path for w in gan.generator.weights], _changed(g_before, gan.generator)))
    assert all(changed[w.path] for w in gan.generator.trainable_weights)


def test_experience_replay_fills_its_buffer_and_mixes_old_fakes():
    gan = architectures.build_model("simple", SHAPE, codings_size=4, replay_size=8,
                                    replay_fraction=0.5)
    images = tf.random.uniform((4, *SHAPE))
    gan.train_discriminator(images)
    assert int(gan.replay_filled) == 4
    first = keras.ops.convert_to_numpy(gan.replay_buffer)[:4].copy()
    assert np.abs(first).sum() > 0 and np.all(keras.ops.convert_to_numpy(gan.replay_buffer)[4:] == 0)
    gan.train_discriminator(images)
    gan.train_discriminator(images)  # the ring wraps: the first fakes are overwritten
    assert int(gan.replay_filled) == 12
    assert not np.array_equal(keras.ops.convert_to_numpy(gan.replay_buffer)[:4], first)


def test_fit_reports_both_losses_and_saves_and_loads(tmp_path):
    gan = architectures.build_model("conditional", SHAPE, codings_size=8, num_classes=3)
    images = np.random.default_rng(0).uniform(-1, 1, (16, *SHAPE)).astype("float32")
    labels = np.arange(16) % 3
    history = gan.fit(tf.data.Dataset.from_tensor_slices((images, labels)).batch(8), epochs=1,
                      validation_data=tf.data.Dataset.from_tensor_slices((images, labels)).batch(8),
                      verbose=0)
    assert {"d_loss", "g_loss", "val_d_loss", "val_g_loss"} <= set(history.history)
    path = str(tmp_path / "gan.keras")
    gan.save(path)
    loaded = keras.models.load_model(path, compile=False)
    assert isinstance(loaded, architectures.GAN) and loaded.conditional
    codings = tf.random.normal((3, 8))
    ids = tf.constant([0, 1, 2])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded.generator([codings, ids])),
                               keras.ops.convert_to_numpy(gan.generator([codings, ids])),
                               atol=1e-6)


@pytest.fixture(scope="module")
def transformed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gan_tft")
    images = image_testing.blobs(48, SHAPE)
    return image_testing.tiny_transform(str(tmp), images, np.arange(48) % 3, scaling="symmetric")


def _export(transformed, tmp_path, variant: str, **options):
    config = trainer.TrainConfig(variant=variant, batch_size=8, steps_per_epoch=3,
                                 num_classes=3, codings_size=8, **options)
    model, stats = trainer.train(config, transformed.files, transformed.files,
                                 transformed.tft_output, train_steps=6)
    serving = trainer.GanServing(model, transformed.tft_output, config)
    path = str(tmp_path / variant)
    tf.saved_model.save(serving, path, signatures=serving.signatures())
    return stats, tf.saved_model.load(path)


def test_dcgan_export_generates_seeded_uint8_images(transformed, tmp_path):
    stats, loaded = _export(transformed, tmp_path, "dcgan", replay_size=16)
    assert stats["epochs"] == 2 and stats["image_shape"] == list(SHAPE)
    assert set(loaded.signatures) == {"serving_default", "generate", "discriminate"}
    generate = loaded.signatures["generate"]
    first = generate(n=tf.constant(5), seed=tf.constant(1, tf.int64))
    assert first["images"].dtype == tf.uint8 and first["images"].shape == (5, *SHAPE)
    again = generate(n=tf.constant(5), seed=tf.constant(1, tf.int64))["images"]
    other = generate(n=tf.constant(5), seed=tf.constant(2, tf.int64))["images"]
    np.testing.assert_array_equal(first["images"].numpy(), again.numpy())
    assert not np.array_equal(first["images"].numpy(), other.numpy())
    # uint8 images are the tanh outputs mapped back from [-1, 1].
    expected = np.clip(np.round((first["scaled"].numpy() + 1) * 127.5), 0, 255)
    np.testing.assert_allclose(first["images"].numpy(), expected, atol=1)
    verdict = loaded.signatures["discriminate"](images=tf.constant(transformed.images[:4]))
    served = loaded.signatures["serving_default"](examples=tf.constant(transformed.examples[:4]))
    np.testing.assert_allclose(verdict["real_probability"].numpy(),
                               served["real_probability"].numpy(), atol=1e-6)
    with pytest.raises(tf.errors.InvalidArgumentError, match="n must be >= 1"):
        generate(n=tf.constant(0), seed=tf.constant(1, tf.int64))


def test_conditional_export_generates_the_asked_classes(transformed, tmp_path):
    _, loaded = _export(transformed, tmp_path, "conditional")
    out = loaded.signatures["generate"](n=tf.constant(7), seed=tf.constant(3, tf.int64))
    np.testing.assert_array_equal(out["labels"].numpy(), [0, 1, 2, 0, 1, 2, 0])
    asked = loaded.signatures["generate_labels"](labels=tf.constant([0, 1, 2, 0, 1, 2, 0],
                                                                    tf.int64),
                                                 seed=tf.constant(3, tf.int64))
    np.testing.assert_array_equal(asked["images"].numpy(), out["images"].numpy())
    with pytest.raises(tf.errors.InvalidArgumentError, match="class ids 0..2"):
        loaded.signatures["generate_labels"](labels=tf.constant([5], tf.int64),
                                             seed=tf.constant(3, tf.int64))
    verdict = loaded.signatures["discriminate"](images=tf.constant(transformed.images[:3]),
                                                labels=tf.constant([0, 1, 2], tf.int64))
    assert verdict["real_probability"].shape == (3,)


def test_scaling_must_match_the_output_activation(transformed):
    with pytest.raises(ValueError, match="'unit' scaling"):
        trainer.check_scaling(transformed.tft_output, "simple")  # sigmoid vs [-1, 1]
    trainer.check_scaling(transformed.tft_output, "dcgan")


@pytest.mark.parametrize("options, message", [
    ({"variant": "wgan"}, "Unknown gan variant"),
    ({"batch_size": 0}, "batch_size"),
    ({"replay_size": -1}, "replay_size"),
    ({"replay_fraction": 1.5}, "replay_fraction"),
    ({"variant": "conditional", "num_classes": 1}, "num_classes"),
    ({"learning_rate": -0.1}, "learning_rate"),
    ({"epochs": 3}, "unknown gan trainer options"),
])
def test_bad_options_are_named(options, message):
    with pytest.raises(ValueError, match=message):
        trainer.TrainConfig.from_custom_config(options)
