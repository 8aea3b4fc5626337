"""The DDPM variance schedule and forward process (MODELS.md §7).

The cosine schedule of Nichol & Dhariwal (2021), as the book builds it:

    f(t) = cos²(((t / T) + s) / (1 + s) · π / 2),   t = 0..T
    α_t = f(t) / f(t − 1), clipped to [1 − max_beta, 1]   (so β_t ≤ max_beta)
    ᾱ_t = α_1 · α_2 · … · α_t                             (≈ f(t) / f(0))
    β_t = 1 − α_t

Indexing: every array has T + 1 entries, index t = 0..T, as the book's.
t = 0 is the clean image (α_0 = ᾱ_0 = 1, β_0 = 0); training draws t from
1..T and the samplers walk t = T..1, so ``alpha_bar[t]`` is ᾱ_t with no
off-by-one. ᾱ_T is about 1e-10 for the book's T = 4000: x_T is pure noise.

The forward process noises a clean image x0 at step t in one go:
x_t = √ᾱ_t · x0 + √(1 − ᾱ_t) · ε with ε ~ N(0, I) (``noisy``).
``keyed_step_and_noise`` draws t and ε from a key per image with stateless
random ops, for losses that must be the same in every run.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Sequence

import numpy as np
import tensorflow as tf


@dataclasses.dataclass(frozen=True, eq=False)
class Schedule:
    """α_t, ᾱ_t and β_t for t = 0..T (float32 arrays of length T + 1)."""

    alpha: np.ndarray
    alpha_bar: np.ndarray  # the cumulative product of alpha
    beta: np.ndarray

    @property
    def timesteps(self) -> int:
        """T: the number of noising steps."""
        return len(self.alpha) - 1


def cosine_schedule(timesteps: int, s: float = 0.008, max_beta: float = 0.999) -> Schedule:
    """The cosine schedule over T = `timesteps` steps (see the module docstring)."""
    if isinstance(timesteps, bool) or not isinstance(timesteps, numbers.Integral) or timesteps < 1:
        raise ValueError(f"timesteps must be an integer >= 1, got timesteps={timesteps!r}")
    if isinstance(s, bool) or not isinstance(s, numbers.Real) or not 0 < s < 1:
        raise ValueError(f"s must be a number in (0, 1) (the book's: 0.008), got s={s!r}")
    if isinstance(max_beta, bool) or not isinstance(max_beta, numbers.Real) \
            or not 0 < max_beta < 1:
        raise ValueError(f"max_beta must be a number in (0, 1) (the book's: 0.999), "
                         f"got max_beta={max_beta!r}")
    # float64 throughout: f(t) spans ~30 orders of magnitude near t = T.
    t = np.arange(timesteps + 1, dtype=np.float64)
    f = np.cos((t / timesteps + s) / (1 + s) * np.pi / 2) ** 2
    alpha = np.concatenate([[1.0], np.clip(f[1:] / f[:-1], 1 - max_beta, 1.0)])
    return Schedule(alpha=alpha.astype(np.float32),
                    alpha_bar=np.cumprod(alpha).astype(np.float32),
                    beta=(1 - alpha).astype(np.float32))


def noisy(x0: tf.Tensor, t: tf.Tensor, noise: tf.Tensor, alpha_bar: tf.Tensor) -> tf.Tensor:
    """The forward process: x_t = √ᾱ_t · x0 + √(1 − ᾱ_t) · ε, for images
    x0 [n, H, W, C] at steps t (int [n]) with noise ε like x0; `alpha_bar`
    is ``Schedule.alpha_bar`` (as an array or a tensor)."""
    a = tf.reshape(tf.gather(tf.cast(alpha_bar, x0.dtype), t), [-1, 1, 1, 1])
    return tf.sqrt(a) * x0 + tf.sqrt(1.0 - a) * noise


def keyed_step_and_noise(keys: tf.Tensor, salt: int | tf.Tensor, timesteps: int,
                         image_shape: Sequence[int]) -> tuple[tf.Tensor, tf.Tensor]:
    """A step t in 1..T (int32 [n]) and noise ε (float32 [n, *image_shape])
    for each int64 key [n], a function of (salt, key) alone: the same key
    gives the same t and ε whatever the batch it sits in."""
    shape = [int(d) for d in image_shape]

    def one(key: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        seed = tf.stack([tf.cast(salt, tf.int64), key])
        step_seed, noise_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
        t = tf.random.stateless_uniform([], step_seed, minval=1, maxval=timesteps + 1,
                                        dtype=tf.int32)
        return t, tf.random.stateless_normal(shape, noise_seed)

    return tf.map_fn(one, tf.cast(keys, tf.int64), fn_output_signature=(
        tf.TensorSpec([], tf.int32), tf.TensorSpec(shape, tf.float32)))
