"""Text-corpus ExampleGen (a UTF-8 text file -> TFX ``Examples`` chunks), a
custom executor on TFX's ``FileBasedExampleGen``."""

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
