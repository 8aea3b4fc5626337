"""TensorFlow Transform for the char-RNN family: a character vocabulary
computed once over the train split, embedded in the serving graph.

Characters are lower-cased as in the book (`lowercase: False` keeps case).
The vocabulary is built over Unicode code points written as decimal strings
("32" for a space, "10" for a newline): a text vocabulary file cannot hold a
newline token, and code points map back to characters without ambiguity.
Ids 0..n−1 follow frequency (most frequent first); a character never seen in
training maps to −1, which the trainer skips and the serving graph rejects.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
import tensorflow_transform as tft

TEXT = "text"
CHUNK_INDEX = "chunk_index"
START = "start"

CHAR_IDS = "char_ids"
VOCABULARY_NAME = "chars"
UNKNOWN_ID = -1


def lowercase_option(custom_config: dict[str, Any] | None) -> bool:
    return bool((custom_config or {}).get("lowercase", True))


def standardize(text: tf.Tensor, lowercase: bool) -> tf.Tensor:
    return tf.strings.lower(text, encoding="utf-8") if lowercase else text


def codepoint_tokens(text: tf.Tensor) -> tf.RaggedTensor:
    """Strings [batch] → ragged decimal code-point strings [batch, chars]."""
    return tf.ragged.map_flat_values(tf.strings.as_string, tf.strings.unicode_decode(text, "UTF-8"))


def vocabulary_characters(vocabulary: list[bytes]) -> list[str]:
    """The TFT vocabulary file's entries (code points) as characters, by id."""
    return [chr(int(token)) for token in vocabulary]


def preprocessing_fn(inputs: dict[str, tf.Tensor],
                     custom_config: dict[str, Any] | None = None) -> dict[str, tf.Tensor]:
    text = standardize(tf.reshape(inputs[TEXT], [-1]), lowercase_option(custom_config))
    ids = tft.compute_and_apply_vocabulary(
        codepoint_tokens(text), default_value=UNKNOWN_ID, vocab_filename=VOCABULARY_NAME)
    outputs = {CHAR_IDS: ids.to_sparse()}
    for passthrough in (CHUNK_INDEX, START):
        if passthrough in inputs:
            outputs[passthrough] = tf.reshape(inputs[passthrough], [-1])
    return outputs
