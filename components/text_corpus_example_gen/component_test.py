"""Tests for TextCorpusExampleGen: parameters, sources, and LocalDagRunner
runs (splits, chunks, properties, the input fingerprint, {SPAN}, URL
sources, data errors)."""

import glob
import hashlib
import json
import os
import urllib.request

import pytest
import tensorflow as tf
from ml_metadata.proto import metadata_store_pb2
from tfx.components.example_gen import utils as example_gen_utils
from tfx.orchestration.local.local_dag_runner import LocalDagRunner
from tfx.proto import example_gen_pb2
from tfx.utils import proto_utils

from components.common import fetch as fetch_lib
from components.common import testing as testing_lib
from components.text_corpus_example_gen import CorpusDataError
from components.text_corpus_example_gen import TextCorpusExampleGen
from components.text_corpus_example_gen import component as component_lib
from components.text_corpus_example_gen import corpus as cl
from components.text_corpus_example_gen import executor as executor_lib
from components.text_corpus_example_gen import testing

_SPEC = {
    "text": tf.io.FixedLenFeature([], tf.string),
    "chunk_index": tf.io.FixedLenFeature([], tf.int64),
    "start": tf.io.FixedLenFeature([], tf.int64),
}
_ID = component_lib.COMPONENT_ID
_SPLITS = ["train", "eval", "test"]


def _read(artifact, split):
  """(chunk_index, start, text) of every record of one split."""
  return [(int(ex["chunk_index"]), int(ex["start"]),
           ex["text"].numpy().decode("utf-8"))
          for ex in testing_lib.read_examples(
              os.path.join(artifact.uri, f"Split-{split}", "*"), _SPEC)]


def _corpus_file(folder, n_chars=5000, name="corpus.txt", text=None):
  os.makedirs(folder, exist_ok=True)
  text = testing.make_text(n_chars) if text is None else text
  return testing.write_corpus(os.path.join(folder, name), text), text


def _run(tmp_path, name, components, enable_cache=False):
  pipe = testing_lib.pipeline(tmp_path, name, components, enable_cache)
  LocalDagRunner().run(pipe)
  return pipe


def _properties(artifact):
  return {k: v.int_value or v.string_value
          for k, v in artifact.custom_properties.items()}


# ---------------------------------------------------------------------------
# Parameters and sources (no pipeline run)
# ---------------------------------------------------------------------------


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
])
def test_parameter_validation(tmp_path, kwargs, name, value):
  kwargs = dict({"source": str(tmp_path / "unused.txt")}, **kwargs)
  with pytest.raises(ValueError) as e:
    TextCorpusExampleGen(**kwargs)
  assert not isinstance(e.value, CorpusDataError)
  msg = str(e.value)
  assert msg.startswith("parameter") and name in msg and value in msg, msg


def test_resolve_source(tmp_path):
  source, _ = _corpus_file(tmp_path / "src", 500)
  digest = hashlib.sha256(open(source, "rb").read()).hexdigest()
  cache = tmp_path / "cache"
  resolve = component_lib.resolve_source
  # A local file is used in place (checked when sha256 is given).
  assert resolve(source, str(cache), digest) == (str(tmp_path / "src"),
                                                 "corpus.txt")
  assert not cache.exists()
  # A missing plain path is the run's to report, unless sha256 asks now.
  missing = str(tmp_path / "missing.txt")
  assert resolve(missing) == (str(tmp_path), "missing.txt")
  with pytest.raises(CorpusDataError) as e:
    resolve(missing, str(cache), digest)
  assert str(e.value).startswith(f"{missing}: not found (expected a UTF-8 "
                                 "text file")
  with pytest.raises(CorpusDataError) as e:
    resolve(source, str(cache), "0" * 64)
  assert source in str(e.value) and "sha256 mismatch" in str(e.value)
  with pytest.raises(CorpusDataError) as e:
    resolve(str(tmp_path / "src"))
  assert str(e.value).startswith(f"{tmp_path / 'src'}: is a directory, "
                                 "expected a UTF-8 text file")
  # {SPAN} patterns are cut where the spec starts; sha256 is for one file.
  assert resolve(str(tmp_path / "corpus" / "span-{SPAN}" / "input.txt")) == (
      str(tmp_path / "corpus"), "span-{SPAN}/input.txt")
  with pytest.raises(ValueError, match="sha256 checks one file"):
    resolve(str(tmp_path / "span-{SPAN}.txt"), "", digest)
  # A URL is downloaded once into the cache, now, then read as a local file.
  url = "file://" + urllib.request.pathname2url(source)
  base, pattern = resolve(url, str(cache), digest)
  assert os.path.join(base, pattern) == fetch_lib.cache_path(url, str(cache))
  assert pattern.endswith("corpus.txt")
  with pytest.raises(CorpusDataError) as e:
    resolve(url + ".gone", str(cache))
  assert url + ".gone" in str(e.value) and "download failed" in str(e.value)
  with pytest.raises(ValueError, match="64 hexadecimal"):
    resolve(source, str(cache), "abc")


