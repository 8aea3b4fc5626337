"""The deep-network training toolbox of *Hands-On ML* (3rd ed.), chapter 11,
as configuration of one image MLP (MODELS.md §8).

A ``Toolbox`` holds every choice; ``build_model`` turns it into a
``keras.Sequential``::

    Input [H, W, C] → Flatten → [BN] → ([Dropout] → Dense → [BN] / act) × depth
                     → [Dropout] → Dense(k, softmax) or Dense(1, sigmoid)

* initializer: glorot / he / lecun, uniform / normal ("default": Glorot
  uniform, Keras' own, or LeCun normal under SELU);
* activation: relu, leaky_relu (slope 0.2), elu, selu, gelu, swish. SELU
  builds a self-normalizing net: LeCun normal initialization, alpha dropout,
  no batch norm (other choices for those are refused);
* batch_norm: none; "after" the activation (the book's BN model: a BN layer
  after Flatten and after every hidden layer); "before" the activation (the
  Dense layers lose their bias, which BN's offset replaces, and the
  activation becomes its own layer);
* regularization: L1 / L2 kernel penalties (every Dense layer), dropout
  before every Dense layer (alpha dropout under SELU), MC dropout (the same
  layers, able to sample at inference: ``regularizers.MCDropout``), a
  max-norm constraint on the hidden kernels;
* optimizer: sgd, momentum, nesterov, rmsprop, adam, nadam, adamw, with
  gradient clipping by value or by norm;
* learning-rate schedule: see ``schedules``.

``PRESETS`` names the benchmark rows; ``preset(name, **overrides)`` is a
preset with some options changed, checked. ``transfer_model`` reuses every
layer of another run's model but its output layer, for transfer learning.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any, Sequence

import keras

from models.classifier import regularizers, schedules
from preprocessing import image_contract as contract

INITIALIZERS: tuple[str, ...] = ("default", "glorot_uniform", "glorot_normal", "he_uniform",
                                 "he_normal", "lecun_uniform", "lecun_normal")
ACTIVATIONS: tuple[str, ...] = ("relu", "leaky_relu", "elu", "selu", "gelu", "swish")
BATCH_NORM: tuple[str, ...] = ("none", "before", "after")
OPTIMIZERS: tuple[str, ...] = ("sgd", "momentum", "nesterov", "rmsprop", "adam", "nadam", "adamw")
HEADS: tuple[str, ...] = ("auto", "softmax", "sigmoid")
SCHEDULES = schedules.SCHEDULES

INPUT_NAME = contract.IMAGE_SCALED
OUTPUT_LAYER = "output"
PROBABILITIES = "probabilities"


def hidden_name(i: int) -> str:
    return f"hidden_{i}"


@dataclasses.dataclass(frozen=True)
class Toolbox:
    """Every option of the classifier; the defaults are Keras' own choices
    and the book's chapter-10 MLP (300, 100 ReLU units, plain SGD 0.01)."""

    # --- architecture ---
    hidden_units: tuple[int, ...] = (300, 100)
    initializer: str = "default"
    activation: str = "relu"
    batch_norm: str = "none"
    head: str = "auto"  # auto: sigmoid for 2 classes, softmax otherwise
    # --- regularization ---
    dropout_rate: float = 0.0
    mc_dropout: bool = False
    l1: float = 0.0
    l2: float = 0.0
    max_norm: float = 0.0  # 0: no constraint
    # --- optimization ---
    optimizer: str = "sgd"
    learning_rate: float = 0.01  # the maximum rate for one_cycle
    momentum: float = 0.9  # momentum, nesterov
    weight_decay: float = 1e-5  # adamw
    clipvalue: float = 0.0  # 0: no clipping
    clipnorm: float = 0.0
    batch_size: int = 32
    # --- learning-rate schedule (see schedules) ---
    schedule: str = "constant"
    decay_epochs: float = 20.0  # power: s; exponential: epochs per factor decay_rate
    decay_rate: float = 0.1  # exponential
    decay_power: float = 1.0  # power: c
    piecewise_epochs: tuple[float, ...] = (5.0, 15.0)
    piecewise_factors: tuple[float, ...] = (1.0, 0.5, 0.1)
    plateau_factor: float = 0.5
    plateau_patience: int = 5
    # --- transfer learning (the "transfer" preset, with a base model) ---
    freeze_epochs: int = 4  # epochs with the reused layers frozen
    fine_tune_learning_rate: float = 0.0  # after unfreezing; 0: learning_rate

    @classmethod
    def from_dict(cls, options: dict[str, Any]) -> "Toolbox":
        """A checked Toolbox from JSON-like options (lists for tuples)."""
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise ValueError(f"unknown classifier option(s) {unknown}; valid options: "
                             f"{', '.join(known)}")
        return check(cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}))

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in dataclasses.asdict(self).items()}

    @property
    def resolved_initializer(self) -> str:
        if self.initializer == "default":
            return "lecun_normal" if self.activation == "selu" else "glorot_uniform"
        return self.initializer


