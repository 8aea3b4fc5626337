"""The parts of a `run_fn` every family shares: options, fit, what is saved."""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import os
from typing import Any, Callable, Iterator, TypeVar

import absl.logging
import keras
import tensorflow as tf
import tensorflow_transform as tft

from models.common import distribution, timing

Config = TypeVar("Config")

KERAS_FILE = "model.keras"
KERAS_SUBDIR = "keras"  # inside an exported serving model: <dir>/keras/model.keras


def keras_model_path(model_dir: str) -> str:
    """The Keras file of a pushed or trained serving model folder (what a
    warm start loads); FileNotFoundError naming the folder when absent."""
    path = os.path.join(model_dir, KERAS_SUBDIR, KERAS_FILE)
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(f"{model_dir}: no {KERAS_SUBDIR}/{KERAS_FILE} in this model folder "
                                "(was it exported by this project's trainer?)")
    return path


def config_from_custom(cls: type[Config], custom_config: dict[str, Any] | None,
                       family: str) -> Config:
    """`cls(**custom_config)`, naming unknown keys instead of a TypeError."""
    custom_config = dict(custom_config or {})
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(custom_config) - known)
    if unknown:
        raise ValueError(f"unknown {family} trainer options {unknown}; known: {sorted(known)}")
    return cls(**custom_config)


def require_positive(config: Any, *names: str) -> None:
    for name in names:
        if int(getattr(config, name)) < 1:
            raise ValueError(f"{name} must be >= 1, got {getattr(config, name)}")


# The model a run warm-starts from (the Trainer's `base_model`: the last
# blessed model). `run` sets it; the first `fit` of the run loads its weights.
_WARM_START: contextvars.ContextVar[dict | None] = contextvars.ContextVar("warm_start", default=None)


# The key of `custom_config` that carries the warm start's learning-rate
# factor (set by the pipeline factory, read here, never by a family's config).
WARM_START_LR_SCALE = "warm_start_learning_rate_scale"


@contextlib.contextmanager
def warm_start_from(base_model_dir: str | None, learning_rate_scale: float = 1.0) -> Iterator[dict]:
    """Within the block, the first `fit` starts from the weights of the Keras
    model saved inside `base_model_dir` (a serving folder this project
    exported) when its architecture matches; the yielded dict records what
    happened (``{"from": dir, "loaded": bool, "reason": ...}``).

    A model whose weights do not match (another variant, other sizes) trains
    from scratch instead: a scheduled retrain must not fail because the
    configuration changed since the last push.

    `learning_rate_scale` multiplies the optimizer's learning rate once the
    weights are loaded: fine-tuning a converged model at the rate that
    trained it from scratch first knocks it out of its minimum.
    """
    if not learning_rate_scale > 0:
        raise ValueError(f"{WARM_START_LR_SCALE} must be > 0, got {learning_rate_scale!r}")
    record: dict = {"from": base_model_dir, "loaded": False,
                    "reason": "no base model" if not base_model_dir else "not used by this trainer",
                    "learning_rate_scale": float(learning_rate_scale)}
    token = _WARM_START.set(record if base_model_dir else None)
    try:
        yield record
    finally:
        _WARM_START.reset(token)


def load_base_weights(model: keras.Model, base_model_dir: str) -> str | None:
    """Copies the weights of the Keras model inside `base_model_dir` into
    `model`; returns None when done, else why not (nothing is changed)."""
    try:
        base = keras.saving.load_model(keras_model_path(base_model_dir), compile=False)
    except (FileNotFoundError, ValueError, TypeError, OSError) as e:
        return f"cannot load the base model: {e}"
    ours, theirs = model.weights, base.weights
    if not ours:
        return "the model has no weights (yet) to start from"
    if len(ours) != len(theirs) or any(
            tuple(a.shape) != tuple(b.shape) for a, b in zip(ours, theirs)):
        return (f"architecture differs from the base model ({len(ours)} vs {len(theirs)} weights "
                "or other shapes)")
    model.set_weights(base.get_weights())
    return None


def _warm_start(model: keras.Model) -> None:
    record = _WARM_START.get()
    if record is None or record["reason"] != "not used by this trainer":
        return  # no base model, or already applied by an earlier fit of this run
    reason = load_base_weights(model, record["from"])
    record.update(loaded=reason is None, reason=reason or "weights loaded")
    scale = record["learning_rate_scale"]
    if reason is None and scale != 1.0:
        rate = getattr(getattr(model, "optimizer", None), "learning_rate", None)
        if isinstance(rate, keras.Variable) or hasattr(rate, "assign"):
            rate.assign(rate * scale)  # a fixed rate; a schedule is left as it is
            record["learning_rate"] = float(keras.ops.convert_to_numpy(rate))
        else:
            record["reason"] += " (learning rate is a schedule: not scaled)"
    absl.logging.info("warm start from %s: %s", record["from"], record["reason"])


