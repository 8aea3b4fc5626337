"""The DDPM variance schedule and forward process (MODELS.md §7).

The cosine schedule of Nichol & Dhariwal (2021), as the book uses it:
``f(t) = cos²(((t / T) + s) / (1 + s) · π / 2)``, ``ᾱ_t = f(t) / f(0)``,
``α_t = ᾱ_t / ᾱ_{t−1}`` clipped so that ``β_t = 1 − α_t ≤ max_beta``.

Indexing: every array has T + 1 entries, index t = 0..T; t = 0 is the clean
image (``α_0 = ᾱ_0 = 1``, ``β_0 = 0``) and training draws t from 1..T.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class Schedule:
    alpha: np.ndarray  # float32 [T + 1]
    alpha_bar: np.ndarray  # float32 [T + 1], cumulative product of alpha
    beta: np.ndarray  # float32 [T + 1]

    @property
    def timesteps(self) -> int:
        return len(self.alpha) - 1


def cosine_schedule(timesteps: int, s: float = 0.008, max_beta: float = 0.999) -> Schedule:
    """The cosine schedule over `timesteps` steps (see the module docstring)."""
    if timesteps < 1:
        raise ValueError(f"timesteps must be >= 1, got {timesteps}")
    if not s > 0:
        raise ValueError(f"s must be > 0, got {s}")
    if not 0 < max_beta < 1:
        raise ValueError(f"max_beta must be in (0, 1), got {max_beta}")
    t = np.arange(timesteps + 1, dtype=np.float64)
    f = np.cos((t / timesteps + s) / (1 + s) * np.pi / 2) ** 2
    alpha = np.clip(f[1:] / f[:-1], 1 - max_beta, 1.0)
    alpha = np.concatenate([[1.0], alpha])
    return Schedule(alpha.astype(np.float32), np.cumprod(alpha).astype(np.float32),
                    (1 - alpha).astype(np.float32))


def noisy(x0: tf.Tensor, t: tf.Tensor, noise: tf.Tensor, alpha_bar: tf.Tensor) -> tf.Tensor:
    """The forward process: x_t = √ᾱ_t · x0 + √(1 − ᾱ_t) · ε, for a batch of
    images x0 [n, H, W, C] at steps t [n]."""
    a = tf.reshape(tf.gather(alpha_bar, t), [-1, 1, 1, 1])
    return tf.sqrt(a) * x0 + tf.sqrt(1.0 - a) * noise
