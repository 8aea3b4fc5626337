"""Tests for corpus.py: reading, splits by position, chunks, TFRecords."""

import glob
import hashlib
import os
import time

import pytest
import tensorflow as tf

from components.text_corpus_example_gen import corpus as cl
from components.text_corpus_example_gen import testing
from components.text_corpus_example_gen.corpus import CorpusDataError
from components.text_corpus_example_gen.testing import make_text

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SHARED_CORPUS = os.path.normpath(os.path.join(
    REPO, "..", "shared", "datasets", "shakespeare", "input.txt"))

_SPEC = {
    "text": tf.io.FixedLenFeature([], tf.string),
    "chunk_index": tf.io.FixedLenFeature([], tf.int64),
    "start": tf.io.FixedLenFeature([], tf.int64),
}

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def _write(tmp_path, name, content):
  return testing.write_corpus(tmp_path / name, content)


def _assert_error(exc_info, source, *fragments):
  msg = str(exc_info.value)
  assert str(source) in msg, msg
  for fragment in fragments:
    assert fragment in msg, msg


def _parse_split(split_dir):
  files = sorted(glob.glob(os.path.join(split_dir, "*")))
  out = []
  for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
    ex = tf.io.parse_single_example(record, _SPEC)
    out.append((int(ex["chunk_index"]), int(ex["start"]),
                ex["text"].numpy().decode("utf-8")))
  return files, out


# ---------------------------------------------------------------------------
# read_corpus
# ---------------------------------------------------------------------------


def test_read_corpus_keeps_text_exactly(tmp_path):
  text = make_text(3000) + "windows\r\nline endings\r\n  trailing  \n"
  path = _write(tmp_path, "corpus.txt", text)
  assert cl.read_corpus(path) == text
  # A leading byte-order mark is dropped, nothing else.
  bom = _write(tmp_path, "bom.txt", b"\xef\xbb\xbf" + text.encode("utf-8"))
  assert cl.read_corpus(bom) == text


@pytest.mark.parametrize("content, fragments", [
    (None, ["not found"]),
    (b"", ["empty file", "0 bytes"]),
    (b" \n\t\r\n  \n", ["only whitespace", "8 characters"]),
    (b"\xef\xbb\xbf\n\n", ["only whitespace"]),
    (b"ab\ncd\x00ef\x00", ["binary file", "NUL byte at byte offset 5",
                           "line 2"]),
    (b"First line\nsecond caf\xc3\xa9 \xe9t\xe9\nthird", [
        "not valid UTF-8", "b'\\xe9'", "byte offset 24", "line 2"]),
    # Offsets count the byte-order mark (bytes of the file, not of the text).
    (b"\xef\xbb\xbfok\n\nbad \xff here", [
        "not valid UTF-8", "b'\\xff'", "byte offset 11", "line 3"]),
    # A truncated multi-byte sequence at the very end.
    ("x" * 50 + "\n映画".encode("utf-8")[:-1].decode("latin-1"), [
        "not valid UTF-8", "byte offset 54", "line 2"]),
])
def test_read_corpus_errors(tmp_path, content, fragments):
  if content is None:
    path = str(tmp_path / "missing.txt")
  elif isinstance(content, str):
    path = _write(tmp_path, "bad.txt", content.encode("latin-1"))
  else:
    path = _write(tmp_path, "bad.txt", content)
  with pytest.raises(CorpusDataError) as e:
    cl.read_corpus(path)
  _assert_error(e, path, *fragments)


def test_read_corpus_directory(tmp_path):
  with pytest.raises(CorpusDataError) as e:
    cl.read_corpus(str(tmp_path))
  _assert_error(e, tmp_path, "is a directory")


def test_corpus_data_error_is_a_value_error():
  assert issubclass(CorpusDataError, ValueError)


# ---------------------------------------------------------------------------
# split_by_position
# ---------------------------------------------------------------------------


def test_split_by_chars_sizes_and_offsets():
  text = make_text(5000)
  splits = cl.split_by_position(text, 4000, 600)
  assert list(splits) == ["train", "eval", "test"]
  assert splits["train"] == (0, text[:4000])
  assert splits["eval"] == (4000, text[4000:4600])
  assert splits["test"] == (4600, text[4600:])
  assert [len(t) for _, t in splits.values()] == [4000, 600, 400]
  assert "".join(t for _, t in splits.values()) == text


def test_split_needs_one_test_character():
  text = make_text(1001)
  splits = cl.split_by_position(text, 900, 100)
  assert splits["test"] == (1000, text[1000:]) and len(splits["test"][1]) == 1
  with pytest.raises(CorpusDataError) as e:
    cl.split_by_position(text[:1000], 900, 100, source="/data/short.txt")
  _assert_error(e, "/data/short.txt", "corpus too short", "1000 characters",
                "train_chars=900", "eval_chars=100", "needs 1001")
  # The book's defaults on a small corpus.
  with pytest.raises(CorpusDataError) as e:
    cl.split_by_position(text)
  _assert_error(e, "<in-memory corpus>", "1001 characters", "needs 1060001")


