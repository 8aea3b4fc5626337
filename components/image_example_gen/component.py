"""``ImageExampleGen``: TFX's ``FileBasedExampleGen`` with the image executor
(``executor.py``).

Built on the file-based ExampleGen rather than as a component of our own, so
that TFX's driver does what it does for every file-based ExampleGen:

* it resolves ``{SPAN}``/``{VERSION}`` (and ``{YYYY}{MM}{DD}``) patterns to
  the latest span (or the one a ``range_config`` names) and records ``span``
  on the ``Examples`` artifact;
* it records the input fingerprint (number, sizes and modification times of
  the matching files), so with caching on, a run over unchanged files reuses
  the last artifact and new bytes at the same path are imported again.

For that, the one input split's pattern must match every data file, so the
source's format is decided here, at pipeline construction: a directory of
IDX files -> ``<dir>/*-ubyte*``; a ``.npz`` file -> that file; a folder of
images (it has a ``train/`` folder) -> ``<root>/*/*/*``.

The output is what TFX's ExampleGen writes (``Split-<name>/`` folders of GZIP
TFRecords of ``tf.train.Example``, ``payload_format``/``file_format``), so
StatisticsGen, Transform and Evaluator read it unchanged. Features:
``contract.IMAGE`` (int64 list of H*W*C pixels 0..255, row-major HWC) and
``contract.LABEL`` (int64). Splits: train, eval, test. Custom properties:
``num_examples_<split>``, ``image_height``, ``image_width``,
``image_channels``, ``num_classes`` (and ``class_names``, JSON, for a folder
of images).
"""

from __future__ import annotations

import hashlib
import os
from typing import Optional, Sequence, Tuple

import tensorflow as tf
from tfx.components import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2

from components.common import fetch as fetch_lib
from components.common import input_patterns
from components.image_example_gen import executor as executor_lib
from components.image_example_gen import images as images_lib
from components.image_example_gen.images import ImageDataError
from preprocessing import image_contract as contract

COMPONENT_ID = "ImageExampleGen"
INPUT_SPLIT = "images"  # the one input split: every data file of the source

# What the pattern adds to the source path, per format.
PATTERN_SUFFIX = {images_lib.IDX: "*-ubyte*", images_lib.FOLDER: "*/*/*",
                  images_lib.NPZ: ""}
SPLITS = (contract.TRAIN, contract.EVAL, contract.TEST)
_DATASET_NAMES = ", ".join(sorted(contract.DATASETS))


def _check_int(name: str, value: int, minimum: int) -> None:
  if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
    raise ValueError(f"parameter {name} must be an integer >= {minimum}, got "
                     f"{value!r}")


def validate_parameters(*, source: str = "unused",
                        eval_images: int = contract.EVAL_IMAGES,
                        test_images: int = 0, max_images: int = 0,
                        image_shape: Optional[Sequence[int]] = None,
                        source_format: str = "", classes: Sequence[int] = (),
                        train_limit: int = 0) -> None:
  """Raises ValueError naming the first bad parameter and its value."""
  if not isinstance(source, str) or not source.strip():
    raise ValueError(
        f"parameter source must be a dataset name ({_DATASET_NAMES}), a "
        "directory of IDX files, "
        "a folder of images, a .npz file, a path pattern ({SPAN}) or an "
        f"http(s):// or file:// URL of a .npz, got {source!r}")
  _check_int("eval_images", eval_images, 1)
  _check_int("test_images", test_images, 0)
  _check_int("max_images", max_images, 0)
  if max_images and max_images <= eval_images + test_images:
    raise ValueError(
        f"parameter max_images ({max_images}) must exceed eval_images "
        f"({eval_images}) + test_images ({test_images}), or the train split "
        "is empty; or 0 for all images")
  if image_shape is not None and (
      isinstance(image_shape, (str, bytes)) or len(image_shape) != 3 or any(
          isinstance(d, bool) or not isinstance(d, int) or d < 1
          for d in image_shape)):
    raise ValueError("parameter image_shape must be (height, width, "
                     f"channels), integers >= 1, or None, got {image_shape!r}")
  if (isinstance(classes, (str, bytes)) or any(
      isinstance(c, bool) or not isinstance(c, int) or c < 0 for c in classes)
      or len(set(classes)) != len(classes) or len(classes) == 1):
    raise ValueError("parameter classes must be two or more distinct label "
                     f"ids >= 0, or empty for all, got {classes!r}")
  _check_int("train_limit", train_limit, 0)
  if source_format and source_format not in images_lib.SOURCE_FORMATS:
    raise ValueError(f"parameter source_format must be one of "
                     f"{images_lib.SOURCE_FORMATS} or '' (detect), got "
                     f"{source_format!r}")


def _mirror_folder(name: str, cache_dir: str, base_url: str) -> str:
  """``<cache_dir>/<name>-<hash of base_url>``: one folder per dataset and
  mirror, so its pattern matches that dataset's files only (Fashion-MNIST's
  and MNIST's IDX files have the same names)."""
  url_hash = hashlib.sha256(base_url.encode("utf-8")).hexdigest()[:12]
  return os.path.join(os.path.expanduser(cache_dir or
                                         fetch_lib.DEFAULT_CACHE_DIR),
                      f"{name}-{url_hash}")


