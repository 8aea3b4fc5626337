"""The cosine schedule against its formula, and the forward process at known steps."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

from models.diffusion.schedule import cosine_schedule, keyed_step_and_noise, noisy

SHAPE = (8, 8, 1)


def _f(t: float, T: int = 4000, s: float = 0.008) -> float:
    return math.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2


def test_the_books_cosine_schedule():
    schedule = cosine_schedule(4000, s=0.008, max_beta=0.999)
    assert schedule.timesteps == 4000
    assert len(schedule.alpha) == len(schedule.alpha_bar) == len(schedule.beta) == 4001
    assert schedule.alpha[0] == 1 and schedule.alpha_bar[0] == 1 and schedule.beta[0] == 0
    assert np.all(np.diff(schedule.alpha_bar) < 0)  # strictly decreasing
    assert schedule.beta.max() <= 0.999 + 1e-7
    assert schedule.beta[-1] == pytest.approx(0.999)  # the clip binds at t = T
    assert schedule.alpha_bar[-1] < 1e-6  # x_T is pure noise
    for t in (1, 100, 2000, 3500):  # ᾱ_t = f(t) / f(0) where nothing is clipped
        assert schedule.alpha_bar[t] == pytest.approx(_f(t) / _f(0), rel=1e-4)
        assert schedule.beta[t] == pytest.approx(1 - _f(t) / _f(t - 1), rel=1e-3)
    np.testing.assert_allclose(schedule.alpha_bar, np.cumprod(schedule.alpha), rtol=1e-5)
    np.testing.assert_allclose(schedule.alpha + schedule.beta, 1.0, atol=1e-7)


def test_a_lower_max_beta_clips_more_steps():
    schedule = cosine_schedule(50, max_beta=0.2)
    assert schedule.beta.max() == pytest.approx(0.2)
    assert np.sum(np.isclose(schedule.beta, 0.2)) > 1


@pytest.mark.parametrize("args, message", [
    ((0,), "timesteps"), ((10.5,), "timesteps"), ((10, 0.0), "s must be"),
    ((10, 0.008, 1.0), "max_beta"), ((10, 0.008, 0.0), "max_beta")])
def test_bad_schedule_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        cosine_schedule(*args)


def test_forward_noising_at_known_steps():
    schedule = cosine_schedule(50)
    x0 = np.random.default_rng(0).uniform(-1, 1, (3, *SHAPE)).astype(np.float32)
    eps = np.random.default_rng(1).normal(size=x0.shape).astype(np.float32)
    t = np.array([1, 25, 50])
    got = noisy(tf.constant(x0), tf.constant(t), tf.constant(eps), schedule.alpha_bar).numpy()
    a = schedule.alpha_bar[t].reshape(-1, 1, 1, 1)
    np.testing.assert_allclose(got, np.sqrt(a) * x0 + np.sqrt(1 - a) * eps, rtol=1e-5, atol=1e-6)
    assert np.abs(got[0] - x0[0]).mean() < 0.05  # t = 1: nearly clean
    np.testing.assert_allclose(got[2], eps[2], atol=1e-3)  # t = T: nearly all noise
    np.testing.assert_array_equal(
        noisy(tf.constant(x0), tf.zeros([3], tf.int32), tf.constant(eps), schedule.alpha_bar),
        x0)  # t = 0: the clean image


def test_keyed_steps_and_noise_depend_on_the_key_alone():
    keys = tf.constant([3, 9, 3, 12345678901], tf.int64)
    t, noise = keyed_step_and_noise(keys, 7, 40, SHAPE)
    assert t.dtype == tf.int32 and t.shape == (4,) and noise.shape == (4, *SHAPE)
    assert t[0] == t[2] and np.array_equal(noise[0], noise[2])
    assert not np.array_equal(noise[0], noise[1])
    t_alone, noise_alone = keyed_step_and_noise(keys[1:2], 7, 40, SHAPE)  # another batch
    assert t_alone[0] == t[1] and np.array_equal(noise_alone[0], noise[1])
    many, _ = keyed_step_and_noise(tf.range(200, dtype=tf.int64), 7, 40, SHAPE)
    assert many.numpy().min() >= 1 and many.numpy().max() <= 40
    assert len(set(many.numpy())) > 25  # spread over 1..T
