"""Warm start: the first fit of a run starts from the base model's weights
when the architecture matches, and trains from scratch (saying why) when not."""

from __future__ import annotations

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from models.common import training


def _model(units: int = 4, seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(units, name="hidden"),
                              keras.layers.Dense(1, name="out")])
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")  # lr 0: fit keeps weights
    return model


def _export(model: keras.Model, folder) -> str:
    """The layout a trainer exports: <serving dir>/keras/model.keras."""
    os.makedirs(folder / training.KERAS_SUBDIR)
    model.save(str(folder / training.KERAS_SUBDIR / training.KERAS_FILE))
    return str(folder)


def _data() -> tf.data.Dataset:
    x = np.random.RandomState(0).rand(8, 3).astype(np.float32)
    return tf.data.Dataset.from_tensor_slices((x, x[:, :1])).batch(4)


def _fit(model: keras.Model) -> None:
    training.fit(model, _data().repeat(), _data(), train_steps=2, steps_per_epoch=2, batch_size=4)


def test_first_fit_starts_from_the_base_weights(tmp_path):
    base = _model(seed=1)
    base_dir = _export(base, tmp_path / "base")
    model = _model(seed=2)
    with training.warm_start_from(base_dir) as record:
        _fit(model)
        for a, b in zip(model.get_weights(), base.get_weights()):
            np.testing.assert_array_equal(a, b)
        # A second fit in the same run (a later training phase) keeps going
        # from where the first left off: the base is loaded once.
        model.get_layer("out").bias.assign([5.0])
        _fit(model)
        assert float(model.get_layer("out").bias.numpy()[0]) == 5.0
    assert record == {"from": base_dir, "loaded": True, "reason": "weights loaded",
                      "learning_rate_scale": 1.0}


def test_other_architecture_trains_from_scratch(tmp_path):
    base_dir = _export(_model(units=4, seed=1), tmp_path / "base")
    model = _model(units=5, seed=2)
    before = [w.copy() for w in model.get_weights()]
    with training.warm_start_from(base_dir) as record:
        _fit(model)
    assert not record["loaded"] and "architecture differs" in record["reason"]
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_unreadable_base_trains_from_scratch(tmp_path):
    (tmp_path / "empty").mkdir()
    with training.warm_start_from(str(tmp_path / "empty")) as record:
        _fit(_model())
    assert not record["loaded"] and "cannot load the base model" in record["reason"]


def test_no_base_model_is_a_cold_start():
    with training.warm_start_from(None) as record:
        _fit(_model())
    assert record == {"from": None, "loaded": False, "reason": "no base model",
                      "learning_rate_scale": 1.0}


def test_warm_start_scales_the_learning_rate(tmp_path):
    base_dir = _export(_model(seed=1), tmp_path / "base")
    model = _model(seed=2)
    model.optimizer.learning_rate.assign(0.5)
    with training.warm_start_from(base_dir, learning_rate_scale=0.1) as record:
        _fit(model)
    assert record["loaded"] and record["learning_rate"] == pytest.approx(0.05)
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="must be > 0"):
        with training.warm_start_from(base_dir, learning_rate_scale=0):
            pass
