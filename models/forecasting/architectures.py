"""Time-series forecasting architectures from *Hands-On ML*, chapter 15.

Every model in Géron's chapter on sequence processing, from the naive
"tomorrow looks like today" baseline up to a small WaveNet, written in
backend-neutral Keras 3 (only ``keras``, ``keras.ops`` and ``keras.layers``;
no TensorFlow import), so it runs under the TensorFlow and the JAX backends.

All models read a scaled univariate series shaped ``[batch, n_steps, 1]``
(z-scored; scaled into [-1, 1] for the tanh-headed ``BOUNDED_OUTPUT_VARIANTS``)
through an input named ``"series"`` and forecast ``horizon`` future values.
They come in two output flavours:

* **vector** variants predict the next ``horizon`` values once, from the
  whole window: output ``[batch, horizon]``.
* **sequence** (sequence-to-sequence) variants predict the next ``horizon``
  values *at every time step*: output ``[batch, steps, horizon]``. Training
  on a forecast at every step gives many more error signals per window and
  stabilises training; at inference only the last step matters (see
  :func:`last_step`), which is also what the ``last_time_step_mse`` metric
  reports.

Typical use::

    model = build_model("lstm", n_steps=50, horizon=10)
    Y = seq2seq_targets(series, future)                  # [b, 50, 10]
    Y = Y[:, sequence_target_steps("lstm", 50)]
    model.fit(X, Y)
    forecast = last_step(model.predict(X))                # [b, 10]
"""

from __future__ import annotations


import keras
import numpy as np

from models.common.arguments import canonical_name, check_int, check_learning_rate

# ---------------------------------------------------------------------------
# Variant registry
# ---------------------------------------------------------------------------