def test_component_configuration(tmp_path):
  gen = TextCorpusExampleGen(
      str(tmp_path / "corpus" / "span-{SPAN}" / "input.txt"),
      train_chars=400, eval_chars=50, train_fraction=0.7, eval_fraction=0.2,
      max_chars=900, chunk_chars=150)
  assert gen.id == _ID
  props = gen.exec_properties  # protos as ExampleGen's JSON strings
  assert props["input_base"] == str(tmp_path / "corpus")
  input_config = proto_utils.json_to_proto(props["input_config"],
                                           example_gen_pb2.Input())
  assert [(s.name, s.pattern) for s in input_config.splits] == [
      ("corpus", "span-{SPAN}/input.txt")]
  assert example_gen_utils.generate_output_split_names(
      input_config, proto_utils.json_to_proto(
          props["output_config"], example_gen_pb2.Output())) == _SPLITS
  assert executor_lib.read_custom_config(props["custom_config"]) == {
      "train_chars": 400, "eval_chars": 50, "train_fraction": 0.7,
      "eval_fraction": 0.2, "max_chars": 900, "chunk_chars": 150}
  assert executor_lib.read_custom_config(None) == (
      executor_lib.PARAMETER_DEFAULTS)


def test_corpus_path(tmp_path):
  _corpus_file(tmp_path, 200, name="a.txt")
  _corpus_file(tmp_path, 200, name="b.txt")
  assert executor_lib.corpus_path(str(tmp_path / "a.txt")) == str(
      tmp_path / "a.txt")
  missing = str(tmp_path / "none.txt")
  assert executor_lib.corpus_path(missing) == missing
  with pytest.raises(CorpusDataError) as e:
    executor_lib.corpus_path(str(tmp_path / "*.txt"))
  assert str(e.value).startswith(f"{tmp_path / '*.txt'}: 2 paths match")


# ---------------------------------------------------------------------------
# LocalDagRunner
# ---------------------------------------------------------------------------


def test_pipeline_splits_properties_and_fingerprint_cache(tmp_path):
  source, text = _corpus_file(tmp_path / "data", 5000)

  def run():
    gen = TextCorpusExampleGen(source=source, train_chars=4000,
                               eval_chars=600, chunk_chars=300)
    return _run(tmp_path, "corpus", [gen], enable_cache=True)

  pipe = run()
  [artifact] = testing_lib.examples_artifacts(pipe)
  assert json.loads(artifact.properties["split_names"].string_value) == (
      _SPLITS)
  want = {"train": (0, 4000, 14), "eval": (4000, 600, 2),
          "test": (4600, 400, 2)}
  props = _properties(artifact)
  rebuilt = ""
  for split, (start, n_chars, n_chunks) in want.items():
    files = glob.glob(os.path.join(artifact.uri, f"Split-{split}", "*"))
    assert files and all(os.path.basename(f).startswith("data_tfrecord-")
                         and f.endswith(".gz") for f in files)
    parsed = _read(artifact, split)
    assert sorted(i for i, _, _ in parsed) == list(range(n_chunks))
    assert cl.reassemble(parsed) == text[start:start + n_chars]
    assert min(s for _, s, _ in parsed) == start
    assert props[f"num_chars_{split}"] == n_chars
    assert props[f"num_chunks_{split}"] == n_chunks
    assert props[f"num_examples_{split}"] == n_chunks
    rebuilt += cl.reassemble(parsed)
  assert rebuilt == text
  assert props["chunk_chars"] == 300
  assert props["payload_format"] == "FORMAT_TF_EXAMPLE"
  assert props["file_format"] == "tfrecords_gzip"
  assert "num_files:1" in props[example_gen_utils.FINGERPRINT_PROPERTY_NAME]

  # Unchanged input: the driver's fingerprint matches, ExampleGen is cached.
  pipe = run()
  assert len(testing_lib.examples_artifacts(pipe)) == 1
  assert (testing_lib.last_execution_state(pipe) ==
          metadata_store_pb2.Execution.CACHED)

  # New bytes at the same path: a new fingerprint, a new import.
  new_text = text.upper()[:4990] + "THE END."
  testing_lib.rewrite(source, new_text.encode("utf-8"))
  pipe = run()
  old, new = testing_lib.examples_artifacts(pipe)
  assert old.uri != new.uri
  assert (_properties(new)[example_gen_utils.FINGERPRINT_PROPERTY_NAME] !=
          _properties(old)[example_gen_utils.FINGERPRINT_PROPERTY_NAME])
  assert cl.reassemble(_read(new, "test")) == new_text[4600:]
  assert cl.reassemble(_read(old, "test")) == text[4600:]


