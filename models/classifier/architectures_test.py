"""The classifier toolbox: every option builds a model that trains a step,
the book's BN model's size, SELU's rules, clear errors for bad options,
.keras save/load with the custom pieces, and transfer learning's freezing.

Tiny images (4×4) and layers keep each case to a fraction of a second; the
training steps run eagerly (no tracing).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from models.classifier import architectures as arch
from models.classifier import regularizers, schedules

SHAPE = (4, 4, 1)
CLASSES = 3


def _data(n: int = 16, classes: int = CLASSES, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.random((n,) + SHAPE, dtype=np.float32), (np.arange(n) % classes).astype(np.int64)


def _train(model, toolbox, *, steps: int = 2, classes: int = CLASSES, validate: bool = False):
    arch.compile_model(model, toolbox, steps_per_epoch=steps, total_steps=4 * steps)
    model.run_eagerly = True
    x, y = _data(8 * steps, classes)
    if arch.is_binary(model):
        y = y.reshape(-1, 1).astype("float32")
    return model.fit(x, y, batch_size=8, epochs=1, verbose=0,
                     validation_data=(x, y) if validate else None,
                     callbacks=arch.callbacks(toolbox))


def _weights(model) -> list[np.ndarray]:
    return [keras.ops.convert_to_numpy(w).copy() for w in model.weights]


# --- every option ---------------------------------------------------------------

OPTIONS = (
    [{"initializer": i} for i in arch.INITIALIZERS]
    + [{"activation": a} for a in arch.ACTIVATIONS]
    + [{"batch_norm": b} for b in arch.BATCH_NORM]
    + [{"optimizer": o} for o in arch.OPTIMIZERS]
    + [{"schedule": s} for s in arch.SCHEDULES]
    + [{"clipvalue": 1.0}, {"clipnorm": 1.0}, {"l1": 0.01}, {"l2": 0.01}, {"l1": 0.01, "l2": 0.01},
       {"dropout_rate": 0.2}, {"dropout_rate": 0.2, "mc_dropout": True}, {"max_norm": 1.0},
       {"activation": "selu", "dropout_rate": 0.2},
       {"activation": "selu", "dropout_rate": 0.2, "mc_dropout": True},
       {"head": "softmax"}, {"hidden_units": (8, 8, 8)}]
)


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_every_option_builds_and_trains_a_step(options):
    toolbox = arch.preset("baseline", **{"hidden_units": (8, 6), **options})
    model = arch.build_model(toolbox, SHAPE, CLASSES, seed=1)
    before = _weights(model)
    history = _train(model, toolbox, validate=toolbox.schedule == "plateau")
    assert np.isfinite(history.history["loss"]).all()
    assert any(not np.array_equal(a, b) for a, b in zip(before, _weights(model)))

    hidden = model.get_layer(arch.hidden_name(1))
    if "initializer" in options:
        expected = toolbox.resolved_initializer.replace("_", "")
        assert type(hidden.kernel_initializer).__name__.lower() == expected
    if toolbox.batch_norm == "before":
        assert not hidden.use_bias and hidden.activation is keras.activations.linear
        assert model.get_layer("activation_1").activation is keras.activations.get(toolbox.activation)
    elif "activation" in options:
        assert hidden.activation is keras.activations.get(options["activation"])
    optimizer = model.optimizer
    expected_class = {"sgd": keras.optimizers.SGD, "momentum": keras.optimizers.SGD,
                      "nesterov": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop,
                      "adam": keras.optimizers.Adam, "nadam": keras.optimizers.Nadam,
                      "adamw": keras.optimizers.AdamW}[toolbox.optimizer]
    assert type(optimizer) is expected_class
    if toolbox.optimizer in ("momentum", "nesterov"):
        assert optimizer.momentum == 0.9 and optimizer.nesterov == (toolbox.optimizer == "nesterov")
    assert optimizer.clipvalue == (toolbox.clipvalue or None)
    assert optimizer.clipnorm == (toolbox.clipnorm or None)
    if toolbox.schedule in ("power", "exponential", "piecewise", "one_cycle"):
        assert isinstance(optimizer._learning_rate, keras.optimizers.schedules.LearningRateSchedule)
    if toolbox.dropout_rate:
        dropout = model.get_layer("dropout_1")
        alpha = toolbox.activation == "selu"
        assert isinstance(dropout, keras.layers.AlphaDropout if alpha else keras.layers.Dropout)
        assert isinstance(dropout, regularizers.MC_LAYERS) == toolbox.mc_dropout
    if toolbox.l1 or toolbox.l2:
        assert hidden.kernel_regularizer is not None and model.losses
    if toolbox.max_norm:
        norms = np.linalg.norm(keras.ops.convert_to_numpy(hidden.kernel), axis=0)
        assert (norms <= 1.0 + 1e-5).all()


def test_sigmoid_head_for_two_classes():
    toolbox = arch.preset("baseline", hidden_units=(8,))
    model = arch.build_model(toolbox, SHAPE, 2)
    assert arch.is_binary(model)
    assert model.get_layer(arch.OUTPUT_LAYER).activation is keras.activations.sigmoid
    assert np.isfinite(_train(model, toolbox, classes=2).history["loss"]).all()
    p = keras.ops.convert_to_numpy(arch.class_probabilities(model(_data(4, 2)[0])))
    assert p.shape == (4, 2) and np.allclose(p.sum(axis=1), 1.0)
    softmax = arch.build_model(arch.preset("baseline", hidden_units=(8,), head="softmax"), SHAPE, 2)
    assert not arch.is_binary(softmax)


# --- the book's models ------------------------------------------------------------

def test_batch_norm_preset_is_the_books_model():
    model = arch.build_model(arch.PRESETS["batch_norm"], (28, 28, 1), 10)
    assert arch.parameter_counts(model) == {"parameters": 271_346, "trainable": 268_978,
                                            "non_trainable": 2_368}
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Flatten", "BatchNormalization", "Dense", "BatchNormalization", "Dense",
                     "BatchNormalization", "Dense"]
    assert [model.get_layer(n).units for n in ("hidden_1", "hidden_2", "output")] == [300, 100, 10]


def test_batch_norm_before_activation_drops_the_bias():
    model = arch.build_model(arch.preset("batch_norm", batch_norm="before"), (28, 28, 1), 10)
    # 271,346 less the hidden layers' biases (300 + 100)
    assert arch.parameter_counts(model)["parameters"] == 271_346 - 400
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds[2:5] == ["Dense", "BatchNormalization", "Activation"]


def test_presets_build_and_selu_is_self_normalizing():
    for name in arch.VARIANTS:
        if name != "selu":  # 100 layers: a second to build
            arch.build_model(arch.PRESETS[name], (28, 28, 1), 10)
    assert arch.PRESETS["selu"].hidden_units == (100,) * 100  # the book's deep net
    selu = arch.build_model(arch.preset("selu", hidden_units=(20,) * 5, dropout_rate=0.1),
                            (28, 28, 1), 10)
    dense = [layer for layer in selu.layers if isinstance(layer, keras.layers.Dense)]
    assert len(dense) == 6
    assert all(type(d.kernel_initializer).__name__ == "LecunNormal" for d in dense[:-1])
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in selu.layers)
    assert all(isinstance(layer, keras.layers.AlphaDropout)
               for layer in selu.layers if "dropout" in layer.name)


@pytest.mark.parametrize("options, message", [
    ({"activation": "tanh"},
     "activation must be one of relu, leaky_relu, elu, selu, gelu, swish; got activation='tanh'"),
    ({"initializer": "orthogonal"}, "initializer must be one of default, glorot_uniform"),
    ({"optimizer": "adagrad"},
     "optimizer must be one of sgd, momentum, nesterov, rmsprop, adam, nadam, adamw"),
    ({"schedule": "cosine"},
     "schedule must be one of constant, power, exponential, piecewise, plateau, one_cycle"),
    ({"batch_norm": "middle"}, "batch_norm must be one of none, before, after"),
    ({"head": "linear"}, "head must be one of auto, softmax, sigmoid"),
    ({"activation": "selu", "batch_norm": "after"}, "batch_norm must be 'none'"),
    ({"activation": "selu", "initializer": "he_normal"}, "needs initializer 'lecun_normal'"),
    ({"dropout_rate": 1.0}, "dropout_rate must be a number >= 0.0 and < 1.0"),
    ({"mc_dropout": True}, "mc_dropout needs dropout_rate > 0"),
    ({"clipvalue": 1.0, "clipnorm": 1.0}, "one of clipvalue and clipnorm"),
    ({"learning_rate": 0}, "learning_rate must be a number > 0"),
    ({"l2": -0.1}, "l2 must be a number >= 0"),
    ({"hidden_units": ()}, "hidden_units must be a non-empty list"),
    ({"hidden_units": (10, 0)}, "hidden_units must be an integer >= 1"),
    ({"batch_size": 0}, "batch_size must be an integer >= 1"),
    ({"piecewise_factors": (1.0,)}, "one factor more"),
    ({"momentum": 1.5}, "momentum must be a number"),
    ({"colour": "red"}, r"unknown classifier option\(s\) \['colour'\]; valid options: hidden_units"),
])
def test_bad_options_name_the_option_and_the_valid_values(options, message):
    with pytest.raises(ValueError, match=message):
        arch.preset("baseline", **options)


def test_unknown_variant_and_class_counts():
    with pytest.raises(ValueError, match="variant must be one of baseline, batch_norm"):
        arch.preset("resnet")
    with pytest.raises(ValueError, match="at least 2 classes"):
        arch.build_model(arch.PRESETS["baseline"], SHAPE, 1)
    with pytest.raises(ValueError, match="head 'sigmoid' is for 2 classes"):
        arch.build_model(arch.preset("baseline", head="sigmoid"), SHAPE, 3)


def test_toolbox_round_trips_through_json_like_dicts():
    toolbox = arch.preset("selu", hidden_units=(5, 4), piecewise_epochs=(1.0, 2.0))
    again = arch.Toolbox.from_dict(toolbox.to_dict())
    assert again == toolbox and isinstance(toolbox.to_dict()["hidden_units"], list)


# --- saving ------------------------------------------------------------------------

@pytest.mark.parametrize("options", [
    {"dropout_rate": 0.2, "mc_dropout": True, "schedule": "one_cycle", "max_norm": 2.0,
     "l1": 1e-4, "l2": 1e-4, "batch_norm": "before"},
    {"activation": "selu", "dropout_rate": 0.2, "mc_dropout": True, "schedule": "power",
     "optimizer": "nadam", "clipnorm": 1.0},
], ids=["mc_dropout-one_cycle-bn", "mc_alpha_dropout-power"])
def test_save_and_load_keep_the_custom_pieces(tmp_path, options):
    toolbox = arch.preset("baseline", hidden_units=(8, 6), **options)
    model = arch.build_model(toolbox, SHAPE, CLASSES, seed=2)
    _train(model, toolbox)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = _data(6)[0]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x, training=False)),
                               keras.ops.convert_to_numpy(model(x, training=False)), rtol=1e-6)
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    assert regularizers.has_mc_dropout(loaded)
    schedule = loaded.optimizer._learning_rate
    assert type(schedule) is type(model.optimizer._learning_rate)
    assert schedule.get_config() == model.optimizer._learning_rate.get_config()
    assert schedules.current_learning_rate(loaded.optimizer) == pytest.approx(
        schedules.current_learning_rate(model.optimizer))
    hidden = loaded.get_layer(arch.hidden_name(1))
    assert (hidden.kernel_constraint is not None) == bool(toolbox.max_norm)
    # Training goes on from the restored optimizer state.
    loaded.run_eagerly = True
    x, y = _data(8)
    loaded.fit(x, y, batch_size=8, epochs=1, verbose=0)


# --- transfer learning ------------------------------------------------------------

def _changed(before, after) -> list[bool]:
    return [not np.array_equal(a, b) for a, b in zip(before, after)]


def test_transfer_freezes_the_reused_layers_then_unfreezes_them(tmp_path):
    base_toolbox = arch.preset("transfer_base", hidden_units=(8, 6), batch_norm="after")
    model_a = arch.build_model(base_toolbox, SHAPE, 4, seed=0)
    _train(model_a, base_toolbox, classes=4)
    model_a.save(str(tmp_path / "a.keras"))
    base = keras.saving.load_model(str(tmp_path / "a.keras"))

    toolbox = arch.PRESETS["transfer"]
    model = arch.transfer_model(base, toolbox, SHAPE, 2)
    assert model.layers[:-1] == base.layers[:-1]  # reused, not copied
    assert arch.is_binary(model) and model.layers[-1] is not base.layers[-1]
    assert all(not layer.trainable for layer in model.layers[:-1])
    assert len(model.trainable_weights) == 2  # the new head's kernel and bias

    head = model.layers[-1]
    reused = [w for layer in model.layers[:-1] for w in layer.weights]
    before_reused, before_head = _weights_of(reused), _weights_of(head.weights)
    _train(model, toolbox, classes=2)
    assert not any(_changed(before_reused, _weights_of(reused)))  # frozen (BN statistics too)
    assert all(_changed(before_head, _weights_of(head.weights)))

    arch.set_reused_trainable(model, True)
    after_frozen = _weights_of(reused)
    _train(model, toolbox, classes=2)
    changed = _changed(after_frozen, _weights_of(reused))
    kernels = [i for i, w in enumerate(reused) if "kernel" in w.path]
    assert kernels and all(changed[i] for i in kernels)


def _weights_of(weights) -> list[np.ndarray]:
    return [keras.ops.convert_to_numpy(w).copy() for w in weights]


def test_transfer_refuses_incompatible_base_models():
    toolbox = arch.PRESETS["transfer"]
    base = arch.build_model(arch.preset("baseline", hidden_units=(4,)), SHAPE, 3)
    with pytest.raises(ValueError,
                       match=r"A: it takes images of shape \(4, 4, 1\), this data has \(5, 5, 1\)"):
        arch.transfer_model(base, toolbox, (5, 5, 1), 2, source="A")
    inputs = keras.Input(SHAPE)
    functional = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(inputs)))
    with pytest.raises(ValueError, match="expected a keras.Sequential"):
        arch.transfer_model(functional, toolbox, SHAPE, 2)
    no_hidden = keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(), keras.layers.Dense(3)])
    with pytest.raises(ValueError, match="no hidden Dense layer"):
        arch.transfer_model(no_hidden, toolbox, SHAPE, 2)
    no_head = keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten()])
    with pytest.raises(ValueError, match="last layer must be the Dense output layer"):
        arch.transfer_model(no_head, toolbox, SHAPE, 2)
