"""Tests for the two ExampleGen components (direct calls and LocalDagRunner)."""

import glob
import json

import numpy as np
import pytest

from components.common import testing as testing_lib
import tensorflow as tf
from tfx.components.statistics_gen.component import StatisticsGen
from tfx.components.util import examples_utils
from tfx.orchestration import metadata
from tfx.orchestration.local.local_dag_runner import LocalDagRunner
from tfx_bsl.tfxio import dataset_util

from components.series_example_gen import CsvSeriesExampleGen
from components.series_example_gen import SeriesDataError
from components.series_example_gen import SyntheticSeriesExampleGen
from ml_metadata.proto import metadata_store_pb2
from tensorflow_metadata.proto.v0 import statistics_pb2

_SPEC = {
    "series": tf.io.VarLenFeature(tf.float32),
    "target": tf.io.VarLenFeature(tf.float32),
    "series_id": tf.io.FixedLenFeature([], tf.string),
}


def _long_csv(path, n_series=30, length=16):
  lines = ["series_id,timestamp,value"]
  for s in range(n_series):
    for t in reversed(range(length)):
      lines.append(f"s{s},{t},{np.sin(s + t / 3):.5f}")
  path.write_text("\n".join(lines) + "\n")
  return str(path)


@pytest.mark.parametrize("factory, kwargs, name, value", [
    (SyntheticSeriesExampleGen, {"n_series": 9}, "n_series", 9),
    (SyntheticSeriesExampleGen, {"n_steps": 7}, "n_steps", 7),
    (SyntheticSeriesExampleGen, {"horizon": 0}, "horizon", 0),
    (SyntheticSeriesExampleGen, {"num_shards": 0}, "num_shards", 0),
    (CsvSeriesExampleGen, {"stride": 0}, "stride", 0),
    (CsvSeriesExampleGen, {"n_steps": 3}, "n_steps", 3),
    (CsvSeriesExampleGen, {"split_by": "random"}, "split_by", "'random'"),
])
def test_parameter_validation(tmp_path, factory, kwargs, name, value):
  with pytest.raises(ValueError) as e:
    if factory is CsvSeriesExampleGen:  # a FileBasedExampleGen: checked when built
      factory(csv_path=str(tmp_path / "unused.csv"), **kwargs)
    else:
      factory.test_call(examples=testing_lib.examples_artifact(tmp_path), **kwargs)
  assert f"parameter {name}" in str(e.value) and str(value) in str(e.value)


def test_synthetic_direct_call_sets_artifact(tmp_path):
  examples = testing_lib.examples_artifact(tmp_path / "out")
  SyntheticSeriesExampleGen.test_call(examples=examples, n_series=20,
                                      n_steps=10, horizon=3, num_shards=2)
  assert json.loads(examples.split_names) == ["train", "eval", "test"]
  assert examples.splits == ["train", "eval", "test"]
  # What downstream components resolve from the artifact.
  assert examples_utils.get_payload_format_string(examples) == "FORMAT_TF_EXAMPLE"
  assert examples_utils.get_file_format(examples) == "tfrecords_gzip"
  assert examples.get_int_custom_property("n_steps") == 10
  assert examples.get_int_custom_property("horizon") == 3
  sizes = {}
  for split in examples.splits:
    [pattern] = examples_utils.get_split_file_patterns([examples], split)
    assert dataset_util.detect_compression_type([pattern]).numpy() == b"GZIP"
    parsed = testing_lib.read_examples(pattern, _SPEC)
    sizes[split] = len(parsed)
    assert tf.sparse.to_dense(parsed[0]["series"]).shape == (10,)
    assert tf.sparse.to_dense(parsed[0]["target"]).shape == (3,)
  assert sizes == {"train": 14, "eval": 4, "test": 2}


def test_local_dag_runner_pipeline(tmp_path):
  csv_path = _long_csv(tmp_path / "series.csv")
  synthetic = SyntheticSeriesExampleGen(n_series=50, n_steps=12, horizon=4,
                                        num_shards=2)
  from_csv = CsvSeriesExampleGen(csv_path=csv_path, layout="long", n_steps=8,
                                 horizon=2, stride=1, split_by="time")
  stats = StatisticsGen(examples=from_csv.outputs["examples"])
  pipe = testing_lib.pipeline(tmp_path, "series", [synthetic, from_csv, stats])
  LocalDagRunner().run(pipe)

  root = tmp_path / "series" / "root"
  train = testing_lib.read_examples(
      str(root / "SyntheticSeriesExampleGen" / "examples" / "*" / "Split-train" / "*"), _SPEC)
  assert len(train) == 35
  assert tf.sparse.to_dense(train[0]["series"]).shape == (12,)
  ids = sorted(ex["series_id"].numpy().decode() for ex in train)
  assert ids == [f"synthetic-{i:06d}" for i in range(35)]

  # 16 steps, window 8 + 2, stride 1 -> 7 windows per series, split in time
  # 4 / 2 / 1 (cumulative floors of 4.9 and 6.3); 30 series.
  csv_counts = {
      split: len(testing_lib.read_examples(
          str(root / "CsvSeriesExampleGen" / "examples" / "*" / f"Split-{split}" / "*"), _SPEC))
      for split in ("train", "eval", "test")}
  assert csv_counts == {"train": 120, "eval": 60, "test": 30}

  # The artifacts as recorded in MLMD.
  with metadata.Metadata(pipe.metadata_connection_config) as m:
    artifacts = m.store.get_artifacts_by_type("Examples")
  assert len(artifacts) == 2
  for a in artifacts:
    assert json.loads(a.properties["split_names"].string_value) == [
        "train", "eval", "test"]
    assert a.custom_properties["payload_format"].string_value == (
        "FORMAT_TF_EXAMPLE")
    assert a.custom_properties["file_format"].string_value == "tfrecords_gzip"

  # StatisticsGen read every split of the CSV artifact.
  for split in ("train", "eval", "test"):
    [stats_file] = glob.glob(str(root / "StatisticsGen" / "statistics" / "*" /
                                 f"Split-{split}" / "FeatureStats.pb"))
    stats_list = statistics_pb2.DatasetFeatureStatisticsList()
    stats_list.ParseFromString(open(stats_file, "rb").read())
    dataset = stats_list.datasets[0]
    assert dataset.num_examples > 0
    features = {f.path.step[0]: f for f in dataset.features}
    assert sorted(features) == ["series", "series_id", "target"]
    assert features["series"].num_stats.common_stats.avg_num_values == 8
    assert features["target"].num_stats.common_stats.avg_num_values == 2


