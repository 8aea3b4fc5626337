"""The char-RNN pipeline end to end on the start of the shared Shakespeare corpus."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_model_analysis as tfma

from pipelines.run import main as run_pipeline
from tests import pipeline_outputs as h

pytestmark = pytest.mark.e2e

SHAKESPEARE = h.shared_dataset("shakespeare", "input.txt")


def _args(**overrides):
    args = dict(prompt="To be or not to be", n_chars=60, temperature=1.0, top_k=0,
                top_p=1.0, seed=42)
    args.update(overrides)
    return {"prompt": tf.constant(args["prompt"]), "n_chars": tf.constant(args["n_chars"], tf.int32),
            "temperature": tf.constant(args["temperature"], tf.float32),
            "top_k": tf.constant(args["top_k"], tf.int32),
            "top_p": tf.constant(args["top_p"], tf.float32), "seed": tf.constant(args["seed"], tf.int64)}


@pytest.fixture(scope="module")
def pushed(tmp_path_factory):
    work = tmp_path_factory.mktemp("char_rnn")
    code = run_pipeline(["--family", "char_rnn", "--profile", "smoke", "--corpus", SHAKESPEARE,
                         "--work-dir", str(work)])
    assert code == 0
    root = os.path.join(work, "tfx_pipeline_output", "char_rnn")
    serving = os.path.join(work, "serving_model", "char_rnn")
    versions = h.pushed_versions(serving)
    assert len(versions) == 1
    return {"root": root, "model": tf.saved_model.load(os.path.join(serving, versions[0]))}


def test_evaluator_reports_accuracy_and_bits_per_char(pushed):
    evaluation = h.only(f"{pushed['root']}/Evaluator/evaluation/*")
    assert tfma.load_validation_result(evaluation).validation_ok
    metrics = {kv.key.name: kv.value.double_value.value
               for m in tfma.load_metrics(evaluation) for kv in m.metric_keys_and_values}
    assert 0.25 <= metrics["next_char_accuracy"] < 1
    assert 0 < metrics["bits_per_char"] < np.log2(39)  # better than uniform over the vocabulary


def test_generate_returns_text_deterministically(pushed):
    generate = pushed["model"].signatures["generate"]
    text = generate(**_args())["text"].numpy().decode()
    assert len(text) == 60
    assert generate(**_args())["text"].numpy().decode() == text
    assert generate(**_args(seed=7))["text"].numpy().decode() != text
    greedy = generate(**_args(temperature=1e-4, seed=1))["text"].numpy().decode()
    assert greedy == generate(**_args(top_k=1, seed=2))["text"].numpy().decode()


def test_next_char_probs(pushed):
    out = pushed["model"].signatures["next_char_probs"](prompt=tf.constant("to be or not to b"))
    probs = out["probabilities"].numpy()
    chars = [c.decode() for c in out["characters"].numpy()]
    assert probs.shape == (len(chars),) and abs(probs.sum() - 1) < 1e-4
    assert "e" in chars


@pytest.mark.parametrize("overrides, message", [
    ({"prompt": ""}, "empty"), ({"prompt": "to be ☃"}, "vocabulary"),
    ({"n_chars": 0}, "n_chars"), ({"n_chars": 10**6}, "n_chars"),
    ({"temperature": 0.0}, "temperature"), ({"top_p": 1.5}, "top_p"), ({"top_p": 0.0}, "top_p"),
])
def test_bad_arguments_are_clear_errors(pushed, overrides, message):
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        pushed["model"].signatures["generate"](**_args(**overrides))
