"""DDPM: the cosine schedule, the forward process, both samplers against
NumPy references (DDIM recovers x0 from an oracle at any step count; at
steps = T it is the deterministic limit), the U-Net's save/load, and the
trainer's export on a tiny real Transform output."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from models.common import image_testing
from models.diffusion import architectures, sampling, trainer
from models.diffusion.schedule import cosine_schedule, noisy

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

SHAPE = (8, 8, 1)


# -- schedule ---------------------------------------------------------------------


def test_cosine_schedule_values():
    schedule = cosine_schedule(4000, s=0.008, max_beta=0.999)
    assert schedule.timesteps == 4000 and len(schedule.alpha_bar) == 4001
    assert schedule.alpha[0] == 1 and schedule.alpha_bar[0] == 1 and schedule.beta[0] == 0
    assert np.all(np.diff(schedule.alpha_bar) < 0)  # strictly decreasing
    assert schedule.beta.max() <= 0.999 + 1e-7 and schedule.beta[-1] == pytest.approx(0.999)
    assert schedule.alpha_bar[-1] < 1e-6
    f = lambda t: math.cos((t / 4000 + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
    for t in (1, 100, 2000, 3500):
        assert schedule.alpha_bar[t] == pytest.approx(f(t) / f(0), rel=1e-4)
    np.testing.assert_allclose(schedule.alpha_bar, np.cumprod(schedule.alpha), rtol=1e-5)
    with pytest.raises(ValueError, match="max_beta"):
        cosine_schedule(10, max_beta=1.0)


def test_forward_noising_at_known_steps():
    schedule = cosine_schedule(50)
    x0 = np.random.default_rng(0).uniform(-1, 1, (3, *SHAPE)).astype(np.float32)
    eps = np.random.default_rng(1).normal(size=x0.shape).astype(np.float32)
    t = np.array([1, 25, 50])
    got = noisy(tf.constant(x0), tf.constant(t), tf.constant(eps),
                tf.constant(schedule.alpha_bar)).numpy()
    a = schedule.alpha_bar[t].reshape(-1, 1, 1, 1)
    np.testing.assert_allclose(got, np.sqrt(a) * x0 + np.sqrt(1 - a) * eps, rtol=1e-5, atol=1e-6)
    assert np.abs(got[0] - x0[0]).mean() < 0.05  # t = 1: nearly clean


# -- samplers ---------------------------------------------------------------------

T = 40


def _oracle(x0: np.ndarray, schedule):
    """The noise predictor that knows x0: ε̂ = (x_t − √ᾱ_t x0) / √(1 − ᾱ_t)."""
    alpha_bar = tf.constant(schedule.alpha_bar)

    def predict(x, t):
        a = tf.reshape(tf.gather(alpha_bar, t), [-1, 1, 1, 1])
        return (x - tf.sqrt(a) * x0) / tf.sqrt(1.0 - a)

    return predict


def _linear_model(x, t):
    """A fixed, t-dependent stand-in for a network: enough to compare updates."""
    return 0.3 * x + 0.01 * tf.cast(tf.reshape(t, [-1, 1, 1, 1]), tf.float32)


@pytest.mark.parametrize("steps", [1, 3, 10, T])
def test_ddim_recovers_x0_from_an_oracle_at_any_step_count(steps):
    schedule = cosine_schedule(T)
    x0 = np.random.default_rng(2).uniform(-0.9, 0.9, (2, *SHAPE)).astype(np.float32)
    shape = tf.constant([2, *SHAPE])
    out = sampling.ddim(_oracle(x0, schedule), schedule, shape, tf.constant(7, tf.int64),
                        tf.constant(steps)).numpy()
    np.testing.assert_allclose(out, x0, atol=1e-4)


def test_ddim_with_all_steps_is_the_deterministic_limit():
    schedule = cosine_schedule(T)
    shape = tf.constant([2, *SHAPE])
    seed = tf.constant(11, tf.int64)
    out = sampling.ddim(_linear_model, schedule, shape, seed, tf.constant(T), clip=False).numpy()
    # NumPy reference of the η = 0 update at every t = T..1.
    x = sampling.initial_noise(shape, seed).numpy()
    a = schedule.alpha_bar.astype(np.float64)
    for t in range(T, 0, -1):
        eps = 0.3 * x + 0.01 * t
        x0 = (x - np.sqrt(1 - a[t]) * eps) / np.sqrt(a[t])
        x = np.sqrt(a[t - 1]) * x0 + np.sqrt(1 - a[t - 1]) * eps
    np.testing.assert_allclose(out, x, rtol=1e-3, atol=1e-4)
    np.testing.assert_array_equal(sampling.ddim_timesteps(tf.constant(T), T).numpy(),
                                  np.arange(T + 1))
    np.testing.assert_array_equal(sampling.ddim_timesteps(tf.constant(4), T).numpy(),
                                  [0, 10, 20, 30, 40])


def test_ddpm_is_seeded_and_matches_a_numpy_reference():
    schedule = cosine_schedule(T)
    shape = tf.constant([2, *SHAPE])
    seed = tf.constant(5, tf.int64)
    out = sampling.ddpm(_linear_model, schedule, shape, seed).numpy()
    np.testing.assert_array_equal(out, sampling.ddpm(_linear_model, schedule, shape, seed).numpy())
    x = sampling.initial_noise(shape, seed).numpy().astype(np.float64)
    al, ab, be = (v.astype(np.float64) for v in (schedule.alpha, schedule.alpha_bar, schedule.beta))
    for t in range(T, 0, -1):
        eps = 0.3 * x + 0.01 * t
        z = tf.random.stateless_normal(shape, tf.constant([5, t], tf.int64)).numpy() if t > 1 else 0
        x = (x - be[t] / np.sqrt(1 - ab[t]) * eps) / np.sqrt(al[t]) + np.sqrt(be[t]) * z
    np.testing.assert_allclose(out, x, rtol=1e-3, atol=1e-3)


# -- U-Net ------------------------------------------------------------------------


def test_unet_shapes_and_save_load(tmp_path):
    model = architectures.build_model((28, 28, 1), timesteps=4000)
    assert model.output.shape[1:] == (28, 28, 1)
    x = tf.random.normal((2, 28, 28, 1))
    t = tf.constant([1, 3999])
    path = str(tmp_path / "unet.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded({"X_noisy": x, "time": t})),
                               keras.ops.convert_to_numpy(model({"X_noisy": x, "time": t})),
                               atol=1e-5)
    odd = architectures.build_unet((10, 6, 3), timesteps=10)  # padded to 16 x 8, cropped back
    assert odd.output.shape[1:] == (10, 6, 3)
    encoding = architectures.TimeEncoding(10, 4)(tf.constant([0, 3]))
    np.testing.assert_allclose(encoding.numpy()[1], [math.sin(3), math.cos(3),
                                                     math.sin(3 / 100), math.cos(3 / 100)],
                               rtol=1e-5)


# -- trainer and export -----------------------------------------------------------


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("diffusion")
    data = image_testing.tiny_transform(str(tmp), image_testing.blobs(32, SHAPE),
                                        np.arange(32) % 2, scaling="symmetric")
    config = trainer.TrainConfig(timesteps=T, batch_size=8, steps_per_epoch=2)
    model, stats = trainer.train(config, data.files, data.files, data.tft_output, train_steps=4)
    serving = trainer.DiffusionServing(model, data.tft_output, config)
    path = str(tmp / "export")
    tf.saved_model.save(serving, path, signatures=serving.signatures())
    return {"data": data, "stats": stats, "loaded": tf.saved_model.load(path), "config": config}


def test_training_reports_a_reproducible_validation_loss(exported):
    stats = exported["stats"]
    assert stats["epochs"] == 2 and len(stats["history"]["val_loss"]) == 2
    data, config = exported["data"], exported["config"]
    first = [b for b in trainer.make_dataset(data.files, data.tft_output, config, training=False)]
    again = [b for b in trainer.make_dataset(data.files, data.tft_output, config, training=False)]
    np.testing.assert_array_equal(first[0][0]["time"].numpy(), again[0][0]["time"].numpy())
    np.testing.assert_array_equal(first[1][1].numpy(), again[1][1].numpy())
    t = first[0][0]["time"].numpy()
    assert t.min() >= 1 and t.max() <= T


def test_generate_samples_seeded_images_with_either_sampler(exported):
    generate = exported["loaded"].signatures["generate"]

    def call(sampler: str, steps: int, seed: int = 3, n: int = 2):
        return generate(n=tf.constant(n), seed=tf.constant(seed, tf.int64),
                        steps=tf.constant(steps), sampler=tf.constant(sampler))

    ddim = call("ddim", 5)
    assert ddim["images"].dtype == tf.uint8 and ddim["images"].shape == (2, *SHAPE)
    np.testing.assert_array_equal(ddim["images"].numpy(), call("ddim", 5)["images"].numpy())
    assert not np.array_equal(ddim["scaled"].numpy(), call("ddim", 5, seed=4)["scaled"].numpy())
    ddpm = call("ddpm", 0)
    np.testing.assert_array_equal(ddpm["images"].numpy(), call("ddpm", 0)["images"].numpy())
    assert np.abs(ddpm["scaled"].numpy()).max() <= 1.0
    with pytest.raises(tf.errors.InvalidArgumentError, match="sampler must be one of"):
        call("euler", 5)
    with pytest.raises(tf.errors.InvalidArgumentError, match="between 1 and 40"):
        call("ddim", T + 1)


def test_scores_of_examples_are_reproducible(exported):
    loaded, data = exported["loaded"], exported["data"]
    first = loaded.signatures["serving_default"](examples=tf.constant(data.examples[:6]))
    again = loaded.signatures["serving_default"](examples=tf.constant(data.examples[:6]))
    losses = first["denoising_loss"].numpy()
    assert losses.shape == (6,) and np.all(losses > 0)
    np.testing.assert_array_equal(losses, again["denoising_loss"].numpy())
    out = loaded.signatures["predict_noise"](images=tf.constant(data.images[:3]),
                                             time=tf.constant([1, 20, 40]),
                                             seed=tf.constant(1, tf.int64))
    assert out["predicted_noise"].shape == (3, *SHAPE)


def test_scaling_and_options_are_checked(tmp_path):
    unit = image_testing.tiny_transform(str(tmp_path), image_testing.blobs(4, SHAPE),
                                        np.zeros(4), scaling="unit")
    with pytest.raises(ValueError, match="'symmetric' scaling"):
        trainer.check_scaling(unit.tft_output)
    for options, message in (({"timesteps": 0}, "timesteps"), ({"s": 0.0}, "s must be"),
                             ({"max_beta": 1.5}, "max_beta"), ({"variant": "ddim"}, "variant"),
                             ({"learning_rate": 0.0}, "learning_rate")):
        with pytest.raises(ValueError, match=message):
            trainer.TrainConfig.from_custom_config(options)