VARIANTS: tuple[str, ...] = (
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

# Alternative names that resolve to a canonical variant.
ALIASES: dict[str, str] = {"seq2vec": "deep_rnn_dense"}

# Variants whose forecast comes out of a tanh unit (SimpleRNN head): they can
# only produce values in [-1, 1], so their data must be scaled into that range.
BOUNDED_OUTPUT_VARIANTS: frozenset[str] = frozenset({"simple_rnn", "deep_rnn"})

# Variants whose output is [batch, steps, horizon] (a forecast at every step).
SEQUENCE_VARIANTS: frozenset[str] = frozenset(
    {"seq2seq", "ln_rnn", "lstm", "gru", "conv_gru", "wavenet"}
)

# The learning rates used in the book; Adam's default everywhere else.
DEFAULT_LEARNING_RATE: dict[str, float] = {
    "naive": 0.001,  # unused: the baseline has no weights to train
    "linear": 0.001,
    "simple_rnn": 0.005,
    "deep_rnn": 0.001,
    "deep_rnn_dense": 0.001,
    "seq2seq": 0.01,
    "ln_rnn": 0.001,
    "lstm": 0.001,
    "gru": 0.001,
    "conv_gru": 0.001,
    "wavenet": 0.001,
}

# Conv1D/WaveNet need a few steps of context: conv_gru's kernel alone spans 4.
MIN_STEPS = 8

# Width of the hidden recurrent / convolutional layers throughout the chapter.
HIDDEN_UNITS = 20

# conv_gru front end: a strided "valid" convolution shortens the sequence.
CONV_KERNEL_SIZE = 4
CONV_STRIDES = 2

# WaveNet: two stacks of causal convolutions with doubling dilation rates.
WAVENET_DILATION_RATES = (1, 2, 4, 8) * 2

SERIALIZATION_PACKAGE = "forecasting"


def canonical_variant(name: str) -> str:
    """Returns the canonical variant name for ``name``, resolving aliases."""
    return canonical_name("forecasting", name, VARIANTS, ALIASES)



def _check_n_steps(n_steps: int) -> int:
    return check_int("n_steps", n_steps, MIN_STEPS,
                     why=" (the convolutional variants need room for their kernels)")

# ---------------------------------------------------------------------------
# Targets and outputs of sequence-to-sequence models
# ---------------------------------------------------------------------------


def seq2seq_targets(series: np.ndarray, future: np.ndarray) -> np.ndarray:
    """Builds the "forecast at every step" targets of a sequence model.

    Args:
      series: observed window, ``[batch, n_steps]`` (a trailing axis of size
        1, as fed to the models, is accepted too).
      future: the ``horizon`` values that follow, ``[batch, horizon]`` (or
        ``[batch, horizon, 1]``).

    Returns:
      ``Y`` of shape ``[batch, n_steps, horizon]`` with
      ``Y[b, t, k] = full[b, t + 1 + k]``, where ``full`` is ``series``
      followed by ``future``: at step ``t`` the model forecasts the
      ``horizon`` values that come right after step ``t``.
    """
    series = np.asarray(series)
    future = np.asarray(future)
    if series.ndim == 3 and series.shape[-1] == 1:
        series = series[..., 0]
    if future.ndim == 3 and future.shape[-1] == 1:
        future = future[..., 0]
    if series.ndim != 2 or future.ndim != 2:
        raise ValueError(
            "series must be [batch, n_steps] and future [batch, horizon], "
            f"got shapes {series.shape} and {future.shape}."
        )
    if series.shape[0] != future.shape[0]:
        raise ValueError(
            "series and future must have the same batch size, got "
            f"{series.shape[0]} and {future.shape[0]}."
        )
    n_steps, horizon = series.shape[1], future.shape[1]
    if horizon < 1:
        raise ValueError(f"future must hold >= 1 step, got shape {future.shape}.")
    full = np.concatenate([series, future], axis=1)
    # Column k holds the series shifted k + 1 steps into the future.
    return np.stack(
        [full[:, 1 + k : 1 + k + n_steps] for k in range(horizon)], axis=-1
    )


def sequence_target_steps(variant: str, n_steps: int) -> slice | None:
    """Which steps of the ``seq2seq_targets`` tensor a variant outputs.

    Returns ``None`` for vector variants, ``slice(None)`` for sequence
    variants that keep the input length, and ``slice(3, None, 2)`` for
    ``conv_gru``: its kernel-4, stride-2 "valid" convolution emits its i-th
    step once input step ``2 * i + 3`` has been seen.
    """
    variant = canonical_variant(variant)
    n_steps = _check_n_steps(n_steps)
    if variant not in SEQUENCE_VARIANTS:
        return None
    if variant == "conv_gru":
        return slice(CONV_KERNEL_SIZE - 1, None, CONV_STRIDES)
    return slice(None)


def last_step(outputs):
    """Forecast of the last time step: ``[b, steps, h] -> [b, h]``.

    Vector outputs (``[b, h]``) are returned unchanged, so the same code
    serves every variant. Works on NumPy arrays, backend tensors and
    symbolic Keras tensors.
    """
    rank = keras.ops.ndim(outputs)
    if rank == 3:
        return outputs[:, -1, :]
    if rank == 2:
        return outputs
    raise ValueError(
        f"Expected outputs of rank 2 or 3, got rank {rank} "
        f"(shape {keras.ops.shape(outputs)})."
    )


# ---------------------------------------------------------------------------
# Custom metric and layers
# ---------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
def last_time_step_mse(y_true, y_pred):
    """MSE of the last time step only: the forecast that is actually used.

    Sequence models are trained on every step, but their early steps see
    little context; this metric tracks the error that matters. Returns one
    value per sample (averaged over the horizon); Keras averages the batch.
    """
    y_pred = keras.ops.convert_to_tensor(y_pred)
    y_true = keras.ops.cast(y_true, y_pred.dtype)
    error = y_true[:, -1] - y_pred[:, -1]
    return keras.ops.mean(keras.ops.square(error), axis=-1)


@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
class LastValueForecast(keras.layers.Layer):
    """Naive baseline: the forecast repeats the last observed value.

    Has no weights, so fitting a model built on it changes nothing; it exists
    to give every other variant an error to beat.
    """

    def __init__(self, horizon: int, **kwargs):
        super().__init__(**kwargs)
        self.horizon = check_int("horizon", horizon, 1)

    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[-1] != 1:
            raise ValueError(
                "LastValueForecast expects a univariate series "
                f"[batch, steps, 1], got shape {tuple(input_shape)}."
            )

    def call(self, inputs):
        last_value = inputs[:, -1, :]  # [batch, 1]
        return keras.ops.repeat(last_value, self.horizon, axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.horizon)

    def get_config(self):
        return {**super().get_config(), "horizon": self.horizon}


@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
class LNSimpleRNNCell(keras.layers.Layer):
    """SimpleRNN cell with layer normalization before its activation.

    Layer norm (unlike batch norm) normalizes each sample across units, so it
    behaves the same at every time step and fights unstable gradients in
    recurrent nets. The wrapped cell therefore has no activation of its own.
    Use it through ``keras.layers.RNN``.
    """

    def __init__(self, units: int, activation="tanh", **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.state_size = self.units
        self.output_size = self.units
        self.simple_rnn_cell = keras.layers.SimpleRNNCell(
            self.units, activation=None, name="simple_rnn_cell"
        )
        self.layer_norm = keras.layers.LayerNormalization(name="layer_norm")
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        # Build the sublayers now so their weights exist before a saved
        # model's weights are loaded into them.
        self.simple_rnn_cell.build(input_shape)
        self.layer_norm.build((input_shape[0], self.units))

    def call(self, inputs, states):
        outputs, _ = self.simple_rnn_cell(inputs, states)
        norm_outputs = self.activation(self.layer_norm(outputs))
        # The (normalized, activated) output is also the next hidden state.
        return norm_outputs, [norm_outputs]

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
        }


# ---------------------------------------------------------------------------
# Architectures: each takes the "series" input and returns the forecast.
# ---------------------------------------------------------------------------


def _naive(series, horizon):
    return LastValueForecast(horizon, name="last_value_forecast")(series)


def _linear(series, horizon):
    x = keras.layers.Flatten(name="flatten")(series)
    return keras.layers.Dense(horizon, name="forecast")(x)


def _simple_rnn(series, horizon):
    # One recurrent layer whose `horizon` units are the forecast itself.
    return keras.layers.SimpleRNN(horizon, name="simple_rnn")(series)


def _deep_rnn(series, horizon):
    x = keras.layers.SimpleRNN(
        HIDDEN_UNITS, return_sequences=True, name="simple_rnn_1"
    )(series)
    x = keras.layers.SimpleRNN(
        HIDDEN_UNITS, return_sequences=True, name="simple_rnn_2"
    )(x)
    # The output layer is recurrent too, so its tanh bounds the forecast.
    return keras.layers.SimpleRNN(horizon, name="simple_rnn_forecast")(x)


def _deep_rnn_dense(series, horizon):
    x = keras.layers.SimpleRNN(
        HIDDEN_UNITS, return_sequences=True, name="simple_rnn_1"
    )(series)
    x = keras.layers.SimpleRNN(HIDDEN_UNITS, name="simple_rnn_2")(x)
    # A Dense head: unbounded outputs, faster training than a recurrent one.
    return keras.layers.Dense(horizon, name="forecast")(x)


def _per_step_forecast(x, horizon):
    # On a 3-D input Dense acts on the last axis, i.e. at every time step
    # with shared weights: what TimeDistributed(Dense) did in Keras 2.
    return keras.layers.Dense(horizon, name="forecast")(x)


def _seq2seq(series, horizon):
    x = keras.layers.SimpleRNN(
        HIDDEN_UNITS, return_sequences=True, name="simple_rnn_1"
    )(series)
    x = keras.layers.SimpleRNN(
        HIDDEN_UNITS, return_sequences=True, name="simple_rnn_2"
    )(x)
    return _per_step_forecast(x, horizon)


def _ln_rnn(series, horizon):
    x = keras.layers.RNN(
        LNSimpleRNNCell(HIDDEN_UNITS), return_sequences=True, name="ln_rnn_1"
    )(series)
    x = keras.layers.RNN(
        LNSimpleRNNCell(HIDDEN_UNITS), return_sequences=True, name="ln_rnn_2"
    )(x)
    return _per_step_forecast(x, horizon)


def _lstm(series, horizon):
    x = keras.layers.LSTM(HIDDEN_UNITS, return_sequences=True, name="lstm_1")(
        series
    )
    x = keras.layers.LSTM(HIDDEN_UNITS, return_sequences=True, name="lstm_2")(x)
    return _per_step_forecast(x, horizon)


def _gru(series, horizon):
    x = keras.layers.GRU(HIDDEN_UNITS, return_sequences=True, name="gru_1")(
        series
    )
    x = keras.layers.GRU(HIDDEN_UNITS, return_sequences=True, name="gru_2")(x)
    return _per_step_forecast(x, horizon)


def _conv_gru(series, horizon):
    # The strided convolution halves the sequence length, so the GRUs see
    # longer-range patterns for the same number of recurrent steps.
    x = keras.layers.Conv1D(
        HIDDEN_UNITS,
        kernel_size=CONV_KERNEL_SIZE,
        strides=CONV_STRIDES,
        padding="valid",
        name="conv1d",
    )(series)
    x = keras.layers.GRU(HIDDEN_UNITS, return_sequences=True, name="gru_1")(x)
    x = keras.layers.GRU(HIDDEN_UNITS, return_sequences=True, name="gru_2")(x)
    return _per_step_forecast(x, horizon)


def _wavenet(series, horizon):
    # Causal padding: step t only sees steps <= t. Doubling dilation rates
    # grow the receptive field exponentially with depth.
    x = series
    for index, rate in enumerate(WAVENET_DILATION_RATES, start=1):
        x = keras.layers.Conv1D(
            HIDDEN_UNITS,
            kernel_size=2,
            padding="causal",
            dilation_rate=rate,
            activation="relu",
            name=f"causal_conv1d_{index}_rate_{rate}",
        )(x)
    # A 1x1 convolution is a per-step Dense: `horizon` forecasts per step.
    return keras.layers.Conv1D(horizon, kernel_size=1, name="forecast")(x)


_ARCHITECTURES = {
    "naive": _naive,
    "linear": _linear,
    "simple_rnn": _simple_rnn,
    "deep_rnn": _deep_rnn,
    "deep_rnn_dense": _deep_rnn_dense,
    "seq2seq": _seq2seq,
    "ln_rnn": _ln_rnn,
    "lstm": _lstm,
    "gru": _gru,
    "conv_gru": _conv_gru,
    "wavenet": _wavenet,
}
assert tuple(_ARCHITECTURES) == VARIANTS == tuple(DEFAULT_LEARNING_RATE)


def build_model(
    variant: str,
    n_steps: int,
    horizon: int,
    *,
    learning_rate: float | None = None,
    seed: int = 42,
) -> keras.Model:
    """Builds and compiles one forecasting variant.

    Args:
      variant: one of ``VARIANTS`` or an alias in ``ALIASES``.
      n_steps: length of the input window (>= ``MIN_STEPS``).
      horizon: number of future steps to forecast (>= 1).
      learning_rate: Adam's learning rate; ``None`` uses the book's setting
        from ``DEFAULT_LEARNING_RATE``. 0 is allowed (an untrainable model).
      seed: seeds Python, NumPy and the backend for reproducible weights.

    Returns:
      A compiled ``keras.Model`` named ``forecasting_<canonical variant>``,
      trained with MSE; sequence variants report ``last_time_step_mse``,
      vector variants ``mae``.
    """
    variant = canonical_variant(variant)
    n_steps = _check_n_steps(n_steps)
    horizon = check_int("horizon", horizon, 1)
    if learning_rate is None:
        learning_rate = DEFAULT_LEARNING_RATE[variant]
    learning_rate = check_learning_rate(learning_rate, allow_zero=True)  # 0: an untrained model

    keras.utils.set_random_seed(seed)
    series = keras.Input(shape=(n_steps, 1), name="series")
    forecast = _ARCHITECTURES[variant](series, horizon)
    model = keras.Model(series, forecast, name=f"forecasting_{variant}")

    if variant in SEQUENCE_VARIANTS:
        metrics = [last_time_step_mse]
    else:
        metrics = ["mae"]
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="mse",
        metrics=metrics,
    )
    return model
