"""Tests for models.forecasting.architectures (backend-neutral Keras 3)."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

from models.forecasting import architectures as arch

N_STEPS = 50
HORIZONS = (1, 10)
ALL_NAMES = arch.VARIANTS + tuple(arch.ALIASES)


def _series(batch: int, length: int, seed: int = 0) -> np.ndarray:
    """Two noisy sine waves per sample, like the book's generator: [b, len]."""
    rng = np.random.default_rng(seed)
    freq1, freq2, offsets1, offsets2 = rng.random((4, batch, 1))
    time = np.linspace(0, 1, length)
    series = 0.5 * np.sin((time - offsets1) * (freq1 * 10 + 10))
    series += 0.2 * np.sin((time - offsets2) * (freq2 * 20 + 20))
    series += 0.1 * (rng.random((batch, length)) - 0.5)
    return series.astype("float32")


def _dataset(variant: str, n_steps: int, horizon: int, batch: int):
    """Inputs [b, n_steps, 1] and targets shaped like the variant's output."""
    series = _series(batch, n_steps + horizon)
    inputs, future = series[:, :n_steps, None], series[:, n_steps:]
    steps = arch.sequence_target_steps(variant, n_steps)
    if steps is None:
        return inputs, future
    return inputs, arch.seq2seq_targets(series[:, :n_steps], future)[:, steps]


def _expected_shape(variant: str, batch: int, n_steps: int, horizon: int):
    variant = arch.canonical_variant(variant)
    if variant not in arch.SEQUENCE_VARIANTS:
        return (batch, horizon)
    steps = arch.sequence_target_steps(variant, n_steps)
    return (batch, len(range(n_steps)[steps]), horizon)


# --- Registry ---------------------------------------------------------------


def test_registry_is_consistent():
    assert arch.VARIANTS == (
        "naive",
        "linear",
        "simple_rnn",
        "deep_rnn",
        "deep_rnn_dense",
        "seq2seq",
        "ln_rnn",
        "lstm",
        "gru",
        "conv_gru",
        "wavenet",
    )
    assert arch.ALIASES == {"seq2vec": "deep_rnn_dense"}
    assert arch.SEQUENCE_VARIANTS == {
        "seq2seq", "ln_rnn", "lstm", "gru", "conv_gru", "wavenet"
    }
    assert set(arch.DEFAULT_LEARNING_RATE) == set(arch.VARIANTS)
    assert arch.DEFAULT_LEARNING_RATE["simple_rnn"] == 0.005
    assert arch.DEFAULT_LEARNING_RATE["seq2seq"] == 0.01
    assert arch.DEFAULT_LEARNING_RATE["naive"] == 0.001
    assert arch.DEFAULT_LEARNING_RATE["lstm"] == 0.001


def test_canonical_variant_resolves_alias():
    assert arch.canonical_variant("seq2vec") == "deep_rnn_dense"
    for variant in arch.VARIANTS:
        assert arch.canonical_variant(variant) == variant


def test_canonical_variant_rejects_unknown_name():
    with pytest.raises(ValueError, match="'transformer'") as info:
        arch.canonical_variant("transformer")
    for name in ALL_NAMES:
        assert name in str(info.value)


# --- Building ---------------------------------------------------------------


@pytest.mark.parametrize("horizon", HORIZONS)
@pytest.mark.parametrize("variant", ALL_NAMES)
def test_build_model_output_shape(variant, horizon):
    model = arch.build_model(variant, N_STEPS, horizon)
    canonical = arch.canonical_variant(variant)

    assert model.name == f"forecasting_{canonical}"
    assert model.input.name == "series"
    assert tuple(model.input.shape) == (None, N_STEPS, 1)
    assert model.compiled
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    np.testing.assert_allclose(
        float(model.optimizer.learning_rate),
        arch.DEFAULT_LEARNING_RATE[canonical],
        rtol=1e-6,
    )

    inputs = np.random.default_rng(1).normal(size=(3, N_STEPS, 1))
    outputs = keras.ops.convert_to_numpy(model(inputs.astype("float32")))
    assert outputs.shape == _expected_shape(variant, 3, N_STEPS, horizon)
    assert tuple(model.output.shape) == (None,) + outputs.shape[1:]
    assert np.all(np.isfinite(outputs))


