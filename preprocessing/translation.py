"""TensorFlow Transform for the translation family (MODELS.md §3): the
book's per-language TextVectorization, computed once over the train split
and embedded in the model, so serving tokenizes exactly as training did.

standardize: lower-case (UTF-8 aware), drop the contract's DROPPED_CHARACTERS
    ("¡", "¿": the importer drops them too, but serving receives raw user
    text), strip ASCII punctuation (Keras' default set). Accented letters stay;
split: on whitespace;
vocabulary: one per language over the train split. Source: the
    `source_vocab_size − 2` most frequent words get ids 2..; target: the
    `target_vocab_size − 4` most frequent get ids 4.., after the contract's
    PAD, OOV, SOS and EOS ids. Unknown words are OOV. The marker words
    ("startofseq", "endofseq") never enter the target vocabulary: the markers
    are ids, not words, so a sentence that happens to contain one of these
    words reads it as OOV instead of as a second copy of a marker;
output (variable length, stored sparse; the trainer pads per batch):
    source ids, truncated to `max_length` (an empty sentence: one OOV token,
    never a row of pure padding);
    teacher forcing on the target, truncated to `max_length − 1` words:
    decoder input = SOS + words, decoder target = words + EOS (an empty
    sentence: [SOS] → [EOS]).
"""

from __future__ import annotations

import re
from typing import Any

import tensorflow as tf
import tensorflow_transform as tft

from preprocessing import translation_contract as contract

DEFAULTS = {"source_vocab_size": contract.VOCAB_SIZE,
            "target_vocab_size": contract.VOCAB_SIZE,
            "max_length": contract.MAX_LENGTH}
# The smallest settings that still leave room for one word (and, for
# max_length, a word plus the marker the target side adds).
_MINIMUMS = {"source_vocab_size": len(contract.SOURCE_SPECIAL_TOKENS) + 1,
             "target_vocab_size": len(contract.TARGET_SPECIAL_TOKENS) + 1,
             "max_length": 2}

# Keras' TextVectorization strips exactly this set (as sentiment does).
_PUNCTUATION = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'
_DROPPED = "[" + "".join(re.escape(c) for c in contract.DROPPED_CHARACTERS) + "]"
_MARKER_WORDS = (contract.SOS_TOKEN, contract.EOS_TOKEN)


def options(custom_config: dict[str, Any] | None) -> dict[str, int]:
    """Validated preprocessing options (the trainer reads the sizes back from
    the transform output, not from here). Keys not listed are ignored: the
    pipeline adds its own (the source digest)."""
    config = dict(DEFAULTS)
    config.update({k: v for k, v in (custom_config or {}).items() if k in DEFAULTS})
    validated = {}
    for key, value in config.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError(f"{key} must be an integer, got {value!r}")
        try:
            number = int(value)
        except (ValueError, OverflowError):
            raise ValueError(f"{key} must be an integer, got {value!r}") from None
        if number != float(value):
            raise ValueError(f"{key} must be an integer, got {value!r}")
        if number < _MINIMUMS[key]:
            raise ValueError(f"{key} must be >= {_MINIMUMS[key]}, got {value!r}"
                             + (" (special ids + one word)" if key != "max_length"
                                else " (a word and a marker)"))
        validated[key] = number
    return validated


def standardize(text: tf.Tensor) -> tf.Tensor:
    """Strings (any shape) → the same strings lower-cased, without ¡¿ or
    ASCII punctuation."""
    text = tf.strings.lower(text, encoding="utf-8")
    text = tf.strings.regex_replace(text, _DROPPED, "")
    return tf.strings.regex_replace(text, _PUNCTUATION, "")


def tokenize(text: tf.Tensor) -> tf.RaggedTensor:
    """Strings [batch] → their words, ragged [batch, (words)]. The serving
    graph joins these with single spaces to make the BLEU reference."""
    return tf.strings.split(standardize(tf.reshape(text, [-1])))


def _words_to_ids(words: tf.RaggedTensor, vocabulary: tf.Tensor, first_word_id: int) -> tf.RaggedTensor:
    """Vocabulary positions shifted past the special ids; unknown words → OOV."""
    ids = tft.apply_vocabulary(words, vocabulary, default_value=-1)
    return tf.ragged.map_flat_values(
        lambda v: tf.where(v < 0, tf.constant(contract.OOV_ID, tf.int64), v + first_word_id), ids)


def source_ids(text: tf.Tensor, vocab_size: int, max_length: int) -> tf.RaggedTensor:
    """Source strings [batch] → ragged ids, at most `max_length` per row, at least one."""
    words = tokenize(text)
    first = len(contract.SOURCE_SPECIAL_TOKENS)
    vocabulary = tft.vocabulary(words, top_k=vocab_size - first,
                                vocab_filename=contract.SOURCE_VOCABULARY)
    ids = _words_to_ids(words, vocabulary, first)[:, :max_length]
    # A row of pure padding is rejected by the cuDNN kernels, and "unknown" is what it is.
    empty = tf.cast(tf.equal(ids.row_lengths(), 0), tf.int64)
    filler = tf.RaggedTensor.from_row_lengths(
        tf.fill([tf.reduce_sum(empty)], tf.constant(contract.OOV_ID, tf.int64)), empty)
    return tf.concat([ids, filler], axis=1)


