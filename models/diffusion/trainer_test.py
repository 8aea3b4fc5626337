"""Diffusion trainer on a tiny real Transform output: the noising datasets,
a few training steps through `run_fn`, the exported serving module and
every one of its signatures, and the options' checks."""

from __future__ import annotations

import json
import os
import types

import keras
import numpy as np
import pytest
import tensorflow as tf

from models.common import image_testing
from models.common import training as common_training
from models.diffusion import architectures, sampling, trainer

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

SHAPE = (8, 8, 1)
N_IMAGES = 32
T = 40


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return image_testing.tiny_transform(str(tmp_path_factory.mktemp("diffusion_tft")),
                                        image_testing.blobs(N_IMAGES, SHAPE),
                                        np.arange(N_IMAGES) % 2, scaling="symmetric")


@pytest.fixture(scope="module")
def exported(data, tmp_path_factory):
    """Four training steps (two epochs) through run_fn, as the Trainer runs it."""
    tmp = tmp_path_factory.mktemp("diffusion_run")
    custom_config = {"timesteps": T, "batch_size": 8, "steps_per_epoch": 2}
    fn_args = types.SimpleNamespace(
        custom_config=custom_config, transform_output=os.path.dirname(
            data.tft_output.transform_savedmodel_dir),
        train_files=data.files, eval_files=data.files, train_steps=4, eval_steps=None,
        model_run_dir=str(tmp / "run"), serving_model_dir=str(tmp / "serving"))
    trainer.run_fn(fn_args)
    with open(os.path.join(fn_args.model_run_dir, "training_stats.json")) as f:
        stats = json.load(f)
    return {"config": trainer.TrainConfig(**custom_config), "stats": stats,
            "model": keras.models.load_model(
                os.path.join(fn_args.model_run_dir, common_training.KERAS_FILE)),
            "loaded": tf.saved_model.load(fn_args.serving_model_dir)}


def _batches(data, config, training: bool, count: int):
    ds = trainer.make_dataset(data.files, data.tft_output, config, training=training)
    return [(x["X_noisy"].numpy(), x["time"].numpy(), noise.numpy())
            for x, noise in ds.take(count)]


def test_datasets_noise_the_scaled_images(data):
    config = trainer.TrainConfig(timesteps=T, batch_size=8)
    (x_t, t, noise), = _batches(data, config, training=False, count=1)
    assert x_t.shape == noise.shape == (8, *SHAPE) and t.shape == (8,) and t.dtype == np.int32
    assert t.min() >= 1 and t.max() <= T
    scaled = data.images[:8].astype(np.float32) / 127.5 - 1  # the symmetric scaling
    a = config.schedule().alpha_bar[t].reshape(-1, 1, 1, 1)
    np.testing.assert_allclose(x_t, np.sqrt(a) * scaled + np.sqrt(1 - a) * noise, atol=1e-5)

    first, again = (_batches(data, config, training=True, count=3) for _ in range(2))
    for (x1, t1, n1), (x2, t2, n2) in zip(first, again):  # seeded
        np.testing.assert_array_equal(t1, t2)
        np.testing.assert_array_equal(n1, n2)
    assert not np.array_equal(first[0][1], first[1][1])  # a fresh draw every batch


def test_validation_noise_belongs_to_each_image_not_to_its_batch(data):
    small, large = (trainer.TrainConfig(timesteps=T, batch_size=size) for size in (8, 16))
    by_8 = _batches(data, small, training=False, count=4)
    by_16 = _batches(data, large, training=False, count=2)
    for i in range(3):  # X_noisy, time, noise: the same image by image
        np.testing.assert_array_equal(np.concatenate([b[i] for b in by_8]),
                                      np.concatenate([b[i] for b in by_16]))


def test_training_records_its_validation_loss(exported):
    stats = exported["stats"]
    assert stats["epochs"] == 2 and len(stats["history"]["val_loss"]) == 2
    assert all(np.isfinite(stats["history"]["val_loss"]))
    assert stats["timesteps"] == T and stats["image_shape"] == list(SHAPE)
    assert stats["book_val_loss"] == architectures.BOOK_VAL_LOSS
    assert stats["config"]["timesteps"] == T


def _generate(loaded, sampler: str, steps: int, seed: int = 3, n: int = 2):
    return {k: v.numpy() for k, v in loaded.signatures["generate"](
        n=tf.constant(n), seed=tf.constant(seed, tf.int64), steps=tf.constant(steps),
        sampler=tf.constant(sampler)).items()}


