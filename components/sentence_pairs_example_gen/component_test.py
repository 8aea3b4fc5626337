"""Tests for SentencePairsExampleGen: parameters, sources, and LocalDagRunner
runs (splits, features, properties, the input fingerprint, {SPAN})."""

import glob
import hashlib
import json
import os
import urllib.request
import zipfile

import pytest
import tensorflow as tf
from ml_metadata.proto import metadata_store_pb2
from tfx.components.example_gen import utils as example_gen_utils
from tfx.orchestration import metadata
from tfx.orchestration import pipeline as tfx_pipeline
from tfx.orchestration.local.local_dag_runner import LocalDagRunner
from tfx.proto import example_gen_pb2
from tfx.utils import proto_utils

from components.common import fetch as fetch_lib
from components.common import testing as testing_lib
from components.sentence_pairs_example_gen import BAD_KINDS
from components.sentence_pairs_example_gen import SentencePairsDataError
from components.sentence_pairs_example_gen import SentencePairsExampleGen
from components.sentence_pairs_example_gen import component as component_lib
from components.sentence_pairs_example_gen import executor as executor_lib
from components.sentence_pairs_example_gen import pairs as pairs_lib
from preprocessing import translation_contract as contract

_SPEC = {contract.SOURCE: tf.io.FixedLenFeature([], tf.string),
         contract.TARGET: tf.io.FixedLenFeature([], tf.string)}
_ID = component_lib.COMPONENT_ID


def _pairs_text(n, tag=""):
  """``n`` good pairs, then one bad line of every kind (max_words=6)."""
  lines = [f"¿I see {i}{tag} cats?\t¡Veo {i}{tag} gatos!" for i in range(n)]
  lines += ["no tab at all", "Empty target.\t ¡ ",
            "one two three four five six seven\tlargo", ""]
  return "\n".join(lines).encode("utf-8") + b"\nbad \xff\tmalo\n"


def _write(path, data):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "wb") as f:
    f.write(data)
  return str(path)


def _pipeline(tmp_path, name, components, enable_cache=False):
  # components.common.testing.pipeline, with caching as a choice.
  return tfx_pipeline.Pipeline(
      pipeline_name=name, pipeline_root=str(tmp_path / name / "root"),
      metadata_connection_config=metadata.sqlite_metadata_connection_config(
          str(tmp_path / name / "metadata.sqlite")),
      components=components, enable_cache=enable_cache)


def _examples_artifacts(pipe):
  with metadata.Metadata(pipe.metadata_connection_config) as m:
    return sorted(m.store.get_artifacts_by_type("Examples"),
                  key=lambda a: a.id)


def _last_execution_state(pipe):
  with metadata.Metadata(pipe.metadata_connection_config) as m:
    executions = sorted(m.store.get_executions(), key=lambda e: e.id)
  return executions[-1].last_known_state


def _read_split(artifact, split):
  records = testing_lib.read_examples(
      os.path.join(artifact.uri, f"Split-{split}", "*"), _SPEC)
  return [(r[contract.SOURCE].numpy().decode("utf-8"),
           r[contract.TARGET].numpy().decode("utf-8")) for r in records]


# ---------------------------------------------------------------------------
# Parameters and sources (no pipeline run)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, name, value", [
    ({"source": " "}, "source", "' '"),
    ({"train_pairs": 0}, "train_pairs", "0"),
    ({"test_fraction": 1.0}, "test_fraction", "1.0"),
    ({"test_fraction": -0.2}, "test_fraction", "-0.2"),
    ({"source_column": -1}, "source_column", "-1"),
    ({"target_column": 0}, "source_column and target_column", "0"),
    ({"max_words": -1}, "max_words", "-1"),
    ({"max_pairs": -1}, "max_pairs", "-1"),
    ({"max_pairs": 50, "train_pairs": 50}, "max_pairs", "50"),
    ({"seed": -1}, "seed", "-1"),
    ({"seed": 2**32}, "seed", str(2**32)),
])
def test_parameter_validation(tmp_path, kwargs, name, value):
  kwargs = dict({"source": str(tmp_path / "spa.txt")}, **kwargs)
  with pytest.raises(ValueError) as e:
    SentencePairsExampleGen(**kwargs)
  assert not isinstance(e.value, SentencePairsDataError)
  msg = str(e.value)
  assert msg.startswith("parameter") and name in msg and value in msg, msg


