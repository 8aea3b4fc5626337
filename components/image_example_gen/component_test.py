"""Tests for ImageExampleGen: parameters, sources and datasets, the example
encoding, and LocalDagRunner runs (splits, features, properties, the input
fingerprint, {SPAN}, the real Fashion-MNIST)."""

import gzip
import hashlib
import json
import os
import urllib.request

import numpy as np
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
from components.common import input_patterns
from components.image_example_gen import ImageDataError
from components.image_example_gen import ImageExampleGen
from components.image_example_gen import component as component_lib
from components.image_example_gen import dataset_source
from components.image_example_gen import executor as executor_lib
from components.image_example_gen import images as images_lib
from components.image_example_gen import testing
from preprocessing import image_contract as contract

_ID = component_lib.COMPONENT_ID
_SPLITS = ["train", "eval", "test"]


def _pipeline(tmp_path, name, components, enable_cache=False):
  # components.common.testing.pipeline, with caching as a choice.
  return tfx_pipeline.Pipeline(
      pipeline_name=name, pipeline_root=str(tmp_path / name / "root"),
      metadata_connection_config=metadata.sqlite_metadata_connection_config(
          str(tmp_path / name / "metadata.sqlite")),
      components=components, enable_cache=enable_cache)


def _run(tmp_path, name, gen, enable_cache=False):
  pipe = _pipeline(tmp_path, name, [gen], enable_cache)
  LocalDagRunner().run(pipe)
  return pipe


def _examples_artifacts(pipe):
  with metadata.Metadata(pipe.metadata_connection_config) as m:
    return sorted(m.store.get_artifacts_by_type("Examples"),
                  key=lambda a: a.id)


def _last_execution_state(pipe):
  with metadata.Metadata(pipe.metadata_connection_config) as m:
    executions = sorted(m.store.get_executions(), key=lambda e: e.id)
  return executions[-1].last_known_state


def _read_split(artifact, split, shape):
  """The split's examples as sorted (label, pixels) records."""
  size = int(np.prod(shape))
  spec = {contract.IMAGE: tf.io.FixedLenFeature([size], tf.int64),
          contract.LABEL: tf.io.FixedLenFeature([], tf.int64)}
  files = sorted(tf.io.gfile.glob(
      os.path.join(artifact.uri, f"Split-{split}", "*")))
  assert files, split
  records = []
  for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
    parsed = tf.io.parse_single_example(record, spec)
    records.append((int(parsed[contract.LABEL]),
                    tuple(parsed[contract.IMAGE].numpy().tolist())))
  return sorted(records)


def _properties(artifact):
  return {k: v.int_value if v.HasField("int_value") else v.string_value
          for k, v in artifact.custom_properties.items()}


def _idx_source(folder, n_train=12, n_test=4, tag=0):
  x, y = testing.images(n_train, start=tag), testing.labels(n_train)
  xt, yt = testing.images(n_test, start=tag + 100), testing.labels(n_test)
  testing.write_idx(folder, "train", x, y)
  if n_test:
    testing.write_idx(folder, "t10k", xt, yt, gz=False)
  return x, y, xt, yt


def _file_url(path):
  return "file://" + urllib.request.pathname2url(str(path))


# ---------------------------------------------------------------------------
# Parameters, sources and datasets (no pipeline run)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, name, value", [
    ({"source": " "}, "source", "' '"),
    ({"eval_images": 0}, "eval_images", "0"),
    ({"test_images": -1}, "test_images", "-1"),
    ({"max_images": -1}, "max_images", "-1"),
    ({"max_images": 5000}, "max_images", "5000"),
    ({"max_images": 30, "eval_images": 20, "test_images": 10}, "max_images",
     "30"),
    ({"image_shape": (28, 28)}, "image_shape", "(28, 28)"),
    ({"image_shape": (28, 0, 1)}, "image_shape", "(28, 0, 1)"),
    ({"image_shape": "28x28"}, "image_shape", "'28x28'"),
    ({"source_format": "tiff"}, "source_format", "'tiff'"),
    ({"classes": (5,)}, "classes", "(5,)"),
    ({"classes": (5, 5)}, "classes", "(5, 5)"),
    ({"classes": (5, -1)}, "classes", "(5, -1)"),
    ({"train_limit": -2}, "train_limit", "-2"),
])
def test_parameter_validation(tmp_path, kwargs, name, value):
  kwargs = dict({"source": str(tmp_path / "d.npz")}, **kwargs)
  with pytest.raises(ValueError) as e:
    ImageExampleGen(**kwargs)
  assert not isinstance(e.value, ImageDataError)
  msg = str(e.value)
  assert msg.startswith("parameter") and name in msg and value in msg, msg


