"""TFX Trainer entry point (`run_fn`) for the classifier family.

Reads Transform's scaled images (``image_inputs.dataset``), builds the MLP
that the variant's ``Toolbox`` (a preset plus overrides) describes, trains it
with the toolbox's optimizer, schedule and callbacks, and exports a
SavedModel that takes raw images: pixel scaling (the transform graph) runs
inside it.

Transfer learning (variant ``transfer``, ``base_model_dir`` = the pushed
serving folder of another run of this family, task A): every layer of that
model but its output layer is reused under a new output layer; the reused
layers stay frozen for ``freeze_epochs`` epochs, then everything trains for
the rest of the steps at ``fine_tune_learning_rate``: two fit phases in one
Trainer run.

Signatures:
  serving_default            serialized raw tf.Examples → probabilities,
                             class_ids (what TFMA reads).
  classify                   uint8 images [n, H, W, C] → probabilities [n, k],
                             class_ids [n], labels [n] (class names).
  classify_png               PNG/JPEG bytes [n] → the same.
  features                   uint8 images → features [n, d] (the activations
                             feeding the output layer: the last hidden
                             layer's) and probabilities: what the generative
                             families' sample-quality evaluator compares.
  classify_with_uncertainty  (models with MC dropout) uint8 images, n →
                             mean probabilities and their standard deviation
                             over n stochastic passes, class_ids, labels.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import absl.logging
import keras
import tensorflow as tf
import tensorflow_transform as tft

from models.classifier import architectures, regularizers, schedules
from models.common import export, image_inputs
from models.common import training as common_training
from preprocessing import image_contract as contract

SIGNATURE_CLASSIFY = "classify"
SIGNATURE_CLASSIFY_PNG = "classify_png"
SIGNATURE_UNCERTAINTY = "classify_with_uncertainty"
SIGNATURE_FEATURES = "features"
MAX_MC_SAMPLES = 1000  # passes of classify_with_uncertainty per call


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """What `custom_config` may carry.

    toolbox: options of ``architectures.Toolbox`` that differ from the
    variant's preset (any subset; the family spec passes them all).
    class_names: one name per class id of the data (the labels' order).
    base_model_dir: the transfer variant's model A (a pushed serving folder).
    """

    variant: str = "baseline"
    toolbox: dict = dataclasses.field(default_factory=dict)
    class_names: tuple = contract.FASHION_MNIST_CLASSES
    steps_per_epoch: int = 1719  # ceil(55,000 / 32)
    shuffle_buffer: int = 60_000
    base_model_dir: str = ""
    seed: int = 42
    source_digest: str = ""

    @classmethod
    def from_custom_config(cls, custom_config: dict[str, Any] | None) -> "TrainConfig":
        config = common_training.config_from_custom(cls, custom_config, "classifier")
        config = dataclasses.replace(config, class_names=tuple(str(c) for c in config.class_names),
                                     toolbox=dict(config.toolbox or {}))
        config.options()  # validates the variant and the toolbox
        common_training.require_positive(config, "steps_per_epoch", "shuffle_buffer")
        if len(config.class_names) < 2 or len(set(config.class_names)) != len(config.class_names):
            raise ValueError(f"class_names must name at least 2 classes, each once; got "
                             f"{list(config.class_names)}")
        transfer = config.variant == architectures.TRANSFER_VARIANT
        if transfer and not config.base_model_dir:
            raise ValueError("the transfer variant needs base_model_dir: the pushed model folder "
                             "of a run on task A (…/serving_model/<pipeline>/<version>)")
        if config.base_model_dir and not transfer:
            raise ValueError(f"base_model_dir is for the transfer variant only, not "
                             f"{config.variant!r}")
        return config

    def options(self) -> architectures.Toolbox:
        return architectures.preset(self.variant, **self.toolbox)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def to_model_io(binary: bool):
    """Transformed features → (images, labels): labels as float [n, 1] for
    a sigmoid head, int64 [n] otherwise."""
    def fn(features: dict[str, tf.Tensor]):
        labels = features[contract.LABEL_XF]
        if binary:
            labels = tf.cast(tf.reshape(labels, [-1, 1]), tf.float32)
        return features[contract.IMAGE_SCALED], labels
    return fn


def load_base_model(base_model_dir: str) -> keras.Model:
    """Model A from a pushed (or trained) serving folder of this family."""
    try:
        path = common_training.keras_model_path(base_model_dir)
    except FileNotFoundError as e:
        raise ValueError(f"base_model_dir: {e}") from e
    try:
        return keras.saving.load_model(path)
    except Exception as e:  # noqa: BLE001 - name the file whatever Keras raises
        raise ValueError(f"base_model_dir: cannot load {path}: {type(e).__name__}: {e}") from e


def _merge_stats(phases: list[dict]) -> dict:
    """One stats record for several fit phases (throughput of the longest)."""
    stats = dict(max(phases, key=lambda s: s["steps"]))
    stats["epochs"] = sum(s["epochs"] for s in phases)
    stats["steps"] = sum(s["steps"] for s in phases)
    stats["train_seconds_total"] = sum(s["train_seconds_total"] for s in phases)
    history: dict[str, list[float]] = {}
    for s in phases:
        for k, v in s["history"].items():
            history.setdefault(k, []).extend(v)
    stats["history"] = history
    stats["phases"] = [{k: v for k, v in s.items() if k != "history"} for s in phases]
    return stats


def train(config: TrainConfig, train_files: list[str], eval_files: list[str],
          tft_output: tft.TFTransformOutput, train_steps: int,
          eval_steps: int | None = None) -> tuple[keras.Model, dict]:
    """Builds (or reuses) and trains the model; returns it and the fit statistics."""
    keras.utils.set_random_seed(config.seed)
    toolbox = config.options()
    shape = image_inputs.image_shape(tft_output)
    transfer = config.variant == architectures.TRANSFER_VARIANT
    if transfer:
        model = architectures.transfer_model(load_base_model(config.base_model_dir), toolbox,
                                             shape, config.num_classes,
                                             source=f"base model {config.base_model_dir}")
    else:
        model = architectures.build_model(toolbox, shape, config.num_classes, seed=config.seed)
    binary = architectures.is_binary(model)
    batch_size = toolbox.batch_size
    train_ds = image_inputs.dataset(train_files, tft_output, batch_size=batch_size, training=True,
                                    seed=config.seed, to_model_io=to_model_io(binary),
                                    shuffle_buffer=config.shuffle_buffer)
    eval_ds = image_inputs.dataset(eval_files, tft_output, batch_size=batch_size, training=False,
                                   to_model_io=to_model_io(binary))
    steps_per_epoch = max(1, min(config.steps_per_epoch, train_steps))
    fit = dict(steps_per_epoch=steps_per_epoch, batch_size=batch_size, eval_steps=eval_steps)

    if not transfer:
        architectures.compile_model(model, toolbox, steps_per_epoch=steps_per_epoch,
                                    total_steps=train_steps)
        model.summary(print_fn=absl.logging.info)
        stats = common_training.fit(model, train_ds, eval_ds, train_steps=train_steps,
                                    callbacks=architectures.callbacks(toolbox), **fit)
    else:
        frozen_steps = toolbox.freeze_epochs * steps_per_epoch
        if train_steps - frozen_steps < steps_per_epoch:
            raise ValueError(f"transfer: {train_steps} train steps leave no epoch to fine-tune "
                             f"after freeze_epochs={toolbox.freeze_epochs} epochs of "
                             f"{steps_per_epoch} steps")
        phases = []
        if frozen_steps:
            architectures.compile_model(model, toolbox, steps_per_epoch=steps_per_epoch,
                                        total_steps=frozen_steps)
            model.summary(print_fn=absl.logging.info)
            phases.append(common_training.fit(model, train_ds, eval_ds, train_steps=frozen_steps,
                                              **fit))
        architectures.set_reused_trainable(model, True)
        architectures.compile_model(model, toolbox, steps_per_epoch=steps_per_epoch,
                                    total_steps=train_steps - frozen_steps,
                                    learning_rate=toolbox.fine_tune_learning_rate or None)
        phases.append(common_training.fit(model, train_ds, eval_ds,
                                          train_steps=train_steps - frozen_steps,
                                          callbacks=architectures.callbacks(toolbox), **fit))
        stats = _merge_stats(phases)
    stats.update(architectures.parameter_counts(model),
                 final_learning_rate=schedules.current_learning_rate(model.optimizer),
                 class_names=list(config.class_names), toolbox=toolbox.to_dict())
    return model, stats


class ClassifierServing(tf.Module):
    """The exported object: the transform graph (pixel scaling) + the model."""

    def __init__(self, model: keras.Model, tft_output: tft.TFTransformOutput, config: TrainConfig):
        super().__init__()
        self.model = model
        self.model_variables = export.tf_variables(model)
        self.feature_extractor = architectures.feature_extractor(model)
        self.images = image_inputs.ImageTransform(tft_output)
        self.tft_layer = self.images.tft_layer
        self.shape = self.images.shape
        self.class_names = tf.constant(list(config.class_names))
        self._num_classes = len(config.class_names)
        outputs = int(model.outputs[0].shape[-1])
        if max(outputs, 2) != self._num_classes:
            raise ValueError(f"the model has {outputs} output(s) for {self._num_classes} "
                             "class names")
        self._mc = regularizers.has_mc_dropout(model)
        # Every raw feature the transform reads (the label is not one of them).
        self._raw_spec = {k: v for k, v in tft_output.raw_feature_spec().items()
                          if k != contract.LABEL}

    def _outputs(self, probabilities: tf.Tensor) -> dict[str, tf.Tensor]:
        class_ids = tf.argmax(probabilities, axis=-1)
        return {"probabilities": probabilities, "class_ids": class_ids,
                "labels": tf.gather(self.class_names, class_ids)}

    def _probabilities(self, scaled: tf.Tensor) -> tf.Tensor:
        return architectures.class_probabilities(self.model(scaled, training=False))

    def _classify(self, images: tf.Tensor) -> dict[str, tf.Tensor]:
        return self._outputs(self._probabilities(self.images.scale(images)))

    def _monte_carlo(self, images: tf.Tensor, n: tf.Tensor) -> dict[str, tf.Tensor]:
        check = tf.debugging.assert_equal(
            tf.logical_and(n >= 1, n <= MAX_MC_SAMPLES), True,
            message=f"n (stochastic passes) must be between 1 and {MAX_MC_SAMPLES}")
        with tf.control_dependencies([check]):
            scaled = self.images.scale(images)
        zeros = tf.zeros([tf.shape(scaled)[0], self._num_classes], tf.float32)

        def body(i, total, squares):
            p = architectures.class_probabilities(regularizers.monte_carlo(self.model, scaled))
            return i + 1, total + p, squares + tf.square(p)

        _, total, squares = tf.while_loop(lambda i, *_: i < n, body,
                                          (tf.constant(0), zeros, zeros))
        count = tf.cast(n, tf.float32)
        mean = total / count
        std = tf.sqrt(tf.maximum(squares / count - tf.square(mean), 0.0))
        return {**self._outputs(mean), "std": std}

    def signatures(self) -> dict[str, Any]:
        height, width, channels = self.shape

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
        def serve_examples(serialized):
            parsed = tf.io.parse_example(serialized, self._raw_spec)
            scaled = self.tft_layer(parsed)[contract.IMAGE_SCALED]
            outputs = self._outputs(self._probabilities(scaled))
            return {"probabilities": outputs["probabilities"], "class_ids": outputs["class_ids"]}

        @tf.function(input_signature=[
            tf.TensorSpec([None, height, width, channels], tf.uint8, name="images")])
        def classify(images):
            return self._classify(images)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="png")])
        def classify_png(png):
            return self._classify(self.images.decode(png))

        @tf.function(input_signature=[
            tf.TensorSpec([None, height, width, channels], tf.uint8, name="images")])
        def features(images):
            scaled = self.images.scale(images)
            return {"features": self.feature_extractor(scaled, training=False),
                    "probabilities": self._probabilities(scaled)}

        signatures = {"serving_default": serve_examples, SIGNATURE_CLASSIFY: classify,
                      SIGNATURE_CLASSIFY_PNG: classify_png, SIGNATURE_FEATURES: features}
        if self._mc:
            @tf.function(input_signature=[
                tf.TensorSpec([None, height, width, channels], tf.uint8, name="images"),
                tf.TensorSpec([], tf.int32, name="n")])
            def classify_with_uncertainty(images, n):
                return self._monte_carlo(images, n)

            signatures[SIGNATURE_UNCERTAINTY] = classify_with_uncertainty
        return signatures


def run_fn(fn_args) -> None:
    """TFX Trainer (GenericExecutor) entry point."""
    common_training.run(fn_args, TrainConfig, train, ClassifierServing)
