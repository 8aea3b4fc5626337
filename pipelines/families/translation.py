"""English→Spanish neural machine translation (MODELS.md §3) as a family spec.

Profiles:
  smoke      the first 12,000 pairs of the file (the shortest sentences):
             10,000 train / 1,000 eval / 1,000 test, a narrow model (embed
             64, 128 units), 3 passes at learning rate 3e-3: for tests and CI.
  reference  the book: every pair, shuffled; first 100,000 train, the rest
             split 70/30 into eval (the book's validation set) and test (the
             blessing split); embed 128, 512 LSTM units, batch 32, Nadam,
             10 epochs.

The Evaluator blesses on the test split with two TFMA metrics: token
accuracy over non-pad target tokens (teacher-forced, the book's metric) and
corpus BLEU of the greedy translations; each has a value threshold and a
change threshold against the last blessed model, so either can refuse a push.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os

import tensorflow_model_analysis as tfma

from components.sentence_pairs_example_gen import SentencePairsExampleGen
from models.common.arguments import canonical_name
from models.translation.architectures import VARIANTS
from preprocessing import translation_contract as contract
from pipelines.spec import FamilySpec, select_profile

NAME = "translation"
DEFAULT_VARIANT = "attention"
DEFAULT_PROFILE = "reference"


@dataclasses.dataclass(frozen=True)
class Profile:
    max_pairs: int  # keep the file's first N valid pairs (0: all)
    train_pairs: int
    test_fraction: float  # of the pairs after the train part
    embed_dim: int
    units: int
    epochs: int
    steps_per_epoch: int  # 0: one pass over the train split
    accuracy_lower_bound: float
    bleu_lower_bound: float
    learning_rate: float = 1e-3  # Nadam (the book's)
    batch_size: int = 32


PROFILES = {
    # Short sentences, where BLEU-4 stays small for a model trained this
    # briefly: the smoke gate only has to tell a trained model from a crippled one.
    "smoke": Profile(max_pairs=12_000, train_pairs=10_000, test_fraction=0.5, embed_dim=64,
                     units=128, epochs=3, steps_per_epoch=0, accuracy_lower_bound=0.4,
                     bleu_lower_bound=0.2, learning_rate=3e-3),
    "reference": Profile(max_pairs=0, train_pairs=contract.TRAIN_PAIRS, test_fraction=0.3,
                         embed_dim=128, units=512, epochs=10, steps_per_epoch=0,
                         accuracy_lower_bound=0.6, bleu_lower_bound=10.0),
}


def _threshold(lower_bound: float, tolerance: float) -> tfma.MetricThreshold:
    return tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": lower_bound}),
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER, absolute={"value": -tolerance}))


def eval_config(*, accuracy_lower_bound: float, bleu_lower_bound: float,
                accuracy_change_tolerance: float = 0.01,
                bleu_change_tolerance: float = 1.0) -> tfma.EvalConfig:
    """Token accuracy and corpus BLEU (0–100) on the blessing split; each must
    reach its bound and lose at most its tolerance against the last blessed model."""
    module = "models.translation.evaluation"
    return tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(signature_name="serving_default")],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[tfma.MetricsSpec(metrics=[
            tfma.MetricConfig(class_name="ExampleCount"),
            tfma.MetricConfig(class_name="TokenAccuracy", module=module,
                              threshold=_threshold(accuracy_lower_bound, accuracy_change_tolerance)),
            tfma.MetricConfig(class_name="CorpusBleu", module=module,
                              threshold=_threshold(bleu_lower_bound, bleu_change_tolerance)),
        ])],
    )


def default_source() -> str:
    """TRANSLATION_SOURCE if set (a pairs file, a .zip or a URL), else the spa-eng URL."""
    return os.environ.get("TRANSLATION_SOURCE", contract.SPA_ENG_URL)


def build_spec(variant: str = DEFAULT_VARIANT, profile: str = DEFAULT_PROFILE, *,
               source: str | None = None, sha256: str = "", cache_dir: str = "",
               reverse: bool = False, vocab_size: int = contract.VOCAB_SIZE,
               max_length: int = contract.MAX_LENGTH, epochs: int | None = None,
               steps_per_epoch: int | None = None, max_pairs: int | None = None,
               train_pairs: int | None = None, test_fraction: float | None = None,
               learning_rate: float | None = None, positions: str = "learned",
               fixed_padding: bool = False, min_bleu: float | None = None,
               seed: int = 42) -> FamilySpec:
    """The translation family for one variant and profile.

    source: a pairs file (`english<TAB>spanish[<TAB>...]`), a .zip holding
    one, a path pattern with {SPAN}, or a URL (downloaded once into
    `cache_dir`, checked against `sha256`). `reverse` translates the second
    column into the first (Spanish→English, the eager example's direction).
    """
    canonical_name("translation", variant, VARIANTS)
    prof = select_profile(PROFILES, profile, epochs=epochs, steps_per_epoch=steps_per_epoch,
                          max_pairs=max_pairs, train_pairs=train_pairs,
                          test_fraction=test_fraction, bleu_lower_bound=min_bleu,
                          learning_rate=learning_rate)
    if prof.epochs < 1 or prof.steps_per_epoch < 0:
        raise ValueError(f"need epochs >= 1 and steps_per_epoch >= 0, got {prof.epochs}, "
                         f"{prof.steps_per_epoch}")
    if not 0.0 < prof.test_fraction < 1.0:
        raise ValueError(f"test_fraction must be > 0 and < 1 (the test split is the blessing "
                         f"split), got {prof.test_fraction}")
    per_epoch = prof.steps_per_epoch or math.ceil(prof.train_pairs / prof.batch_size)
    source = source or default_source()
    columns = (1, 0) if reverse else (0, 1)
    data_source = lambda: SentencePairsExampleGen(  # noqa: E731
        source, train_pairs=prof.train_pairs, test_fraction=prof.test_fraction,
        source_column=columns[0], target_column=columns[1], max_pairs=prof.max_pairs,
        seed=seed, cache_dir=cache_dir, sha256=sha256)
    return FamilySpec(
        name=NAME,
        data_source=data_source,
        preprocessing_fn="preprocessing.translation.preprocessing_fn",
        run_fn="models.translation.trainer.run_fn",
        train_steps=per_epoch * prof.epochs,
        eval_steps=None,
        eval_config=eval_config(accuracy_lower_bound=prof.accuracy_lower_bound,
                                bleu_lower_bound=prof.bleu_lower_bound),
        preprocessing_config={"source_vocab_size": vocab_size, "target_vocab_size": vocab_size,
                              "max_length": max_length},
        custom_config={"variant": variant, "embed_dim": prof.embed_dim, "units": prof.units,
                       "positions": positions, "max_length": max_length,
                       "batch_size": prof.batch_size, "steps_per_epoch": per_epoch,
                       "fixed_padding": fixed_padding, "learning_rate": prof.learning_rate,
                       "seed": seed},
        evaluation_split=contract.TEST,
    )


CLI_OPTIONS = ("source", "sha256", "cache_dir", "reverse", "vocab_size", "max_length", "epochs",
               "steps_per_epoch", "max_pairs", "train_pairs", "test_fraction", "learning_rate",
               "positions", "fixed_padding", "min_bleu")


def add_cli_arguments(group: argparse._ArgumentGroup) -> None:
    """Options of `build_spec` for the command lines (local run, Kubeflow)."""
    group.add_argument("--pairs", dest="source",
                       help="pairs file, .zip or URL (default: $TRANSLATION_SOURCE, else the "
                            "spa-eng URL, downloaded once into the cache)")
    group.add_argument("--sha256", help="expected SHA-256 of a downloaded file")
    group.add_argument("--cache-dir", help="download cache (default ~/.cache/keras_tfx_pipelines)")
    group.add_argument("--reverse", action="store_true", default=None,
                       help="translate the second column into the first (Spanish→English)")
    group.add_argument("--vocab-size", type=int, help="words per language incl. special ids (default 1000)")
    group.add_argument("--max-length", type=int, help="tokens kept per sentence (default 50)")
    group.add_argument("--epochs", type=int, help="default: the profile's (book: 10)")
    group.add_argument("--steps-per-epoch", type=int, help="0 = one pass over the train split")
    group.add_argument("--max-pairs", type=int, help="use only the file's first N pairs (0 = all)")
    group.add_argument("--train-pairs", type=int, help="pairs in the train split (book: 100,000)")
    group.add_argument("--test-fraction", type=float,
                       help="share of the non-train pairs held out as the blessing split")
    group.add_argument("--learning-rate", type=float, help="Nadam learning rate (book: 1e-3)")
    group.add_argument("--positions", choices=["learned", "sinusoidal"],
                       help="transformer position encoding (default learned)")
    group.add_argument("--fixed-padding", action="store_true", default=None,
                       help="pad every batch to max-length instead of bucketing (for comparison)")
    group.add_argument("--min-bleu", type=float, help="BLEU a model needs to be pushed (profile default)")
