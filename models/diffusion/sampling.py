"""The reverse process, inside the graph: samplers a SavedModel can serve.

Both samplers start from x_T ~ N(0, I) and call ``predict_noise(x, t)``
(x float32 [n, H, W, C], t int32 [n]) once per step in a ``tf.while_loop``,
so they trace once inside a ``tf.function`` whose n, seed and step count are
tensors, and a client gets images from one call. All randomness is
stateless and derived from one int64 seed (stream 0: x_T; stream k: the
noise of the k-th step), so the same seed gives the same images.

* ``ddpm``: the ancestral sampler of Ho et al. (2020), as the book's: for
  t = T..1,

      x_{t−1} = (x_t − β_t / √(1 − ᾱ_t) · ε̂) / √α_t + √β_t · z,

  with z ~ N(0, I), and z = 0 at the last step (t = 1): T model calls.
  (The book's loop starts at t = T − 1; this one takes all T steps.) By
  default the mean is computed through the predicted x̂0, clipped to
  [−1, 1] (Ho et al.'s reference code; see ``ddpm``).
* ``ddim``: the sampler of Song et al. (2021) over S evenly spaced steps
  τ_S = T > … > τ_1 > τ_0 = 0 (τ_i = round(i·T / S); always ending at
  t = 0, the clean image): for i = S..1, with τ = τ_i and τ' = τ_{i−1},

      x̂0 = (x_τ − √(1 − ᾱ_τ) · ε̂) / √ᾱ_τ, clipped to [−1, 1]
      x_τ' = √ᾱ_τ' · x̂0 + √(1 − ᾱ_τ' − σ²) · ε̂ + σ · z
      σ = η · √((1 − ᾱ_τ') / (1 − ᾱ_τ)) · √(1 − ᾱ_τ / ᾱ_τ')

  S model calls. η = 0 (the default) is deterministic given x_T; η = 1 at
  S = T is an ancestral sampler with the posterior variance. Since
  ᾱ_0 = 1, the last step returns x̂0 itself.

Why clip x̂0: the data live in [−1, 1], and at the first steps ᾱ_τ is tiny
(≈ 1e-10 at τ = T = 4000), so dividing by √ᾱ_τ magnifies any error of ε̂
into values far off that range; clipping keeps each step's estimate a
possible image (as the DDPM and DDIM reference code do), and the step
continues with the noise the clipped x̂0 implies, ε̂ ← (x_τ − √ᾱ_τ x̂0) /
√(1 − ᾱ_τ): keeping the model's raw ε̂ instead left 9% of the samples of
a 4-epoch model saturated to black or white at 50 steps (Fréchet distance
3,551 against 53 with the implied noise; bench/diffusion_reference.md).
``clip=False``
gives the plain formula, which the tests compare with NumPy.
"""

from __future__ import annotations

from typing import Callable

import tensorflow as tf

from models.diffusion.schedule import Schedule

PredictNoise = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]


def stream_seed(seed: tf.Tensor, stream: int | tf.Tensor) -> tf.Tensor:
    """The stateless seed [2] of one random stream of `seed`."""
    return tf.stack([tf.cast(seed, tf.int64), tf.cast(stream, tf.int64)])


