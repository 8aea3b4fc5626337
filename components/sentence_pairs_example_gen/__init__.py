"""Sentence-pairs ExampleGen (translation pairs -> TFX ``Examples``), a custom
executor on TFX's ``FileBasedExampleGen``."""

from components.sentence_pairs_example_gen.component import SentencePairsExampleGen
from components.sentence_pairs_example_gen.pairs import BAD_KINDS
from components.sentence_pairs_example_gen.pairs import SentencePairsDataError

__all__ = [
    "BAD_KINDS",
    "SentencePairsDataError",
    "SentencePairsExampleGen",
]
