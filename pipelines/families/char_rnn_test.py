"""The char-RNN family spec: options reach the Trainer, bad ones are named."""

import argparse

import pytest

from pipelines.families import char_rnn


def test_the_books_settings_by_default():
    spec = char_rnn.build_spec(profile="smoke", source="unused.txt")
    assert spec.custom_config["shuffle_buffer"] == 100_000
    assert spec.custom_config["shift"] == 1 and spec.custom_config["batch_size"] == 32


def test_cli_options_reach_the_trainer():
    parser = argparse.ArgumentParser()
    char_rnn.add_cli_arguments(parser.add_argument_group("char_rnn"))
    args = parser.parse_args(["--window-shift", "10", "--shuffle-buffer", "10000",
                              "--batch-size", "64", "--lr-schedule", "cosine"])
    options = {k: getattr(args, k) for k in char_rnn.CLI_OPTIONS if getattr(args, k) is not None}
    spec = char_rnn.build_spec(profile="smoke", source="unused.txt", **options)
    config = spec.custom_config
    assert (config["shift"], config["shuffle_buffer"], config["batch_size"]) == (10, 10_000, 64)
    assert config["lr_schedule"] == "cosine"


@pytest.mark.parametrize("options, message", [
    ({"shuffle_buffer": 0}, "shuffle_buffer must be >= 1"),
    ({"batch_size": 0}, "batch_size must be >= 1"),
])
def test_bad_options_are_named(options, message):
    with pytest.raises(ValueError, match=message):
        char_rnn.build_spec(profile="smoke", source="unused.txt", **options)
