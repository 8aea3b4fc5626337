"""Training deep networks (MODELS.md §8): the Fashion-MNIST MLP classifier
with chapter 11's techniques as configuration, as a family spec.

Variants are the presets of ``models.classifier.architectures`` (baseline,
batch_norm, selu, dropout, mc_dropout, one_cycle, transfer_base, transfer);
every option of ``Toolbox`` can be changed from the command line
(``--activation elu --batch-norm before --optimizer nadam --schedule
one_cycle ...``), and is checked before anything runs.

Tasks (the book's transfer-learning experiment):
  all  every class (default);
  A    the 8 classes other than sandal (5) and shirt (6), relabelled 0..7;
  B    sandal (5) vs shirt (6), "is it a shirt?", relabelled 0/1, with only
       the first 200 training images. ``--variant transfer --base-model-dir
       <a pushed task-A model>`` trains B on A.

Profiles:
  smoke      the first 3,000 training images (2,500 train / 500 eval) and
             the first 3,000 test images, 5 epochs: for tests and CI.
  reference  the book: 55,000 train / the last 5,000 training images as
             eval / the 10,000 official test images (the blessing split),
             the book's epochs per variant.

The Evaluator blesses on the test split: sparse categorical accuracy (a
value threshold, and a change threshold against the last blessed model, on
the overall slice), recall per class (binarized class ids), expected
calibration error (``models.classifier.evaluation``), overall and sliced by
true class.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import typing
from typing import Any

import tensorflow_model_analysis as tfma

from components.image_example_gen import ImageExampleGen
from models.classifier import architectures
from preprocessing import image_contract as contract
from preprocessing import images
from pipelines.spec import FamilySpec, select_profile

NAME = "classifier"
DEFAULT_VARIANT = "baseline"
DEFAULT_PROFILE = "reference"
DATASETS = tuple(contract.DATASETS)
DEFAULT_DATASET = "fashion_mnist"
TRAIN_IMAGES = 60_000  # the training files of Fashion-MNIST and MNIST

# Task -> (original class ids kept, in the order of their new ids; train limit).
TASKS: dict[str, tuple[tuple[int, ...], int]] = {
    "all": ((), 0),
    "A": ((0, 1, 2, 3, 4, 7, 8, 9), 0),
    "B": ((5, 6), 200),
}

# The book's epochs per variant (chapters 10-11).
REFERENCE_EPOCHS = {"baseline": 30, "batch_norm": 10, "selu": 5, "dropout": 10,
                    "mc_dropout": 10, "one_cycle": 25, "transfer_base": 20, "transfer": 20}

# Transform's scaling per variant (SELU wants standardized inputs, the book
# standardizes per pixel); the others scale to [0, 1] like the book.
SCALING = {"selu": ("standardize", "per_pixel")}
DEFAULT_SCALING = ("unit", "fixed")


@dataclasses.dataclass(frozen=True)
class Profile:
    max_images: int  # keep the first N training and N test images (0: all)
    eval_images: int  # the last of the training images kept
    epochs: int | None  # None: REFERENCE_EPOCHS[variant]
    accuracy_lower_bound: float
    test_images: int = 0  # a source without test files: held out of the training images


PROFILES = {
    "smoke": Profile(max_images=3_000, eval_images=500, epochs=5, accuracy_lower_bound=0.6),
    "reference": Profile(max_images=0, eval_images=contract.EVAL_IMAGES, epochs=None,
                         accuracy_lower_bound=0.8),
}

OVERALL = tfma.SlicingSpec()
BY_CLASS = tfma.SlicingSpec(feature_keys=[contract.LABEL])
EVALUATION_MODULE = "models.classifier.evaluation"


def eval_config(num_classes: int, *, accuracy_lower_bound: float,
                accuracy_change_tolerance: float = 0.01) -> tfma.EvalConfig:
    """Accuracy (blessing: ≥ the bound and at most `accuracy_change_tolerance`
    below the last blessed model, overall), per-class recall and expected
    calibration error, overall and per true class.

    The per-class recall is TFMA's one-vs-rest binarization (sub-key
    class_id): class c counts as predicted where its probability is ≥ 0.5.
    The top-1 recall of class c is the accuracy of the slice label = c.
    """
    accuracy_threshold = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": accuracy_lower_bound}),
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER,
            absolute={"value": -accuracy_change_tolerance}))
    return tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(signature_name="serving_default", label_key=contract.LABEL,
                                    prediction_key="probabilities")],
        slicing_specs=[OVERALL, BY_CLASS],
        metrics_specs=[
            tfma.MetricsSpec(metrics=[
                tfma.MetricConfig(class_name="ExampleCount"),
                tfma.MetricConfig(class_name="SparseCategoricalAccuracy", per_slice_thresholds=[
                    tfma.PerSliceMetricThreshold(slicing_specs=[OVERALL],
                                                 threshold=accuracy_threshold)]),
                tfma.MetricConfig(class_name="ExpectedCalibrationError", module=EVALUATION_MODULE),
                tfma.MetricConfig(class_name="MultiClassConfusionMatrixPlot"),
            ]),
            tfma.MetricsSpec(
                metrics=[tfma.MetricConfig(class_name="Recall")],
                binarize=tfma.BinarizationOptions(class_ids={"values": list(range(num_classes))})),
        ],
    )


def default_source(dataset: str = DEFAULT_DATASET) -> str:
    """CLASSIFIER_SOURCE if set (a folder of IDX files, a .npz, a folder of
    images or a URL), else the dataset's name: ImageExampleGen downloads its
    files from the Keras datasets mirror once, into the cache."""
    return os.environ.get("CLASSIFIER_SOURCE") or dataset


def _task(task: str, classes: tuple[int, ...] | None,
          train_limit: int | None) -> tuple[tuple[int, ...], int]:
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}; got {task!r}")
    task_classes, task_limit = TASKS[task]
    classes = tuple(int(c) for c in (task_classes if classes is None else classes))
    limit = task_limit if train_limit is None else int(train_limit)
    if len(set(classes)) != len(classes) or not all(c >= 0 for c in classes):
        raise ValueError(f"classes must be distinct class ids >= 0; got {list(classes)}")
    if classes and len(classes) < 2:
        raise ValueError(f"a classifier needs at least 2 classes; got classes={list(classes)}")
    if limit < 0:
        raise ValueError(f"train_limit must be >= 0; got {limit}")
    return classes, limit


def build_spec(variant: str = DEFAULT_VARIANT, profile: str = DEFAULT_PROFILE, *,
               source: str | None = None, dataset: str = DEFAULT_DATASET, sha256: str = "",
               cache_dir: str = "", task: str = "all", classes: tuple[int, ...] | None = None,
               train_limit: int | None = None, class_names: tuple[str, ...] | None = None,
               epochs: int | None = None, max_images: int | None = None,
               eval_images: int | None = None, test_images: int | None = None,
               image_shape: tuple[int, int, int] = contract.DEFAULT_SHAPE,
               scaling: str | None = None, statistics: str | None = None,
               base_model_dir: str = "", min_accuracy: float | None = None, seed: int = 42,
               source_format: str = "", **toolbox_options: Any) -> FamilySpec:
    """The classifier family for one variant (a toolbox preset) and profile.

    toolbox_options: any ``architectures.Toolbox`` option, overriding the
    preset's (``activation="elu"``, ``hidden_units=(200, 100)``, ...).
    classes / train_limit override the task's; class_names default to the
    dataset's names of the kept classes.
    """
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}; got {dataset!r}")
    toolbox = architectures.preset(variant, **toolbox_options)
    prof = select_profile(PROFILES, profile, epochs=epochs, max_images=max_images,
                          eval_images=eval_images, test_images=test_images,
                          accuracy_lower_bound=min_accuracy)
    n_epochs = prof.epochs or REFERENCE_EPOCHS[variant]
    if n_epochs < 1:
        raise ValueError(f"epochs must be >= 1; got {n_epochs}")
    transfer = variant == architectures.TRANSFER_VARIANT
    if transfer and not base_model_dir:
        raise ValueError("the transfer variant needs base_model_dir: the pushed model folder of a "
                         "run on task A (--task A), e.g. serving_model/<pipeline>/<version>")
    if base_model_dir and not transfer:
        raise ValueError(f"base_model_dir is for the transfer variant only, not {variant!r}")
    if transfer and n_epochs <= toolbox.freeze_epochs:
        raise ValueError(f"the transfer variant needs more epochs ({n_epochs}) than "
                         f"freeze_epochs ({toolbox.freeze_epochs}): some to fine-tune")
    n_train = (prof.max_images or TRAIN_IMAGES) - prof.eval_images - prof.test_images
    if prof.eval_images < 1 or prof.test_images < 0 or prof.max_images < 0 or n_train < 1:
        raise ValueError(f"need eval_images >= 1, test_images >= 0 and max_images >= 0 (0: all) "
                         f"leaving training images; got eval_images={prof.eval_images}, "
                         f"test_images={prof.test_images}, max_images={prof.max_images}")
    kept, limit = _task(task, tuple(classes) if classes is not None else None, train_limit)
    all_names = contract.DATASETS[dataset][0]
    if not class_names and any(c >= len(all_names) for c in kept):
        raise ValueError(f"classes {list(kept)}: {dataset} has class ids 0..{len(all_names) - 1} "
                         "(another source's classes need class_names)")
    names = tuple(class_names) if class_names else tuple(
        all_names[c] for c in (kept or range(len(all_names))))
    if len(names) != (len(kept) or len(all_names)):
        raise ValueError(f"class_names needs one name per class ({len(kept) or len(all_names)}); "
                         f"got {list(names)}")
    scale, stats = SCALING.get(variant, DEFAULT_SCALING)

    # Images per epoch (nominal: the datasets have equally many of each class).
    if kept:
        n_train = math.ceil(n_train * len(kept) / len(all_names))
    if limit:
        n_train = min(n_train, limit)
    steps_per_epoch = max(1, math.ceil(n_train / toolbox.batch_size))

    def data_source():
        return ImageExampleGen(source or default_source(dataset),
                               eval_images=prof.eval_images, test_images=prof.test_images,
                               max_images=prof.max_images, image_shape=tuple(image_shape),
                               classes=kept, train_limit=limit, cache_dir=cache_dir,
                               sha256=sha256, source_format=source_format)

    return FamilySpec(
        name=NAME,
        data_source=data_source,
        preprocessing_fn="preprocessing.images.preprocessing_fn",
        run_fn="models.classifier.trainer.run_fn",
        train_steps=steps_per_epoch * n_epochs,
        eval_steps=None,
        eval_config=eval_config(len(names), accuracy_lower_bound=prof.accuracy_lower_bound),
        schema=images.curated_schema(image_shape, len(names)),
        preprocessing_config={"image_shape": [int(d) for d in image_shape],
                              "scaling": scaling or scale, "statistics": statistics or stats},
        custom_config={"variant": variant, "toolbox": toolbox.to_dict(),
                       "class_names": list(names), "steps_per_epoch": steps_per_epoch,
                       "base_model_dir": base_model_dir, "seed": seed},
        evaluation_split=contract.TEST,
    )


# --- command line -------------------------------------------------------------------

TOOLBOX_OPTIONS = tuple(f.name for f in dataclasses.fields(architectures.Toolbox))
CLI_OPTIONS = ("source", "source_format", "dataset", "sha256", "cache_dir", "task", "classes", "train_limit",
               "class_names", "epochs", "max_images", "eval_images", "test_images", "image_shape",
               "scaling", "statistics", "base_model_dir", "min_accuracy", "seed") + TOOLBOX_OPTIONS

_CHOICES = {"initializer": architectures.INITIALIZERS, "activation": architectures.ACTIVATIONS,
            "batch_norm": architectures.BATCH_NORM, "head": architectures.HEADS,
            "optimizer": architectures.OPTIMIZERS, "schedule": architectures.SCHEDULES}


def _list_of(kind: type):
    """'300,100' → (300, 100); for layer sizes also '100x20' → twenty 100s."""
    def parse(text: str) -> tuple:
        values: list = []
        for item in text.split(","):
            item = item.strip()
            try:
                if kind is int and "x" in item:
                    units, count = item.split("x")
                    values += [int(units)] * int(count)
                else:
                    values.append(kind(item))
            except ValueError:
                raise argparse.ArgumentTypeError(f"not a comma-separated list of {kind.__name__}: "
                                                 f"{text!r}") from None
        return tuple(values)
    return parse


TOOLBOX_HELP = {
    "hidden_units": "hidden layer sizes, e.g. 300,100 or 100x20 (twenty layers of 100)",
    "initializer": "kernel initializer (default: glorot_uniform, lecun_normal under selu)",
    "activation": "hidden activation (selu: lecun_normal, alpha dropout, no batch norm)",
    "batch_norm": "batch normalization before or after each hidden activation",
    "head": "output layer (auto: sigmoid for 2 classes, softmax otherwise)",
    "dropout_rate": "dropout before every Dense layer (alpha dropout under selu)",
    "mc_dropout": "dropout layers that can sample at inference (classify_with_uncertainty)",
    "l1": "L1 kernel penalty", "l2": "L2 kernel penalty",
    "max_norm": "max-norm constraint on hidden kernels (0: none)",
    "optimizer": "optimizer", "learning_rate": "learning rate (one_cycle: its maximum)",
    "momentum": "momentum / nesterov: momentum", "weight_decay": "adamw: weight decay",
    "clipvalue": "clip each gradient component (0: off)",
    "clipnorm": "clip each gradient's norm (0: off)", "batch_size": "batch size",
    "schedule": "learning-rate schedule",
    "decay_epochs": "power / exponential: epochs s of lr0/(1+t/s)^c, lr0·rate^(t/s)",
    "decay_rate": "exponential: rate", "decay_power": "power: exponent c",
    "piecewise_epochs": "piecewise: epoch boundaries, e.g. 5,15",
    "piecewise_factors": "piecewise: learning-rate factors, one more than boundaries",
    "plateau_factor": "plateau: factor on the rate when val_loss stalls",
    "plateau_patience": "plateau: epochs without improvement",
    "freeze_epochs": "transfer: epochs with the reused layers frozen",
    "fine_tune_learning_rate": "transfer: learning rate after unfreezing (0: learning_rate)",
}


def _add_toolbox_arguments(group: argparse._ArgumentGroup) -> None:
    hints = typing.get_type_hints(architectures.Toolbox)
    baseline = architectures.PRESETS[DEFAULT_VARIANT]
    for field in dataclasses.fields(architectures.Toolbox):
        flag = "--" + field.name.replace("_", "-")
        hint = hints[field.name]
        value = getattr(baseline, field.name)
        shown = ",".join(str(v) for v in value) if isinstance(value, tuple) else value
        text = f"{TOOLBOX_HELP[field.name]} (default: the variant's; baseline {shown})"
        if hint is bool:
            group.add_argument(flag, action=argparse.BooleanOptionalAction, default=None,
                               help=text)
        elif typing.get_origin(hint) is tuple:
            group.add_argument(flag, type=_list_of(typing.get_args(hint)[0]), metavar="A,B,...",
                               help=text)
        else:
            group.add_argument(flag, type=hint, choices=_CHOICES.get(field.name), help=text)


def add_cli_arguments(group: argparse._ArgumentGroup) -> None:
    """Options of `build_spec` for the command lines (local run, Kubeflow)."""
    group.add_argument("--images", dest="source",
                       help="folder of IDX files, .npz, folder of images (train/<class>/*.png) "
                            "or URL (default: $CLASSIFIER_SOURCE, else --dataset, downloaded "
                            "once into the cache)")
    group.add_argument("--dataset", choices=DATASETS,
                       help="class names and files (default fashion_mnist)")
    group.add_argument("--sha256", help="expected SHA-256 of a downloaded file")
    group.add_argument("--cache-dir", help="download cache (default ~/.cache/keras_tfx_pipelines)")
    group.add_argument("--source-format", choices=["idx", "npz", "folder"],
                       help="what the source holds (default: looked at when the pipeline is "
                            "built; needed for a source not reachable from here, e.g. gs:// "
                            "while compiling for Kubeflow)")
    group.add_argument("--task", choices=list(TASKS),
                       help="all classes, or the book's transfer tasks A (8 classes) and B "
                            "(sandal vs shirt, 200 training images)")
    group.add_argument("--classes", type=_list_of(int), metavar="5,6",
                       help="original class ids to keep, relabelled 0..k-1 in this order")
    group.add_argument("--train-limit", type=int, help="cap on training images (0 = all)")
    group.add_argument("--class-names", type=_list_of(str), metavar="A,B,...",
                       help="names served for the class ids (default: the dataset's)")
    group.add_argument("--epochs", type=int, help="default: the profile's or the book's per variant")
    group.add_argument("--max-images", type=int,
                       help="keep the first N training and N test images (0 = all)")
    group.add_argument("--eval-images", type=int,
                       help="the last N training images are the eval split (book: 5,000)")
    group.add_argument("--test-images", type=int,
                       help="a source without test files: hold out N training images as test")
    group.add_argument("--image-shape", type=_list_of(int), metavar="H,W,C",
                       help="the images' height, width, channels (default 28,28,1)")
    group.add_argument("--scaling", choices=contract.SCALINGS,
                       help="Transform's pixel scaling (default: unit; selu: standardize)")
    group.add_argument("--statistics", choices=contract.STATISTICS,
                       help="where scaling statistics come from (default: fixed; selu: per_pixel)")
    group.add_argument("--base-model-dir",
                       help="transfer variant: a pushed model folder of a task-A run")
    group.add_argument("--min-accuracy", type=float, help="accuracy a model needs to be pushed")
    group.add_argument("--seed", type=int, help="weights, dropout and shuffling (default 42)")
    _add_toolbox_arguments(group)
