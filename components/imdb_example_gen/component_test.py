"""Tests for ImdbExampleGen: parameters, sources and layouts, and
LocalDagRunner runs (splits, features, properties, the input fingerprint,
{SPAN}, URL sources, StatisticsGen downstream)."""

import glob
import hashlib
import json
import os
import urllib.request

import pytest
import tensorflow as tf
from ml_metadata.proto import metadata_store_pb2
from tensorflow_metadata.proto.v0 import statistics_pb2
from tfx.components.example_gen import utils as example_gen_utils
from tfx.components.statistics_gen.component import StatisticsGen
from tfx.orchestration.local.local_dag_runner import LocalDagRunner
from tfx.proto import example_gen_pb2
from tfx.utils import proto_utils

from components.common import fetch as fetch_lib
from components.common import testing as testing_lib
from components.imdb_example_gen import ImdbExampleGen
from components.imdb_example_gen import ReviewDataError
from components.imdb_example_gen import component as component_lib
from components.imdb_example_gen import executor as executor_lib
from components.imdb_example_gen import reviews as rv
from components.imdb_example_gen import testing

_SPEC = {
    "text": tf.io.FixedLenFeature([], tf.string),
    "label": tf.io.FixedLenFeature([], tf.int64),
    "rating": tf.io.FixedLenFeature([], tf.int64),
    "review_id": tf.io.FixedLenFeature([], tf.string),
    "length_bucket": tf.io.FixedLenFeature([], tf.string),
}
_ID = component_lib.COMPONENT_ID

_BAD_FILES = {
    "train/pos/900_8.txt": b"",
    "train/neg/901_2.txt": b"\xff\xfe not utf-8",
    "train/pos/902.txt": "no rating",
    "train/neg/903_9.txt": "nine stars in neg",
    "train/pos/1_9.txt": "duplicate of 1_8.txt",
}


def _archive(tmp_path, name="aclImdb_v1.tar.gz", n=300, n_test=20, bad=True):
  files = dict(testing.review_files(n, n))
  if n_test:
    files.update(testing.review_files(n_test, n_test, split_dir="test",
                                      start=5000))
  if bad:
    files.update(_BAD_FILES)  # 5 of 645 files: 0.8% < 1%
  files.update(testing.EXTRA_FILES)
  return testing.write_archive(tmp_path / name, files)


def _run(tmp_path, name, components, enable_cache=False):
  pipe = testing_lib.pipeline(tmp_path, name, components, enable_cache)
  LocalDagRunner().run(pipe)
  return pipe


def _read_split(artifact, split):
  """``{review_id: parsed example}`` of one split of an MLMD artifact."""
  records = testing_lib.read_examples(
      os.path.join(artifact.uri, f"Split-{split}", "*"), _SPEC)
  return {r["review_id"].numpy().decode(): r for r in records}


def _properties(artifact):
  return {k: v.int_value or v.string_value
          for k, v in artifact.custom_properties.items()}


def _split_names(artifact):
  return json.loads(artifact.properties["split_names"].string_value)


# ---------------------------------------------------------------------------
# Parameters and sources (no pipeline run)
# ---------------------------------------------------------------------------


def test_bad_property_names():
  assert [component_lib.bad_property_name(k) for k in rv.BAD_KINDS] == [
      "num_bad_empty_file", "num_bad_not_utf_8", "num_bad_no_rating_in_file_name",
      "num_bad_rating_inconsistent_with_folder", "num_bad_duplicate_review_id"]


@pytest.mark.parametrize("kwargs, name, value", [
    ({"source": " "}, "source", "' '"),
    ({"eval_fraction": 0.0}, "eval_fraction", "0.0"),
    ({"eval_fraction": 1.0}, "eval_fraction", "1.0"),
    ({"eval_fraction": -0.2}, "eval_fraction", "-0.2"),
    ({"max_reviews_per_class": -1}, "max_reviews_per_class", "-1"),
    ({"require_rating": 2}, "require_rating", "2"),
    ({"seed": 2**53}, "seed", str(2**53)),
])
def test_parameter_validation(tmp_path, kwargs, name, value):
  kwargs = dict({"source": str(tmp_path / "unused")}, **kwargs)
  with pytest.raises(ValueError) as e:
    ImdbExampleGen(**kwargs)
  assert not isinstance(e.value, ReviewDataError)
  msg = str(e.value)
  assert msg.startswith(f"parameter {name}") and value in msg, msg