def dataset_source(name: str, cache_dir: str = "", *,
                   base_url: str = contract.KERAS_DATASETS_URL) -> str:
  """A local source for a dataset of ``contract.DATASETS``, downloaded once.

  ``"fashion_mnist"``: its four IDX files from ``base_url`` (the Keras
  datasets mirror), each checked against its ``contract`` SHA-256, into one
  folder of ``cache_dir`` (default ``~/.cache/keras_tfx_pipelines``); returns
  the folder. ``"mnist"``: ``mnist.npz``, likewise; returns the file. A
  local path (e.g. ``../shared/datasets/fashion-mnist``) instead of a name is
  returned as it is (made absolute); it must exist.

  Raises:
    ImageDataError: naming the URL or path: failed download, checksum
      mismatch, missing path.
  """
  if name not in contract.DATASETS:
    if not isinstance(name, str) or not name.strip() or fetch_lib.is_url(name):
      raise ValueError(f"dataset_source takes a dataset name "
                       f"({_DATASET_NAMES}) or a local path, got {name!r}")
    path = fetch_lib.fetch(
        name, error_cls=ImageDataError,
        expected=(f"a dataset name ({_DATASET_NAMES}), a directory of IDX "
                  "files, a folder of images or a .npz file"))
    return path if "://" in path else os.path.abspath(path)
  _, files = contract.DATASETS[name]
  base_url = base_url.rstrip("/") + "/"
  folder = _mirror_folder(name, cache_dir, base_url)
  paths = [fetch_lib.fetch(base_url + file_name, folder, digest,
                           error_cls=ImageDataError)
           for file_name, digest in sorted(files.items())]
  if len(paths) == 1 and paths[0].endswith(".npz"):
    return paths[0]
  return folder


def _format_of(path: str) -> str:
  """The format of one existing source path (a directory or a file)."""
  if fileio.isdir(path):
    if fileio.isdir(os.path.join(path, contract.TRAIN)):
      return images_lib.FOLDER
    if fileio.glob(os.path.join(path, PATTERN_SUFFIX[images_lib.IDX])):
      return images_lib.IDX
    raise ImageDataError(
        f"{path}: neither IDX files (*-ubyte*) nor a train/ folder of "
        f"images; expected {images_lib.EXPECTED[images_lib.IDX]}, or "
        f"{images_lib.EXPECTED[images_lib.FOLDER]}")
  if path.lower().endswith(".npz"):
    return images_lib.NPZ
  raise ImageDataError(
      f"{path}: a file, but not a .npz; expected a directory of IDX files, "
      "a folder of images (with train/) or a .npz file (or pass "
      "source_format)")


def detect_format(path: str) -> str:
  """The format of the source at ``path`` (``images.SOURCE_FORMATS``),
  looked at now: with ``{SPAN}``-like specs or globs, every match (every
  span) must have the same format.

  Raises:
    ImageDataError: naming the path: nothing there (and no ``.npz`` name),
      a directory with neither IDX files nor ``train/``, a file that is not
      a ``.npz``, matches of different formats.
  """
  try:
    if input_patterns.is_pattern(path):
      matches = sorted(fileio.glob(input_patterns.spec_glob(path)))
    else:
      matches = [path] if fileio.exists(path) else []
  except tf.errors.OpError as e:
    # A remote filesystem not reachable from here (compiling a Kubeflow or
    # Vertex pipeline offline, for instance).
    raise ImageDataError(
        f"{path}: cannot be looked at from here ({e.message.splitlines()[0]}), "
        "so its format cannot be told at pipeline construction; pass "
        f"source_format ({', '.join(images_lib.SOURCE_FORMATS)})") from e
  if not matches:
    if path.lower().endswith(".npz"):
      return images_lib.NPZ
    raise ImageDataError(
        f"{path}: not found, so its format cannot be told at pipeline "
        "construction; create it first, or pass source_format "
        f"({', '.join(images_lib.SOURCE_FORMATS)})")
  formats = {match: _format_of(match) for match in matches}
  if len(set(formats.values())) > 1:
    raise ImageDataError(
        f"{path}: matches sources of different formats: "
        + ", ".join(f"{m} ({f})" for m, f in formats.items()))
  return formats[matches[0]]


