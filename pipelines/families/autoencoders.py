"""Autoencoders on Fashion-MNIST (MODELS.md §5) as a family spec.

Variants: stacked (default), tied, convolutional, denoising, sparse_l1,
sparse_kl, variational (``models.autoencoders.architectures``).

Profiles:
  smoke      the first 3,000 training images (2,500 train / 500 eval) and the
             first 3,000 test images, 2 epochs of the book's model: for
             tests and CI. Its MSE bound is loose, but an untrained model
             does not meet it.
  reference  the book: 55,000 train / 5,000 eval (the last 5,000 training
             images) / 10,000 test (t10k), each variant's epochs and batch
             size (20 epochs for stacked, 10 for the others, 25 at batch 128
             for variational), Nadam 1e-3, MSE.

Pixels are scaled into [0, 1] by Transform ("unit", fixed range: the book's
X / 255). The Evaluator blesses on the test split with the reconstruction
MSE in that space (``ReconstructionMse``): it must be at most ``max_mse``
(value threshold) and at most ``mse_tolerance`` worse than the last blessed
model's (change threshold, lower is better).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os

import tensorflow_model_analysis as tfma

from components.image_example_gen import ImageExampleGen
from models.autoencoders import architectures
from models.autoencoders.trainer import TrainConfig
from models.common.arguments import canonical_name, parse_image_shape
from pipelines.spec import FamilySpec, select_profile
from preprocessing import image_contract as contract
from preprocessing import images

NAME = "autoencoders"
DEFAULT_VARIANT = architectures.DEFAULT_VARIANT
DEFAULT_PROFILE = "reference"
DEFAULT_DATASET = "fashion_mnist"
SOURCE_TRAIN_IMAGES = 60_000  # Fashion-MNIST's (and MNIST's) training files


@dataclasses.dataclass(frozen=True)
class Profile:
    max_images: int  # keep the first N training (and test) images; 0: all
    eval_images: int  # the last N of the kept training images
    epochs: int  # 0: the variant's (the book's)
    batch_size: int  # 0: the variant's (the book's)
    steps_per_epoch: int  # 0: one pass over the train split
    max_mse: float  # 0: twice the book's validation loss of the variant
    mse_tolerance: float  # change threshold against the last blessed model
    learning_rate: float = 1e-3  # Nadam (the book's)


PROFILES: dict[str, Profile] = {
    "smoke": Profile(max_images=3_000, eval_images=500, epochs=2, batch_size=32,
                     steps_per_epoch=0, max_mse=0.06, mse_tolerance=0.01),
    "reference": Profile(max_images=0, eval_images=contract.EVAL_IMAGES, epochs=0,
                         batch_size=0, steps_per_epoch=0, max_mse=0.0, mse_tolerance=0.002),
}


def eval_config(*, max_mse: float, mse_tolerance: float) -> tfma.EvalConfig:
    """Reconstruction MSE (scaled pixels) on the blessing split: at most
    `max_mse`, and at most `mse_tolerance` above the last blessed model's."""
    return tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(signature_name="serving_default")],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[tfma.MetricsSpec(metrics=[
            tfma.MetricConfig(class_name="ExampleCount"),
            tfma.MetricConfig(
                class_name="ReconstructionMse", module="models.autoencoders.evaluation",
                threshold=tfma.MetricThreshold(
                    value_threshold=tfma.GenericValueThreshold(upper_bound={"value": max_mse}),
                    change_threshold=tfma.GenericChangeThreshold(
                        direction=tfma.MetricDirection.LOWER_IS_BETTER,
                        absolute={"value": mse_tolerance}))),
        ])],
    )


def default_source() -> str:
    """AUTOENCODERS_SOURCE if set (a dataset name, a directory of IDX files,
    a .npz or a folder of images), else Fashion-MNIST, downloaded once from
    the Keras datasets mirror."""
    return os.environ.get("AUTOENCODERS_SOURCE", DEFAULT_DATASET)


