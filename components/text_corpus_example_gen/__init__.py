"""Text-corpus ExampleGen component (a UTF-8 text file -> TFX ``Examples`` chunks)."""

from components.text_corpus_example_gen.component import TextCorpusExampleGen
from components.text_corpus_example_gen.corpus import CorpusDataError
from components.text_corpus_example_gen.corpus import SHAKESPEARE_SHA256
from components.text_corpus_example_gen.corpus import SHAKESPEARE_URL

__all__ = [
    "CorpusDataError",
    "SHAKESPEARE_SHA256",
    "SHAKESPEARE_URL",
    "TextCorpusExampleGen",
]
