"""Tests for TextCorpusExampleGen (direct calls and LocalDagRunner)."""

import glob
import hashlib
import json
import os
import urllib.parse
import urllib.request

import pytest

from components.common import testing as testing_lib
import tensorflow as tf
from tfx.components.util import examples_utils
from tfx.orchestration import metadata
from tfx.orchestration.local.local_dag_runner import LocalDagRunner
from tfx_bsl.tfxio import dataset_util

from components.common import fetch as fetch_lib
from components.text_corpus_example_gen import CorpusDataError
from components.text_corpus_example_gen import TextCorpusExampleGen
from components.text_corpus_example_gen import component as component_lib
from components.text_corpus_example_gen import corpus as cl
from components.text_corpus_example_gen import testing

_SPEC = {
    "text": tf.io.FixedLenFeature([], tf.string),
    "chunk_index": tf.io.FixedLenFeature([], tf.int64),
    "start": tf.io.FixedLenFeature([], tf.int64),
}

def _read(pattern):
  """(chunk_index, start, text) of every record, in file-name order."""
  return [(int(ex["chunk_index"]), int(ex["start"]), ex["text"].numpy().decode("utf-8"))
          for ex in testing_lib.read_examples(pattern, _SPEC)]


def _corpus_file(tmp_path, n_chars=5000, name="corpus.txt"):
  text = testing.make_text(n_chars)
  return testing.write_corpus(tmp_path / name, text), text


@pytest.mark.parametrize("kwargs, name, value", [
    ({"source": " "}, "source", "' '"),
    ({"train_chars": 0}, "train_chars", "0"),
    ({"eval_chars": -1}, "eval_chars", "-1"),
    ({"train_fraction": -0.1, "eval_fraction": 0.1}, "train_fraction", "-0.1"),
    ({"train_fraction": 0.5, "eval_fraction": 1.0}, "eval_fraction", "1.0"),
    ({"train_fraction": 0.9}, "train_fraction and eval_fraction", "0.9"),
    ({"eval_fraction": 0.05}, "train_fraction and eval_fraction", "0.05"),
    ({"train_fraction": 0.9, "eval_fraction": 0.1},
     "train_fraction + eval_fraction", "0.9 + 0.1"),
    ({"max_chars": -1}, "max_chars", "-1"),
    ({"chunk_chars": 99}, "chunk_chars", "99"),
    ({"num_shards": 0}, "num_shards", "0"),
])
def test_parameter_validation(tmp_path, kwargs, name, value):
  kwargs = dict({"source": str(tmp_path / "unused.txt")}, **kwargs)
  with pytest.raises(ValueError) as e:
    TextCorpusExampleGen.test_call(examples=testing_lib.examples_artifact(tmp_path),
                                   **kwargs)
  assert not isinstance(e.value, CorpusDataError)
  msg = str(e.value)
  assert msg.startswith("parameter") and name in msg and value in msg, msg


def test_direct_call_sets_artifact(tmp_path):
  source, text = _corpus_file(tmp_path, 5000)
  examples = testing_lib.examples_artifact(tmp_path / "out")
  TextCorpusExampleGen.test_call(examples=examples, source=source,
                                 train_chars=4000, eval_chars=600,
                                 chunk_chars=300, num_shards=2)
  assert json.loads(examples.split_names) == ["train", "eval", "test"]
  # What downstream components resolve from the artifact.
  assert examples_utils.get_payload_format_string(examples) == "FORMAT_TF_EXAMPLE"
  assert examples_utils.get_file_format(examples) == "tfrecords_gzip"
  assert examples.get_int_custom_property("chunk_chars") == 300
  want = {"train": (0, 4000, 14), "eval": (4000, 600, 2),
          "test": (4600, 400, 2)}
  for split in examples.splits:
    [pattern] = examples_utils.get_split_file_patterns([examples], split)
    assert dataset_util.detect_compression_type([pattern]).numpy() == b"GZIP"
    assert len(glob.glob(pattern)) == 2
    parsed = _read(pattern)
    start, n_chars, n_chunks = want[split]
    assert cl.reassemble(parsed) == text[start:start + n_chars]
    assert min(s for _, s, _ in parsed) == start
    assert len(parsed) == n_chunks
    assert examples.get_int_custom_property(f"num_chars_{split}") == n_chars
    assert examples.get_int_custom_property(f"num_chunks_{split}") == n_chunks
    assert examples.get_int_custom_property(
        f"num_examples_{split}") == n_chunks