def build_spec(variant: str = DEFAULT_VARIANT, profile: str = DEFAULT_PROFILE, *,
               source: str | None = None, cache_dir: str = "", sha256: str = "",
               image_shape: tuple[int, int, int] | list[int] = contract.DEFAULT_SHAPE,
               max_images: int | None = None, eval_images: int | None = None,
               epochs: int | None = None, steps_per_epoch: int | None = None,
               batch_size: int | None = None, learning_rate: float | None = None,
               codings_size: int = 0, noise: str = "", noise_level: float = 0.0,
               output_activation: str = "linear", scaling: str = "unit",
               statistics: str = "fixed", max_mse: float | None = None,
               mse_tolerance: float | None = None, source_format: str = "",
               seed: int = 42) -> FamilySpec:
    """The autoencoders family for one variant and profile.

    source: see `default_source`. The number of training images is assumed
    to be 60,000 (Fashion-MNIST's) unless `max_images` is set: for another
    source, pass `steps_per_epoch` too.
    """
    variant = canonical_name(NAME, variant, architectures.VARIANTS)
    prof = select_profile(PROFILES, profile, max_images=max_images, eval_images=eval_images,
                          epochs=epochs, steps_per_epoch=steps_per_epoch, batch_size=batch_size,
                          learning_rate=learning_rate, max_mse=max_mse,
                          mse_tolerance=mse_tolerance)
    epochs = prof.epochs or architectures.BOOK_EPOCHS[variant]
    batch = prof.batch_size or architectures.BOOK_BATCH_SIZE[variant]
    if epochs < 1 or batch < 1 or prof.steps_per_epoch < 0:
        raise ValueError(f"need epochs >= 1, batch_size >= 1 and steps_per_epoch >= 0, got "
                         f"{epochs}, {batch}, {prof.steps_per_epoch}")
    bound = prof.max_mse or 2 * architectures.BOOK_VAL_LOSS[variant]
    if not (math.isfinite(bound) and bound > 0) or not prof.mse_tolerance >= 0:
        raise ValueError(f"max_mse must be > 0 and mse_tolerance >= 0, got {bound}, "
                         f"{prof.mse_tolerance}")
    if output_activation == "sigmoid" and scaling != "unit":
        raise ValueError(f"a sigmoid output reaches [0, 1] only: it needs scaling 'unit', "
                         f"got {scaling!r}")
    train_images = (prof.max_images or SOURCE_TRAIN_IMAGES) - prof.eval_images
    if train_images < 1:
        raise ValueError(f"eval_images ({prof.eval_images}) leaves no training images of "
                         f"{prof.max_images or SOURCE_TRAIN_IMAGES}")
    per_epoch = prof.steps_per_epoch or math.ceil(train_images / batch)
    image_shape = [int(d) for d in image_shape]
    source = source or default_source()
    data_source = lambda: ImageExampleGen(  # noqa: E731
        source, eval_images=prof.eval_images, max_images=prof.max_images,
        image_shape=image_shape, cache_dir=cache_dir, sha256=sha256,
        source_format=source_format)
    custom_config = {"variant": variant, "codings_size": codings_size, "noise": noise,
                     "noise_level": noise_level, "output_activation": output_activation,
                     "batch_size": batch, "steps_per_epoch": per_epoch,
                     "learning_rate": prof.learning_rate, "seed": seed}
    # The trainer's checks, now rather than in the Trainer's run.
    TrainConfig.from_custom_config(custom_config)
    return FamilySpec(
        name=NAME,
        data_source=data_source,
        preprocessing_fn="preprocessing.images.preprocessing_fn",
        run_fn="models.autoencoders.trainer.run_fn",
        train_steps=per_epoch * epochs,
        eval_steps=None,
        eval_config=eval_config(max_mse=bound, mse_tolerance=prof.mse_tolerance),
        # The autoencoders ignore labels: any number of classes is fine.
        schema=images.curated_schema(image_shape),
        preprocessing_config={"image_shape": image_shape, "scaling": scaling,
                              "statistics": statistics},
        custom_config=custom_config,
        evaluation_split=contract.TEST,
    )


CLI_OPTIONS = ("source", "source_format", "cache_dir", "sha256", "image_shape", "max_images", "eval_images",
               "epochs", "steps_per_epoch", "batch_size", "learning_rate", "codings_size",
               "noise", "noise_level", "output_activation", "scaling", "statistics", "max_mse",
               "mse_tolerance")


def add_cli_arguments(group: argparse._ArgumentGroup) -> None:
    """Options of `build_spec` for the command lines (local run, Kubeflow)."""
    group.add_argument("--images", dest="source",
                       help="dataset name (fashion_mnist, mnist), directory of IDX files, .npz "
                            "or folder of images (default: $AUTOENCODERS_SOURCE, else "
                            "fashion_mnist, downloaded once into the cache)")
    group.add_argument("--cache-dir", help="download cache (default ~/.cache/keras_tfx_pipelines)")
    group.add_argument("--source-format", choices=["idx", "npz", "folder"],
                       help="what the source holds (default: looked at when the pipeline is "
                            "built; needed for a source not reachable from here, e.g. gs:// "
                            "while compiling for Kubeflow)")
    group.add_argument("--sha256", help="expected SHA-256 of a .npz file or URL")
    group.add_argument("--image-shape", type=parse_image_shape,
                       help="HEIGHT,WIDTH,CHANNELS of the images (default 28,28,1)")
    group.add_argument("--max-images", type=int,
                       help="keep the first N training and test images (0 = all)")
    group.add_argument("--eval-images", type=int,
                       help="the last N training images validate (book: 5,000)")
    group.add_argument("--epochs", type=int, help="default: the profile's (reference: the book's "
                                                  "per variant)")
    group.add_argument("--steps-per-epoch", type=int, help="0 = one pass over the train split")
    group.add_argument("--batch-size", type=int, help="default: the book's (32; variational 128)")
    group.add_argument("--learning-rate", type=float, help="Nadam learning rate (book: 1e-3)")
    group.add_argument("--codings", dest="codings_size", type=int,
                       help="coding size (default: the book's: 30, sparse 300, variational 10)")
    group.add_argument("--noise", choices=architectures.NOISES,
                       help="denoising: input corruption (default dropout)")
    group.add_argument("--noise-level", type=float,
                       help="denoising: dropout rate (0.5) or Gaussian stddev (0.2)")
    group.add_argument("--output-activation", choices=architectures.OUTPUT_ACTIVATIONS,
                       help="decoder output (default linear, the book's)")
    group.add_argument("--scaling", choices=contract.SCALINGS,
                       help="pixel scaling in Transform (default unit: x / 255)")
    group.add_argument("--statistics", choices=contract.STATISTICS,
                       help="where the scaling's statistics come from (default fixed)")
    group.add_argument("--max-mse", type=float,
                       help="the largest test reconstruction MSE a pushed model may have "
                            "(default: the profile's)")
    group.add_argument("--mse-tolerance", type=float,
                       help="how much worse than the last blessed model's MSE a pushed model "
                            "may be")