def test_split_by_fractions():
  text = make_text(1000)
  splits = cl.split_by_position(text, train_fraction=0.8, eval_fraction=0.15)
  assert {k: (s, len(t)) for k, (s, t) in splits.items()} == {
      "train": (0, 800), "eval": (800, 150), "test": (950, 50)}
  assert "".join(t for _, t in splits.values()) == text
  # Rounded, not floored: 0.29 * 100 is 28.999999999999996.
  splits = cl.split_by_position(text[:100], train_fraction=0.29,
                                eval_fraction=0.7)
  assert [len(t) for _, t in splits.values()] == [29, 70, 1]
  # The character counts are ignored in fractions mode.
  splits = cl.split_by_position(text, 10**9, 10**9, train_fraction=0.5,
                                eval_fraction=0.25)
  assert [len(t) for _, t in splits.values()] == [500, 250, 250]


@pytest.mark.parametrize("n, train_fraction, eval_fraction, empty", [
    (10, 0.9, 0.04, "eval"),
    (10, 0.5, 0.46, "test"),
    (3, 0.1, 0.5, "train"),
])
def test_split_by_fractions_empty_split(n, train_fraction, eval_fraction,
                                        empty):
  with pytest.raises(CorpusDataError) as e:
    cl.split_by_position(make_text(n), train_fraction=train_fraction,
                         eval_fraction=eval_fraction, source="tiny.txt")
  _assert_error(e, "tiny.txt", f"split {empty!r} would be empty",
                f"{n} characters", f"train_fraction={train_fraction}")


def test_max_chars_truncates_first():
  text = make_text(5000)
  splits = cl.split_by_position(text, 2000, 500, max_chars=3000)
  assert splits["test"] == (2500, text[2500:3000])
  splits = cl.split_by_position(text, max_chars=1000, train_fraction=0.8,
                                eval_fraction=0.1)
  assert [(s, len(t)) for s, t in splits.values()] == [(0, 800), (800, 100),
                                                        (900, 100)]
  assert "".join(t for _, t in splits.values()) == text[:1000]
  # max_chars >= the corpus size changes nothing.
  assert (cl.split_by_position(text, 4000, 500, max_chars=5000) ==
          cl.split_by_position(text, 4000, 500, max_chars=10**6) ==
          cl.split_by_position(text, 4000, 500))
  with pytest.raises(CorpusDataError) as e:
    cl.split_by_position(text, 2000, 500, max_chars=2500, source="c.txt")
  _assert_error(e, "c.txt", "corpus too short",
                "2500 characters (the first max_chars=2500 of 5000)")


@pytest.mark.parametrize("kwargs, fragment", [
    ({"train_chars": 0}, "train_chars must be an integer >= 1, got 0"),
    ({"eval_chars": -5}, "eval_chars must be an integer >= 1, got -5"),
    ({"eval_chars": 2.5}, "eval_chars must be an integer >= 1, got 2.5"),
    ({"max_chars": -1}, "max_chars must be an integer >= 0, got -1"),
    ({"train_fraction": 0.5}, "must be given together"),
    ({"eval_fraction": 0.5}, "must be given together"),
    ({"train_fraction": 0.0, "eval_fraction": 0.1},
     "train_fraction must be > 0 and < 1, got 0.0"),
    ({"train_fraction": 0.5, "eval_fraction": 1.0},
     "eval_fraction must be > 0 and < 1, got 1.0"),
    ({"train_fraction": 0.7, "eval_fraction": 0.3},
     "train_fraction + eval_fraction must be < 1"),
])
def test_split_argument_errors(kwargs, fragment):
  with pytest.raises(ValueError) as e:
    cl.split_by_position(make_text(500), **kwargs)
  assert not isinstance(e.value, CorpusDataError)
  assert fragment in str(e.value)


# ---------------------------------------------------------------------------
# chunk
# ---------------------------------------------------------------------------


def test_chunk_offsets_and_reassembly():
  text = make_text(1050)
  chunks = cl.chunk(text, 4000, chunk_chars=250)
  assert [(i, s, len(t)) for i, s, t in chunks] == [
      (0, 4000, 250), (1, 4250, 250), (2, 4500, 250), (3, 4750, 250),
      (4, 5000, 50)]
  assert "".join(t for _, _, t in chunks) == text
  assert cl.reassemble(list(reversed(chunks))) == text
  assert cl.chunk(text[:1000], 0, chunk_chars=250)[-1] == (3, 750,
                                                           text[750:1000])
  assert cl.chunk(text[:100], 7, chunk_chars=100) == [(0, 7, text[:100])]
  assert cl.chunk("", 7, chunk_chars=100) == []


def test_chunks_keep_corpus_offsets():
  text = make_text(7777)
  for start, split_text in cl.split_by_position(text, 5000, 1000).values():
    chunks = cl.chunk(split_text, start, chunk_chars=300)
    assert cl.reassemble(chunks) == split_text
    for _, offset, piece in chunks:
      assert text[offset:offset + len(piece)] == piece