@pytest.mark.parametrize("source, base, pattern", [
    ("/data/spa.txt", "/data", "spa.txt"),
    ("/data/pairs/span-{SPAN}/spa.txt", "/data/pairs", "span-{SPAN}/spa.txt"),
    ("/data/pairs/{SPAN:3}-v{VERSION}.zip", "/data/pairs",
     "{SPAN:3}-v{VERSION}.zip"),
    ("/data/pairs/*.txt", "/data/pairs", "*.txt"),
    ("/spa.txt", "/", "spa.txt"),
    ("gs://bucket/pairs/{YYYY}{MM}{DD}/spa.txt", "gs://bucket/pairs",
     "{YYYY}{MM}{DD}/spa.txt"),
])
def test_split_source(source, base, pattern):
  assert component_lib.split_source(source) == (base, pattern)


def test_split_source_makes_relative_paths_absolute(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  assert component_lib.split_source("data/spa.txt") == (
      str(tmp_path / "data"), "spa.txt")


def test_component_configuration(tmp_path):
  gen = SentencePairsExampleGen(
      str(tmp_path / "pairs" / "span-{SPAN}" / "spa.txt"), train_pairs=10,
      test_fraction=0.25, source_column=1, target_column=0, max_words=9,
      max_pairs=30, seed=3)
  assert gen.id == _ID
  props = gen.exec_properties  # protos as ExampleGen's JSON strings
  assert props["input_base"] == str(tmp_path / "pairs")
  input_config = proto_utils.json_to_proto(props["input_config"],
                                           example_gen_pb2.Input())
  assert [(s.name, s.pattern) for s in input_config.splits] == [
      ("pairs", "span-{SPAN}/spa.txt")]
  assert example_gen_utils.generate_output_split_names(
      input_config, proto_utils.json_to_proto(
          props["output_config"], example_gen_pb2.Output())) == [
              "train", "eval", "test"]
  parameters = executor_lib.read_custom_config(props["custom_config"])
  assert parameters == {"train_pairs": 10, "test_fraction": 0.25,
                        "source_column": 1, "target_column": 0,
                        "max_words": 9, "max_pairs": 30, "seed": 3}
  assert executor_lib.read_custom_config(None) == (
      executor_lib.PARAMETER_DEFAULTS)
  gen = SentencePairsExampleGen(str(tmp_path / "spa.txt"))
  output_config = proto_utils.json_to_proto(
      gen.exec_properties["output_config"], example_gen_pb2.Output())
  assert [s.name for s in output_config.split_config.splits] == [
      "train", "eval"]


def test_resolve_source(tmp_path):
  data = _pairs_text(5)
  source = _write(tmp_path / "src" / "spa-eng.zip", b"")
  with zipfile.ZipFile(source, "w") as archive:
    archive.writestr(contract.SPA_ENG_MEMBER, data)
  digest = hashlib.sha256(open(source, "rb").read()).hexdigest()
  cache = tmp_path / "cache"
  # A local file is used in place (checked when sha256 is given).
  assert component_lib.resolve_source(source, str(cache), digest) == (
      str(tmp_path / "src"), "spa-eng.zip")
  assert not cache.exists()
  with pytest.raises(SentencePairsDataError, match="sha256 mismatch"):
    component_lib.resolve_source(source, str(cache), "0" * 64)
  missing = str(tmp_path / "missing.zip")
  with pytest.raises(SentencePairsDataError) as e:
    component_lib.resolve_source(missing, str(cache), digest)
  assert str(e.value).startswith(f"{missing}: not found")
  # A URL is downloaded once into the cache, then read as a local file.
  url = "file://" + urllib.request.pathname2url(source)
  base, pattern = component_lib.resolve_source(url, str(cache), digest)
  assert os.path.join(base, pattern) == fetch_lib.cache_path(url, str(cache))
  pairs, _ = executor_lib.read_input(os.path.join(base, pattern), max_words=6)
  assert len(pairs) == 5
  with pytest.raises(SentencePairsDataError, match="download failed"):
    component_lib.resolve_source(url + ".gone", str(cache))
  gen = SentencePairsExampleGen(url, cache_dir=str(cache), sha256=digest,
                                train_pairs=3)
  assert gen.exec_properties["input_base"] == str(cache)
  with pytest.raises(ValueError, match="sha256 checks one file"):
    component_lib.resolve_source(str(tmp_path / "*.zip"), "", digest)
  with pytest.raises(ValueError, match="is a directory"):
    SentencePairsExampleGen(str(tmp_path))


def test_read_input_errors(tmp_path):
  pattern = str(tmp_path / "nothing" / "*.txt")
  with pytest.raises(SentencePairsDataError) as e:
    executor_lib.read_input(pattern)
  assert str(e.value).startswith(f"{pattern}: not found")


def test_to_example():
  example = executor_lib.to_example("I'm café.", "Soy café.")
  features = example.features.feature
  assert sorted(features) == sorted([contract.SOURCE, contract.TARGET])
  assert features[contract.SOURCE].bytes_list.value == [
      "I'm café.".encode("utf-8")]


# ---------------------------------------------------------------------------
# LocalDagRunner
# ---------------------------------------------------------------------------


def test_pipeline_splits_properties_and_fingerprint_cache(tmp_path):
  source = _write(tmp_path / "data" / "spa.txt", _pairs_text(30))

  def run():
    gen = SentencePairsExampleGen(source, train_pairs=20, test_fraction=0.3,
                                  max_words=6)
    pipe = _pipeline(tmp_path, "pairs", [gen], enable_cache=True)
    LocalDagRunner().run(pipe)
    return pipe

  pipe = run()
  [artifact] = _examples_artifacts(pipe)
  assert json.loads(artifact.properties["split_names"].string_value) == [
      "train", "eval", "test"]
  assert sorted(os.listdir(artifact.uri)) == [
      "Split-eval", "Split-test", "Split-train"]
  for split in ("train", "eval", "test"):
    files = glob.glob(os.path.join(artifact.uri, f"Split-{split}", "*"))
    assert files and all(os.path.basename(f).startswith("data_tfrecord-")
                         and f.endswith(".gz") for f in files)
  # The book's split of the file's valid pairs (order within a split is
  # the writer's).
  pairs, _ = pairs_lib.read_pairs(source, max_words=6)
  want = pairs_lib.split_pairs(pairs, train_pairs=20, test_fraction=0.3)
  assert {k: len(v) for k, v in want.items()} == {"train": 20, "eval": 7,
                                                   "test": 3}
  for split, split_pairs in want.items():
    assert sorted(_read_split(artifact, split)) == sorted(split_pairs)
  assert ("I see 0 cats?", "Veo 0 gatos!") in pairs
  props = {k: v.int_value or v.string_value
           for k, v in artifact.custom_properties.items()}
  assert {k: v for k, v in props.items() if k.startswith("num_")} == {
      "num_examples_train": 20, "num_examples_eval": 7,
      "num_examples_test": 3, "num_bad_no_tab": 1, "num_bad_empty_side": 1,
      "num_bad_not_utf_8": 1, "num_bad_too_long": 1}
  assert {f"num_bad_{kind}" for kind in BAD_KINDS} <= set(props)
  assert props["payload_format"] == "FORMAT_TF_EXAMPLE"
  assert props["file_format"] == "tfrecords_gzip"
  assert "num_files:1" in props[example_gen_utils.FINGERPRINT_PROPERTY_NAME]

  # Unchanged input: the driver's fingerprint matches, ExampleGen is cached.
  pipe = run()
  assert len(_examples_artifacts(pipe)) == 1
  assert _last_execution_state(pipe) == metadata_store_pb2.Execution.CACHED

  # New bytes at the same path: a new fingerprint, a new import. TFX's
  # fingerprint is size and mtime in whole seconds, so move the mtime on
  # (a rewrite within the same second as the first would look unchanged).
  _write(source, _pairs_text(30, tag="x"))
  mtime = os.stat(source).st_mtime + 10
  os.utime(source, (mtime, mtime))
  pipe = run()
  old, new = _examples_artifacts(pipe)
  assert old.uri != new.uri
  assert (new.custom_properties["input_fingerprint"].string_value !=
          old.custom_properties["input_fingerprint"].string_value)
  imported = _read_split(new, "train") + _read_split(new, "eval")
  assert len(imported) == 27 and all("x cats?" in s for s, _ in imported)


def test_pipeline_reads_the_latest_span(tmp_path):
  base = tmp_path / "pairs"
  _write(base / "span-1" / "spa.txt", _pairs_text(12, tag="a"))
  _write(base / "span-2" / "spa.txt", _pairs_text(12, tag="b"))
  gen = SentencePairsExampleGen(str(base / "span-{SPAN}" / "spa.txt"),
                                train_pairs=8, source_column=1,
                                target_column=0, max_words=6)
  pipe = _pipeline(tmp_path, "spans", [gen])
  LocalDagRunner().run(pipe)
  [artifact] = _examples_artifacts(pipe)
  assert artifact.custom_properties["span"].int_value == 2
  train, evaluation = _read_split(artifact, "train"), _read_split(artifact,
                                                                  "eval")
  assert (len(train), len(evaluation)) == (8, 4)
  # Span 2's pairs, Spanish -> English.
  assert sorted(train + evaluation) == sorted(
      (f"Veo {i}b gatos!", f"I see {i}b cats?") for i in range(12))
  assert not os.path.exists(os.path.join(artifact.uri, "Split-test"))


def test_pipeline_fails_on_missing_input(tmp_path):
  missing = tmp_path / "data" / "spa.txt"
  gen = SentencePairsExampleGen(str(missing), train_pairs=5)
  with pytest.raises(SentencePairsDataError) as e:
    LocalDagRunner().run(_pipeline(tmp_path, "missing", [gen]))
  assert str(e.value).startswith(f"{missing}: not found")
