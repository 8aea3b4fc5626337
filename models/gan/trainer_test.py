"""GAN trainer on tiny real Transform outputs: the datasets, the scaling
check, a few training steps through `train` and `run_fn`, and the exported
serving module with every one of its signatures."""

from __future__ import annotations

import os
import types

import keras
import numpy as np
import pytest
import tensorflow as tf

from models.common import image_testing
from models.common import training as common_training
from models.gan import architectures, trainer

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

SHAPE = (12, 12, 1)
N_IMAGES = 48
N_CLASSES = 3


def _transform(tmp_path_factory, name: str, scaling: str) -> image_testing.TinyTransform:
    directory = str(tmp_path_factory.mktemp(name))
    images = image_testing.blobs(N_IMAGES, SHAPE)
    return image_testing.tiny_transform(directory, images, np.arange(N_IMAGES) % N_CLASSES,
                                        scaling=scaling)


@pytest.fixture(scope="module")
def symmetric(tmp_path_factory):
    """Pixels in [-1, 1]: what the DCGAN and the conditional GAN need."""
    return _transform(tmp_path_factory, "gan_symmetric", "symmetric")


@pytest.fixture(scope="module")
def unit(tmp_path_factory):
    """Pixels in [0, 1]: what the simple GAN needs."""
    return _transform(tmp_path_factory, "gan_unit", "unit")


def _config(variant: str, **options) -> trainer.TrainConfig:
    options = {"codings_size": 8, "batch_size": 8, "steps_per_epoch": 2,
               "num_classes": N_CLASSES, **options}
    return trainer.TrainConfig(variant=variant, **options)


def _export(model, transformed, config, path) -> tf.Module:
    serving = trainer.GanServing(model, transformed.tft_output, config)
    tf.saved_model.save(serving, str(path), signatures=serving.signatures())
    return tf.saved_model.load(str(path))


def _call(loaded, name: str, **inputs) -> dict[str, np.ndarray]:
    return {k: v.numpy() for k, v in loaded.signatures[name](**inputs).items()}


def _generate(loaded, n: int, seed: int) -> dict[str, np.ndarray]:
    return _call(loaded, "generate", n=tf.constant(n, tf.int32), seed=tf.constant(seed, tf.int64))


# --- Inputs ----------------------------------------------------------------------


def test_datasets_feed_scaled_images_and_labels_for_the_conditional_gan(symmetric):
    images = next(iter(trainer.make_dataset(symmetric.files, symmetric.tft_output,
                                            _config("dcgan"), training=False)))
    assert images.shape == (8, *SHAPE) and images.dtype == tf.float32
    np.testing.assert_allclose(images.numpy(), symmetric.images[:8] / 127.5 - 1.0, atol=1e-6)

    images, labels = next(iter(trainer.make_dataset(symmetric.files, symmetric.tft_output,
                                                    _config("conditional"), training=True)))
    assert images.shape == (8, *SHAPE) and labels.dtype == tf.int32
    assert set(labels.numpy()) <= set(range(N_CLASSES))

    too_few = _config("conditional", num_classes=2)  # the data has a label 2
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"num_classes=2"):
        for _ in trainer.make_dataset(symmetric.files, symmetric.tft_output, too_few,
                                      training=False):
            pass


def test_the_scaling_must_match_the_generator_output(symmetric, unit):
    trainer.check_scaling(symmetric.tft_output, "dcgan")
    trainer.check_scaling(symmetric.tft_output, "conditional")
    trainer.check_scaling(unit.tft_output, "simple")
    with pytest.raises(ValueError, match=r"\[0, 1\].*'unit' scaling"):  # sigmoid on [-1, 1]
        trainer.train(_config("simple"), symmetric.files, symmetric.files, symmetric.tft_output,
                      train_steps=1)
    with pytest.raises(ValueError, match=r"\[-1, 1\].*'symmetric' scaling"):  # tanh on [0, 1]
        trainer.check_scaling(unit.tft_output, "dcgan")


# --- Training and export ---------------------------------------------------------