def initial_noise(shape: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """x_T ~ N(0, I) for images of `shape` [n, H, W, C] (stream 0 of `seed`)."""
    return tf.random.stateless_normal(shape, seed=stream_seed(seed, 0))


def ddpm(predict_noise: PredictNoise, schedule: Schedule, shape: tf.Tensor,
         seed: tf.Tensor, *, clip: bool = True) -> tf.Tensor:
    """The ancestral sampler over all T steps → x_0 [n, H, W, C] in the
    model's space.

    clip=False is the book's update, x_{t−1} = (x_t − β_t/√(1 − ᾱ_t) ε̂)/√α_t
    + √β_t z. clip=True (the default) writes the same mean through the
    predicted x̂0, μ = √ᾱ_{t−1} β_t/(1 − ᾱ_t) x̂0 + √α_t (1 − ᾱ_{t−1})/(1 − ᾱ_t) x_t,
    with x̂0 clipped to [−1, 1] as Ho et al.'s reference code does: the two
    agree wherever x̂0 is in range, but near t = T (α_T = 1 − 0.999) the book's
    form divides the network's error by √α_t and a model trained for a few
    epochs diverged (bench/diffusion_reference.md).
    """
    alpha = tf.constant(schedule.alpha)
    alpha_bar = tf.constant(schedule.alpha_bar)
    beta = tf.constant(schedule.beta)
    n = shape[0]

    def step(t, x):
        eps = predict_noise(x, tf.fill([n], t))
        if clip:
            x0 = tf.clip_by_value(
                (x - tf.sqrt(1.0 - alpha_bar[t]) * eps) / tf.sqrt(alpha_bar[t]), -1.0, 1.0)
            mean = (tf.sqrt(alpha_bar[t - 1]) * beta[t] * x0
                    + tf.sqrt(alpha[t]) * (1.0 - alpha_bar[t - 1]) * x) / (1.0 - alpha_bar[t])
        else:
            mean = (x - beta[t] / tf.sqrt(1.0 - alpha_bar[t]) * eps) / tf.sqrt(alpha[t])
        z = tf.random.stateless_normal(shape, seed=stream_seed(seed, t))
        z = tf.where(t > 1, z, tf.zeros_like(z))  # the last step adds no noise
        return t - 1, mean + tf.sqrt(beta[t]) * z

    _, x = tf.while_loop(lambda t, _: t >= 1, step,
                         (tf.constant(schedule.timesteps, tf.int32), initial_noise(shape, seed)))
    return x


def ddim_timesteps(steps: tf.Tensor, timesteps: int) -> tf.Tensor:
    """τ_0 = 0 < τ_1 < … < τ_S = T (int32 [S + 1]) for S = `steps` in 1..T,
    evenly spaced (rounded)."""
    i = tf.cast(tf.range(tf.cast(steps, tf.int32) + 1), tf.float64)
    return tf.cast(tf.round(i * timesteps / tf.cast(steps, tf.float64)), tf.int32)


def ddim(predict_noise: PredictNoise, schedule: Schedule, shape: tf.Tensor, seed: tf.Tensor,
         steps: tf.Tensor, *, eta: float = 0.0, clip: bool = True) -> tf.Tensor:
    """The DDIM sampler over `steps` steps (1..T) → x_0 [n, H, W, C] in the
    model's space; deterministic for η = `eta` = 0 (see the module docstring)."""
    if not 0.0 <= float(eta) <= 1.0:
        raise ValueError(f"eta must be in [0, 1], got eta={eta}")
    alpha_bar = tf.constant(schedule.alpha_bar)
    tau = ddim_timesteps(steps, schedule.timesteps)
    n = shape[0]

    def step(i, x):
        t, t_next = tau[i], tau[i - 1]
        a, a_next = alpha_bar[t], alpha_bar[t_next]
        eps = predict_noise(x, tf.fill([n], t))
        x0 = (x - tf.sqrt(1.0 - a) * eps) / tf.sqrt(a)
        if clip:
            x0 = tf.clip_by_value(x0, -1.0, 1.0)
            # The noise that the clipped x̂0 implies, so that x_τ' stays
            # consistent with it (as improved-diffusion's DDIM does): with the
            # model's own ε̂ the clipped error is carried along and compounds.
            eps = (x - tf.sqrt(a) * x0) / tf.sqrt(1.0 - a)
        if not eta:
            return i - 1, tf.sqrt(a_next) * x0 + tf.sqrt(1.0 - a_next) * eps
        sigma = eta * tf.sqrt((1.0 - a_next) / (1.0 - a) * (1.0 - a / a_next))
        z = tf.random.stateless_normal(shape, seed=stream_seed(seed, i))
        direction = tf.sqrt(tf.maximum(1.0 - a_next - tf.square(sigma), 0.0)) * eps
        return i - 1, tf.sqrt(a_next) * x0 + direction + sigma * z

    _, x = tf.while_loop(lambda i, _: i >= 1, step,
                         (tf.cast(steps, tf.int32), initial_noise(shape, seed)))
    return x