def test_build_model_learning_rate_override():
    model = arch.build_model("simple_rnn", N_STEPS, 1, learning_rate=0.02)
    np.testing.assert_allclose(float(model.optimizer.learning_rate), 0.02)


def test_build_model_is_reproducible_for_a_seed():
    first = arch.build_model("gru", N_STEPS, 10, seed=7).get_weights()
    second = arch.build_model("gru", N_STEPS, 10, seed=7).get_weights()
    other = arch.build_model("gru", N_STEPS, 10, seed=8).get_weights()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, c) for a, c in zip(first, other))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(variant="transformer"), "Unknown forecasting variant"),
        (dict(horizon=0), "horizon must be >= 1, got horizon=0"),
        (dict(horizon=-2), "horizon=-2"),
        (dict(n_steps=3), "n_steps must be >= 8.*n_steps=3"),
        (dict(n_steps=50.0), "n_steps must be an integer"),
        (dict(learning_rate=-0.01), "learning_rate=-0.01"),
        (dict(learning_rate=float("nan")), "learning_rate"),
    ],
)
def test_build_model_rejects_bad_arguments(kwargs, match):
    arguments = dict(variant="linear", n_steps=N_STEPS, horizon=1)
    arguments.update(kwargs)
    variant = arguments.pop("variant")
    with pytest.raises(ValueError, match=match):
        arch.build_model(variant, **arguments)