def test_component_configuration(tmp_path):
  _idx_source(tmp_path / "fmnist" / "span-1")
  gen = ImageExampleGen(str(tmp_path / "fmnist" / "span-{SPAN}"),
                        eval_images=3, test_images=0, max_images=9,
                        image_shape=(4, 3, 1))
  assert gen.id == _ID
  props = gen.exec_properties  # protos as ExampleGen's JSON strings
  assert props["input_base"] == str(tmp_path / "fmnist")
  input_config = proto_utils.json_to_proto(props["input_config"],
                                           example_gen_pb2.Input())
  assert [(s.name, s.pattern) for s in input_config.splits] == [
      ("images", "span-{SPAN}/*-ubyte*")]
  assert example_gen_utils.generate_output_split_names(
      input_config, proto_utils.json_to_proto(
          props["output_config"], example_gen_pb2.Output())) == _SPLITS
  assert executor_lib.read_custom_config(props["custom_config"]) == {
      "source_format": "idx", "eval_images": 3, "test_images": 0,
      "max_images": 9, "image_shape": [4, 3, 1], "classes": [],
      "train_limit": 0}
  assert executor_lib.read_custom_config(None) == (
      executor_lib.PARAMETER_DEFAULTS)
  with pytest.raises(ValueError, match="unknown parameters"):
    executor_lib.make_custom_config(seed=1)


def test_resolve_source_detects_the_format(tmp_path):
  _idx_source(tmp_path / "idx")
  npz = testing.write_npz(tmp_path / "m.npz", x_train=testing.images(3),
                          y_train=testing.labels(3))
  testing.write_folder(tmp_path / "flowers", "train",
                       {"rose": testing.images(1)})
  _idx_source(tmp_path / "spans" / "span-1")
  _idx_source(tmp_path / "spans" / "span-2")
  resolve = component_lib.resolve_source
  assert resolve(str(tmp_path / "idx")) == (str(tmp_path / "idx"),
                                            "*-ubyte*", "idx")
  assert resolve(str(tmp_path / "idx") + "/") == (str(tmp_path / "idx"),
                                                  "*-ubyte*", "idx")
  assert resolve(npz) == (str(tmp_path), "m.npz", "npz")
  assert resolve(str(tmp_path / "flowers")) == (str(tmp_path / "flowers"),
                                                "*/*/*", "folder")
  assert resolve(str(tmp_path / "spans" / "span-{SPAN}")) == (
      str(tmp_path / "spans"), "span-{SPAN}/*-ubyte*", "idx")
  # Not there yet: a .npz name says it, else source_format must.
  assert resolve(str(tmp_path / "later" / "d-{SPAN}.npz")) == (
      str(tmp_path / "later"), "d-{SPAN}.npz", "npz")
  assert resolve(str(tmp_path / "later"), source_format="folder") == (
      str(tmp_path / "later"), "*/*/*", "folder")
  missing = str(tmp_path / "later")
  msg = str(pytest.raises(ImageDataError, resolve, missing).value)
  assert msg.startswith(f"{missing}: not found, so its format cannot be told "
                        "at pipeline construction; create it first, or pass "
                        "source_format (idx, npz, folder)")
  os.makedirs(tmp_path / "empty")
  with pytest.raises(ImageDataError, match="neither IDX files"):
    resolve(str(tmp_path / "empty"))
  text = testing.write(tmp_path / "a.txt", b"x")
  with pytest.raises(ImageDataError, match="a file, but not a .npz"):
    resolve(text)
  os.makedirs(tmp_path / "mixed" / "span-1" / "train")
  _idx_source(tmp_path / "mixed" / "span-2")
  with pytest.raises(ImageDataError, match="matches sources of different "
                     "formats"):
    resolve(str(tmp_path / "mixed" / "span-{SPAN}"))