# The benchmark rows (MODELS.md §8). Where the book trains a model on
# Fashion-MNIST in chapters 10-11, its settings; see bench/classifier_reference.md.
PRESETS: dict[str, Toolbox] = {
    # Chapter 10: 300-100 ReLU MLP, SGD 0.01.
    "baseline": Toolbox(),
    # Chapter 11: BN after Flatten and after each hidden layer (271,346 parameters).
    "batch_norm": Toolbox(initializer="he_normal", batch_norm="after"),
    # Chapter 11: a deep self-normalizing net, 100 layers of 100 SELU units,
    # on standardized inputs (the family spec sets Transform's scaling).
    "selu": Toolbox(hidden_units=(100,) * 100, activation="selu", optimizer="momentum",
                    learning_rate=0.001),
    # Chapter 11: dropout 0.2 before every Dense layer, SGD + momentum.
    "dropout": Toolbox(hidden_units=(100, 100), initializer="he_normal", dropout_rate=0.2,
                       optimizer="momentum", learning_rate=0.01),
    # The same network; its dropout layers can sample at inference (MC dropout).
    "mc_dropout": Toolbox(hidden_units=(100, 100), initializer="he_normal", dropout_rate=0.2,
                          mc_dropout=True, optimizer="momentum", learning_rate=0.01),
    # Chapter 11's 1cycle run: 100-100 ReLU, plain SGD, max rate 0.1, batch 128.
    "one_cycle": Toolbox(hidden_units=(100, 100), initializer="he_normal", learning_rate=0.1,
                         schedule="one_cycle", batch_size=128),
    # Chapter 11's tasks A and B, trained from scratch: 3 × 100 ReLU, SGD 0.001.
    "transfer_base": Toolbox(hidden_units=(100, 100, 100), initializer="he_normal",
                             learning_rate=0.001),
    # B on A: every layer of a trained model A but its output, a new head;
    # the head alone for 4 epochs (SGD 0.01), then everything at a lower
    # rate (0.001) so the reused weights are not wrecked. The architecture
    # options come from model A and are ignored here.
    "transfer": Toolbox(hidden_units=(100, 100, 100), initializer="he_normal",
                        learning_rate=0.01, freeze_epochs=4, fine_tune_learning_rate=0.001),
}
VARIANTS: tuple[str, ...] = tuple(PRESETS)
TRANSFER_VARIANT = "transfer"


