"""Char-RNN input pipeline semantics: windows, targets, stateful continuity."""

import numpy as np
import pytest

from models.char_rnn.trainer import TrainConfig, stateful_batches, window_dataset

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def test_targets_are_inputs_shifted_by_one():
    ids = np.arange(1000, dtype=np.int64)
    config = TrainConfig(window=100, shift=1, batch_size=8, shuffle_buffer=50)
    x, y = next(iter(window_dataset(ids, config, training=True)))
    assert x.shape == (8, 100) and y.shape == (8, 100)
    np.testing.assert_array_equal(x.numpy()[:, 1:], y.numpy()[:, :-1])
    np.testing.assert_array_equal(y.numpy() - x.numpy(), 1)  # consecutive ids of the stream
    # Windows start every `shift` characters: 1000 − 100 windows of 101.
    n = sum(int(b[0].shape[0]) for b in window_dataset(ids, config, training=True))
    assert n == 1000 - 100


def test_validation_windows_are_back_to_back():
    ids = np.arange(1001, dtype=np.int64)
    config = TrainConfig(window=100, batch_size=4)
    starts = [int(x[0]) for x, _ in window_dataset(ids, config, training=False).unbatch()]
    assert starts == list(range(0, 1000, 100))


def test_stateful_rows_continue_across_batches():
    ids = np.arange(32 * 1000, dtype=np.int64)
    config = TrainConfig(variant="stateful", window=100, batch_size=32)
    batches = stateful_batches(ids, config)
    assert batches.shape == (9, 32, 101)  # (1000 − 1) // 100 windows per part
    for k in range(len(batches) - 1):
        # Row n of batch k+1 starts where row n of batch k's inputs ended.
        np.testing.assert_array_equal(batches[k + 1][:, 0], batches[k][:, -1])
    # Row n reads part n of the text.
    np.testing.assert_array_equal(batches[0][:, 0], np.arange(32) * 1000)


def test_too_short_text_is_a_clear_error():
    with pytest.raises(ValueError, match="fewer than one window"):
        window_dataset(np.arange(50), TrainConfig(window=100), training=True)
    with pytest.raises(ValueError, match="too few"):
        stateful_batches(np.arange(500), TrainConfig(variant="stateful", batch_size=32))


@pytest.mark.parametrize("options, message", [
    ({"variant": "beam"}, "variant"), ({"window": 0}, "window"),
    ({"steps_per_epoch": -1}, "steps_per_epoch"), ({"vocab": 39}, "unknown char_rnn"),
])
def test_bad_options(options, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig.from_custom_config(options)