def test_resolve_source_checksums_and_urls(tmp_path):
  npz = testing.write_npz(tmp_path / "src" / "m.npz",
                          x_train=testing.images(3), y_train=testing.labels(3))
  digest = fetch_lib.file_sha256(npz)
  cache = tmp_path / "cache"
  resolve = component_lib.resolve_source
  # A local file is used in place (checked when sha256 is given).
  assert resolve(npz, str(cache), digest)[:2] == (str(tmp_path / "src"),
                                                  "m.npz")
  assert not cache.exists()
  with pytest.raises(ImageDataError, match="sha256 mismatch"):
    resolve(npz, str(cache), "0" * 64)
  with pytest.raises(ValueError, match="sha256 checks one file; source is a "
                     "directory"):
    resolve(str(tmp_path / "src"), "", digest)
  with pytest.raises(ValueError, match="sha256 checks one file; source is a "
                     "pattern"):
    resolve(str(tmp_path / "*.npz"), "", digest)
  with pytest.raises(ValueError, match="dataset 'mnist' is checked"):
    resolve("mnist", str(cache), digest)
  # A URL is downloaded once into the cache, then read as a local file.
  url = _file_url(npz)
  base, pattern, source_format = resolve(url, str(cache), digest)
  assert os.path.join(base, pattern) == fetch_lib.cache_path(url, str(cache))
  assert source_format == "npz"
  with pytest.raises(ImageDataError, match="sha256 mismatch"):
    resolve(_file_url(npz), str(tmp_path / "cache2"), "1" * 64)
  with pytest.raises(ImageDataError, match="download failed"):
    resolve(url + ".gone", str(cache))
  gen = ImageExampleGen(url, cache_dir=str(cache), sha256=digest,
                        eval_images=1)
  assert gen.exec_properties["input_base"] == str(cache)


def test_spec_glob():
  assert input_patterns.spec_glob("/d/span-{SPAN}/v{VERSION}/{YYYY}{MM}") == (
      "/d/span-*/v*/**")
  assert input_patterns.spec_glob("/d/{SPAN:3}/x") == "/d/*/x"


def _mirror(folder, files):
  for name, data in files.items():
    testing.write(os.path.join(folder, name), data)
  return _file_url(folder) + "/"


def test_dataset_source_downloads_and_checks(tmp_path, monkeypatch):
  # MNIST's mirror file, with a checksum for a tiny stand-in.
  data = open(testing.write_npz(tmp_path / "tiny.npz",
                                x_train=testing.images(6),
                                y_train=testing.labels(6)), "rb").read()
  digest = hashlib.sha256(data).hexdigest()
  mirror = _mirror(tmp_path / "mirror", {contract.MNIST_NPZ: data})
  cache = tmp_path / "cache"
  with monkeypatch.context() as patch:
    patch.setitem(contract.DATASETS, "mnist",
                  (contract.MNIST_CLASSES, {contract.MNIST_NPZ: digest}))
    path = dataset_source("mnist", str(cache), base_url=mirror)
    assert path.endswith("-mnist.npz") and open(path, "rb").read() == data
    assert dataset_source("mnist", str(cache), base_url=mirror) == path
  # The real checksums: a mirror serving other bytes fails, names the URL.
  with pytest.raises(ImageDataError) as e:
    dataset_source("mnist", str(tmp_path / "cache2"), base_url=mirror)
  assert str(e.value).startswith(f"{mirror}mnist.npz: sha256 mismatch: "
                                 f"expected {contract.MNIST_NPZ_SHA256}")
  with pytest.raises(ImageDataError, match="download failed"):
    dataset_source("fashion_mnist", str(cache), base_url=mirror)
  # A local path instead of a name.
  assert dataset_source(str(tmp_path / "mirror")) == str(tmp_path / "mirror")
  with pytest.raises(ImageDataError, match="not found"):
    dataset_source(str(tmp_path / "nowhere"))
  with pytest.raises(ValueError, match="dataset name"):
    dataset_source("https://example.com/d.npz")