def _choice(name: str, value: Any, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {name}={value!r}")


def _number(name: str, value: Any, *, minimum: float = 0.0, strict: bool = False,
            maximum: float | None = None) -> None:
    ok = (isinstance(value, numbers.Real) and not isinstance(value, bool)
          and math.isfinite(value) and (value > minimum if strict else value >= minimum)
          and (maximum is None or value < maximum))
    if not ok:
        bound = f"{'>' if strict else '>='} {minimum}" + (f" and < {maximum}" if maximum else "")
        raise ValueError(f"{name} must be a number {bound}; got {name}={value!r}")


def _integer(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {name}={value!r}")


def check(toolbox: Toolbox) -> Toolbox:
    """`toolbox` if every option is valid and the options fit together;
    ValueError naming the option and its valid values otherwise."""
    t = toolbox
    _choice("initializer", t.initializer, INITIALIZERS)
    _choice("activation", t.activation, ACTIVATIONS)
    _choice("batch_norm", t.batch_norm, BATCH_NORM)
    _choice("head", t.head, HEADS)
    _choice("optimizer", t.optimizer, OPTIMIZERS)
    _choice("schedule", t.schedule, SCHEDULES)
    if not isinstance(t.hidden_units, tuple) or not t.hidden_units:
        raise ValueError(f"hidden_units must be a non-empty list of layer sizes; "
                         f"got hidden_units={t.hidden_units!r}")
    for units in t.hidden_units:
        _integer("hidden_units", units, 1)
    _number("dropout_rate", t.dropout_rate, maximum=1.0)
    if not isinstance(t.mc_dropout, bool):
        raise ValueError(f"mc_dropout must be true or false; got mc_dropout={t.mc_dropout!r}")
    if t.mc_dropout and not t.dropout_rate:
        raise ValueError("mc_dropout needs dropout_rate > 0 (MC dropout samples the dropout layers)")
    for name in ("l1", "l2", "max_norm", "clipvalue", "clipnorm", "weight_decay",
                 "fine_tune_learning_rate"):
        _number(name, getattr(t, name))
    _number("learning_rate", t.learning_rate, strict=True)
    _number("momentum", t.momentum, maximum=1.0)
    _number("decay_epochs", t.decay_epochs, strict=True)
    _number("decay_rate", t.decay_rate, strict=True, maximum=1.0)
    _number("decay_power", t.decay_power, strict=True)
    _number("plateau_factor", t.plateau_factor, strict=True, maximum=1.0)
    _integer("plateau_patience", t.plateau_patience, 0)
    _integer("batch_size", t.batch_size, 1)
    _integer("freeze_epochs", t.freeze_epochs, 0)
    if t.clipvalue and t.clipnorm:
        raise ValueError("set one of clipvalue and clipnorm, not both")
    if t.activation == "selu":
        if t.batch_norm != "none":
            raise ValueError(f"activation 'selu' self-normalizes: batch_norm must be 'none', "
                             f"got batch_norm={t.batch_norm!r}")
        if t.resolved_initializer != "lecun_normal":
            raise ValueError(f"activation 'selu' needs initializer 'lecun_normal' (or 'default'), "
                             f"got initializer={t.initializer!r}")
    # The piecewise boundaries and factors, checked whatever the schedule.
    schedules.learning_rate("piecewise", t.learning_rate, steps_per_epoch=1, total_steps=1,
                            piecewise_epochs=t.piecewise_epochs,
                            piecewise_factors=t.piecewise_factors)
    return t


def preset(name: str, **overrides: Any) -> Toolbox:
    """The named preset with `overrides` applied, checked."""
    _choice("variant", name, VARIANTS)
    return Toolbox.from_dict({**PRESETS[name].to_dict(), **overrides})


def head_activation(toolbox: Toolbox, num_classes: int) -> str:
    """"softmax" or "sigmoid" (one unit: the probability of class 1)."""
    if num_classes < 2:
        raise ValueError(f"a classifier needs at least 2 classes, got {num_classes}")
    if toolbox.head == "sigmoid" and num_classes != 2:
        raise ValueError(f"head 'sigmoid' is for 2 classes, got {num_classes}")
    if toolbox.head == "auto":
        return "sigmoid" if num_classes == 2 else "softmax"
    return toolbox.head


def _output_layer(toolbox: Toolbox, num_classes: int) -> keras.layers.Dense:
    activation = head_activation(toolbox, num_classes)
    regularizer = regularizers.kernel_regularizer(toolbox.l1, toolbox.l2)
    return keras.layers.Dense(1 if activation == "sigmoid" else num_classes, activation=activation,
                              kernel_initializer="glorot_uniform", kernel_regularizer=regularizer,
                              name=OUTPUT_LAYER)


def _dropout(toolbox: Toolbox, index: int | str, seed: int | None) -> list[keras.layers.Layer]:
    if not toolbox.dropout_rate:
        return []
    return [regularizers.dropout_layer(toolbox.dropout_rate, alpha=toolbox.activation == "selu",
                                       mc=toolbox.mc_dropout, name=f"dropout_{index}", seed=seed)]


def build_model(toolbox: Toolbox, input_shape: Sequence[int], num_classes: int, *,
                seed: int | None = None) -> keras.Sequential:
    """The (uncompiled) MLP `toolbox` describes, for images of `input_shape`
    (H, W, C) and `num_classes` classes. `seed` seeds the dropout layers
    (initializers follow ``keras.utils.set_random_seed``)."""
    check(toolbox)
    initializer = toolbox.resolved_initializer
    regularizer = regularizers.kernel_regularizer(toolbox.l1, toolbox.l2)
    constraint = regularizers.kernel_constraint(toolbox.max_norm)
    layers: list[keras.layers.Layer] = [keras.Input(shape=tuple(input_shape), name=INPUT_NAME),
                                        keras.layers.Flatten(name="flatten")]
    if toolbox.batch_norm != "none":
        layers.append(keras.layers.BatchNormalization(name="bn_input"))
    for i, units in enumerate(toolbox.hidden_units, start=1):
        layers += _dropout(toolbox, i, None if seed is None else seed + i)
        before = toolbox.batch_norm == "before"
        layers.append(keras.layers.Dense(
            units, activation=None if before else toolbox.activation, use_bias=not before,
            kernel_initializer=initializer, kernel_regularizer=regularizer,
            kernel_constraint=constraint, name=hidden_name(i)))
        if toolbox.batch_norm != "none":
            layers.append(keras.layers.BatchNormalization(name=f"bn_{i}"))
        if before:
            layers.append(keras.layers.Activation(toolbox.activation, name=f"activation_{i}"))
    layers += _dropout(toolbox, "output", None if seed is None else seed)
    layers.append(_output_layer(toolbox, num_classes))
    return keras.Sequential(layers, name="classifier")


def make_optimizer(toolbox: Toolbox, *, steps_per_epoch: int, total_steps: int,
                   learning_rate: float | None = None) -> keras.optimizers.Optimizer:
    """The optimizer with its learning-rate schedule and gradient clipping."""
    rate = schedules.learning_rate(
        toolbox.schedule, toolbox.learning_rate if learning_rate is None else learning_rate,
        steps_per_epoch=steps_per_epoch, total_steps=total_steps,
        decay_epochs=toolbox.decay_epochs, decay_rate=toolbox.decay_rate,
        power=toolbox.decay_power, piecewise_epochs=toolbox.piecewise_epochs,
        piecewise_factors=toolbox.piecewise_factors)
    clip = {}
    if toolbox.clipvalue:
        clip["clipvalue"] = toolbox.clipvalue
    if toolbox.clipnorm:
        clip["clipnorm"] = toolbox.clipnorm
    name = toolbox.optimizer
    if name == "sgd":
        return keras.optimizers.SGD(rate, **clip)
    if name in ("momentum", "nesterov"):
        return keras.optimizers.SGD(rate, momentum=toolbox.momentum, nesterov=name == "nesterov",
                                    **clip)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(rate, rho=0.9, **clip)
    if name == "adam":
        return keras.optimizers.Adam(rate, beta_1=0.9, beta_2=0.999, **clip)
    if name == "nadam":
        return keras.optimizers.Nadam(rate, beta_1=0.9, beta_2=0.999, **clip)
    return keras.optimizers.AdamW(rate, weight_decay=toolbox.weight_decay, beta_1=0.9,
                                  beta_2=0.999, **clip)


def is_binary(model: keras.Model) -> bool:
    """True for a one-unit sigmoid head."""
    return int(model.get_layer(OUTPUT_LAYER).units) == 1


def compile_model(model: keras.Model, toolbox: Toolbox, *, steps_per_epoch: int, total_steps: int,
                  learning_rate: float | None = None) -> keras.Model:
    """Compiles `model` with the toolbox's optimizer; sparse categorical
    (softmax) or binary (sigmoid; labels 0/1 as float [n, 1]) cross-entropy."""
    binary = is_binary(model)
    model.compile(
        optimizer=make_optimizer(toolbox, steps_per_epoch=steps_per_epoch, total_steps=total_steps,
                                 learning_rate=learning_rate),
        loss=(keras.losses.BinaryCrossentropy() if binary
              else keras.losses.SparseCategoricalCrossentropy()),
        metrics=[keras.metrics.BinaryAccuracy(name="accuracy") if binary
                 else keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    return model


def callbacks(toolbox: Toolbox) -> list[keras.callbacks.Callback]:
    return schedules.callbacks(toolbox.schedule, plateau_factor=toolbox.plateau_factor,
                               plateau_patience=toolbox.plateau_patience)


def feature_extractor(model: keras.Sequential) -> keras.Model:
    """The model up to its output layer: the penultimate activations (after
    the last hidden layer's BN and activation; dropout is off at inference).
    The generative families' sample-quality metric compares images in this
    space."""
    output = model.get_layer(OUTPUT_LAYER)
    return keras.Model(model.inputs, output.input, name="classifier_features")


def class_probabilities(outputs):
    """Model outputs → probabilities [n, k] (a sigmoid's p becomes [1 - p, p])."""
    if outputs.shape[-1] == 1:
        return keras.ops.concatenate([1.0 - outputs, outputs], axis=-1)
    return outputs


# ---------------------------------------------------------------------------
# Transfer learning
# ---------------------------------------------------------------------------


def transfer_model(base: keras.Model, toolbox: Toolbox, input_shape: Sequence[int],
                   num_classes: int, *, source: str = "the base model") -> keras.Sequential:
    """Every layer of `base` (a trained classifier) but its output layer,
    shared (the same weights, not copies), and a new output layer for
    `num_classes`. The reused layers start frozen (``set_reused_trainable``).
    ValueError naming `source` when `base` cannot be reused."""
    if not isinstance(base, keras.Sequential):
        raise ValueError(f"{source}: expected a keras.Sequential classifier (as this family "
                         f"builds), got {type(base).__name__}")
    layers = base.layers
    if not layers or not isinstance(layers[-1], keras.layers.Dense):
        raise ValueError(f"{source}: its last layer must be the Dense output layer, got "
                         f"{type(layers[-1]).__name__ if layers else 'no layers'}")
    reused = layers[:-1]
    if not any(isinstance(layer, keras.layers.Dense) for layer in reused):
        raise ValueError(f"{source}: no hidden Dense layer to reuse")
    base_shape = tuple(base.inputs[0].shape[1:])
    if base_shape != tuple(input_shape):
        raise ValueError(f"{source}: it takes images of shape {base_shape}, this data has "
                         f"{tuple(input_shape)}")
    model = keras.Sequential([keras.Input(shape=tuple(input_shape), name=INPUT_NAME), *reused,
                              _output_layer(toolbox, num_classes)], name="classifier_transfer")
    set_reused_trainable(model, False)
    return model


def set_reused_trainable(model: keras.Model, trainable: bool) -> None:
    """Freezes or unfreezes every layer but the output layer (recompile after)."""
    for layer in model.layers[:-1]:
        layer.trainable = trainable


def parameter_counts(model: keras.Model) -> dict[str, int]:
    trainable = sum(int(math.prod(w.shape)) for w in model.trainable_weights)
    frozen = sum(int(math.prod(w.shape)) for w in model.non_trainable_weights)
    return {"parameters": trainable + frozen, "trainable": trainable, "non_trainable": frozen}