def test_local_dag_runner_csv_error_fails_the_run(tmp_path):
  bad = tmp_path / "bad.csv"
  bad.write_text("series_id,timestamp,value\na,1,0.5\na,2,oops\n")
  gen = CsvSeriesExampleGen(csv_path=str(bad), layout="long")
  with pytest.raises(SeriesDataError) as e:
    LocalDagRunner().run(testing_lib.pipeline(tmp_path, "bad", [gen]))
  assert str(bad) in str(e.value)
  assert "row 3" in str(e.value) and "'oops'" in str(e.value)
  assert not glob.glob(str(tmp_path / "bad" / "root" / "CsvSeriesExampleGen" /
                           "examples" / "*" / "Split-*" / "*"))


def test_csv_fingerprint_reimports_changed_bytes_and_caches_unchanged(tmp_path):
  csv_path = _long_csv(tmp_path / "series.csv")

  def run():
    gen = CsvSeriesExampleGen(csv_path=csv_path, n_steps=8, horizon=2, split_by="time")
    pipe = testing_lib.pipeline(tmp_path, "csv", [gen], enable_cache=True)
    LocalDagRunner().run(pipe)
    return pipe

  pipe = run()
  [first] = testing_lib.examples_artifacts(pipe)
  assert first.custom_properties["n_steps"].int_value == 8
  assert first.custom_properties["num_examples_train"].int_value == 120
  assert "num_files:1" in first.custom_properties["input_fingerprint"].string_value

  pipe = run()  # unchanged bytes: the same fingerprint, nothing re-imported
  assert len(testing_lib.examples_artifacts(pipe)) == 1
  assert testing_lib.last_execution_state(pipe) == metadata_store_pb2.Execution.CACHED

  # New bytes at the same path (more series): imported again.
  testing_lib.rewrite(csv_path, open(_long_csv(tmp_path / "more.csv", n_series=40), "rb").read())
  pipe = run()
  old, new = testing_lib.examples_artifacts(pipe)
  assert new.uri != old.uri
  assert new.custom_properties["num_examples_train"].int_value == 160


def test_csv_reads_the_latest_span_and_every_file_of_it(tmp_path):
  for span, n_series in ((1, 30), (2, 20)):
    folder = tmp_path / "sales" / f"span-{span}"
    folder.mkdir(parents=True)
    _long_csv(folder / "a.csv", n_series=n_series)
  # A second file of span 2 with other series ids.
  (tmp_path / "sales" / "span-2" / "b.csv").write_text(
      "series_id,timestamp,value\n" + "".join(
          f"b{s},{t},{np.cos(s + t):.4f}\n" for s in range(10) for t in range(16)))
  gen = CsvSeriesExampleGen(csv_path=str(tmp_path / "sales" / "span-{SPAN}" / "*.csv"),
                            n_steps=8, horizon=2, split_by="time")
  pipe = testing_lib.pipeline(tmp_path, "spans", [gen])
  LocalDagRunner().run(pipe)
  [artifact] = testing_lib.examples_artifacts(pipe)
  assert artifact.custom_properties["span"].int_value == 2
  # 30 series of 7 windows: 4 train each.
  assert artifact.custom_properties["num_examples_train"].int_value == 30 * 4
  ids = {ex["series_id"].numpy().decode().split("@")[0] for ex in testing_lib.read_examples(
      str(tmp_path / "spans" / "root" / "CsvSeriesExampleGen" / "examples" / "*" / "Split-train" / "*"),
      _SPEC)}
  assert {f"b{s}" for s in range(10)} <= ids and "s25" not in ids


def test_csv_same_series_in_two_files_is_refused(tmp_path):
  _long_csv(tmp_path / "a.csv", n_series=12)
  _long_csv(tmp_path / "b.csv", n_series=12)
  gen = CsvSeriesExampleGen(csv_path=str(tmp_path / "*.csv"), n_steps=8, horizon=2)
  with pytest.raises(SeriesDataError, match=r"series 's0' also appears in .*a\.csv"):
    LocalDagRunner().run(testing_lib.pipeline(tmp_path, "dup", [gen]))