def resolve_source(source: str, cache_dir: str = "", sha256: str = "",
                   source_format: str = "") -> Tuple[str, str, str]:
  """``(input_base, pattern, source_format)`` for ``source``.

  A dataset name is fetched with ``dataset_source``; a URL (of a ``.npz``)
  is downloaded once into ``cache_dir`` (checked against ``sha256`` when
  given), now, at pipeline construction, and then read as a local file. The
  format is ``source_format``, or detected (``detect_format``); the pattern
  matches every data file of the source (``PATTERN_SUFFIX``), so that TFX
  fingerprints them all.

  Raises:
    ImageDataError: naming the path or URL (failed download, checksum
      mismatch, missing file with ``sha256``, see ``detect_format``).
    ValueError: ``sha256`` with a dataset name, a pattern or a directory;
      a malformed ``sha256``.
  """
  if source in contract.DATASETS:
    if sha256:
      raise ValueError(f"parameter sha256 is for a file or URL source; the "
                       f"dataset {source!r} is checked against the "
                       "contract's SHA-256s")
    source = dataset_source(source, cache_dir)
  elif fetch_lib.is_url(source):
    source = fetch_lib.fetch(source, cache_dir, sha256 or None,
                             error_cls=ImageDataError,
                             expected="a .npz file")
  elif input_patterns.is_pattern(source):
    if sha256:
      raise ValueError("parameter sha256 checks one file; source is a "
                       f"pattern: {source!r}")
  elif sha256:
    if fileio.isdir(source):
      raise ValueError("parameter sha256 checks one file; source is a "
                       f"directory: {source!r}")
    fetch_lib.fetch(source, cache_dir, sha256, error_cls=ImageDataError,
                    expected="a .npz file")
  if "://" not in source:
    source = os.path.abspath(os.path.expanduser(source))
  source = source.rstrip("/") or "/"
  source_format = source_format or detect_format(source)
  suffix = PATTERN_SUFFIX[source_format]
  input_base, pattern = input_patterns.split_source(
      f"{source}/{suffix}" if suffix else source)
  return input_base, pattern, source_format


def output_config() -> example_gen_pb2.Output:
  """The output splits train, eval, test. ExampleGen requires hash buckets;
  the executor ignores them (it splits by position)."""
  return example_gen_pb2.Output(split_config=example_gen_pb2.SplitConfig(
      splits=[example_gen_pb2.SplitConfig.Split(name=name, hash_buckets=1)
              for name in SPLITS]))


def ImageExampleGen(  # pylint: disable=invalid-name
    source: str, *, eval_images: int = contract.EVAL_IMAGES,
    test_images: int = 0, max_images: int = 0,
    image_shape: Optional[Sequence[int]] = None, source_format: str = "",
    classes: Sequence[int] = (), train_limit: int = 0,
    cache_dir: str = "", sha256: str = "") -> FileBasedExampleGen:
  """A ``FileBasedExampleGen`` importing labelled images (id
  ``ImageExampleGen``).

  ``source``: a dataset name of ``contract.DATASETS`` (downloaded once, see
  ``dataset_source``); a directory of IDX files (``train-*`` and optionally
  ``t10k-*``, gzip or not); a Keras-style ``.npz`` (``x_train, y_train[,
  x_test, y_test]``) or an http(s)/file URL of one (downloaded once into
  ``cache_dir``, checked against ``sha256`` when given); a folder of images
  ``<root>/train/<class>/*.png|jpg|jpeg`` (and optionally ``test/``). Any
  path may hold ``{SPAN}``/``{VERSION}`` specs (e.g. ``/data/fmnist/
  span-{SPAN}``): the latest span is read. The format is detected now from
  what is there; ``source_format`` ("idx", "npz", "folder") names it instead,
  for a source that does not exist yet.

  The book's split: the last ``eval_images`` training images are eval, the
  rest train, the test files (t10k, x_test, test/) test. A source without
  test files needs ``test_images`` > 0: its last ``test_images`` training
  images become test (before the eval cut). ``max_images`` > 0 keeps only
  the first that many training and test images (smoke runs).
  ``image_shape`` (height, width, channels), when given, must be the
  images' shape. ``classes`` (original label ids) keeps only those classes
  in every split, relabelled 0..k-1 in the listed order, and
  ``train_limit`` > 0 keeps the first that many train images: the book's
  transfer-learning tasks (A: eight classes; B: classes (5, 6) with
  ``train_limit`` 200).

  Raises:
    ValueError: naming the first bad parameter and its value.
    ImageDataError: for a URL or dataset that cannot be downloaded, a file
      failing its ``sha256``, a source whose format cannot be told. Data
      problems found at run time (missing or broken files, images of
      different sizes, too few images, no test part) fail the component's
      run with it.
  """
  validate_parameters(source=source, eval_images=eval_images,
                      test_images=test_images, max_images=max_images,
                      image_shape=image_shape, source_format=source_format,
                      classes=tuple(classes), train_limit=train_limit)
  input_base, pattern, source_format = resolve_source(
      source, cache_dir, sha256, source_format)
  custom_config = executor_lib.make_custom_config(
      source_format=source_format, eval_images=eval_images,
      test_images=test_images, max_images=max_images,
      image_shape=list(image_shape or []), classes=list(classes),
      train_limit=train_limit)
  return FileBasedExampleGen(
      input_base=input_base,
      input_config=example_gen_pb2.Input(splits=[
          example_gen_pb2.Input.Split(name=INPUT_SPLIT, pattern=pattern)]),
      output_config=output_config(),
      custom_config=custom_config,
      custom_executor_spec=executor_spec.BeamExecutorSpec(
          executor_lib.Executor),
  ).with_id(COMPONENT_ID)
