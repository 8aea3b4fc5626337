"""The translation family's contract (MODELS.md §3), defined once.

The importer, Transform, the trainer, the serving graph, the TFMA metrics
and the tests all import these names; none of them spells a feature key,
a special token or an id of its own. No TensorFlow import here: the
component and the pipeline definition read it cheaply.
"""

from __future__ import annotations

# --- Raw examples (what SentencePairsExampleGen writes) -----------------------
SOURCE = "source"  # bytes, UTF-8: the sentence to translate (English by default)
TARGET = "target"  # bytes, UTF-8: its translation (Spanish by default)

# --- Splits -----------------------------------------------------------------
TRAIN, EVAL, TEST = "train", "eval", "test"

# --- Transformed features (what Transform writes, the trainer reads) --------
SOURCE_IDS = "source_ids"  # int64, variable length: source tokens
DECODER_INPUT_IDS = "decoder_input_ids"  # int64: SOS + target tokens
DECODER_TARGET_IDS = "decoder_target_ids"  # int64: target tokens + EOS

# --- Vocabularies (assets of the transform graph) ---------------------------
SOURCE_VOCABULARY = "source_words"
TARGET_VOCABULARY = "target_words"

# Ids, as in Keras' TextVectorization: 0 pads, 1 is out of vocabulary. The
# target side reserves the book's sequence markers next, so every model and
# decoder knows them without looking them up; words follow in frequency order.
PAD_ID = 0
OOV_ID = 1
SOS_ID = 2
EOS_ID = 3
PAD_TOKEN = ""
OOV_TOKEN = "[UNK]"
SOS_TOKEN = "startofseq"
EOS_TOKEN = "endofseq"
SOURCE_SPECIAL_TOKENS = (PAD_TOKEN, OOV_TOKEN)  # source words start at id 2
TARGET_SPECIAL_TOKENS = (PAD_TOKEN, OOV_TOKEN, SOS_TOKEN, EOS_TOKEN)  # words at id 4

# --- Defaults (the book's) --------------------------------------------------
VOCAB_SIZE = 1000  # per language, special ids included
MAX_LENGTH = 50  # tokens per sentence; the target's markers count
TRAIN_PAIRS = 100_000  # after the deterministic shuffle: first N train, rest eval

# --- Serving ----------------------------------------------------------------
SIGNATURE_TRANSLATE = "translate"
SIGNATURE_ATTENTION = "attention"
MAX_BEAM_WIDTH = 16  # beam search holds batch × beam hypotheses in memory
MAX_DECODE_LENGTH = 200  # one request cannot hold a server for minutes

# --- Sources ----------------------------------------------------------------
SPA_ENG_URL = "https://storage.googleapis.com/download.tensorflow.org/data/spa-eng.zip"
SPA_ENG_MEMBER = "spa-eng/spa.txt"  # the pairs file inside the archive
# Dropped from both sides before tokenization, as the book does.
DROPPED_CHARACTERS = ("¡", "¿")