def test_resolve_source_layouts(tmp_path):
  reviews = testing.review_files(3, 3)
  # A folder that is the data root, one holding aclImdb/, an archive.
  testing.write_tree(tmp_path / "mine", reviews)
  testing.write_tree(tmp_path / "nested", reviews, prefix="aclImdb")
  archive = testing.write_archive(tmp_path / "imdb.tar.gz", reviews)
  resolve = component_lib.resolve_source
  assert resolve(str(tmp_path / "mine") + "/") == (
      str(tmp_path / "mine"), "*/*/*", "directory")
  assert resolve(str(tmp_path / "nested")) == (
      str(tmp_path / "nested" / "aclImdb"), "*/*/*", "directory")
  assert resolve(archive) == (str(tmp_path), "imdb.tar.gz", "archive")
  # An archive need not exist yet (the run names it); a directory must,
  # as its layout decides the pattern.
  assert resolve(str(tmp_path / "later.tgz")) == (
      str(tmp_path), "later.tgz", "archive")
  missing = str(tmp_path / "missing")
  with pytest.raises(ReviewDataError) as e:
    resolve(missing)
  assert str(e.value) == (f"{missing}: not found (expected a directory or a "
                          ".tar.gz archive of aclImdb-style reviews)")
  # {SPAN}: every span is looked at, the pattern keeps the spec.
  (tmp_path / "archives").mkdir()
  for span in (1, 2):
    testing.write_tree(tmp_path / "spans" / f"span-{span}", reviews,
                       prefix="aclImdb")
    testing.write_archive(tmp_path / "archives" / f"imdb-{span}.tar.gz",
                          reviews)
  assert resolve(str(tmp_path / "spans" / "span-{SPAN}")) == (
      str(tmp_path / "spans"), "span-{SPAN}/aclImdb/*/*/*", "directory")
  assert resolve(str(tmp_path / "archives" / "imdb-{SPAN}.tar.gz")) == (
      str(tmp_path / "archives"), "imdb-{SPAN}.tar.gz", "archive")
  testing.write_tree(tmp_path / "spans" / "span-3", reviews)
  with pytest.raises(ReviewDataError, match="different layouts"):
    resolve(str(tmp_path / "spans" / "span-{SPAN}"))
  with pytest.raises(ReviewDataError, match="not found"):
    resolve(str(tmp_path / "nothing" / "span-{SPAN}"))


def test_resolve_source_checksums_and_urls(tmp_path):
  archive = _archive(tmp_path, n=5, n_test=0, bad=False)
  digest = hashlib.sha256(open(archive, "rb").read()).hexdigest()
  cache = tmp_path / "cache"
  resolve = component_lib.resolve_source
  # A local archive is used in place, checked when sha256 is given.
  assert resolve(archive, str(cache), digest) == (
      str(tmp_path), os.path.basename(archive), "archive")
  assert not cache.exists()
  with pytest.raises(ReviewDataError, match="sha256 mismatch"):
    resolve(archive, str(cache), "0" * 64)
  with pytest.raises(ReviewDataError, match="is a directory"):
    resolve(str(tmp_path), str(cache), digest)
  with pytest.raises(ValueError, match="sha256 checks one archive"):
    resolve(str(tmp_path / "imdb-{SPAN}.tar.gz"), "", digest)
  with pytest.raises(ValueError, match="64 hexadecimal"):
    resolve(archive, str(cache), "abc")
  # A URL is downloaded once into the cache, now, then read as a local file.
  url = "file://" + urllib.request.pathname2url(archive)
  base, pattern, source_format = resolve(url, str(cache), digest)
  assert os.path.join(base, pattern) == fetch_lib.cache_path(url, str(cache))
  assert source_format == "archive"
  with pytest.raises(ReviewDataError, match="download failed"):
    resolve(url + ".gone", str(cache))
  with pytest.raises(ReviewDataError, match="sha256 mismatch"):
    resolve(url, str(tmp_path / "cache2"), "1" * 64)


