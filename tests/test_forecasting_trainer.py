"""Trainer glue: config validation and the seq2seq target construction."""

import numpy as np
import pytest
import tensorflow as tf

from models.forecasting import architectures
from models.forecasting.trainer import TrainConfig, to_model_inputs
from preprocessing import forecasting as features


def test_config_defaults_and_alias():
    config = TrainConfig.from_custom_config({"variant": "seq2vec", "horizon": 1})
    assert config.variant == "deep_rnn_dense"
    assert (config.n_steps, config.horizon, config.batch_size) == (50, 1, 32)


@pytest.mark.parametrize("bad, message", [
    ({"variant": "transformer"}, "transformer"),
    ({"horizon": 0}, "horizon"),
    ({"batch_size": 0}, "batch_size"),
    ({"learning_rate": -0.1}, "learning_rate"),
    ({"epochs": 3}, "unknown forecasting trainer options"),
])
def test_config_rejects_bad_options(bad, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig.from_custom_config(bad)


@pytest.mark.parametrize("variant", ["seq2seq", "conv_gru", "wavenet"])
def test_tf_targets_match_numpy_reference(variant):
    rng = np.random.default_rng(0)
    series = rng.normal(size=(4, 50)).astype("float32")
    future = rng.normal(size=(4, 10)).astype("float32")
    config = TrainConfig(variant=variant)
    x, y = to_model_inputs({features.SERIES_SCALED: tf.constant(series),
                            features.TARGET_SCALED: tf.constant(future)}, config)
    expected = architectures.seq2seq_targets(series, future)
    expected = expected[:, architectures.sequence_target_steps(variant, 50), :]
    assert x.shape == (4, 50, 1)
    np.testing.assert_array_equal(y.numpy(), expected)
    # The model's output shape lines up with the targets.
    model = architectures.build_model(variant, 50, 10)
    assert model(x).shape == y.shape


def test_vector_variant_targets_are_the_future_values():
    future = np.arange(20, dtype="float32").reshape(2, 10)
    _, y = to_model_inputs({features.SERIES_SCALED: tf.zeros([2, 50]),
                            features.TARGET_SCALED: tf.constant(future)},
                           TrainConfig(variant="linear"))
    np.testing.assert_array_equal(y.numpy(), future)