def test_pipeline_fractions_and_max_chars(tmp_path):
  source, text = _corpus_file(tmp_path, 5000)
  gen = TextCorpusExampleGen(source=source, train_fraction=0.8,
                             eval_fraction=0.1, max_chars=2000,
                             chunk_chars=100)
  [artifact] = testing_lib.examples_artifacts(_run(tmp_path, "fractions",
                                                   [gen]))
  props = _properties(artifact)
  assert {s: props[f"num_chars_{s}"] for s in _SPLITS} == {
      "train": 1600, "eval": 200, "test": 200}
  assert cl.reassemble(_read(artifact, "test")) == text[1800:2000]


def test_pipeline_reads_the_latest_span(tmp_path):
  base = tmp_path / "corpus"
  _, _ = _corpus_file(base / "span-1", text="KING:\n" * 200, name="input.txt")
  _, text = _corpus_file(base / "span-2", 1500, name="input.txt")
  gen = TextCorpusExampleGen(str(base / "span-{SPAN}" / "input.txt"),
                             train_chars=1000, eval_chars=300,
                             chunk_chars=100)
  [artifact] = testing_lib.examples_artifacts(_run(tmp_path, "spans", [gen]))
  assert artifact.custom_properties["span"].int_value == 2
  assert cl.reassemble(_read(artifact, "train")) == text[:1000]
  assert cl.reassemble(_read(artifact, "test")) == text[1300:]


def test_pipeline_url_source(tmp_path):
  source, text = _corpus_file(tmp_path / "src", 3000, name="input.txt")
  digest = hashlib.sha256(open(source, "rb").read()).hexdigest()
  url = "file://" + urllib.request.pathname2url(source)
  cache = tmp_path / "cache"
  gen = TextCorpusExampleGen(source=url, cache_dir=str(cache), sha256=digest,
                             train_chars=2000, eval_chars=500,
                             chunk_chars=200)
  # Downloaded once into the cache, at construction.
  assert os.listdir(cache) == [
      os.path.basename(fetch_lib.cache_path(url, str(cache)))]
  [artifact] = testing_lib.examples_artifacts(_run(tmp_path, "url", [gen]))
  assert "".join(cl.reassemble(_read(artifact, split))
                 for split in _SPLITS) == text
  assert {k: v for k, v in _properties(artifact).items()
          if k.startswith(("num_chars_", "num_chunks_"))} == {
              "num_chars_train": 2000, "num_chars_eval": 500,
              "num_chars_test": 500, "num_chunks_train": 10,
              "num_chunks_eval": 3, "num_chunks_test": 3}


@pytest.mark.parametrize("case", ["not_utf_8", "missing", "too_short"])
def test_pipeline_data_error_fails_the_run(tmp_path, case):
  path = tmp_path / "data" / "corpus.txt"
  if case == "not_utf_8":
    path.parent.mkdir()
    path.write_bytes(b"To be, or not to be\nthat is the \xff question\n")
  elif case == "too_short":
    _corpus_file(path.parent, 50)
  gen = TextCorpusExampleGen(source=str(path), train_chars=40, eval_chars=10)
  with pytest.raises(CorpusDataError) as e:
    _run(tmp_path, "bad", [gen])
  msg = str(e.value)
  assert msg.startswith(f"{path}: "), msg
  assert {"not_utf_8": "not valid UTF-8: byte(s) b'\\xff' at byte offset 32 "
                       "(line 2)",
          "missing": "not found (expected a UTF-8 text file)",
          "too_short": "corpus too short: 50 characters"}[case] in msg, msg
  assert not glob.glob(str(tmp_path / "bad" / "root" / _ID / "examples" /
                           "*" / "Split-*" / "*"))
