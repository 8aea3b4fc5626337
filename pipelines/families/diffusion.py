"""Denoising diffusion (DDPM) on Fashion-MNIST (MODELS.md §7) as a family spec.

One variant, ``ddpm``: the book's U-Net with a time encoding predicts the
noise added at a random step t of the cosine schedule (T = 4,000,
s = 0.008, β ≤ 0.999); Huber loss, Nadam. Transform scales the pixels into
[−1, 1]. The exported model samples inside its graph, with the full
ancestral DDPM loop or the deterministic DDIM sampler over any number of
steps (``models.diffusion``).

Profiles:
  smoke      the first 3,000 training images (2,500 train / 500 eval) and
             the first 3,000 test images, 1 epoch (79 steps); scored on 300
             DDIM samples of 10 steps: for tests and CI. It checks the
             plumbing, not quality: 79 steps leave the U-Net's samples noise
             (Fréchet distance 288; an untrained U-Net's samples score 141,
             measured: at this scale the metric cannot tell them apart), so
             its bound (400) is loose; the gan family's smoke test shows the
             same Evaluator refusing an untrained generator.
  cpu        the full data, 4 epochs (about 20 minutes here); scored on
             1,000 DDIM samples of 50 steps: what the benchmark ran on a
             2-core CPU (``bench/diffusion_reference.md``). Its bounds are
             about twice what that 4-epoch model scores.
  reference  the book: 55,000 train / 5,000 eval / 10,000 test, 100 epochs at
             batch 32; scored on 2,000 DDIM samples of 100 steps.

The Evaluator is ``SampleQualityEvaluator`` (see ``generative``), sampling
through the model's own ``generate`` signature with the profile's sampler.
"""

from __future__ import annotations

import argparse
import dataclasses
import os

from models.common.arguments import canonical_name
from models.diffusion import architectures
from models.diffusion.trainer import TrainConfig
from pipelines.families import generative
from pipelines.spec import FamilySpec, select_profile
from preprocessing import image_contract as contract

NAME = "diffusion"
DEFAULT_VARIANT = architectures.DEFAULT_VARIANT
DEFAULT_PROFILE = "reference"
DEFAULT_DATASET = "fashion_mnist"
SAMPLERS = ("ddim", "ddpm")


@dataclasses.dataclass(frozen=True)
class Profile:
    max_images: int  # keep the first N training (and test) images; 0: all
    eval_images: int  # the last N of the kept training images
    epochs: int
    num_samples: int  # generated images scored per model
    sampler: str  # how the Evaluator samples
    sampler_steps: int  # DDIM steps (the DDPM loop always takes T)
    max_frechet_distance: float
    frechet_tolerance: float
    classifier_epochs: int


PROFILES: dict[str, Profile] = {
    "smoke": Profile(max_images=3_000, eval_images=500, epochs=1, num_samples=300,
                     sampler="ddim", sampler_steps=10, max_frechet_distance=400.0,
                     frechet_tolerance=100.0, classifier_epochs=3),
    "cpu": Profile(max_images=0, eval_images=contract.EVAL_IMAGES, epochs=4, num_samples=1_000,
                   sampler="ddim", sampler_steps=50, max_frechet_distance=100.0,
                   frechet_tolerance=10.0, classifier_epochs=5),
    "reference": Profile(max_images=0, eval_images=contract.EVAL_IMAGES,
                         epochs=architectures.BOOK_EPOCHS, num_samples=2_000, sampler="ddim",
                         sampler_steps=100, max_frechet_distance=30.0, frechet_tolerance=5.0,
                         classifier_epochs=10),
}


def default_source(dataset: str = DEFAULT_DATASET) -> str:
    """DIFFUSION_SOURCE if set, else the dataset's name (downloaded once)."""
    return os.environ.get("DIFFUSION_SOURCE") or dataset