def test_generate_is_seeded_with_either_sampler(exported):
    loaded, model, config = exported["loaded"], exported["model"], exported["config"]
    ddim = _generate(loaded, "ddim", 5)
    assert ddim["images"].dtype == np.uint8 and ddim["images"].shape == (2, *SHAPE)
    assert ddim["scaled"].dtype == np.float32 and np.abs(ddim["scaled"]).max() <= 1.0
    np.testing.assert_array_equal(ddim["images"], np.round((ddim["scaled"] + 1) * 127.5))
    np.testing.assert_array_equal(ddim["images"], _generate(loaded, "ddim", 5)["images"])
    assert not np.array_equal(ddim["scaled"], _generate(loaded, "ddim", 5, seed=4)["scaled"])
    assert _generate(loaded, "ddim", 1, n=3)["images"].shape == (3, *SHAPE)

    # The served sampler is the in-process one on the trained U-Net.
    direct = sampling.ddim(lambda x, t: model({"X_noisy": x, "time": t}, training=False),
                           config.schedule(), tf.constant([2, *SHAPE]), tf.constant(3, tf.int64),
                           tf.constant(5))
    np.testing.assert_allclose(ddim["scaled"], direct, atol=1e-4)

    ddpm = _generate(loaded, "ddpm", T)
    np.testing.assert_array_equal(ddpm["images"], _generate(loaded, "ddpm", 0)["images"])
    assert np.abs(ddpm["scaled"]).max() <= 1.0


@pytest.mark.parametrize("sampler, steps, n, message", [
    ("euler", 5, 2, "sampler must be one of ddpm, ddim"),
    ("ddim", T + 1, 2, f"ddim steps must be between 1 and {T}"),
    ("ddim", 0, 2, f"ddim steps must be between 1 and {T}"),
    ("ddpm", 5, 2, f"ddpm sampler takes all T = {T} steps"),
    ("ddim", 5, 0, "n must be >= 1"),
    ("ddim", 5, trainer.MAX_IMAGES + 1, f"n must be <= {trainer.MAX_IMAGES}"),
])
def test_generate_refuses_bad_arguments(exported, sampler, steps, n, message):
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        _generate(exported["loaded"], sampler, steps, n=n)


def test_examples_are_scored_reproducibly(exported, data):
    score = exported["loaded"].signatures["serving_default"]
    examples = data.examples[:6]
    losses = score(examples=tf.constant(examples))["denoising_loss"].numpy()
    assert losses.shape == (6,) and np.all(losses > 0)
    np.testing.assert_array_equal(losses, score(examples=tf.constant(examples))[
        "denoising_loss"].numpy())
    # Each example's step and noise come from the example: order does not matter.
    np.testing.assert_allclose(score(examples=tf.constant(examples[::-1]))[
        "denoising_loss"].numpy(), losses[::-1], rtol=1e-6)


def test_predict_noise(exported, data):
    predict = exported["loaded"].signatures["predict_noise"]
    time = tf.constant([1, 20, T])
    out = {k: v.numpy() for k, v in predict(images=tf.constant(data.images[:3]), time=time,
                                            seed=tf.constant(1, tf.int64)).items()}
    assert out["predicted_noise"].shape == out["noise"].shape == out["noisy"].shape == (3, *SHAPE)
    np.testing.assert_allclose(out["denoising_loss"],
                               trainer.huber(out["predicted_noise"], out["noise"]), rtol=1e-6)
    keras_prediction = exported["model"]({"X_noisy": tf.constant(out["noisy"]), "time": time},
                                         training=False)
    np.testing.assert_allclose(out["predicted_noise"], keras_prediction, atol=1e-5)
    with pytest.raises(tf.errors.InvalidArgumentError, match=f"time must be between 1 and {T}"):
        predict(images=tf.constant(data.images[:1]), time=tf.constant([0]),
                seed=tf.constant(1, tf.int64))


def test_pixels_must_be_scaled_to_plus_minus_one(tmp_path):
    unit = image_testing.tiny_transform(str(tmp_path), image_testing.blobs(4, SHAPE),
                                        np.zeros(4), scaling="unit")
    with pytest.raises(ValueError, match="'symmetric' scaling"):
        trainer.train(trainer.TrainConfig(timesteps=T), unit.files, unit.files, unit.tft_output,
                      train_steps=1)


@pytest.mark.parametrize("options, message", [
    ({"variant": "ddim"}, "Unknown diffusion variant"),
    ({"timesteps": 0}, "timesteps must be >= 1"),
    ({"timesteps": 40.0}, "timesteps must be an integer"),
    ({"s": 0.0}, "s must be"),
    ({"max_beta": 1.5}, "max_beta"),
    ({"batch_size": 0}, "batch_size"),
    ({"steps_per_epoch": 0}, "steps_per_epoch"),
    ({"shuffle_buffer": 0}, "shuffle_buffer"),
    ({"seed": -1}, "seed"),
    ({"learning_rate": 0.0}, "learning_rate"),
    ({"source_digest": 3}, "source_digest"),
    ({"epochs": 3}, "unknown diffusion trainer options"),
])
def test_bad_options(options, message):
    with pytest.raises(ValueError, match=message):
        trainer.TrainConfig.from_custom_config(options)
