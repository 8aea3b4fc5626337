"""``ImdbExampleGen``: TFX's ``FileBasedExampleGen`` with the IMDb reviews
executor (``executor.py``).

``ImdbExampleGen`` reads the Large Movie Review Dataset (aclImdb v1) from a
directory, a ``.tar.gz`` archive or a URL (downloaded once into a cache, at
pipeline construction), or a user's own labelled text folders in the same
layout. Built on the file-based ExampleGen rather than as a component of our
own, so that TFX's driver does what it does for every file-based ExampleGen:

* it resolves ``{SPAN}``/``{VERSION}`` (and ``{YYYY}{MM}{DD}``) patterns to
  the latest span (or the one a ``range_config`` names) and records ``span``
  on the ``Examples`` artifact;
* it records the input fingerprint (number, sizes and modification times of
  the matching files), so with caching on, a run over unchanged files reuses
  the last artifact and new bytes at the same path are imported again.

For that, the one input split's pattern must match every data file, so the
source's format is decided here, at pipeline construction: a directory ->
``<root>/*/*/*`` (every file of its ``{train,test}/{pos,neg}`` folders, where
``<root>`` is the directory or its ``aclImdb/``); an archive -> that file.

The output is what TFX's ExampleGen writes, so StatisticsGen, SchemaGen,
Transform, Trainer and Evaluator read it unchanged:

* ``<uri>/Split-train``, ``Split-eval`` and, when the source has ``test/``,
  ``Split-test``, holding GZIP TFRecord files ``data_tfrecord-*.gz`` of
  serialized ``tf.train.Example`` (features ``text`` [bytes], ``label``
  [int64, 1 = positive], ``rating`` [int64, 1-10 or -1], ``review_id``
  [bytes], ``length_bucket`` [bytes]; see ``reviews.py``);
* ``split_names`` = the splits written;
* custom properties ``payload_format = "FORMAT_TF_EXAMPLE"`` and
  ``file_format = "tfrecords_gzip"``, ``num_examples_<split>`` and
  ``num_bad_<kind>`` (e.g. ``num_bad_empty_file``, ``num_bad_not_utf_8``) for
  every kind in ``reviews.BAD_KINDS``, and ``span`` / ``input_fingerprint``
  (the driver's).
"""

from __future__ import annotations

import os
from typing import Tuple

import tensorflow as tf
from tfx.components import FileBasedExampleGen
from tfx.dsl.components.base import executor_spec
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2

from components.common import fetch as fetch_lib
from components.common import input_patterns
from components.imdb_example_gen import executor as executor_lib
from components.imdb_example_gen import reviews as reviews_lib
# Part of this module's API (the executor needs them too).
from components.imdb_example_gen.executor import ARCHIVE
from components.imdb_example_gen.executor import DIRECTORY
from components.imdb_example_gen.executor import bad_property_name  # pylint: disable=unused-import
from components.imdb_example_gen.executor import log_scan  # pylint: disable=unused-import

COMPONENT_ID = "ImdbExampleGen"
INPUT_SPLIT = "reviews"  # the one input split: every data file of the source
SPLITS = reviews_lib.SPLIT_NAMES  # train, eval, test (test only with test/)
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
NESTED_ROOT = "aclImdb"  # a directory may hold the tree in aclImdb/
_EXPECTED = "a directory or a .tar.gz archive of aclImdb-style reviews"