def test_direct_call_fractions_and_max_chars(tmp_path):
  source, text = _corpus_file(tmp_path, 5000)
  examples = testing_lib.examples_artifact(tmp_path / "out")
  TextCorpusExampleGen.test_call(examples=examples, source=source,
                                 train_fraction=0.8, eval_fraction=0.1,
                                 max_chars=2000, chunk_chars=100)
  sizes = {s: examples.get_int_custom_property(f"num_chars_{s}")
           for s in ("train", "eval", "test")}
  assert sizes == {"train": 1600, "eval": 200, "test": 200}
  parsed = _read(str(tmp_path / "out" / "Split-test" / "*"))
  assert cl.reassemble(parsed) == text[1800:2000]


def test_resolve_source(tmp_path):
  source, _ = _corpus_file(tmp_path, 500)
  digest = hashlib.sha256(open(source, "rb").read()).hexdigest()
  cache = tmp_path / "cache"
  assert component_lib.resolve_source(source, str(cache), digest) == source
  assert not cache.exists()  # a local file is used in place
  missing = str(tmp_path / "missing.txt")
  with pytest.raises(CorpusDataError) as e:
    component_lib.resolve_source(missing, str(cache))
  assert missing in str(e.value) and "not found" in str(e.value)
  assert "UTF-8 text file" in str(e.value)
  with pytest.raises(CorpusDataError) as e:
    component_lib.resolve_source(source, str(cache), "0" * 64)
  assert source in str(e.value) and "sha256 mismatch" in str(e.value)
  url = "file://" + urllib.request.pathname2url(source)
  path = component_lib.resolve_source(url, str(cache), digest)
  assert path == fetch_lib.cache_path(url, str(cache))
  assert path.endswith("corpus.txt")
  with pytest.raises(CorpusDataError) as e:
    component_lib.resolve_source(url + ".gone", str(cache))
  assert url + ".gone" in str(e.value) and "download failed" in str(e.value)
  with pytest.raises(ValueError, match="64 hexadecimal"):
    component_lib.resolve_source(source, str(cache), "abc")


def test_local_dag_runner_pipeline(tmp_path):
  (tmp_path / "src").mkdir()
  source, text = _corpus_file(tmp_path / "src", 3000, name="input.txt")
  digest = hashlib.sha256(open(source, "rb").read()).hexdigest()
  url = "file://" + urllib.request.pathname2url(source)
  cache = tmp_path / "cache"
  gen = TextCorpusExampleGen(source=url, cache_dir=str(cache), sha256=digest,
                             train_chars=2000, eval_chars=500,
                             chunk_chars=200, num_shards=2)
  pipe = testing_lib.pipeline(tmp_path, "corpus", [gen])
  LocalDagRunner().run(pipe)

  # Downloaded once into the cache.
  assert os.listdir(cache) == [
      os.path.basename(fetch_lib.cache_path(url, str(cache)))]
  root = tmp_path / "corpus" / "root"
  rebuilt = ""
  for name, (start, n_chars) in [("train", (0, 2000)), ("eval", (2000, 500)),
                                 ("test", (2500, 500))]:
    pattern = str(root / "TextCorpusExampleGen" / "examples" / "*" /
                  f"Split-{name}" / "*")
    assert len(glob.glob(pattern)) == 2
    parsed = _read(pattern)
    assert sorted(i for i, _, _ in parsed) == list(range(len(parsed)))
    split_text = cl.reassemble(parsed)
    assert split_text == text[start:start + n_chars]
    rebuilt += split_text
  assert rebuilt == text

  # The artifact as recorded in MLMD.
  with metadata.Metadata(pipe.metadata_connection_config) as m:
    [artifact] = m.store.get_artifacts_by_type("Examples")
  assert json.loads(artifact.properties["split_names"].string_value) == [
      "train", "eval", "test"]
  props = artifact.custom_properties
  assert props["payload_format"].string_value == "FORMAT_TF_EXAMPLE"
  assert props["file_format"].string_value == "tfrecords_gzip"
  assert {k: v.int_value for k, v in props.items()
          if k.startswith(("num_chars_", "num_chunks_"))} == {
              "num_chars_train": 2000, "num_chars_eval": 500,
              "num_chars_test": 500, "num_chunks_train": 10,
              "num_chunks_eval": 3, "num_chunks_test": 3}


def test_local_dag_runner_data_error_fails_the_run(tmp_path):
  bad = tmp_path / "bad.txt"
  bad.write_bytes(b"To be, or not to be\nthat is the \xff question\n")
  gen = TextCorpusExampleGen(source=str(bad), train_chars=10, eval_chars=5)
  with pytest.raises(CorpusDataError) as e:
    LocalDagRunner().run(testing_lib.pipeline(tmp_path, "bad", [gen]))
  assert str(bad) in str(e.value)
  assert "not valid UTF-8" in str(e.value)
  assert "byte offset 32" in str(e.value) and "line 2" in str(e.value)
  assert not glob.glob(str(tmp_path / "bad" / "root" / "TextCorpusExampleGen" /
                           "examples" / "*" / "Split-*" / "*"))