def epochs_for(train_steps: int, steps_per_epoch: int) -> int:
    """The number of epochs `fit` runs: whole epochs of `steps_per_epoch`
    (capped at `train_steps`), at least one."""
    return max(1, train_steps // max(1, min(steps_per_epoch, train_steps)))


def fit(model: keras.Model, train_ds: tf.data.Dataset, eval_ds: tf.data.Dataset, *,
        train_steps: int, steps_per_epoch: int, batch_size: int, eval_steps: int | None = None,
        callbacks: list[keras.callbacks.Callback] | None = None) -> dict:
    """Fits for `train_steps` (whole epochs of `steps_per_epoch`) on a
    repeating `train_ds`, validating on `eval_ds` each epoch; returns the
    throughput summary and the history. Inside `warm_start_from`, the first
    call starts from the base model's weights (the optimizer starts fresh)."""
    _warm_start(model)
    if distribution.is_multi_worker(tf.distribute.get_strategy()):
        train_ds, eval_ds = distribution.shard_by_example(train_ds), distribution.shard_by_example(eval_ds)
    steps_per_epoch = max(1, min(steps_per_epoch, train_steps))
    epochs = epochs_for(train_steps, steps_per_epoch)
    throughput = timing.ThroughputLog(batch_size)
    history = model.fit(train_ds, epochs=epochs, steps_per_epoch=steps_per_epoch,
                        validation_data=eval_ds, validation_steps=eval_steps or None,
                        callbacks=[throughput, *(callbacks or [])],
                        shuffle=False, verbose=2)  # the tf.data pipeline shuffles
    stats = throughput.summary()
    stats["steps_per_epoch"] = steps_per_epoch
    stats["history"] = {k: [float(v) for v in vs] for k, vs in history.history.items()}
    return stats


def save_run(fn_args: Any, model: keras.Model, stats: dict, config: Any,
             serving: tf.Module) -> None:
    """The Keras model and statistics in the run folder (debugging, reloads,
    benchmarks); the serving SavedModel where the Trainer's model artifact is.
    Under multi-worker training every worker saves, and only the chief into
    the artifacts (`distribution.output_dir`)."""
    run_dir = distribution.output_dir(fn_args.model_run_dir)
    serving_dir = distribution.output_dir(fn_args.serving_model_dir)
    os.makedirs(run_dir, exist_ok=True)
    model.save(os.path.join(run_dir, KERAS_FILE))
    timing.write_json(os.path.join(run_dir, "training_stats.json"),
                      {"config": dataclasses.asdict(config), **stats})
    signatures: Callable[[], dict] = serving.signatures
    tf.saved_model.save(serving, serving_dir, signatures=signatures())
    # Keras 3 cannot rebuild a model from the tf.Module SavedModel, so the
    # Keras file travels inside it (the Pusher copies the whole folder): a
    # later run can warm-start from a pushed model.
    keras_dir = os.path.join(serving_dir, KERAS_SUBDIR)
    tf.io.gfile.makedirs(keras_dir)
    tf.io.gfile.copy(os.path.join(run_dir, KERAS_FILE),
                     os.path.join(keras_dir, KERAS_FILE), overwrite=True)
    absl.logging.info("exported serving model to %s", serving_dir)


def run(fn_args: Any, config_cls: type, train: Callable, serving_cls: type) -> None:
    """The body of every family's `run_fn`: options from `custom_config`,
    Transform's output, `train(config, train_files, eval_files, tft_output,
    train_steps, eval_steps) -> (model, stats)`, then `save_run` with
    `serving_cls(model, tft_output, config)`."""
    custom_config = dict(fn_args.custom_config or {})
    lr_scale = float(custom_config.pop(WARM_START_LR_SCALE, 1.0))
    strategy_name = distribution.resolve(
        custom_config.pop(distribution.DISTRIBUTION_KEY, distribution.DEFAULT))
    config = config_cls.from_custom_config(custom_config)
    absl.logging.info("trainer options: %s", config)
    tft_output = tft.TFTransformOutput(fn_args.transform_output)
    strategy = distribution.strategy_for(strategy_name)
    # Variables (model, optimizer, metrics) are created inside the scope, so
    # they are mirrored across the strategy's replicas.
    with warm_start_from(getattr(fn_args, "base_model", None), lr_scale) as warm_start, \
            strategy.scope():
        model, stats = train(config, fn_args.train_files, fn_args.eval_files, tft_output,
                             fn_args.train_steps, fn_args.eval_steps)
    stats["warm_start"] = warm_start
    stats["distribution"] = {"strategy": strategy_name,
                             "replicas": int(strategy.num_replicas_in_sync),
                             "workers": distribution.num_tasks()}
    save_run(fn_args, model, stats, config, serving_cls(model, tft_output, config))