def test_component_configuration(tmp_path):
  testing.write_tree(tmp_path / "imdb" / "span-7", testing.review_files(3, 3))
  gen = ImdbExampleGen(str(tmp_path / "imdb" / "span-{SPAN}"),
                       eval_fraction=0.25, max_reviews_per_class=9,
                       require_rating=0, seed=3)
  assert gen.id == _ID
  props = gen.exec_properties  # protos as ExampleGen's JSON strings
  assert props["input_base"] == str(tmp_path / "imdb")
  input_config = proto_utils.json_to_proto(props["input_config"],
                                           example_gen_pb2.Input())
  assert [(s.name, s.pattern) for s in input_config.splits] == [
      ("reviews", "span-{SPAN}/*/*/*")]
  assert example_gen_utils.generate_output_split_names(
      input_config, proto_utils.json_to_proto(
          props["output_config"], example_gen_pb2.Output())) == [
              "train", "eval", "test"]
  assert executor_lib.read_custom_config(props["custom_config"]) == {
      "source_format": "directory", "eval_fraction": 0.25,
      "max_reviews_per_class": 9, "require_rating": 0, "seed": 3}
  assert executor_lib.read_custom_config(None) == (
      executor_lib.PARAMETER_DEFAULTS)


def test_source_path(tmp_path):
  for name in ("a", "b"):
    (tmp_path / "imdb" / name).mkdir(parents=True)
  root = str(tmp_path / "imdb" / "a")
  assert executor_lib.source_path(root + "/*/*/*", "directory") == root
  with pytest.raises(ReviewDataError, match="2 directories match"):
    executor_lib.source_path(str(tmp_path / "imdb" / "*") + "/*/*/*",
                             "directory")
  archive = str(tmp_path / "x.tar.gz")
  assert executor_lib.source_path(archive, "archive") == archive


# ---------------------------------------------------------------------------
# LocalDagRunner
# ---------------------------------------------------------------------------


def test_pipeline_archive_splits_features_and_properties(tmp_path):
  source = _archive(tmp_path)
  pipe = _run(tmp_path, "archive", [ImdbExampleGen(source=source)])
  [artifact] = testing_lib.examples_artifacts(pipe)
  assert _split_names(artifact) == ["train", "eval", "test"]
  for split in ("train", "eval", "test"):
    files = glob.glob(os.path.join(artifact.uri, f"Split-{split}", "*"))
    assert files and all(os.path.basename(f).startswith("data_tfrecord-")
                         and f.endswith(".gz") for f in files)
  splits = {s: _read_split(artifact, s) for s in ("train", "eval", "test")}
  # The split that reviews.split_reviews makes of the same reviews.
  want = rv.split_reviews(rv.read_reviews(source), eval_fraction=0.1, seed=42)
  for name, reviews in want.items():
    assert sorted(splits[name]) == sorted(r.review_id for r in reviews)
    by_id = {r.review_id: r for r in reviews}
    for review_id, parsed in list(splits[name].items())[:20]:
      review = by_id[review_id]
      assert parsed["text"].numpy().decode() == review.text
      assert int(parsed["label"]) == review.label
      assert int(parsed["rating"]) == review.rating
      assert parsed["length_bucket"].numpy().decode() == rv.length_bucket(
          review.text)
  assert len(splits["test"]) == 40
  assert len(splits["train"]) + len(splits["eval"]) == 600
  assert 30 <= len(splits["eval"]) <= 90
  props = _properties(artifact)
  assert {k: v for k, v in props.items() if k.startswith("num_examples_")} == {
      f"num_examples_{s}": len(splits[s]) for s in splits}
  for kind in rv.BAD_KINDS:
    assert props[component_lib.bad_property_name(kind)] == 1
  assert props["payload_format"] == "FORMAT_TF_EXAMPLE"
  assert props["file_format"] == "tfrecords_gzip"
  assert "num_files:1" in props[example_gen_utils.FINGERPRINT_PROPERTY_NAME]


