"""What the generative families (gan, diffusion) share: where the images
come from, and how a generator is blessed.

A generator is blessed by ``SampleQualityEvaluator`` (id "Evaluator"): the
Fréchet distance and class coverage of its samples against the real images
of the test split, in the feature space of a frozen classifier trained on
the same data. That classifier is either

* trained inside the pipeline (node "FeatureClassifier"): the classifier
  family's ``batch_norm`` preset (the book's BN MLP) on the same Transform
  output, for ``classifier_epochs``; cached like any Trainer, so it trains
  once per dataset; or
* a classifier the user already pushed (``feature_classifier``: its serving
  folder), imported as it is, so that runs on different data or code are
  scored in the same feature space.

The features are the classifier's penultimate activations: the 100 units of
the BN MLP's last hidden layer after batch normalization.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
from typing import Any

from tfx import v1 as tfx

from components.image_example_gen import ImageExampleGen
from components.sample_quality import SampleQualityEvaluator
from components.sample_quality.component import check_parameters
from pipelines.factory import source_digest
from models.common.arguments import parse_image_shape
from pipelines.spec import EVAL, TRAIN, Evaluation, EvaluationInputs, FamilySpec
from preprocessing import image_contract as contract
from preprocessing import images

SOURCE_TRAIN_IMAGES = 60_000  # Fashion-MNIST's and MNIST's training files
FEATURE_CLASSIFIER_VARIANT = "batch_norm"
FEATURE_CLASSIFIER_RUN_FN = "models.classifier.trainer.run_fn"


@dataclasses.dataclass(frozen=True)
class QualityGate:
    """How samples are drawn and scored, and the thresholds of a blessing."""

    num_samples: int  # generated images scored per model
    max_real: int  # real test images at most
    max_frechet_distance: float  # value threshold (0: none)
    frechet_tolerance: float  # change threshold against the last blessed model
    min_class_coverage: float = 0.0  # 0: none
    max_class_share: float = 1.0  # 1: none
    generate_args: dict[str, Any] = dataclasses.field(default_factory=dict)
    batch_size: int = 250
    seed: int = 42

    def __post_init__(self) -> None:  # the component's checks, when the spec is built
        check_parameters(num_samples=self.num_samples, max_real=self.max_real,
                         batch_size=self.batch_size,
                         max_frechet_distance=self.max_frechet_distance,
                         frechet_tolerance=self.frechet_tolerance,
                         min_class_coverage=self.min_class_coverage,
                         max_class_share=self.max_class_share)


@dataclasses.dataclass(frozen=True)
class FeatureClassifier:
    """The classifier whose features score the samples: a pushed model
    folder, or trained in the pipeline with this Trainer configuration."""

    model_dir: str = ""
    custom_config: dict[str, Any] = dataclasses.field(default_factory=dict)
    train_steps: int = 0


def feature_classifier(*, model_dir: str, epochs: int, max_images: int, eval_images: int,
                       class_names: tuple[str, ...], image_shape: list[int],
                       seed: int) -> FeatureClassifier:
    """The imported classifier at `model_dir`, or the classifier family's BN
    MLP trained for `epochs` on the pipeline's own data."""
    if model_dir:
        if not os.path.exists(os.path.join(model_dir, "saved_model.pb")) and "://" not in model_dir:
            raise ValueError(f"feature_classifier {model_dir!r}: no saved_model.pb there (give "
                             "the pushed serving folder of a classifier run)")
        return FeatureClassifier(model_dir=model_dir)
    from pipelines.families import classifier  # its options are checked there

    spec = classifier.build_spec(FEATURE_CLASSIFIER_VARIANT, "reference", epochs=epochs,
                                 max_images=max_images, eval_images=eval_images,
                                 class_names=tuple(class_names), image_shape=tuple(image_shape),
                                 seed=seed)
    return FeatureClassifier(custom_config=spec.custom_config, train_steps=spec.train_steps)


def evaluation(gate: QualityGate, classifier: FeatureClassifier) -> Evaluation:
    """The factory's evaluation step: FeatureClassifier → Evaluator."""

    def build(inputs: EvaluationInputs) -> list:
        if classifier.model_dir:
            features = tfx.dsl.Importer(source_uri=classifier.model_dir,
                                        artifact_type=tfx.types.standard_artifacts.Model)
            channel = features.outputs["result"]
        else:
            features = tfx.components.Trainer(
                run_fn=FEATURE_CLASSIFIER_RUN_FN,
                examples=inputs.transformed_examples,
                transform_graph=inputs.transform_graph,
                schema=inputs.schema,
                train_args=tfx.proto.TrainArgs(splits=[TRAIN], num_steps=classifier.train_steps),
                eval_args=tfx.proto.EvalArgs(splits=[EVAL]),
                custom_config={**classifier.custom_config,
                               "source_digest": source_digest(FEATURE_CLASSIFIER_RUN_FN)})
            channel = features.outputs["model"]
        evaluator = SampleQualityEvaluator(
            examples=inputs.examples, model=inputs.model, feature_model=channel,
            baseline_model=inputs.baseline_model, split=contract.TEST,
            num_samples=gate.num_samples, max_real=gate.max_real, seed=gate.seed,
            batch_size=gate.batch_size, generate_args=gate.generate_args,
            max_frechet_distance=gate.max_frechet_distance,
            frechet_tolerance=gate.frechet_tolerance,
            min_class_coverage=gate.min_class_coverage, max_class_share=gate.max_class_share)
        return [features.with_id("FeatureClassifier"), evaluator.with_id("Evaluator")]

    return build


def class_names(dataset: str, names: tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    if names:
        return tuple(names)
    if dataset not in contract.DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(contract.DATASETS)}; got {dataset!r}")
    return contract.DATASETS[dataset][0]