class _FakeResponse:
  """What urlopen returns, enough for fetch: read(n), headers, a context."""

  def __init__(self, data):
    self._data, self._at = data, 0
    self.headers = {"Content-Length": str(len(data))}

  def read(self, n=-1):
    n = len(self._data) - self._at if n is None or n < 0 else n
    chunk = self._data[self._at:self._at + n]
    self._at += len(chunk)
    return chunk

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    return False


def test_dataset_source_fashion_mnist_from_the_keras_mirror(tmp_path,
                                                            monkeypatch):
  # The real files behind a fake https mirror: the contract's SHA-256s hold.
  from tests.pipeline_outputs import shared_dataset  # skips when missing
  shared = shared_dataset("fashion-mnist")
  calls = []

  def fake_urlopen(url, timeout=None):
    calls.append(url)
    assert url.startswith(contract.KERAS_DATASETS_URL)
    name = url[len(contract.KERAS_DATASETS_URL):]
    return _FakeResponse(open(os.path.join(shared, name), "rb").read())
  monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
  cache = tmp_path / "cache"
  folder = dataset_source("fashion_mnist", str(cache))
  assert os.path.dirname(folder) == str(cache)
  assert os.path.basename(folder).startswith("fashion_mnist-")
  assert sorted(calls) == sorted(contract.KERAS_DATASETS_URL + name
                                 for name in contract.FASHION_MNIST_SHA256)
  assert len(os.listdir(folder)) == 4
  assert dataset_source("fashion_mnist", str(cache)) == folder
  assert len(calls) == 4  # cached
  base, pattern, source_format = component_lib.resolve_source(
      "fashion_mnist", str(cache))
  assert (base, pattern, source_format) == (folder, "*-ubyte*", "idx")
  pairs = images_lib.idx_pairs(
      [os.path.join(folder, f) for f in os.listdir(folder)])
  assert list(pairs) == ["train", "test"]


def test_serialize_examples_matches_tf_train_example():
  rng = np.random.RandomState(0)
  for shape, labels in [((3, 4, 5, 1), [0, 127, 128]), ((2, 2, 3, 3),
                                                        [300, 2**40]),
                        ((1, 1, 1, 1), [9])]:
    images = rng.randint(0, 256, shape).astype(np.uint8)
    images.flat[0], images.flat[-1] = 0, 255
    records = executor_lib.serialize_examples(images,
                                              np.array(labels, np.int64))
    for record, image, label in zip(records, images, labels):
      assert tf.train.Example.FromString(record) == executor_lib.to_example(
          image, label)
  assert executor_lib.serialize_examples(np.zeros((0, 2, 2, 1), np.uint8),
                                         np.zeros(0, np.int64)) == []
  example = executor_lib.to_example(np.array([[[1], [2]]], np.uint8), 3)
  features = example.features.feature
  assert sorted(features) == [contract.IMAGE, contract.LABEL]
  assert features[contract.IMAGE].int64_list.value == [1, 2]


# ---------------------------------------------------------------------------
# LocalDagRunner
# ---------------------------------------------------------------------------