def test_zero_learning_rate_gives_an_untrained_model():
    model = arch.build_model("linear", N_STEPS, 10, learning_rate=0.0)
    before = model.get_weights()
    inputs, targets = _dataset("linear", N_STEPS, 10, batch=8)
    model.fit(inputs, targets, batch_size=8, epochs=1, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


# --- Train, save, reload -------------------------------------------------------


@pytest.mark.parametrize("variant", arch.VARIANTS)
def test_train_save_and_reload(variant, tmp_path):
    horizon = 10
    model = arch.build_model(variant, N_STEPS, horizon)
    inputs, targets = _dataset(variant, N_STEPS, horizon, batch=16)
    before = model.get_weights()

    with warnings.catch_warnings():
        # The naive baseline has no weights; Keras warns, training is a no-op.
        warnings.filterwarnings("ignore", "The model does not have any")
        history = model.fit(inputs, targets, batch_size=8, epochs=1, verbose=0)

    metric = "last_time_step_mse" if variant in arch.SEQUENCE_VARIANTS else "mae"
    assert np.isfinite(history.history["loss"][-1])
    assert np.isfinite(history.history[metric][-1])
    if variant == "naive":
        assert before == [] and model.get_weights() == []
    else:
        assert any(
            not np.array_equal(a, b)
            for a, b in zip(before, model.get_weights())
        )

    path = tmp_path / f"{variant}.keras"
    model.save(path)
    # No custom_objects: registering the custom objects must be enough.
    reloaded = keras.saving.load_model(path)

    assert reloaded.name == model.name
    assert reloaded.compiled
    assert reloaded.get_compile_config()["metrics"] == (
        model.get_compile_config()["metrics"]
    )
    expected = keras.ops.convert_to_numpy(model(inputs, training=False))
    actual = keras.ops.convert_to_numpy(reloaded(inputs, training=False))
    assert actual.shape == targets.shape
    np.testing.assert_allclose(actual, expected, atol=1e-6)


# --- Sequence targets -------------------------------------------------------


def test_seq2seq_targets_small_example():
    series = np.array([[0.0, 1.0, 2.0, 3.0], [10.0, 11.0, 12.0, 13.0]])
    future = np.array([[4.0, 5.0], [14.0, 15.0]])
    targets = arch.seq2seq_targets(series, future)
    assert targets.shape == (2, 4, 2)
    # At step t the targets are the values at t + 1 and t + 2.
    np.testing.assert_array_equal(
        targets[0], [[1.0, 2.0], [2.0, 3.0], [3.0, 4.0], [4.0, 5.0]]
    )
    np.testing.assert_array_equal(targets[1], targets[0] + 10.0)
    # The last step's targets are exactly the future values.
    np.testing.assert_array_equal(targets[:, -1], future)
    # Model-shaped inputs [b, n_steps, 1] are accepted as well.
    np.testing.assert_array_equal(
        arch.seq2seq_targets(series[..., None], future), targets
    )


def test_seq2seq_targets_horizon_one_is_the_shifted_series():
    series = _series(2, 11)
    targets = arch.seq2seq_targets(series[:, :10], series[:, 10:])
    np.testing.assert_array_equal(targets[..., 0], series[:, 1:])


def test_seq2seq_targets_rejects_mismatched_batches():
    with pytest.raises(ValueError, match="same batch size"):
        arch.seq2seq_targets(np.zeros((2, 10)), np.zeros((3, 1)))


def test_sequence_target_steps():
    for variant in arch.VARIANTS:
        steps = arch.sequence_target_steps(variant, N_STEPS)
        if variant in arch.SEQUENCE_VARIANTS:
            assert isinstance(steps, slice)
        else:
            assert steps is None
    assert arch.sequence_target_steps("seq2vec", N_STEPS) is None
    assert arch.sequence_target_steps("lstm", N_STEPS) == slice(None)
    assert arch.sequence_target_steps("conv_gru", N_STEPS) == slice(3, None, 2)
    for n_steps in range(8, 80):
        steps = arch.sequence_target_steps("conv_gru", n_steps)
        conv_length = (n_steps - 4) // 2 + 1
        assert len(range(n_steps)[steps]) == conv_length


@pytest.mark.parametrize("n_steps", [9, N_STEPS])
def test_conv_gru_output_length_matches_target_steps(n_steps):
    model = arch.build_model("conv_gru", n_steps, 2)
    steps = arch.sequence_target_steps("conv_gru", n_steps)
    assert model.output.shape[1] == len(range(n_steps)[steps])


@pytest.mark.parametrize("variant", sorted(arch.SEQUENCE_VARIANTS))
def test_sequence_outputs_only_see_the_past(variant):
    """The output for target step t depends on inputs <= t, and on input t."""
    model = arch.build_model(variant, N_STEPS, 1)
    changed_step = 20
    inputs = _series(1, N_STEPS)[..., None]
    perturbed = inputs.copy()
    perturbed[:, changed_step] += 1.0

    original = keras.ops.convert_to_numpy(model(inputs))[0, :, 0]
    shifted = keras.ops.convert_to_numpy(model(perturbed))[0, :, 0]
    target_times = np.arange(N_STEPS)[arch.sequence_target_steps(variant, N_STEPS)]
    changed = ~np.isclose(original, shifted, rtol=0, atol=1e-7)
    np.testing.assert_array_equal(changed, target_times >= changed_step)


# --- Outputs, metric and custom layers ---------------------------------------


def test_last_step():
    sequence = np.arange(24, dtype="float32").reshape(2, 4, 3)
    np.testing.assert_array_equal(arch.last_step(sequence), sequence[:, -1])
    as_tensor = keras.ops.convert_to_tensor(sequence)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(arch.last_step(as_tensor)), sequence[:, -1]
    )
    vector = sequence[:, 0]
    np.testing.assert_array_equal(arch.last_step(vector), vector)
    with pytest.raises(ValueError, match="rank"):
        arch.last_step(np.zeros(3))


def test_naive_repeats_the_last_value():
    model = arch.build_model("naive", 8, 3)
    assert model.weights == []
    inputs = np.arange(16, dtype="float32").reshape(2, 8, 1)
    outputs = keras.ops.convert_to_numpy(model(inputs))
    np.testing.assert_array_equal(outputs, [[7.0, 7.0, 7.0], [15.0, 15.0, 15.0]])


