"""The samplers against NumPy references: DDIM recovers x0 from an oracle
noise predictor at any step count; at steps = T it is the deterministic
limit of the update at every t; η = 1 at steps = T is the ancestral step
with the posterior variance; the DDPM loop is seeded and matches the
book's update."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from models.diffusion import sampling
from models.diffusion.schedule import cosine_schedule

SHAPE = (8, 8, 1)
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


def _z(seed: int, stream: int) -> np.ndarray:
    """The noise the samplers draw for `stream` of `seed`."""
    return tf.random.stateless_normal([2, *SHAPE], tf.constant([seed, stream], tf.int64)).numpy()


def _schedule64(schedule):
    return (v.astype(np.float64) for v in (schedule.alpha, schedule.alpha_bar, schedule.beta))


def test_ddim_timesteps_are_evenly_spaced_and_end_at_zero():
    np.testing.assert_array_equal(sampling.ddim_timesteps(tf.constant(T), T), np.arange(T + 1))
    np.testing.assert_array_equal(sampling.ddim_timesteps(tf.constant(4), T), [0, 10, 20, 30, 40])
    np.testing.assert_array_equal(sampling.ddim_timesteps(tf.constant(1), T), [0, 40])
    tau = sampling.ddim_timesteps(tf.constant(7), 4000).numpy()
    assert tau[0] == 0 and tau[-1] == 4000 and np.all(np.diff(tau) > 0)


@pytest.mark.parametrize("steps", [1, 3, 10, T])
def test_ddim_recovers_x0_from_an_oracle_at_any_step_count(steps):
    schedule = cosine_schedule(T)
    x0 = np.random.default_rng(2).uniform(-0.9, 0.9, (2, *SHAPE)).astype(np.float32)
    out = sampling.ddim(_oracle(x0, schedule), schedule, tf.constant([2, *SHAPE]),
                        tf.constant(7, tf.int64), tf.constant(steps)).numpy()
    np.testing.assert_allclose(out, x0, atol=1e-4)


def test_ddim_with_all_steps_is_the_deterministic_limit():
    schedule = cosine_schedule(T)
    seed = 11
    out = sampling.ddim(_linear_model, schedule, tf.constant([2, *SHAPE]),
                        tf.constant(seed, tf.int64), tf.constant(T), clip=False).numpy()
    # NumPy reference of the η = 0 update at every t = T..1.
    x = _z(seed, 0).astype(np.float64)
    _, a, _ = _schedule64(schedule)
    for t in range(T, 0, -1):
        eps = 0.3 * x + 0.01 * t
        x0 = (x - np.sqrt(1 - a[t]) * eps) / np.sqrt(a[t])
        x = np.sqrt(a[t - 1]) * x0 + np.sqrt(1 - a[t - 1]) * eps
    np.testing.assert_allclose(out, x, rtol=1e-3, atol=1e-4)


def test_ddim_clips_the_predicted_image():
    schedule = cosine_schedule(T)
    out = sampling.ddim(lambda x, t: -x, schedule, tf.constant([2, *SHAPE]),
                        tf.constant(1, tf.int64), tf.constant(5)).numpy()
    assert np.abs(out).max() <= 1.0  # the last step returns the clipped x̂0


def test_stochastic_ddim_at_all_steps_is_the_ancestral_posterior_step():
    schedule = cosine_schedule(T)
    seed = 13
    shape = tf.constant([2, *SHAPE])
    out = sampling.ddim(_linear_model, schedule, shape, tf.constant(seed, tf.int64),
                        tf.constant(T), eta=1.0, clip=False).numpy()
    again = sampling.ddim(_linear_model, schedule, shape, tf.constant(seed, tf.int64),
                          tf.constant(T), eta=1.0, clip=False).numpy()
    np.testing.assert_array_equal(out, again)
    # x_{t−1} = μ̃(x_t, x̂0) + √β̃_t · z, the DDPM posterior (Ho et al., eq. 7).
    x = _z(seed, 0).astype(np.float64)
    al, ab, be = _schedule64(schedule)
    for t in range(T, 0, -1):
        eps = 0.3 * x + 0.01 * t
        x0 = (x - np.sqrt(1 - ab[t]) * eps) / np.sqrt(ab[t])
        mean = (np.sqrt(ab[t - 1]) * be[t] * x0
                + np.sqrt(al[t]) * (1 - ab[t - 1]) * x) / (1 - ab[t])
        variance = (1 - ab[t - 1]) / (1 - ab[t]) * be[t]
        x = mean + np.sqrt(variance) * _z(seed, t)
    np.testing.assert_allclose(out, x, rtol=1e-3, atol=1e-3)
    with pytest.raises(ValueError, match="eta"):
        sampling.ddim(_linear_model, schedule, shape, tf.constant(1, tf.int64), tf.constant(2),
                      eta=1.5)


def test_ddpm_is_seeded_and_matches_a_numpy_reference():
    schedule = cosine_schedule(T)
    shape = tf.constant([2, *SHAPE])
    seed = 5
    out = sampling.ddpm(_linear_model, schedule, shape, tf.constant(seed, tf.int64),
                        clip=False).numpy()
    np.testing.assert_array_equal(
        out, sampling.ddpm(_linear_model, schedule, shape, tf.constant(seed, tf.int64),
                           clip=False).numpy())
    assert not np.array_equal(
        out, sampling.ddpm(_linear_model, schedule, shape, tf.constant(6, tf.int64),
                           clip=False).numpy())
    # The book's update with all T steps, no noise at the last one.
    x = _z(seed, 0).astype(np.float64)
    al, ab, be = _schedule64(schedule)
    for t in range(T, 0, -1):
        eps = 0.3 * x + 0.01 * t
        z = _z(seed, t) if t > 1 else 0.0
        x = (x - be[t] / np.sqrt(1 - ab[t]) * eps) / np.sqrt(al[t]) + np.sqrt(be[t]) * z
    np.testing.assert_allclose(out, x, rtol=1e-3, atol=1e-3)


def test_clipped_ddpm_is_the_books_update_while_x0_stays_in_range():
    # With an oracle the predicted x0 is the true one, inside [-1, 1]: the
    # posterior-mean form with clipping is then the book's update exactly.
    schedule = cosine_schedule(T)
    x0 = np.random.default_rng(3).uniform(-0.9, 0.9, (2, *SHAPE)).astype(np.float32)
    shape = tf.constant([2, *SHAPE])
    seed = tf.constant(9, tf.int64)
    clipped = sampling.ddpm(_oracle(x0, schedule), schedule, shape, seed).numpy()
    book = sampling.ddpm(_oracle(x0, schedule), schedule, shape, seed, clip=False).numpy()
    np.testing.assert_allclose(clipped, book, atol=1e-3)


def test_samplers_trace_once_for_any_n_seed_and_step_count():
    schedule = cosine_schedule(T)
    calls = []

    def model(x, t):
        calls.append(1)  # Python side effect: once per trace
        return _linear_model(x, t)

    @tf.function(input_signature=[tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.int64),
                                  tf.TensorSpec([], tf.int32)])
    def sample(n, seed, steps):
        shape = tf.concat([[n], tf.constant(SHAPE, tf.int32)], axis=0)
        return sampling.ddim(model, schedule, shape, seed, steps), \
            sampling.ddpm(model, schedule, shape, seed)

    first = sample(tf.constant(3), tf.constant(1, tf.int64), tf.constant(4))
    second = sample(tf.constant(1), tf.constant(2, tf.int64), tf.constant(9))
    assert first[0].shape == first[1].shape == (3, *SHAPE) and second[0].shape == (1, *SHAPE)
    assert len(calls) == 2  # one trace of each loop body
    eager = sampling.ddim(_linear_model, schedule, tf.constant([3, *SHAPE]),
                          tf.constant(1, tf.int64), tf.constant(4))
    np.testing.assert_allclose(first[0], eager, atol=1e-5)