def data_source(source: str, *, max_images: int, eval_images: int, image_shape: list[int],
                cache_dir: str, sha256: str, source_format: str):
    """The ExampleGen builder (train, eval = the last `eval_images`, test)."""
    return lambda: ImageExampleGen(source, eval_images=eval_images, max_images=max_images,
                                   image_shape=image_shape, cache_dir=cache_dir, sha256=sha256,
                                   source_format=source_format)


@dataclasses.dataclass(frozen=True)
class Data:
    """Where a generative family's images come from (its data options)."""

    source: str
    max_images: int
    eval_images: int
    image_shape: list[int]
    class_names: tuple[str, ...]
    cache_dir: str = ""
    sha256: str = ""
    source_format: str = ""


def family_spec(name: str, *, data: Data, run_fn: str, scaling: str, custom_config: dict,
                train_steps: int, gate: QualityGate, classifier_epochs: int,
                feature_classifier_dir: str, seed: int) -> FamilySpec:
    """A generative family's spec: ImageExampleGen, the image Transform at
    `scaling`, the family's Trainer, and the sample-quality evaluation."""
    classifier = feature_classifier(
        model_dir=feature_classifier_dir, epochs=classifier_epochs, max_images=data.max_images,
        eval_images=data.eval_images, class_names=data.class_names,
        image_shape=data.image_shape, seed=seed)
    return FamilySpec(
        name=name,
        data_source=data_source(data.source, max_images=data.max_images,
                                eval_images=data.eval_images, image_shape=data.image_shape,
                                cache_dir=data.cache_dir, sha256=data.sha256,
                                source_format=data.source_format),
        preprocessing_fn="preprocessing.images.preprocessing_fn",
        run_fn=run_fn,
        train_steps=train_steps,
        eval_steps=None,
        eval_config=None,
        evaluation=evaluation(gate, classifier),
        schema=images.curated_schema(data.image_shape, len(data.class_names)),
        preprocessing_config={"image_shape": data.image_shape, "scaling": scaling,
                              "statistics": "fixed"},
        custom_config=custom_config,
        evaluation_split=contract.TEST,
    )


def steps_per_epoch(max_images: int, eval_images: int, batch_size: int) -> int:
    """One pass over the train split (60,000 source images unless `max_images`)."""
    train_images = (max_images or SOURCE_TRAIN_IMAGES) - eval_images
    if train_images < 1:
        raise ValueError(f"eval_images ({eval_images}) leaves no training images of "
                         f"{max_images or SOURCE_TRAIN_IMAGES}")
    return math.ceil(train_images / batch_size)


QUALITY_OPTIONS = ("num_samples", "max_frechet_distance", "frechet_tolerance",
                   "min_class_coverage", "max_class_share", "feature_classifier",
                   "classifier_epochs", "seed")
TRAINING_OPTIONS = ("epochs", "steps_per_epoch", "batch_size", "learning_rate")
DATA_OPTIONS = ("source", "dataset", "source_format", "cache_dir", "sha256", "image_shape",
                "max_images", "eval_images", "class_names")


def add_data_arguments(group: argparse._ArgumentGroup, env: str) -> None:
    group.add_argument("--images", dest="source",
                       help=f"directory of IDX files, .npz, folder of images or dataset name "
                            f"(default: ${env}, else --dataset, downloaded once into the cache)")
    group.add_argument("--dataset", choices=sorted(contract.DATASETS),
                       help="the dataset whose class names (and default source) apply "
                            "(default fashion_mnist)")
    group.add_argument("--source-format", choices=["idx", "npz", "folder"],
                       help="what the source holds (needed for a source not reachable from "
                            "here, e.g. gs:// while compiling for Kubeflow)")
    group.add_argument("--cache-dir", help="download cache (default ~/.cache/keras_tfx_pipelines)")
    group.add_argument("--sha256", help="expected SHA-256 of a .npz file or URL")
    group.add_argument("--image-shape", type=parse_image_shape, help="HEIGHT,WIDTH,CHANNELS (default 28,28,1)")
    group.add_argument("--max-images", type=int,
                       help="keep the first N training and test images (0 = all)")
    group.add_argument("--eval-images", type=int,
                       help="the last N training images validate (book: 5,000)")
    group.add_argument("--class-names", type=lambda s: tuple(s.split(",")),
                       help="comma-separated class names of another source")


def add_training_arguments(group: argparse._ArgumentGroup, learning_rate_help: str) -> None:
    group.add_argument("--epochs", type=int, help="default: the profile's (reference: the book's)")
    group.add_argument("--steps-per-epoch", type=int, help="0 = one pass over the train split")
    group.add_argument("--batch-size", type=int, help="default: the book's (32)")
    group.add_argument("--learning-rate", type=float, help=learning_rate_help)


def add_quality_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--num-samples", type=int,
                       help="images generated and scored per model (default: the profile's)")
    group.add_argument("--max-frechet-distance", type=float,
                       help="the largest Fréchet distance a pushed model may have (0: no bound)")
    group.add_argument("--frechet-tolerance", type=float,
                       help="how much above the last blessed model's Fréchet distance a pushed "
                            "model may be")
    group.add_argument("--min-class-coverage", type=float,
                       help="fraction of classes that must get at least half a uniform share "
                            "of the samples (0: no bound)")
    group.add_argument("--max-class-share", type=float,
                       help="the largest share of the samples one class may get (1: no bound)")
    group.add_argument("--feature-classifier",
                       help="pushed serving folder of a classifier run whose features score "
                            "the samples (default: train the BN MLP in this pipeline)")
    group.add_argument("--classifier-epochs", type=int,
                       help="epochs of the in-pipeline feature classifier")
    group.add_argument("--seed", type=int, help="random seed (42)")