def test_pipeline_directory_without_test_and_unrated_names(tmp_path):
  files = dict(testing.review_files(40, 40))
  files.update({"train/pos/my_favourite.txt": "Loved it.",
                "train/neg/worst_ever.txt": "Hated it."})
  source = tmp_path / "mine"
  testing.write_tree(source, files)
  gen = ImdbExampleGen(source=str(source), require_rating=0,
                       eval_fraction=0.25)
  pipe = _run(tmp_path, "mine", [gen])
  [artifact] = testing_lib.examples_artifacts(pipe)
  # No test/ folder: the optional test split is left out.
  assert _split_names(artifact) == ["train", "eval"]
  assert sorted(os.listdir(artifact.uri)) == ["Split-eval", "Split-train"]
  assert "num_examples_test" not in _properties(artifact)
  parsed = {**_read_split(artifact, "train"), **_read_split(artifact, "eval")}
  ratings = {review_id: int(p["rating"]) for review_id, p in parsed.items()}
  assert len(ratings) == 82
  assert ratings["train/pos/my_favourite"] == -1
  assert ratings["train/neg/worst_ever"] == -1
  # With the default require_rating=1 the two files are bad: 2.4% > 1%.
  with pytest.raises(ReviewDataError, match="no rating in file name: 2"):
    _run(tmp_path, "rated", [ImdbExampleGen(source=str(source))])


@pytest.mark.parametrize("as_archive", [False, True])
def test_pipeline_fingerprint_cache_and_reimport(tmp_path, as_archive):
  files = dict(testing.review_files(20, 20))
  if as_archive:
    source = testing.write_archive(tmp_path / "imdb.tar.gz", files)
  else:
    source = testing.write_tree(tmp_path / "imdb", files, prefix="aclImdb")

  def run():
    return _run(tmp_path, "cache", [ImdbExampleGen(source=source)],
                enable_cache=True)

  pipe = run()
  [first] = testing_lib.examples_artifacts(pipe)
  assert "num_files:%d" % (1 if as_archive else 40) in (
      _properties(first)[example_gen_utils.FINGERPRINT_PROPERTY_NAME])

  # Unchanged input: the driver's fingerprint matches, ExampleGen is cached.
  pipe = run()
  assert len(testing_lib.examples_artifacts(pipe)) == 1
  assert (testing_lib.last_execution_state(pipe) ==
          metadata_store_pb2.Execution.CACHED)

  # New bytes at the same path (one review rewritten in place): imported
  # again, a new artifact with the new text.
  files["train/pos/3_10.txt"] = "A new review of a great film, rewritten."
  if as_archive:
    data = open(testing.write_archive(tmp_path / "new.tar.gz", files),
                "rb").read()
    testing_lib.rewrite(source, data)
  else:
    testing_lib.rewrite(
        os.path.join(source, "aclImdb", "train", "pos", "3_10.txt"),
        files["train/pos/3_10.txt"].encode())
  pipe = run()
  old, new = testing_lib.examples_artifacts(pipe)
  assert old.uri != new.uri
  assert (testing_lib.last_execution_state(pipe) ==
          metadata_store_pb2.Execution.COMPLETE)
  assert (_properties(new)[example_gen_utils.FINGERPRINT_PROPERTY_NAME] !=
          _properties(old)[example_gen_utils.FINGERPRINT_PROPERTY_NAME])
  texts = {review_id: p["text"].numpy().decode()
           for split in ("train", "eval")
           for review_id, p in _read_split(new, split).items()}
  assert texts["train/pos/3"] == "A new review of a great film, rewritten."
  old_texts = {**_read_split(old, "train"), **_read_split(old, "eval")}
  assert old_texts["train/pos/3"]["text"].numpy().decode() != (
      texts["train/pos/3"])


@pytest.mark.parametrize("as_archive", [False, True])
def test_pipeline_reads_the_latest_span(tmp_path, as_archive):
  base = tmp_path / "imdb"
  for span, start in ((1, 0), (2, 100)):
    files = testing.review_files(10 + span, 10 + span, start=start)
    if as_archive:
      os.makedirs(base, exist_ok=True)
      testing.write_archive(base / f"imdb-{span}.tar.gz", files)
    else:
      testing.write_tree(base / f"span-{span}", files)
  source = str(base / ("imdb-{SPAN}.tar.gz" if as_archive else "span-{SPAN}"))
  pipe = _run(tmp_path, "spans", [ImdbExampleGen(source, eval_fraction=0.3)])
  [artifact] = testing_lib.examples_artifacts(pipe)
  assert artifact.custom_properties["span"].int_value == 2
  ids = {**_read_split(artifact, "train"), **_read_split(artifact, "eval")}
  # Span 2's 12 + 12 reviews (ids from 100), none of span 1's.
  assert len(ids) == 24
  assert all(int(review_id.rsplit("/", 1)[1]) >= 100 for review_id in ids)