def validate_parameters(*, source: str = "unused", eval_fraction: float = 0.1,
                        max_reviews_per_class: int = 0,
                        require_rating: int = 1, seed: int = 42) -> None:
  """Raises ValueError naming the first bad parameter and its value."""
  if not isinstance(source, str) or not source.strip():
    raise ValueError(
        "parameter source must be a directory, a .tar.gz archive, a path "
        "pattern ({SPAN}) or an http(s):// or file:// URL, got "
        f"{source!r}")
  if (isinstance(eval_fraction, bool)
      or not isinstance(eval_fraction, (int, float))
      or not 0.0 < eval_fraction < 1.0):
    raise ValueError("parameter eval_fraction must be > 0 and < 1, got "
                     f"{eval_fraction!r}")
  if (isinstance(max_reviews_per_class, bool)
      or not isinstance(max_reviews_per_class, int)
      or max_reviews_per_class < 0):
    raise ValueError("parameter max_reviews_per_class must be >= 0 (0 = all),"
                     f" got {max_reviews_per_class!r}")
  if require_rating not in (0, 1):
    raise ValueError("parameter require_rating must be 0 or 1, got "
                     f"{require_rating!r}")
  # The seed travels as a Struct number (a double): integers up to 2**53.
  if (isinstance(seed, bool) or not isinstance(seed, int)
      or abs(seed) >= 2**53):
    raise ValueError("parameter seed must be an integer of magnitude < 2**53,"
                     f" got {seed!r}")


def _layout_of(path: str) -> Tuple[str, str]:
  """``(source format, tail)`` of one existing directory or file: what the
  input pattern adds to ``path`` (``/*/*/*`` or ``/aclImdb/*/*/*`` for a
  directory, to reach every file of its class folders; nothing for an
  archive)."""
  if fileio.isdir(path):
    if fileio.isdir(os.path.join(path, NESTED_ROOT)):
      return DIRECTORY, f"/{NESTED_ROOT}/{executor_lib.DIRECTORY_PATTERN}"
    return DIRECTORY, f"/{executor_lib.DIRECTORY_PATTERN}"
  return ARCHIVE, ""


def detect_layout(source: str) -> Tuple[str, str]:
  """``(source format, pattern source)`` for ``source``, looked at now: the
  pattern source matches every data file (see ``_layout_of``). With
  ``{SPAN}``-like specs or globs, every match (every span) must have the
  same layout. A source not there yet is an archive if its name says so
  (the run reports it if it is still missing).

  Raises:
    ReviewDataError: naming the path: nothing there (and no archive name),
      matches of different layouts, a remote path not reachable from here.
  """
  if (not input_patterns.is_pattern(source)
      and source.lower().endswith(ARCHIVE_SUFFIXES)):
    # Named as an archive: nothing to look at (so a gs:// source compiles
    # on a machine without access to the bucket).
    return ARCHIVE, source
  try:
    if input_patterns.is_pattern(source):
      matches = sorted(fileio.glob(input_patterns.spec_glob(source)))
    else:
      matches = [source] if fileio.exists(source) else []
    layouts = {match: _layout_of(match) for match in matches}
  except tf.errors.OpError as e:
    raise reviews_lib.ReviewDataError(
        f"{source}: cannot be looked at from here "
        f"({e.message.splitlines()[0]}), so its layout cannot be told at "
        "pipeline construction") from e
  if not layouts:
    if source.lower().endswith(ARCHIVE_SUFFIXES):
      return ARCHIVE, source
    raise reviews_lib.ReviewDataError(
        f"{source}: not found (expected {_EXPECTED})")
  if len(set(layouts.values())) > 1:
    described = ", ".join(
        f"{match} ({source_format}"
        f"{' in ' + NESTED_ROOT + '/' if NESTED_ROOT in tail else ''})"
        for match, (source_format, tail) in layouts.items())
    raise reviews_lib.ReviewDataError(
        f"{source}: matches sources of different layouts: {described}; every "
        "span must be laid out alike")
  source_format, tail = layouts[matches[0]]
  return source_format, source + tail


