"""MC dropout layers: deterministic unless asked, sampling when asked,
batch norm untouched by sampling; regularizer and constraint builders."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from models.classifier import regularizers


def _model(alpha: bool, batch_norm: bool = False) -> keras.Sequential:
    layers = [keras.Input((6,)), keras.layers.Dense(16, activation="selu" if alpha else "relu")]
    if batch_norm:
        layers.append(keras.layers.BatchNormalization())
    layers += [regularizers.dropout_layer(0.5, alpha=alpha, mc=True, seed=3),
               keras.layers.Dense(3, activation="softmax")]
    return keras.Sequential(layers)


@pytest.mark.parametrize("alpha", [False, True], ids=["dropout", "alpha_dropout"])
def test_mc_layers_sample_only_when_asked(alpha):
    model = _model(alpha)
    x = np.random.default_rng(0).normal(size=(5, 6)).astype("float32")
    plain = [keras.ops.convert_to_numpy(model(x, training=False)) for _ in range(2)]
    np.testing.assert_array_equal(plain[0], plain[1])  # inference: dropout off
    np.testing.assert_allclose(plain[0], keras.ops.convert_to_numpy(model.predict(x, verbose=0)),
                               rtol=1e-6)
    sampled = [keras.ops.convert_to_numpy(regularizers.monte_carlo(model, x)) for _ in range(2)]
    assert not np.allclose(sampled[0], sampled[1])  # each pass draws a new mask
    assert not np.allclose(sampled[0], plain[0])
    np.testing.assert_allclose(sampled[0].sum(axis=1), 1.0, rtol=1e-5)
    assert regularizers.has_mc_dropout(model)
    assert isinstance(model.layers[1], regularizers.MCAlphaDropout if alpha else regularizers.MCDropout)


def test_monte_carlo_keeps_batch_norm_in_inference_mode():
    model = _model(alpha=False, batch_norm=True)
    bn = model.layers[1]
    before = [keras.ops.convert_to_numpy(w).copy() for w in bn.non_trainable_weights]
    x = np.random.default_rng(1).normal(3.0, 2.0, size=(8, 6)).astype("float32")
    regularizers.monte_carlo(model, x)
    for old, new in zip(before, bn.non_trainable_weights):
        np.testing.assert_array_equal(old, keras.ops.convert_to_numpy(new))


def test_monte_carlo_needs_mc_layers():
    plain = keras.Sequential([keras.Input((2,)), keras.layers.Dropout(0.5), keras.layers.Dense(2)])
    assert not regularizers.has_mc_dropout(plain)
    with pytest.raises(ValueError, match="no MC dropout layer"):
        regularizers.monte_carlo(plain, np.ones((1, 2), "float32"))


def test_dropout_layer_kinds_and_bad_rate():
    kinds = {(a, m): type(regularizers.dropout_layer(0.2, alpha=a, mc=m))
             for a in (False, True) for m in (False, True)}
    assert kinds == {(False, False): keras.layers.Dropout, (True, False): keras.layers.AlphaDropout,
                     (False, True): regularizers.MCDropout, (True, True): regularizers.MCAlphaDropout}
    with pytest.raises(ValueError, match="dropout_rate must be > 0 and < 1"):
        regularizers.dropout_layer(1.0, alpha=False, mc=False)


def test_regularizers_and_constraint():
    assert regularizers.kernel_regularizer(0, 0) is None
    assert isinstance(regularizers.kernel_regularizer(0.01, 0), keras.regularizers.L1)
    assert isinstance(regularizers.kernel_regularizer(0, 0.01), keras.regularizers.L2)
    both = regularizers.kernel_regularizer(0.01, 0.02)
    assert isinstance(both, keras.regularizers.L1L2) and both.get_config()["l2"] == pytest.approx(0.02)
    assert regularizers.kernel_constraint(0) is None
    constraint = regularizers.kernel_constraint(1.0)
    kernel = np.full((4, 2), 3.0, "float32")  # each unit's incoming weights have norm 6
    norms = np.linalg.norm(keras.ops.convert_to_numpy(constraint(kernel)), axis=0)
    np.testing.assert_allclose(norms, 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match="l2 must be >= 0"):
        regularizers.kernel_regularizer(0, -1)
    with pytest.raises(ValueError, match="max_norm must be >= 0"):
        regularizers.kernel_constraint(-1)