def test_dcgan_trains_and_exports_every_signature(symmetric, tmp_path):
    config = _config("dcgan", replay_size=16)
    model, stats = trainer.train(config, symmetric.files, symmetric.files, symmetric.tft_output,
                                 train_steps=4, eval_steps=2)
    assert stats["epochs"] == 2 and stats["image_shape"] == list(SHAPE)
    assert stats["codings_size"] == 8
    assert stats["generator_parameters"] == model.generator.count_params()
    assert {"d_loss", "g_loss", "val_d_loss", "val_g_loss"} <= set(stats["history"])
    assert int(keras.ops.convert_to_numpy(model.replay_filled)) == 16

    loaded = _export(model, symmetric, config, tmp_path / "dcgan")
    assert set(loaded.signatures) == {"serving_default", "generate", "discriminate"}

    first = _generate(loaded, 5, seed=1)
    assert set(first) == {"images", "scaled", "codings"}
    assert first["images"].shape == (5, *SHAPE) and first["images"].dtype == np.uint8
    assert first["codings"].shape == (5, 8)
    # Seeded and stateless: the same seed gives the same images, another
    # seed others, and the first images do not depend on how many are asked.
    again, other = _generate(loaded, 5, seed=1), _generate(loaded, 5, seed=2)
    more = _generate(loaded, 9, seed=1)
    np.testing.assert_array_equal(first["images"], again["images"])
    assert not np.array_equal(first["codings"], other["codings"])
    assert not np.array_equal(first["scaled"], other["scaled"])
    np.testing.assert_allclose(more["codings"][:5], first["codings"], atol=0)
    # The generator in inference mode, its tanh outputs mapped back from [-1, 1].
    np.testing.assert_allclose(
        first["scaled"], keras.ops.convert_to_numpy(model.generator(first["codings"])), atol=1e-5)
    expected = np.clip(np.round((first["scaled"] + 1.0) * 127.5), 0, 255)
    np.testing.assert_allclose(first["images"], expected, atol=1)

    verdict = _call(loaded, "discriminate", images=tf.constant(symmetric.images[:4]))
    assert verdict["real_probability"].shape == (4,)
    keras_view = model.discriminator(symmetric.images[:4] / 127.5 - 1.0, training=False)
    np.testing.assert_allclose(verdict["real_probability"],
                               keras.ops.convert_to_numpy(keras_view)[:, 0], atol=1e-5)
    served = _call(loaded, "serving_default", examples=tf.constant(symmetric.examples[:4]))
    np.testing.assert_allclose(served["real_probability"], verdict["real_probability"], atol=1e-6)
    np.testing.assert_array_equal(  # deterministic: dropout is off
        _call(loaded, "discriminate", images=tf.constant(symmetric.images[:4]))["real_probability"],
        verdict["real_probability"])

    with pytest.raises(tf.errors.InvalidArgumentError, match="n must be >= 1"):
        _generate(loaded, 0, seed=1)
    with pytest.raises(tf.errors.InvalidArgumentError, match="n must be <= 10000"):
        _generate(loaded, trainer.MAX_IMAGES + 1, seed=1)


def test_conditional_export_generates_balanced_and_asked_classes(symmetric, tmp_path):
    config = _config("conditional")
    model = trainer.build_model(config, SHAPE)  # untrained: the export is the point
    loaded = _export(model, symmetric, config, tmp_path / "conditional")
    assert set(loaded.signatures) == {"serving_default", "generate", "generate_labels",
                                      "discriminate"}

    out = _generate(loaded, 7, seed=3)
    np.testing.assert_array_equal(out["labels"], [0, 1, 2, 0, 1, 2, 0])
    assert out["labels"].dtype == np.int64 and out["images"].shape == (7, *SHAPE)
    assert np.bincount(_generate(loaded, 30, seed=4)["labels"]).tolist() == [10, 10, 10]
    np.testing.assert_array_equal(_generate(loaded, 7, seed=3)["images"], out["images"])
    assert not np.array_equal(_generate(loaded, 7, seed=5)["scaled"], out["scaled"])

    asked = _call(loaded, "generate_labels", labels=tf.constant(out["labels"]),
                  seed=tf.constant(3, tf.int64))
    for key in ("images", "scaled", "codings", "labels"):
        np.testing.assert_array_equal(asked[key], out[key])
    # The label steers the generator: the same codings, another class.
    shifted = _call(loaded, "generate_labels", labels=tf.constant((out["labels"] + 1) % 3),
                    seed=tf.constant(3, tf.int64))
    np.testing.assert_array_equal(shifted["codings"], out["codings"])
    assert not np.array_equal(shifted["scaled"], out["scaled"])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"class ids 0\.\.2"):
        _call(loaded, "generate_labels", labels=tf.constant([0, 5], tf.int64),
              seed=tf.constant(3, tf.int64))

    images, labels = symmetric.images[:4], symmetric.labels[:4]
    verdict = _call(loaded, "discriminate", images=tf.constant(images), labels=tf.constant(labels))
    assert verdict["real_probability"].shape == (4,)
    served = _call(loaded, "serving_default", examples=tf.constant(symmetric.examples[:4]))
    np.testing.assert_allclose(served["real_probability"], verdict["real_probability"], atol=1e-6)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"class ids 0\.\.2"):
        _call(loaded, "discriminate", images=tf.constant(images[:1]),
              labels=tf.constant([-1], tf.int64))