def target_ids(text: tf.Tensor, vocab_size: int,
               max_length: int) -> tuple[tf.RaggedTensor, tf.RaggedTensor]:
    """Target strings [batch] → (decoder input = SOS + ids, decoder target =
    ids + EOS), each at most `max_length` per row."""
    words = tokenize(text)
    first = len(contract.TARGET_SPECIAL_TOKENS)
    is_word = tf.logical_and(tf.not_equal(words, _MARKER_WORDS[0]),
                             tf.not_equal(words, _MARKER_WORDS[1]))
    vocabulary = tft.vocabulary(tf.ragged.boolean_mask(words, is_word),
                                top_k=vocab_size - first,
                                vocab_filename=contract.TARGET_VOCABULARY)
    ids = _words_to_ids(words, vocabulary, first)[:, :max_length - 1]
    one_per_row = tf.stack([tf.shape(text, out_type=tf.int64)[0], 1])
    sos, eos = (tf.RaggedTensor.from_tensor(tf.fill(one_per_row, tf.constant(marker, tf.int64)))
                for marker in (contract.SOS_ID, contract.EOS_ID))
    return tf.concat([sos, ids], axis=1), tf.concat([ids, eos], axis=1)


def preprocessing_fn(inputs: dict[str, tf.Tensor],
                     custom_config: dict[str, Any] | None = None) -> dict[str, tf.Tensor]:
    config = options(custom_config)
    # SchemaGen may infer the text features as shape [1]: one sentence per row either way.
    source = tf.reshape(inputs[contract.SOURCE], [-1])
    target = tf.reshape(inputs[contract.TARGET], [-1])
    max_length = config["max_length"]
    decoder_input, decoder_target = target_ids(target, config["target_vocab_size"], max_length)
    return {
        contract.SOURCE_IDS: source_ids(source, config["source_vocab_size"], max_length).to_sparse(),
        contract.DECODER_INPUT_IDS: decoder_input.to_sparse(),
        contract.DECODER_TARGET_IDS: decoder_target.to_sparse(),
    }


# --- Reading the transform output (the trainer and the serving graph) -------

def source_vocabulary_size(tft_output: tft.TFTransformOutput) -> int:
    """Source ids in use: special ids + the words of the vocabulary file (the
    encoder embedding's input size; may be below source_vocab_size on a
    small train split)."""
    words = tft_output.vocabulary_size_by_name(contract.SOURCE_VOCABULARY)
    return len(contract.SOURCE_SPECIAL_TOKENS) + words


def target_vocabulary_size(tft_output: tft.TFTransformOutput) -> int:
    """Target ids in use: special ids + the words of the vocabulary file (the
    decoder embedding's input and the output layer's size)."""
    words = tft_output.vocabulary_size_by_name(contract.TARGET_VOCABULARY)
    return len(contract.TARGET_SPECIAL_TOKENS) + words


class _IdToToken(tf.lookup.StaticHashTable):
    """Id → word: the contract's special tokens for the reserved ids, the
    vocabulary file's lines (in order) after them, OOV_TOKEN past its end.

    The file is read by a TextFileInitializer, so a tf.Module holding the
    table exports the file as a SavedModel asset: the served model carries
    the one vocabulary Transform wrote, never a copy.
    """

    def __init__(self, vocabulary_file: str, special_tokens: tuple[str, ...]):
        self._special_tokens = tuple(special_tokens)
        initializer = tf.lookup.TextFileInitializer(
            vocabulary_file, tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER,
            tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
            value_index_offset=len(self._special_tokens))  # line 0 is the first word's id
        super().__init__(initializer, default_value=contract.OOV_TOKEN)

    def lookup(self, keys, name=None):
        if isinstance(keys, tf.RaggedTensor):
            return tf.ragged.map_flat_values(lambda k: self.lookup(k, name), keys)
        if isinstance(keys, tf.SparseTensor):
            return tf.SparseTensor(keys.indices, self.lookup(keys.values, name), keys.dense_shape)
        keys = tf.convert_to_tensor(keys, self.key_dtype)
        words = super().lookup(keys, name)
        count = len(self._special_tokens)
        reserved = tf.logical_and(keys >= 0, keys < count)
        specials = tf.gather(tf.constant(self._special_tokens), tf.clip_by_value(keys, 0, count - 1))
        return tf.where(reserved, specials, words)


def _id_to_token_table(tft_output: tft.TFTransformOutput, name: str,
                       special_tokens: tuple[str, ...]) -> tf.lookup.StaticHashTable:
    path = tft_output.vocabulary_file_by_name(name)
    if path is None:
        raise ValueError(f"the transform output has no vocabulary {name!r}: was it "
                         f"written by preprocessing.translation.preprocessing_fn?")
    return _IdToToken(path, special_tokens)


def target_id_to_token_table(tft_output: tft.TFTransformOutput) -> tf.lookup.StaticHashTable:
    """int64 target id → word (0..3: the contract's PAD, OOV, SOS, EOS tokens)."""
    return _id_to_token_table(tft_output, contract.TARGET_VOCABULARY, contract.TARGET_SPECIAL_TOKENS)


def source_id_to_token_table(tft_output: tft.TFTransformOutput) -> tf.lookup.StaticHashTable:
    """int64 source id → word (0, 1: the contract's PAD and OOV tokens); for
    labelling the source side of attention plots."""
    return _id_to_token_table(tft_output, contract.SOURCE_VOCABULARY, contract.SOURCE_SPECIAL_TOKENS)
