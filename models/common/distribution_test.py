"""The Trainer's tf.distribute strategies: names, TF_CONFIG, and two real
worker processes on localhost training the same weights."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from models.common import distribution

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _tf_config(monkeypatch, cluster: dict, task_type: str, index: int) -> None:
    monkeypatch.setenv("TF_CONFIG", json.dumps(
        {"cluster": cluster, "task": {"type": task_type, "index": index}}))


def test_unknown_strategy_is_named():
    with pytest.raises(distribution.DistributionError, match="unknown distribution 'tpu'"):
        distribution.strategy_for("tpu")


def test_multi_worker_without_tf_config_says_what_it_needs(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(distribution.DistributionError, match="needs TF_CONFIG"):
        distribution.strategy_for(distribution.MULTI_WORKER_MIRRORED)


@pytest.mark.parametrize("raw, message", [("{not json", "not JSON"),
                                          ('{"cluster": {}}', "needs")])
def test_malformed_tf_config_is_named(monkeypatch, raw, message):
    monkeypatch.setenv("TF_CONFIG", raw)
    with pytest.raises(distribution.DistributionError, match=f"TF_CONFIG.*{message}|{message}.*TF_CONFIG"):
        distribution.cluster_spec()


def test_chief_is_the_chief_task_or_worker_zero(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert distribution.is_chief() and distribution.num_tasks() == 1
    workers = {"worker": ["a:1", "b:2"]}
    _tf_config(monkeypatch, workers, "worker", 0)
    assert distribution.is_chief() and distribution.num_tasks() == 2
    _tf_config(monkeypatch, workers, "worker", 1)
    assert not distribution.is_chief()
    with_chief = {"chief": ["c:0"], "worker": ["a:1"]}
    _tf_config(monkeypatch, with_chief, "worker", 0)
    assert not distribution.is_chief()
    _tf_config(monkeypatch, with_chief, "chief", 0)
    assert distribution.is_chief()


def test_auto_picks_by_cluster_and_devices(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    import tensorflow as tf

    expected = (distribution.MIRRORED if len(tf.config.list_physical_devices("GPU")) > 1
                else distribution.DEFAULT)
    assert distribution.resolve(distribution.AUTO) == expected
    _tf_config(monkeypatch, {"worker": ["a:1", "b:2"]}, "worker", 1)
    assert distribution.resolve(distribution.AUTO) == distribution.MULTI_WORKER_MIRRORED


def test_outputs_of_a_non_chief_worker_go_elsewhere(monkeypatch, tmp_path):
    target = str(tmp_path / "model")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert distribution.output_dir(target) == target
    _tf_config(monkeypatch, {"worker": ["a:1", "b:2"]}, "worker", 1)
    elsewhere = distribution.output_dir(target)
    assert elsewhere != target and os.path.isdir(elsewhere)


def test_mirrored_strategy_trains_through_the_shared_fit():
    import keras
    import tensorflow as tf

    from models.common import training

    strategy = distribution.strategy_for(distribution.MIRRORED)
    x = np.random.RandomState(0).normal(size=(128, 3)).astype("float32")
    ds = tf.data.Dataset.from_tensor_slices((x, x.sum(axis=1, keepdims=True))).batch(16)
    with strategy.scope():
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
        stats = training.fit(model, ds.repeat(), ds, train_steps=16, steps_per_epoch=8,
                             batch_size=16)
    assert model.distribute_strategy is strategy
    losses = stats["history"]["loss"]
    assert len(losses) == 2 and losses[1] < losses[0]


# One worker of the localhost cluster: trains through `training.fit` under
# the strategy the config names, then saves where `distribution.output_dir`
# says and reports its final weights.
WORKER = textwrap.dedent("""
    import json, os, sys
    import numpy as np
    import keras, tensorflow as tf
    from models.common import distribution, training

    out, report = sys.argv[1], sys.argv[2]
    strategy = distribution.strategy_for("multi_worker_mirrored")
    rng = np.random.RandomState(0)
    x = rng.normal(size=(512, 4)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5], [3.0]], "float32")
    train = tf.data.Dataset.from_tensor_slices((x[:448], y[:448])).shuffle(448, seed=1).batch(32)
    valid = tf.data.Dataset.from_tensor_slices((x[448:], y[448:])).batch(32)
    with strategy.scope():
        keras.utils.set_random_seed(7)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                                  keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse", metrics=["mae"])
        stats = training.fit(model, train.repeat(), valid, train_steps=20, steps_per_epoch=10,
                             batch_size=32)
    target = distribution.output_dir(out)
    os.makedirs(target, exist_ok=True)
    model.save(os.path.join(target, "model.keras"))
    np.savez(report + ".npz", *model.get_weights())
    with open(report + ".json", "w") as f:
        json.dump({"replicas": strategy.num_replicas_in_sync, "chief": distribution.is_chief(),
                   "saved_to": target, "history": stats["history"]}, f)
""")


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("localhost", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def test_two_workers_on_localhost_finish_with_the_same_weights(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    cluster = {"worker": [f"localhost:{p}" for p in _free_ports(2)]}
    out = str(tmp_path / "model")
    procs = []
    for index in range(2):
        env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="",
                   TF_CONFIG=json.dumps({"cluster": cluster,
                                         "task": {"type": "worker", "index": index}}))
        procs.append(subprocess.Popen(
            [sys.executable, str(script), out, str(tmp_path / f"worker{index}")], env=env,
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    logs = []
    for proc in procs:
        try:
            logs.append(proc.communicate(timeout=240)[0])
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            raise
    for proc, log in zip(procs, logs):
        assert proc.returncode == 0, log[-3000:]

    reports = [json.load(open(tmp_path / f"worker{i}.json")) for i in range(2)]
    assert [r["replicas"] for r in reports] == [2, 2]
    assert [r["chief"] for r in reports] == [True, False]
    assert reports[0]["saved_to"] == out and reports[1]["saved_to"] != out
    assert os.path.exists(os.path.join(out, "model.keras"))
    # Synchronous training: the same loss each epoch and the same final weights.
    assert reports[0]["history"]["loss"] == pytest.approx(reports[1]["history"]["loss"])
    assert reports[0]["history"]["loss"][-1] < reports[0]["history"]["loss"][0]
    first, second = (np.load(tmp_path / f"worker{i}.npz") for i in range(2))
    assert len(first.files) == len(second.files) == 4
    for key in first.files:
        np.testing.assert_array_equal(first[key], second[key])