def resolve_source(source: str, cache_dir: str = "",
                   sha256: str = "") -> Tuple[str, str, str]:
  """``(input_base, pattern, source_format)`` for ``source``.

  A URL is downloaded once into ``cache_dir`` (default
  ``~/.cache/keras_tfx_pipelines``) now, at pipeline construction, checked
  against ``sha256`` when given, and then read as a local archive. A local
  archive is checked against ``sha256`` now when given. The pattern matches
  every data file of the source (see ``detect_layout``), so that TFX
  fingerprints them all.

  Raises:
    ReviewDataError: naming the path or URL: failed download, checksum
      mismatch, ``sha256`` for a directory, a missing directory (see
      ``detect_layout``).
    ValueError: ``sha256`` with a pattern; a malformed ``sha256``.
  """
  if fetch_lib.is_url(source):
    source = reviews_lib.fetch(source, cache_dir, sha256=sha256 or None)
  elif input_patterns.is_pattern(source):
    if sha256:
      raise ValueError("parameter sha256 checks one archive; source is a "
                       f"pattern: {source!r}")
  elif sha256:
    reviews_lib.fetch(source, cache_dir, sha256=sha256)
  if "://" not in source:
    source = os.path.abspath(os.path.expanduser(source))
  source = source.rstrip("/") or "/"
  source_format, pattern_source = detect_layout(source)
  input_base, pattern = input_patterns.split_source(pattern_source)
  return input_base, pattern, source_format


def output_config() -> example_gen_pb2.Output:
  """The output splits train, eval, test (test written only when the
  source has ``test/``). ExampleGen requires hash buckets; the executor
  ignores them (it splits by a hash of the review id)."""
  return example_gen_pb2.Output(split_config=example_gen_pb2.SplitConfig(
      splits=[example_gen_pb2.SplitConfig.Split(name=name, hash_buckets=1)
              for name in SPLITS]))


def ImdbExampleGen(  # pylint: disable=invalid-name
    source: str, *, cache_dir: str = "", sha256: str = "",
    eval_fraction: float = 0.1, max_reviews_per_class: int = 0,
    require_rating: int = 1, seed: int = 42) -> FileBasedExampleGen:
  """A ``FileBasedExampleGen`` importing labelled reviews (id
  ``ImdbExampleGen``); train/eval = 90/10% of ``train/`` by hash.

  ``source``: a directory or ``.tar.gz`` archive in the aclImdb layout
  (``[aclImdb/]{train,test}/{pos,neg}/<id>_<rating>.txt``), or an
  ``http(s)://``/``file://`` URL of such an archive, downloaded once into
  ``cache_dir`` (default ``~/.cache/keras_tfx_pipelines``) and checked against
  ``sha256`` when given (``reviews.IMDB_SHA256`` for ``reviews.IMDB_URL``).
  Either path may hold ``{SPAN}``/``{VERSION}`` specs (e.g.
  ``/data/imdb/span-{SPAN}`` or ``/data/imdb-{SPAN}.tar.gz``): the latest
  span is read. A directory must exist now (its layout decides the input
  pattern). ``test/`` reviews, when present, become the ``test`` split.

  ``max_reviews_per_class`` > 0 keeps a deterministic subset of that many
  reviews per class in every split (smoke runs). ``require_rating=0`` accepts
  file names without ``_<rating>`` (rating -1). Bad files (empty, not UTF-8,
  no/inconsistent rating, duplicate id) are skipped and reported; more than
  1% bad files, or a structural problem, fails the run with
  ``ReviewDataError``.

  Raises:
    ValueError: naming the first bad parameter and its value.
    ReviewDataError: for a URL that cannot be downloaded, an archive failing
      its ``sha256``, a directory that is not there (see
      ``resolve_source``).
  """
  validate_parameters(source=source, eval_fraction=eval_fraction,
                      max_reviews_per_class=max_reviews_per_class,
                      require_rating=require_rating, seed=seed)
  input_base, pattern, source_format = resolve_source(source, cache_dir,
                                                      sha256)
  custom_config = executor_lib.make_custom_config(
      source_format=source_format, eval_fraction=float(eval_fraction),
      max_reviews_per_class=max_reviews_per_class,
      require_rating=int(require_rating), seed=seed)
  return FileBasedExampleGen(
      input_base=input_base,
      input_config=example_gen_pb2.Input(splits=[
          example_gen_pb2.Input.Split(name=INPUT_SPLIT, pattern=pattern)]),
      output_config=output_config(),
      custom_config=custom_config,
      custom_executor_spec=executor_spec.BeamExecutorSpec(
          executor_lib.Executor),
  ).with_id(COMPONENT_ID)