def test_pipeline_idx_splits_properties_and_fingerprint_cache(tmp_path):
  source = tmp_path / "data"
  x, y, xt, yt = _idx_source(source)

  def run():
    return _run(tmp_path, "idx", ImageExampleGen(str(source), eval_images=4),
                enable_cache=True)

  pipe = run()
  [artifact] = _examples_artifacts(pipe)
  assert json.loads(artifact.properties["split_names"].string_value) == (
      _SPLITS)
  assert sorted(os.listdir(artifact.uri)) == [
      "Split-eval", "Split-test", "Split-train"]
  assert _read_split(artifact, "train", (4, 3)) == testing.records(x[:8],
                                                                   y[:8])
  assert _read_split(artifact, "eval", (4, 3)) == testing.records(x[8:],
                                                                  y[8:])
  assert _read_split(artifact, "test", (4, 3)) == testing.records(xt, yt)
  props = _properties(artifact)
  assert {k: v for k, v in props.items() if k.startswith(("num_", "image_"))
          } == {"num_examples_train": 8, "num_examples_eval": 4,
                "num_examples_test": 4, "num_classes": 3, "image_height": 4,
                "image_width": 3, "image_channels": 1}
  assert "class_names" not in props
  assert props["payload_format"] == "FORMAT_TF_EXAMPLE"
  assert props["file_format"] == "tfrecords_gzip"
  assert "num_files:4" in props[example_gen_utils.FINGERPRINT_PROPERTY_NAME]

  # Unchanged input: the driver's fingerprint matches, ExampleGen is cached.
  pipe = run()
  assert len(_examples_artifacts(pipe)) == 1
  assert _last_execution_state(pipe) == metadata_store_pb2.Execution.CACHED

  # New bytes at the same path: a new fingerprint, a new import. TFX's
  # fingerprint is size and mtime in whole seconds, so move the mtime on.
  x2 = testing.images(12, start=50)
  images_path, _ = testing.write_idx(source, "train", x2, y)
  mtime = os.stat(images_path).st_mtime + 10
  os.utime(images_path, (mtime, mtime))
  pipe = run()
  old, new = _examples_artifacts(pipe)
  assert old.uri != new.uri
  assert (new.custom_properties["input_fingerprint"].string_value !=
          old.custom_properties["input_fingerprint"].string_value)
  assert _read_split(new, "train", (4, 3)) == testing.records(x2[:8], y[:8])


def test_pipeline_npz_holds_out_test_images(tmp_path):
  x, y = testing.images(10, (2, 2, 3)), testing.labels(10, 5)
  npz = testing.write_npz(tmp_path / "d.npz", x_train=x, y_train=y)
  gen = ImageExampleGen(npz, eval_images=3, test_images=2,
                        image_shape=(2, 2, 3))
  [artifact] = _examples_artifacts(_run(tmp_path, "npz", gen))
  shape = (2, 2, 3)
  assert _read_split(artifact, "train", shape) == testing.records(x[:5], y[:5])
  assert _read_split(artifact, "eval", shape) == testing.records(x[5:8],
                                                                 y[5:8])
  assert _read_split(artifact, "test", shape) == testing.records(x[8:], y[8:])
  props = _properties(artifact)
  assert (props["image_channels"], props["num_classes"]) == (3, 5)


def test_pipeline_selects_classes_and_limits_train(tmp_path):
  # The book's transfer task B: two classes, relabelled, few train images.
  x, y = testing.images(20, (2, 2, 1)), np.arange(20) % 4
  xt, yt = testing.images(8, (2, 2, 1), start=50), np.arange(8) % 4
  npz = testing.write_npz(tmp_path / "d.npz", x_train=x, y_train=y,
                          x_test=xt, y_test=yt)
  gen = ImageExampleGen(npz, eval_images=8, classes=(3, 1), train_limit=2)
  [artifact] = _examples_artifacts(_run(tmp_path, "classes", gen))
  shape = (2, 2, 1)
  relabel = {3: 0, 1: 1}
  def expect(images, labels, limit=None):
    keep = np.flatnonzero(np.isin(labels, [3, 1]))[:limit]
    return testing.records(images[keep], np.array([relabel[v] for v in labels[keep]]))
  assert _read_split(artifact, "train", shape) == expect(x[:12], y[:12], 2)
  assert _read_split(artifact, "eval", shape) == expect(x[12:], y[12:])
  assert _read_split(artifact, "test", shape) == expect(xt, yt)
  props = _properties(artifact)
  assert (props["num_classes"], props["num_examples_train"]) == (2, 2)


def test_pipeline_folder_of_images_with_max_images(tmp_path):
  root = tmp_path / "pets"
  testing.write_folder(root, "train", {"dog": testing.images(5),
                                       "cat": testing.images(5, start=20)})
  testing.write_folder(root, "test", {"cat": testing.images(3, start=40)})
  gen = ImageExampleGen(str(root), eval_images=2, max_images=6)
  [artifact] = _examples_artifacts(_run(tmp_path, "folder", gen))
  data = images_lib.load_images(
      tf.io.gfile.glob(str(root / "*" / "*" / "*")), "folder", max_images=6)
  splits = images_lib.split_images(data, eval_images=2)
  for split in _SPLITS:
    assert _read_split(artifact, split, (4, 3)) == testing.records(
        *splits[split])
  props = _properties(artifact)
  assert json.loads(props["class_names"]) == ["cat", "dog"]
  assert (props["num_examples_train"], props["num_examples_eval"],
          props["num_examples_test"], props["num_classes"]) == (4, 2, 3, 2)