def test_run_fn_trains_the_simple_gan_and_saves_both_models(unit, tmp_path):
    fn_args = types.SimpleNamespace(
        custom_config={"variant": "simple", "batch_size": 8, "steps_per_epoch": 2, "seed": 7},
        transform_output=os.path.dirname(unit.tft_output.transform_savedmodel_dir),
        train_files=unit.files, eval_files=unit.files, train_steps=2, eval_steps=1,
        model_run_dir=str(tmp_path / "run"), serving_model_dir=str(tmp_path / "serving"))
    trainer.run_fn(fn_args)

    model = keras.models.load_model(common_training.keras_model_path(fn_args.serving_model_dir))
    assert isinstance(model, architectures.GAN) and model.codings_size == 30
    loaded = tf.saved_model.load(fn_args.serving_model_dir)
    out = _generate(loaded, 3, seed=0)
    assert out["codings"].shape == (3, 30)
    # Sigmoid outputs in [0, 1] back to uint8 pixels, by the reloaded Keras generator too.
    np.testing.assert_allclose(out["images"], np.round(out["scaled"] * 255), atol=1)
    np.testing.assert_allclose(out["scaled"], keras.ops.convert_to_numpy(
        model.generator(out["codings"])), atol=1e-5)
    served = _call(loaded, "serving_default", examples=tf.constant(unit.examples[:2]))
    assert served["real_probability"].shape == (2,)


# --- Options ---------------------------------------------------------------------


def test_defaults_are_the_book_dcgan():
    config = trainer.TrainConfig.from_custom_config({})
    assert (config.variant, config.batch_size, config.codings_size) == ("dcgan", 32, 0)
    assert config.steps_per_epoch == 1719  # 55,000 images / 32
    assert not config.conditional and trainer.TrainConfig(variant="conditional").conditional


@pytest.mark.parametrize("options, message", [
    ({"variant": "wgan"}, "Unknown gan variant"),
    ({"variant": 3}, "Variant name must be a string"),
    ({"codings_size": -1}, "codings_size"),
    ({"batch_size": 0}, "batch_size"),
    ({"batch_size": "32"}, "batch_size must be an integer"),
    ({"steps_per_epoch": 0}, "steps_per_epoch"),
    ({"shuffle_buffer": 0}, "shuffle_buffer"),
    ({"learning_rate": -0.1}, "learning_rate"),
    ({"learning_rate": float("nan")}, "learning_rate"),
    ({"replay_size": -1}, "replay_size"),
    ({"replay_fraction": 1.5}, "replay_fraction"),
    ({"replay_fraction": "half"}, "replay_fraction"),
    ({"variant": "conditional", "num_classes": 1}, "num_classes"),
    ({"num_classes": 0}, "num_classes"),
    ({"seed": -1}, "seed"),
    ({"source_digest": 5}, "source_digest"),
    ({"epochs": 3}, "unknown gan trainer options"),
])
def test_bad_options_are_named(options, message):
    with pytest.raises(ValueError, match=message):
        trainer.TrainConfig.from_custom_config(options)
