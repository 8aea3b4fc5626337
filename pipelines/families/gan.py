"""GANs on Fashion-MNIST (MODELS.md §6) as a family spec.

Variants (``models.gan.architectures``): simple (the book's dense GAN,
sigmoid output, pixels in [0, 1]), dcgan (default; tanh output, pixels in
[−1, 1]), conditional (a DCGAN conditioned on the class label). Transform
scales the pixels into the range the variant's output activation reaches.

Profiles:
  smoke      the first 3,000 training images (2,500 train / 500 eval) and
             the first 3,000 test images, 2 epochs: for tests and CI. Its
             Fréchet bound is loose, but an untrained generator fails it.
  cpu        the full data, 5 epochs: what a 2-core CPU affords
             (``bench/gan_reference.md`` ran 4 for the DCGAN: Fréchet
             distance 8.0, every class between 5% and 13% of the samples).
  reference  the book: 55,000 train / 5,000 eval / 10,000 test, each variant's
             epochs and batch size.

The Evaluator is ``SampleQualityEvaluator`` (see ``generative``): the
Fréchet distance of ``num_samples`` generated images to the test images in
a frozen classifier's feature space must be at most ``max_frechet_distance``
and at most ``frechet_tolerance`` above the last blessed model's; the
profile may also bound the class coverage and the largest class share
(mode collapse).
"""

from __future__ import annotations

import argparse
import dataclasses
import os

from models.common.arguments import canonical_name
from models.gan import architectures
from models.gan.trainer import TrainConfig
from pipelines.families import generative
from pipelines.spec import FamilySpec, select_profile
from preprocessing import image_contract as contract

NAME = "gan"
DEFAULT_VARIANT = architectures.DEFAULT_VARIANT
DEFAULT_PROFILE = "reference"
DEFAULT_DATASET = "fashion_mnist"


@dataclasses.dataclass(frozen=True)
class Profile:
    max_images: int  # keep the first N training (and test) images; 0: all
    eval_images: int  # the last N of the kept training images
    epochs: int  # 0: the variant's (the book's)
    num_samples: int  # generated images scored per model
    max_frechet_distance: float
    frechet_tolerance: float
    min_class_coverage: float
    max_class_share: float
    classifier_epochs: int


PROFILES: dict[str, Profile] = {
    "smoke": Profile(max_images=3_000, eval_images=500, epochs=2, num_samples=500,
                     max_frechet_distance=60.0, frechet_tolerance=10.0, min_class_coverage=0.0,
                     max_class_share=1.0, classifier_epochs=3),
    "cpu": Profile(max_images=0, eval_images=contract.EVAL_IMAGES, epochs=5, num_samples=5_000,
                   max_frechet_distance=20.0, frechet_tolerance=1.0, min_class_coverage=0.8,
                   max_class_share=0.3, classifier_epochs=5),
    "reference": Profile(max_images=0, eval_images=contract.EVAL_IMAGES, epochs=0,
                         num_samples=10_000, max_frechet_distance=10.0, frechet_tolerance=1.0,
                         min_class_coverage=1.0, max_class_share=0.2, classifier_epochs=10),
}


def default_source(dataset: str = DEFAULT_DATASET) -> str:
    """GAN_SOURCE if set, else the dataset's name (downloaded once)."""
    return os.environ.get("GAN_SOURCE") or dataset


def build_spec(variant: str = DEFAULT_VARIANT, profile: str = DEFAULT_PROFILE, *,
               source: str | None = None, dataset: str = DEFAULT_DATASET,
               source_format: str = "", cache_dir: str = "", sha256: str = "",
               image_shape: tuple[int, int, int] | list[int] = contract.DEFAULT_SHAPE,
               max_images: int | None = None, eval_images: int | None = None,
               class_names: tuple[str, ...] | None = None, epochs: int | None = None,
               steps_per_epoch: int = 0, batch_size: int = 0, learning_rate: float = 0.0,
               codings_size: int = 0, replay_size: int = 0, replay_fraction: float = 0.5,
               num_samples: int | None = None, max_frechet_distance: float | None = None,
               frechet_tolerance: float | None = None, min_class_coverage: float | None = None,
               max_class_share: float | None = None, feature_classifier: str = "",
               classifier_epochs: int | None = None, seed: int = 42) -> FamilySpec:
    """The gan family for one variant and profile (see the module docstring)."""
    variant = canonical_name(NAME, variant, architectures.VARIANTS)
    prof = select_profile(PROFILES, profile, max_images=max_images, eval_images=eval_images,
                          epochs=epochs, num_samples=num_samples,
                          max_frechet_distance=max_frechet_distance,
                          frechet_tolerance=frechet_tolerance,
                          min_class_coverage=min_class_coverage, max_class_share=max_class_share,
                          classifier_epochs=classifier_epochs)
    n_epochs = prof.epochs or architectures.BOOK_EPOCHS[variant]
    batch = batch_size or architectures.BOOK_BATCH_SIZE[variant]
    if n_epochs < 1 or batch < 1 or steps_per_epoch < 0:
        raise ValueError(f"need epochs >= 1, batch_size >= 1 and steps_per_epoch >= 0, got "
                         f"{n_epochs}, {batch}, {steps_per_epoch}")
    per_epoch = steps_per_epoch or generative.steps_per_epoch(prof.max_images, prof.eval_images,
                                                              batch)
    names = generative.class_names(dataset, class_names)
    image_shape = [int(d) for d in image_shape]
    custom_config = {"variant": variant, "codings_size": codings_size, "batch_size": batch,
                     "steps_per_epoch": per_epoch, "learning_rate": learning_rate,
                     "replay_size": replay_size, "replay_fraction": replay_fraction,
                     "num_classes": len(names), "seed": seed}
    TrainConfig.from_custom_config(custom_config)  # the trainer's checks, now
    gate = generative.QualityGate(
        num_samples=prof.num_samples, max_real=10_000,
        max_frechet_distance=prof.max_frechet_distance, frechet_tolerance=prof.frechet_tolerance,
        min_class_coverage=prof.min_class_coverage, max_class_share=prof.max_class_share,
        seed=seed)
    data = generative.Data(source or default_source(dataset), prof.max_images,
                           prof.eval_images, image_shape, names, cache_dir, sha256, source_format)
    return generative.family_spec(
        NAME, data=data, run_fn="models.gan.trainer.run_fn",
        scaling=architectures.SCALING[variant], custom_config=custom_config,
        train_steps=per_epoch * n_epochs, gate=gate, classifier_epochs=prof.classifier_epochs,
        feature_classifier_dir=feature_classifier, seed=seed)


CLI_OPTIONS = (*generative.DATA_OPTIONS, *generative.TRAINING_OPTIONS, "codings_size",
               "replay_size", "replay_fraction", *generative.QUALITY_OPTIONS)


def add_cli_arguments(group: argparse._ArgumentGroup) -> None:
    """Options of `build_spec` for the command lines (local run, Kubeflow)."""
    generative.add_data_arguments(group, "GAN_SOURCE")
    generative.add_training_arguments(
        group, "both optimizers' learning rate (default: the book's per variant)")
    group.add_argument("--codings", dest="codings_size", type=int,
                       help="codings size (default: the book's: simple 30, DCGAN 100)")
    group.add_argument("--replay-size", type=int,
                       help="experience replay: past fakes kept (0 = off, the book's default)")
    group.add_argument("--replay-fraction", type=float,
                       help="share of each discriminator batch's fakes drawn from the replay "
                            "buffer")
    generative.add_quality_arguments(group)