def test_pipeline_reads_the_latest_span(tmp_path):
  base = tmp_path / "fmnist"
  _idx_source(base / "span-1", tag=0)
  x, y, xt, yt = _idx_source(base / "span-2", n_train=9, n_test=2, tag=7)
  gen = ImageExampleGen(str(base / "span-{SPAN}"), eval_images=3)
  [artifact] = _examples_artifacts(_run(tmp_path, "spans", gen))
  assert artifact.custom_properties["span"].int_value == 2
  assert _read_split(artifact, "train", (4, 3)) == testing.records(x[:6],
                                                                   y[:6])
  assert _read_split(artifact, "test", (4, 3)) == testing.records(xt, yt)


@pytest.mark.parametrize("case, problem", [
    ("no_test", "has no test images"),
    ("shape", "image_shape expects 28x28x1"),
    ("labels", "12 images, but"),
])
def test_pipeline_fails_on_bad_data(tmp_path, case, problem):
  source = tmp_path / "data"
  _idx_source(source, n_test=0 if case == "no_test" else 4)
  kwargs = {"eval_images": 2}
  if case == "shape":
    kwargs["image_shape"] = (28, 28, 1)
  if case == "labels":
    testing.write_idx(source, "train", testing.images(12),
                      testing.labels(11))
  gen = ImageExampleGen(str(source), **kwargs)
  with pytest.raises(ImageDataError, match=problem):
    LocalDagRunner().run(_pipeline(tmp_path, case, [gen]))


def test_pipeline_reads_the_real_fashion_mnist(tmp_path):
  from tests.pipeline_outputs import shared_dataset  # skips when missing
  folder = shared_dataset("fashion-mnist")
  gen = ImageExampleGen(folder, eval_images=20, max_images=50,
                        image_shape=contract.DEFAULT_SHAPE)
  [artifact] = _examples_artifacts(_run(tmp_path, "fmnist", gen))

  def direct(name, offset):  # a direct parse of the IDX file
    with gzip.open(os.path.join(folder, name)) as f:
      return np.frombuffer(f.read(), np.uint8, offset=offset)
  x = direct("train-images-idx3-ubyte.gz", 16).reshape(-1, 784)
  y = direct("train-labels-idx1-ubyte.gz", 8)
  xt = direct("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784)
  yt = direct("t10k-labels-idx1-ubyte.gz", 8)
  assert y[:5].tolist() == [9, 0, 0, 3, 0]  # the published first labels
  shape = contract.DEFAULT_SHAPE
  assert _read_split(artifact, "train", shape) == testing.records(x[:30],
                                                                  y[:30])
  assert _read_split(artifact, "eval", shape) == testing.records(x[30:50],
                                                                 y[30:50])
  assert _read_split(artifact, "test", shape) == testing.records(xt[:50],
                                                                 yt[:50])
  props = _properties(artifact)
  assert (props["num_examples_train"], props["num_classes"],
          props["image_height"], props["image_width"]) == (30, 10, 28, 28)


def test_unreachable_source_asks_for_source_format(monkeypatch):
  def unreachable(path):
    raise tf.errors.UnavailableError(None, None, "Could not resolve host\nmore")
  monkeypatch.setattr(component_lib.fileio, "exists", unreachable)
  with pytest.raises(ImageDataError, match=r"gs://bucket/fmnist: cannot be looked at from here "
                                           r"\(Could not resolve host\).*pass source_format"):
    component_lib.resolve_source("gs://bucket/fmnist")
  # Named, nothing is looked at.
  assert component_lib.resolve_source("gs://bucket/fmnist", source_format="idx") == (
      "gs://bucket/fmnist", "*-ubyte*", "idx")