def test_pipeline_url_and_directory_sources_and_statistics(tmp_path):
  archive = _archive(tmp_path)
  digest = hashlib.sha256(open(archive, "rb").read()).hexdigest()
  url = "file://" + urllib.request.pathname2url(archive)
  cache = tmp_path / "cache"
  folder = tmp_path / "folder"
  testing.write_tree(folder, testing.review_files(50, 50), prefix="aclImdb")

  from_url = ImdbExampleGen(source=url, cache_dir=str(cache), sha256=digest,
                            max_reviews_per_class=10,
                            seed=7).with_id("from_url")
  # Downloaded once into the cache, at construction.
  assert os.listdir(cache) == [
      os.path.basename(fetch_lib.cache_path(url, str(cache)))]
  from_dir = ImdbExampleGen(source=str(folder),
                            eval_fraction=0.2).with_id("from_dir")
  stats = StatisticsGen(examples=from_url.outputs["examples"])
  pipe = _run(tmp_path, "imdb", [from_url, from_dir, stats])
  root = tmp_path / "imdb" / "root"

  def split(component_id, name):
    return testing_lib.read_examples(
        str(root / component_id / "examples" / "*" / f"Split-{name}" / "*"),
        _SPEC)

  for name in ("train", "eval", "test"):
    parsed = split("from_url", name)
    assert sorted(int(p["label"]) for p in parsed) == [0] * 10 + [1] * 10
  dir_train, dir_eval = split("from_dir", "train"), split("from_dir", "eval")
  assert len(dir_train) + len(dir_eval) == 100
  assert 8 <= len(dir_eval) <= 35
  assert not glob.glob(str(root / "from_dir" / "examples" / "*" /
                           "Split-test"))

  # The artifacts as recorded in MLMD.
  artifacts = testing_lib.examples_artifacts(pipe)
  assert len(artifacts) == 2
  by_splits = {a.properties["split_names"].string_value: a for a in artifacts}
  assert sorted(json.loads(s) for s in by_splits) == [
      ["train", "eval"], ["train", "eval", "test"]]
  url_props = _properties(by_splits['["train", "eval", "test"]'])
  assert url_props["num_examples_test"] == 20
  assert url_props["num_bad_empty_file"] == 1
  assert url_props["num_bad_duplicate_review_id"] == 1
  dir_props = by_splits['["train", "eval"]'].custom_properties
  assert dir_props["num_examples_train"].int_value == len(dir_train)
  assert dir_props["num_bad_not_utf_8"].int_value == 0

  # StatisticsGen read every split and saw the five features.
  for name in ("train", "eval", "test"):
    [stats_file] = glob.glob(str(root / "StatisticsGen" / "statistics" / "*" /
                                 f"Split-{name}" / "FeatureStats.pb"))
    stats_list = statistics_pb2.DatasetFeatureStatisticsList()
    stats_list.ParseFromString(open(stats_file, "rb").read())
    dataset = stats_list.datasets[0]
    assert dataset.num_examples == 20
    features = {f.path.step[0] for f in dataset.features}
    assert features == {"text", "label", "rating", "review_id",
                        "length_bucket"}


def test_pipeline_data_error_fails_the_run(tmp_path):
  folder = tmp_path / "half"
  testing.write_tree(folder, testing.review_files(20, 0), prefix="aclImdb")
  gen = ImdbExampleGen(source=str(folder))
  with pytest.raises(ReviewDataError) as e:
    _run(tmp_path, "bad", [gen])
  assert str(folder) in str(e.value)
  assert "no train/neg folder" in str(e.value)
  assert not glob.glob(str(tmp_path / "bad" / "root" / _ID / "examples" /
                           "*" / "Split-*" / "*"))


def test_pipeline_missing_archive_fails_the_run(tmp_path):
  missing = tmp_path / "data" / "imdb.tar.gz"
  with pytest.raises(ReviewDataError) as e:
    _run(tmp_path, "missing", [ImdbExampleGen(source=str(missing))])
  assert str(e.value).startswith(f"{missing}: not found")
