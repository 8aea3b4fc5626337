"""The reverse process, inside the graph: samplers a SavedModel can serve.

Both start from x_T ~ N(0, I) drawn with stateless random ops from an int64
seed (the same seed, the same images) and call ``predict_noise(x, t)``
(x [n, H, W, C], t int32 [n]) once per step in a ``tf.while_loop``, so a
client gets images from one call.

* ``ddpm``: the ancestral sampler of Ho et al. (2020), as the book: for
  t = T..1, x_{t−1} = (x_t − β_t / √(1 − ᾱ_t) · ε̂) / √α_t + √β_t · z, with
  z = 0 at the last step: T model calls. (The book's loop starts at T − 1;
  this one takes all T steps.)
* ``ddim``: the deterministic sampler of Song et al. (2021) (η = 0) over S
  steps τ_i = round(i·T / S), i = S..1: x̂0 = (x_τ − √(1 − ᾱ_τ) ε̂) / √ᾱ_τ,
  clipped to the data range [−1, 1] (what the data can hold; without it a
  poor ε̂ early on throws samples off range), then x_{τ'} = √ᾱ_{τ'} x̂0 +
  √(1 − ᾱ_{τ'}) ε̂ with τ' the next step (ᾱ_0 = 1: the last step returns
  x̂0). S model calls; S = T is the deterministic limit of the same process.
"""

from __future__ import annotations

from typing import Callable

import tensorflow as tf

from models.diffusion.schedule import Schedule

PredictNoise = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]


def _seeds(seed: tf.Tensor, stream: int) -> tf.Tensor:
    return tf.stack([tf.cast(seed, tf.int64), tf.constant(stream, tf.int64)])


def initial_noise(shape: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """x_T for images of `shape` [n, H, W, C] (stream 0 of `seed`)."""
    return tf.random.stateless_normal(shape, seed=_seeds(seed, 0))


def ddpm(predict_noise: PredictNoise, schedule: Schedule, shape: tf.Tensor,
         seed: tf.Tensor) -> tf.Tensor:
    """The ancestral sampler over all T steps; images in the model's space."""
    alpha = tf.constant(schedule.alpha)
    alpha_bar = tf.constant(schedule.alpha_bar)
    beta = tf.constant(schedule.beta)
    n = shape[0]

    def step(t, x):
        eps = predict_noise(x, tf.fill([n], t))
        mean = (x - beta[t] / tf.sqrt(1.0 - alpha_bar[t]) * eps) / tf.sqrt(alpha[t])
        # One noise draw per step, from its own stream of the seed.
        z = tf.random.stateless_normal(shape, seed=tf.stack([tf.cast(seed, tf.int64),
                                                             tf.cast(t, tf.int64)]))
        z = tf.where(t > 1, z, tf.zeros_like(z))
        return t - 1, mean + tf.sqrt(beta[t]) * z

    _, x = tf.while_loop(lambda t, _: t >= 1, step,
                         (tf.constant(schedule.timesteps, tf.int32), initial_noise(shape, seed)))
    return x


def ddim_timesteps(steps: tf.Tensor, timesteps: int) -> tf.Tensor:
    """τ_0 = 0 < τ_1 < … < τ_S = T (int32 [S + 1]), evenly spaced."""
    i = tf.range(tf.cast(steps, tf.int32) + 1)
    return tf.cast(tf.round(tf.cast(i, tf.float64) * timesteps / tf.cast(steps, tf.float64)),
                   tf.int32)


def ddim(predict_noise: PredictNoise, schedule: Schedule, shape: tf.Tensor, seed: tf.Tensor,
         steps: tf.Tensor, clip: bool = True) -> tf.Tensor:
    """The deterministic DDIM sampler over `steps` steps (1..T)."""
    alpha_bar = tf.constant(schedule.alpha_bar)
    tau = ddim_timesteps(steps, schedule.timesteps)
    n = shape[0]

    def step(i, x):
        t, t_next = tau[i], tau[i - 1]
        eps = predict_noise(x, tf.fill([n], t))
        x0 = (x - tf.sqrt(1.0 - alpha_bar[t]) * eps) / tf.sqrt(alpha_bar[t])
        if clip:
            x0 = tf.clip_by_value(x0, -1.0, 1.0)
        return i - 1, tf.sqrt(alpha_bar[t_next]) * x0 + tf.sqrt(1.0 - alpha_bar[t_next]) * eps

    _, x = tf.while_loop(lambda i, _: i >= 1, step,
                         (tf.cast(steps, tf.int32), initial_noise(shape, seed)))
    return x
