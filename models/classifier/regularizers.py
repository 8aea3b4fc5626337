"""Regularization pieces of *Hands-On ML* (3rd ed.), chapter 11.

* ``MCDropout`` / ``MCAlphaDropout``: dropout layers that also drop at
  inference when called with ``mc=True`` (Monte Carlo dropout, Gal &
  Ghahramani 2016). Called as usual they are plain (alpha) dropout: off at
  inference, so a model's ordinary predictions stay deterministic. The
  book's ``MCDropout`` forces ``training=True`` for every call; here the
  caller asks per call, which keeps batch normalization (and the ordinary
  ``classify`` signature) in inference mode while the dropout layers sample.
* ``monte_carlo(model, x)``: one stochastic forward pass of a sequential
  model, its MC dropout layers sampling;
* ``kernel_regularizer(l1, l2)``, ``kernel_constraint(max_norm)``.
"""

from __future__ import annotations

import keras

SERIALIZATION_PACKAGE = "classifier"


@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
class MCDropout(keras.layers.Dropout):
    """Dropout that stays on at inference when asked: ``layer(x, mc=True)``."""

    def call(self, inputs, training=False, mc=False):
        return super().call(inputs, training=bool(training) or bool(mc))


@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
class MCAlphaDropout(keras.layers.AlphaDropout):
    """Alpha dropout (keeps SELU's self-normalization) that stays on at
    inference when asked: ``layer(x, mc=True)``."""

    def call(self, inputs, training=False, mc=False):
        return super().call(inputs, training=bool(training) or bool(mc))


MC_LAYERS = (MCDropout, MCAlphaDropout)


def has_mc_dropout(model: keras.Model) -> bool:
    return any(isinstance(layer, MC_LAYERS) for layer in model.layers)


def monte_carlo(model: keras.Model, inputs):
    """One forward pass of a sequential `model` with its MC dropout layers
    sampling and every other layer (batch norm included) in inference mode."""
    if not has_mc_dropout(model):
        raise ValueError(f"model {model.name!r} has no MC dropout layer: build it with "
                         "mc_dropout=True (and dropout_rate > 0)")
    x = inputs
    for layer in model.layers:
        x = layer(x, mc=True) if isinstance(layer, MC_LAYERS) else layer(x, training=False)
    return x


def dropout_layer(rate: float, *, alpha: bool, mc: bool, name: str | None = None,
                  seed: int | None = None) -> keras.layers.Layer:
    """Dropout, alpha dropout, or their MC versions."""
    if not 0 < rate < 1:
        raise ValueError(f"dropout_rate must be > 0 and < 1, got {rate}")
    cls = {(False, False): keras.layers.Dropout, (True, False): keras.layers.AlphaDropout,
           (False, True): MCDropout, (True, True): MCAlphaDropout}[(alpha, mc)]
    return cls(rate, seed=seed, name=name)


def kernel_regularizer(l1: float, l2: float) -> keras.regularizers.Regularizer | None:
    """L1, L2, both (``L1L2``) or none, as the factors say."""
    for name, value in (("l1", l1), ("l2", l2)):
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
    if l1 and l2:
        return keras.regularizers.L1L2(l1=l1, l2=l2)
    if l1:
        return keras.regularizers.L1(l1)
    if l2:
        return keras.regularizers.L2(l2)
    return None


def kernel_constraint(max_norm: float) -> keras.constraints.Constraint | None:
    """Max-norm: each unit's incoming weight vector rescaled to norm <= max_norm
    after every training step (0: none)."""
    if max_norm < 0:
        raise ValueError(f"max_norm must be >= 0, got {max_norm}")
    return keras.constraints.MaxNorm(max_norm, axis=0) if max_norm else None