def test_last_value_forecast_layer():
    layer = arch.LastValueForecast(2)
    assert layer.compute_output_shape((None, 5, 1)) == (None, 2)
    assert arch.LastValueForecast.from_config(layer.get_config()).horizon == 2
    with pytest.raises(ValueError, match="horizon"):
        arch.LastValueForecast(0)
    with pytest.raises(ValueError, match="univariate"):
        layer(np.zeros((1, 5, 2), dtype="float32"))


def test_last_time_step_mse_by_hand():
    y_true = np.zeros((2, 3, 2), dtype="float32")
    y_pred = np.full((2, 3, 2), 9.0, dtype="float32")  # earlier steps ignored
    y_true[:, -1] = [[1.0, 2.0], [3.0, 4.0]]
    y_pred[:, -1] = [[0.0, 0.0], [3.0, 6.0]]
    # Sample 0: (1 + 4) / 2 = 2.5; sample 1: (0 + 4) / 2 = 2.0.
    per_sample = arch.last_time_step_mse(y_true, y_pred)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(per_sample), [2.5, 2.0])

    metric = keras.metrics.MeanMetricWrapper(arch.last_time_step_mse)
    metric.update_state(y_true, y_pred)
    np.testing.assert_allclose(float(metric.result()), 2.25)


def test_ln_cell_normalizes_before_activation():
    keras.utils.set_random_seed(0)
    units = 16
    cell = arch.LNSimpleRNNCell(units, activation=None)
    inputs = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    state = np.random.default_rng(1).normal(size=(4, units)).astype("float32")
    outputs, new_states = cell(inputs, [state])
    outputs = keras.ops.convert_to_numpy(outputs)
    assert outputs.shape == (4, units)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(new_states[0]), outputs
    )
    # Fresh LayerNormalization (gamma=1, beta=0): zero mean, unit std per row.
    np.testing.assert_allclose(outputs.mean(axis=-1), 0.0, atol=1e-5)
    np.testing.assert_allclose(outputs.std(axis=-1), 1.0, atol=1e-2)


def test_ln_cell_in_rnn_layer_is_bounded_by_tanh():
    keras.utils.set_random_seed(0)
    layer = keras.layers.RNN(arch.LNSimpleRNNCell(8), return_sequences=True)
    inputs = 10.0 * _series(2, 12)[..., None]
    outputs = keras.ops.convert_to_numpy(layer(inputs))
    assert outputs.shape == (2, 12, 8)
    assert np.all(np.abs(outputs) < 1.0)
    # Two sublayers: kernel, recurrent kernel, bias; gamma, beta.
    assert len(layer.trainable_weights) == 5


def test_ln_cell_config_round_trip():
    cell = arch.LNSimpleRNNCell(7, activation="relu", name="my_cell")
    config = cell.get_config()
    assert config["units"] == 7 and config["activation"] == "relu"
    clone = arch.LNSimpleRNNCell.from_config(config)
    assert clone.units == 7 and clone.state_size == 7 and clone.output_size == 7
    assert clone.activation is keras.activations.relu
    # Registered: deserializes by name alone, without custom_objects.
    serialized = keras.saving.serialize_keras_object(cell)
    assert serialized["registered_name"] == "forecasting>LNSimpleRNNCell"
    restored = keras.saving.deserialize_keras_object(serialized)
    assert isinstance(restored, arch.LNSimpleRNNCell)
    assert restored.get_config() == config


def test_custom_objects_are_registered():
    get = keras.saving.get_registered_object
    assert get("forecasting>last_time_step_mse") is arch.last_time_step_mse
    assert get("forecasting>LastValueForecast") is arch.LastValueForecast
    assert get("forecasting>LNSimpleRNNCell") is arch.LNSimpleRNNCell


def test_module_does_not_import_tensorflow():
    source = open(arch.__file__, encoding="utf-8").read()
    assert "import tensorflow" not in source
    assert "from tensorflow" not in source