@pytest.mark.parametrize("chunk_chars", [99, 0, -100])
def test_chunk_chars_minimum(chunk_chars):
  with pytest.raises(ValueError, match=f"chunk_chars must be an integer >= "
                     f"100, got {chunk_chars}"):
    cl.chunk("x" * 1000, 0, chunk_chars=chunk_chars)


# ---------------------------------------------------------------------------
# TFRecord output
# ---------------------------------------------------------------------------


def test_to_example_features():
  ex = cl.to_example(3, 1234, "O Romeo, 映画!\n")
  f = ex.features.feature
  assert sorted(f) == ["chunk_index", "start", "text"]
  assert f["text"].bytes_list.value == ["O Romeo, 映画!\n".encode("utf-8")]
  assert f["chunk_index"].int64_list.value == [3]
  assert f["start"].int64_list.value == [1234]


def test_examples_round_trip_through_gzip_tfrecords(tmp_path):
  text = make_text(6000)
  splits = cl.corpus_splits(text, 4500, 700, chunk_chars=200)
  assert {k: len(v) for k, v in splits.items()} == {
      "train": 23, "eval": 4, "test": 4}
  paths = cl.write_examples(str(tmp_path / "out"), splits, num_shards=3)
  assert list(paths) == ["train", "eval", "test"]
  rebuilt = ""
  for name, chunks in splits.items():
    files, parsed = _parse_split(str(tmp_path / "out" / f"Split-{name}"))
    assert [os.path.basename(p) for p in files] == [
        f"data_tfrecord-0000{i}-of-00003.gz" for i in range(3)]
    assert files == sorted(paths[name])
    with open(files[0], "rb") as f:
      assert f.read(2) == b"\x1f\x8b"  # GZIP magic
    # Written in order: the shards, read in name order, give the chunks in
    # order (a reader should still sort by chunk_index).
    assert parsed == chunks
    assert [i for i, _, _ in parsed] == list(range(len(chunks)))
    rebuilt += cl.reassemble(parsed)
  assert rebuilt == text


def test_more_shards_than_chunks(tmp_path):
  chunks = cl.chunk(make_text(250), 0, chunk_chars=100)
  paths = cl.write_split(str(tmp_path / "Split-x"), chunks, num_shards=5)
  assert len(paths) == 5
  files, parsed = _parse_split(str(tmp_path / "Split-x"))
  assert parsed == chunks
  counts = [sum(1 for _ in tf.data.TFRecordDataset([p], compression_type="GZIP"))
            for p in files]
  assert counts == [0, 1, 0, 1, 1]
  with pytest.raises(ValueError, match="num_shards"):
    cl.write_split(str(tmp_path / "Split-y"), chunks, num_shards=0)


def test_shard_names_match_the_sibling_example_gens():
  from components.imdb_example_gen import reviews as rv  # pylint: disable=g-import-not-at-top
  for args in [(0, 1), (3, 12), (99999, 100000)]:
    assert cl.shard_name(*args) == rv.shard_name(*args)


def test_constants():
  assert cl.SHAKESPEARE_URL.endswith("/data/tinyshakespeare/input.txt")
  assert len(cl.SHAKESPEARE_SHA1) == 40 and len(cl.SHAKESPEARE_SHA256) == 64
  assert (cl.DEFAULT_TRAIN_CHARS, cl.DEFAULT_EVAL_CHARS) == (1_000_000, 60_000)


# ---------------------------------------------------------------------------
# The real data (optional)
# ---------------------------------------------------------------------------


@pytest.mark.skipif(not os.path.exists(SHARED_CORPUS),
                    reason=f"shared tiny-shakespeare copy not present at "
                    f"{SHARED_CORPUS} (../shared/datasets/shakespeare/"
                    "input.txt relative to the repository root)")
def test_real_corpus(tmp_path):
  start = time.perf_counter()
  with open(SHARED_CORPUS, "rb") as f:
    data = f.read()
  assert hashlib.sha1(data).hexdigest() == cl.SHAKESPEARE_SHA1
  assert hashlib.sha256(data).hexdigest() == cl.SHAKESPEARE_SHA256
  text = cl.read_corpus(SHARED_CORPUS)
  assert len(text) == cl.SHAKESPEARE_NUM_CHARS == 1_115_394
  assert text.startswith("First Citizen:\nBefore we proceed any further")
  splits = cl.split_by_position(text)
  assert {k: (s, len(t)) for k, (s, t) in splits.items()} == {
      "train": (0, 1_000_000), "eval": (1_000_000, 60_000),
      "test": (1_060_000, 55_394)}
  chunks = {name: cl.chunk(t, s) for name, (s, t) in splits.items()}
  assert {k: len(v) for k, v in chunks.items()} == {
      "train": 100, "eval": 6, "test": 6}
  assert chunks["test"][-1][1:] == (1_110_000, text[1_110_000:])
  cl.write_examples(str(tmp_path / "out"), {"test": chunks["test"]})
  _, parsed = _parse_split(str(tmp_path / "out" / "Split-test"))
  assert cl.reassemble(parsed) == text[1_060_000:]
  elapsed = time.perf_counter() - start
  print(f"\nreal corpus: read+split+chunk+write {elapsed:.2f} s")
  assert elapsed < 30