def build_spec(variant: str = DEFAULT_VARIANT, profile: str = DEFAULT_PROFILE, *,
               source: str | None = None, dataset: str = DEFAULT_DATASET,
               source_format: str = "", cache_dir: str = "", sha256: str = "",
               image_shape: tuple[int, int, int] | list[int] = contract.DEFAULT_SHAPE,
               max_images: int | None = None, eval_images: int | None = None,
               class_names: tuple[str, ...] | None = None, epochs: int | None = None,
               steps_per_epoch: int = 0, batch_size: int = architectures.BOOK_BATCH_SIZE,
               learning_rate: float = 1e-3, timesteps: int = architectures.BOOK_T,
               num_samples: int | None = None, sampler: str | None = None,
               sampler_steps: int | None = None, max_frechet_distance: float | None = None,
               frechet_tolerance: float | None = None, min_class_coverage: float = 0.0,
               max_class_share: float = 1.0, feature_classifier: str = "",
               classifier_epochs: int | None = None, seed: int = 42) -> FamilySpec:
    """The diffusion family for one profile (see the module docstring)."""
    variant = canonical_name(NAME, variant, architectures.VARIANTS)
    prof = select_profile(PROFILES, profile, max_images=max_images, eval_images=eval_images,
                          epochs=epochs, num_samples=num_samples, sampler=sampler,
                          sampler_steps=sampler_steps, max_frechet_distance=max_frechet_distance,
                          frechet_tolerance=frechet_tolerance,
                          classifier_epochs=classifier_epochs)
    if prof.sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}; got {prof.sampler!r}")
    steps = timesteps if prof.sampler == "ddpm" else prof.sampler_steps
    if not 1 <= steps <= timesteps:
        raise ValueError(f"sampler_steps must be between 1 and timesteps ({timesteps}); "
                         f"got {steps}")
    if prof.epochs < 1 or batch_size < 1 or steps_per_epoch < 0:
        raise ValueError(f"need epochs >= 1, batch_size >= 1 and steps_per_epoch >= 0, got "
                         f"{prof.epochs}, {batch_size}, {steps_per_epoch}")
    per_epoch = steps_per_epoch or generative.steps_per_epoch(prof.max_images, prof.eval_images,
                                                              batch_size)
    names = generative.class_names(dataset, class_names)
    image_shape = [int(d) for d in image_shape]
    custom_config = {"variant": variant, "timesteps": timesteps, "batch_size": batch_size,
                     "steps_per_epoch": per_epoch, "learning_rate": learning_rate, "seed": seed}
    TrainConfig.from_custom_config(custom_config)  # the trainer's checks, now
    gate = generative.QualityGate(
        num_samples=prof.num_samples, max_real=10_000,
        max_frechet_distance=prof.max_frechet_distance, frechet_tolerance=prof.frechet_tolerance,
        min_class_coverage=min_class_coverage, max_class_share=max_class_share,
        generate_args={"steps": steps, "sampler": prof.sampler}, batch_size=100, seed=seed)
    data = generative.Data(source or default_source(dataset), prof.max_images,
                           prof.eval_images, image_shape, names, cache_dir, sha256, source_format)
    return generative.family_spec(
        NAME, data=data, run_fn="models.diffusion.trainer.run_fn", scaling="symmetric",
        custom_config=custom_config, train_steps=per_epoch * prof.epochs, gate=gate,
        classifier_epochs=prof.classifier_epochs, feature_classifier_dir=feature_classifier,
        seed=seed)


CLI_OPTIONS = (*generative.DATA_OPTIONS, *generative.TRAINING_OPTIONS, "timesteps", "sampler",
               "sampler_steps", *generative.QUALITY_OPTIONS)


def add_cli_arguments(group: argparse._ArgumentGroup) -> None:
    """Options of `build_spec` for the command lines (local run, Kubeflow)."""
    generative.add_data_arguments(group, "DIFFUSION_SOURCE")
    generative.add_training_arguments(group, "Nadam learning rate (1e-3)")
    group.add_argument("--timesteps", type=int, help="diffusion steps T (book: 4,000)")
    group.add_argument("--sampler", choices=SAMPLERS,
                       help="how the Evaluator samples: ddim (default) or the full ddpm loop")
    group.add_argument("--sampler-steps", type=int,
                       help="DDIM steps of the Evaluator's samples (default: the profile's)")
    generative.add_quality_arguments(group)
