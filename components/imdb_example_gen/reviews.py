"""IMDb movie reviews (aclImdb v1 layout) -> TFRecord files of ``tf.train.Example``.

Pure logic behind ``ImdbExampleGen`` (no TFX imports here):

* ``fetch``: resolves the source (``components.common.fetch`` with this
  module's ``ReviewDataError``): a local path (or any ``tf.io.gfile`` path) is
  used as is, an ``http(s)://`` or ``file://`` URL is downloaded once into a
  cache folder (atomic write, optional SHA-256 check).
* ``read_reviews``: scans a directory or a ``.tar.gz`` archive (streamed with
  ``tarfile``, never extracted to disk) laid out like the Large Movie Review
  Dataset (Maas et al., 2011)::

      [aclImdb/]{train,test}/{pos,neg}/<id>_<rating>.txt

  Ratings 7-10 are positive, 1-4 negative; everything else in the archive
  (``train/unsup/``, ``imdb.vocab``, ``*.feat``, ``urls_*.txt``) is ignored.
  Bad files are counted per kind and skipped; structural problems raise
  ``ReviewDataError``.
* ``split_reviews``: ``train``/``eval`` from ``train/`` by a stable hash of
  the review id, ``test`` from ``test/`` when the source has one.
* ``to_example``: one review as a ``tf.train.Example`` (what the executor
  hands to ExampleGen's writer).
* ``write_split`` / ``write_examples``: GZIP TFRecord shards laid out the way
  TFX expects inside an ``Examples`` artifact (``<uri>/Split-<name>/*.gz``;
  written by ``components.common.tfrecords``, round-robin), for writing
  examples outside a pipeline; the component writes through ExampleGen.

Every written ``tf.train.Example`` has five features:

``text``           bytes_list, the review as UTF-8 (unmodified, HTML ``<br />``
                   breaks included)
``label``          int64_list, 1 = positive (``pos/``), 0 = negative (``neg/``)
``rating``         int64_list, the 1-10 star rating from the file name, or -1
                   when the file name has none (``require_rating=False``)
``review_id``      bytes_list, ``<split_dir>/<pos|neg>/<id>``, e.g.
                   ``train/pos/8035``
``length_bucket``  bytes_list, ``"<100"``, ``"100-199"``, ``"200-399"`` or
                   ``"400+"`` whitespace-separated words (an evaluation slice)
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import os
import posixpath
import re
import tarfile
import zlib
from typing import Dict, Iterable, List, NamedTuple, Optional, Set, Tuple, Union

import tensorflow as tf

from components.common import fetch as fetch_lib
from components.common import tfrecords
# Re-exported: part of this module's API (same names in the sibling packages).
from components.common.tfrecords import shard_name  # pylint: disable=unused-import

# The data set as distributed (train + test + unsup, 84 MB).
IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
# Published SHA-256 of IMDB_URL (pass it as ``sha256`` to verify a download).
IMDB_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
# The project's shared copy (aclImdb/train/{pos,neg} only: 12,499 pos +
# 12,500 neg reviews, 15 MB), for reference.
SHARED_COPY_NAME = "aclImdb_train.tar.gz"
SHARED_COPY_SHA1 = "33151e65b22a79c63070ac020e101ac52ac79a06"
SHARED_COPY_SHA256 = (
    "7c644ae2dec854f771d53c780f28f45f5d0cbd85092175ebc28c2655e969d851")

SPLIT_DIRS: Tuple[str, str] = ("train", "test")
CLASS_DIRS: Tuple[str, str] = ("pos", "neg")
LABELS: Dict[str, int] = {"pos": 1, "neg": 0}
# IMDb ratings the data set puts in each class folder (5 and 6 are excluded).
RATINGS: Dict[str, range] = {"pos": range(7, 11), "neg": range(1, 5)}
NO_RATING = -1
REVIEW_SUFFIX = ".txt"

SPLIT_NAMES: Tuple[str, str, str] = ("train", "eval", "test")
DEFAULT_EVAL_FRACTION = 0.1
DEFAULT_MAX_BAD_FRACTION = 0.01

# Kinds of bad files (counted and skipped).
BAD_EMPTY = "empty file"
BAD_NOT_UTF8 = "not UTF-8"
BAD_NO_RATING = "no rating in file name"
BAD_RATING = "rating inconsistent with folder"
BAD_DUPLICATE = "duplicate review id"
BAD_KINDS: Tuple[str, ...] = (BAD_EMPTY, BAD_NOT_UTF8, BAD_NO_RATING,
                              BAD_RATING, BAD_DUPLICATE)
MAX_BAD_EXAMPLES = 5

# Length buckets: (upper bound exclusive, name); the last one is open-ended.
LENGTH_BUCKETS: Tuple[Tuple[Optional[int], str], ...] = (
    (100, "<100"), (200, "100-199"), (400, "200-399"), (None, "400+"))

# Feature keys of the written tf.train.Example records.
TEXT_FEATURE = "text"
LABEL_FEATURE = "label"
RATING_FEATURE = "rating"
ID_FEATURE = "review_id"
LENGTH_BUCKET_FEATURE = "length_bucket"

_RATED_NAME = re.compile(r"(\d+)_(\d+)")


class ReviewDataError(ValueError):
  """Bad input data. The message names the file (or URL) and the problem."""


def _data_error(source: str, problem: str) -> ReviewDataError:
  return ReviewDataError(f"{source}: {problem}")


# --------------------------------------------------------------------------
# Containers
# --------------------------------------------------------------------------


class Review(NamedTuple):
  """One review; ``review_id`` is ``"<split_dir>/<pos|neg>/<id>"``."""

  review_id: str
  split_dir: str  # "train" or "test"
  text: str
  label: int  # 1 = pos, 0 = neg
  rating: int  # 1-10, or -1 when the file name has none


@dataclasses.dataclass
class ReviewScan:
  """What ``read_reviews`` found.

  ``reviews``     the usable reviews, sorted by ``review_id``.
  ``bad``         kind -> the first ``MAX_BAD_EXAMPLES`` bad files of that kind
                  (paths relative to the data root, e.g. ``train/pos/1_2.txt``).
  ``bad_counts``  kind -> number of bad files of that kind (every kind listed).
  ``counts``      (split_dir, label) -> number of usable reviews.
  ``ignored``     files in class folders that are not ``*.txt`` (or hidden).
  """

  source: str
  reviews: List[Review]
  bad: Dict[str, List[str]]
  bad_counts: Dict[str, int]
  counts: Dict[Tuple[str, int], int]
  ignored: int = 0

  @property
  def num_bad(self) -> int:
    return sum(self.bad_counts.values())

  @property
  def num_files(self) -> int:
    """Review files examined (usable + bad; ignored files not included)."""
    return len(self.reviews) + self.num_bad

  @property
  def has_test(self) -> bool:
    return any(split_dir == "test" for split_dir, _ in self.counts)

  def report(self) -> str:
    """Multi-line summary: counts per folder, then bad files per kind."""
    lines = [f"{self.source}: {len(self.reviews)} reviews, {self.num_bad} bad "
             f"files skipped, {self.ignored} other files ignored"]
    for split_dir in SPLIT_DIRS:
      for cls in CLASS_DIRS:
        key = (split_dir, LABELS[cls])
        if key in self.counts:
          lines.append(f"  {split_dir}/{cls}: {self.counts[key]} reviews")
    for kind in BAD_KINDS:
      n = self.bad_counts.get(kind, 0)
      if n:
        more = ", ..." if n > len(self.bad[kind]) else ""
        lines.append(f"  bad ({kind}): {n} file(s), e.g. "
                     f"{', '.join(self.bad[kind])}{more}")
    return "\n".join(lines)


def _format_bad_counts(counts: Dict[str, int]) -> str:
  parts = [f"{kind}: {counts[kind]}" for kind in BAD_KINDS if counts.get(kind)]
  return ", ".join(parts) if parts else "none"


class _Collector:
  """Turns (folder, file name, bytes) into reviews and bad-file counts."""

  def __init__(self, source: str, require_rating: bool):
    self.source = source
    self.require_rating = require_rating
    self.reviews: Dict[str, Review] = {}
    self.bad: Dict[str, List[str]] = {kind: [] for kind in BAD_KINDS}
    self.bad_counts: Dict[str, int] = {kind: 0 for kind in BAD_KINDS}
    # Per class folder: kind -> count, and ignored (non-review) files.
    self.folder_bad: Dict[Tuple[str, str], collections.Counter] = (
        collections.defaultdict(collections.Counter))
    self.folder_ignored: Dict[Tuple[str, str], int] = collections.Counter()
    self.folders: Set[Tuple[str, str]] = set()

  def _bad(self, kind: str, split_dir: str, cls: str, rel: str) -> None:
    self.bad_counts[kind] += 1
    self.folder_bad[(split_dir, cls)][kind] += 1
    if len(self.bad[kind]) < MAX_BAD_EXAMPLES:
      self.bad[kind].append(rel)

  def add(self, split_dir: str, cls: str, name: str, data: bytes) -> None:
    self.folders.add((split_dir, cls))
    rel = f"{split_dir}/{cls}/{name}"
    if name.startswith(".") or not name.endswith(REVIEW_SUFFIX):
      self.folder_ignored[(split_dir, cls)] += 1
      return
    stem = name[:-len(REVIEW_SUFFIX)]
    match = _RATED_NAME.fullmatch(stem)
    if match:
      local_id, rating = match.group(1), int(match.group(2))
      if rating not in RATINGS[cls]:
        self._bad(BAD_RATING, split_dir, cls, rel)
        return
    elif self.require_rating:
      self._bad(BAD_NO_RATING, split_dir, cls, rel)
      return
    else:
      local_id, rating = stem, NO_RATING
    if not data.strip():
      self._bad(BAD_EMPTY, split_dir, cls, rel)
      return
    try:
      text = data.decode("utf-8")
    except UnicodeDecodeError:
      self._bad(BAD_NOT_UTF8, split_dir, cls, rel)
      return
    text = text.lstrip("\ufeff")
    if not text.strip():
      self._bad(BAD_EMPTY, split_dir, cls, rel)
      return
    review_id = f"{split_dir}/{cls}/{local_id}"
    if review_id in self.reviews:
      # e.g. 12_3.txt next to 12_4.txt, or a member repeated in a tar file.
      self._bad(BAD_DUPLICATE, split_dir, cls, rel)
      return
    self.reviews[review_id] = Review(review_id=review_id, split_dir=split_dir,
                                     text=text, label=LABELS[cls],
                                     rating=rating)

  def finish(self, max_bad_fraction: float) -> ReviewScan:
    source = self.source
    n_bad = sum(self.bad_counts.values())
    if not self.folders:
      raise _data_error(
          source, "no reviews at all: expected the aclImdb layout "
          "[aclImdb/]{train,test}/{pos,neg}/*.txt")
    missing = [f"train/{cls}" for cls in CLASS_DIRS
               if ("train", cls) not in self.folders]
    if missing:
      found = ", ".join(f"{s}/{c}" for s, c in sorted(self.folders))
      raise _data_error(
          source, f"no {' and no '.join(missing)} folder (found: {found}); "
          "training needs both classes, refusing to train on half the data")
    test = [cls for cls in CLASS_DIRS if ("test", cls) in self.folders]
    if len(test) == 1:
      other = [cls for cls in CLASS_DIRS if cls not in test][0]
      raise _data_error(
          source, f"test/{test[0]} exists but test/{other} does not; a test "
          "split needs both classes (remove test/ to evaluate on eval only)")
    counts: Dict[Tuple[str, int], int] = {}
    for review in self.reviews.values():
      key = (review.split_dir, review.label)
      counts[key] = counts.get(key, 0) + 1
    for split_dir, cls in sorted(self.folders):
      key = (split_dir, LABELS[cls])
      if counts.get(key, 0) == 0:
        bad = self.folder_bad[(split_dir, cls)]
        ignored = self.folder_ignored[(split_dir, cls)]
        raise _data_error(
            source, f"{split_dir}/{cls} has no usable reviews "
            f"({sum(bad.values())} bad files: {_format_bad_counts(bad)}; "
            f"{ignored} other files ignored, only *{REVIEW_SUFFIX} files are "
            "read)")
    n_files = len(self.reviews) + n_bad
    if n_bad > max_bad_fraction * n_files:
      examples = "; ".join(f"{kind}: {', '.join(self.bad[kind])}"
                           for kind in BAD_KINDS if self.bad[kind])
      raise _data_error(
          source, f"{n_bad} of {n_files} review files are bad "
          f"({n_bad / n_files:.2%} > max_bad_fraction {max_bad_fraction:.2%}): "
          f"{_format_bad_counts(self.bad_counts)} (e.g. {examples})")
    reviews = sorted(self.reviews.values(), key=lambda r: r.review_id)
    return ReviewScan(source=source, reviews=reviews, bad=self.bad,
                      bad_counts=self.bad_counts, counts=counts,
                      ignored=sum(self.folder_ignored.values()))


# --------------------------------------------------------------------------
# Reading a directory or an archive
# --------------------------------------------------------------------------


def _scan_directory(source: str, collector: _Collector) -> None:
  nested = os.path.join(source, "aclImdb")
  root = nested if tf.io.gfile.isdir(nested) else source
  for split_dir in SPLIT_DIRS:
    for cls in CLASS_DIRS:
      folder = os.path.join(root, split_dir, cls)
      if not tf.io.gfile.isdir(folder):
        continue
      collector.folders.add((split_dir, cls))
      for name in sorted(n.rstrip("/") for n in tf.io.gfile.listdir(folder)):
        path = os.path.join(folder, name)
        if tf.io.gfile.isdir(path):
          continue
        try:
          with tf.io.gfile.GFile(path, "rb") as f:
            data = f.read()
        except (OSError, tf.errors.OpError) as e:
          raise _data_error(path, f"cannot read the file: {e}") from None
        collector.add(split_dir, cls, name, data)


def _member_parts(name: str) -> List[str]:
  name = posixpath.normpath(name.replace("\\", "/")).lstrip("/")
  return [p for p in name.split("/") if p not in ("", ".")]


def _scan_archive(source: str, collector: _Collector) -> None:
  root: Optional[Tuple[str, ...]] = None

  def class_folder(prefix: Tuple[str, ...], split_dir: str,
                   cls: str) -> Optional[Tuple[str, str]]:
    nonlocal root
    if split_dir not in SPLIT_DIRS or cls not in CLASS_DIRS:
      return None
    if root is None:
      root = prefix
    elif prefix != root:
      raise _data_error(
          source, "the archive holds review folders under two roots, "
          f"{'/'.join(root) or '<top level>'!r} and "
          f"{'/'.join(prefix) or '<top level>'!r}; pack one data set per "
          "archive")
    return split_dir, cls

  try:
    with tf.io.gfile.GFile(source, "rb") as raw:
      # "r|*": a forward-only stream, transparently decompressed.
      with tarfile.open(fileobj=raw, mode="r|*") as archive:
        for member in archive:
          parts = _member_parts(member.name)
          if member.isdir():
            if len(parts) >= 2:
              folder = class_folder(tuple(parts[:-2]), parts[-2], parts[-1])
              if folder:
                collector.folders.add(folder)
            continue
          if not member.isfile() or len(parts) < 3:
            continue
          folder = class_folder(tuple(parts[:-3]), parts[-3], parts[-2])
          if folder is None:
            continue
          data = archive.extractfile(member).read()
          collector.add(folder[0], folder[1], parts[-1], data)
  except (tarfile.TarError, EOFError, zlib.error, OSError,
          tf.errors.OpError) as e:
    raise _data_error(
        source, f"cannot read the archive ({type(e).__name__}: {e}); expected "
        "a complete .tar.gz (or .tgz/.tar) file") from None


def read_reviews(source: str, require_rating: bool = True,
                 max_bad_fraction: float = DEFAULT_MAX_BAD_FRACTION
                 ) -> ReviewScan:
  """Scans a directory or a tar(.gz) archive for labelled reviews.

  ``source`` is a directory that contains ``aclImdb/``, or is ``aclImdb/``
  itself, or is any folder with ``train/pos`` and ``train/neg`` (optionally
  ``test/pos`` and ``test/neg``) of ``*.txt`` files; or a ``.tar.gz``/
  ``.tgz``/``.tar`` archive of such a tree (read as a stream, not extracted).
  Paths go through ``tf.io.gfile``, so ``gs://`` works where TF supports it.

  File names are ``<id>_<rating>.txt`` (digits); with
  ``require_rating=False`` any ``<name>.txt`` is accepted too, with
  id = ``<name>`` and rating -1. Hidden and non-``.txt`` files are ignored.

  Bad files are skipped and counted per kind (``BAD_KINDS``): empty (or
  whitespace-only), not UTF-8, no rating in the file name (or a non-numeric
  id/rating), a rating inconsistent with the folder (pos needs 7-10, neg 1-4),
  and a review id seen before in the same folder.

  Raises:
    ReviewDataError: (naming ``source``) when the source is missing or an
      unreadable/corrupt archive, holds no reviews at all, lacks ``train/pos``
      or ``train/neg`` (or has only one of ``test/pos``, ``test/neg``), has a
      class folder without a usable review, or more than ``max_bad_fraction``
      of its review files are bad.
  """
  if not 0.0 <= max_bad_fraction <= 1.0:
    raise ValueError(f"max_bad_fraction must be in [0, 1], got "
                     f"{max_bad_fraction!r}")
  if not tf.io.gfile.exists(source):
    raise _data_error(source, "not found (expected a directory or a .tar.gz "
                      "archive of aclImdb-style reviews)")
  collector = _Collector(source, require_rating=bool(require_rating))
  if tf.io.gfile.isdir(source):
    _scan_directory(source, collector)
  else:
    _scan_archive(source, collector)
  return collector.finish(max_bad_fraction)


# --------------------------------------------------------------------------
# Splits
# --------------------------------------------------------------------------


def hash_fraction(key: str, seed: int) -> float:
  """Stable (across processes and machines) uniform number in [0, 1)."""
  digest = hashlib.sha256(f"{seed}:{key}".encode("utf-8")).digest()
  return int.from_bytes(digest[:8], "big") / 2.0**64


def split_reviews(scan: Union[ReviewScan, Iterable[Review]],
                  eval_fraction: float = DEFAULT_EVAL_FRACTION,
                  seed: int = 42) -> Dict[str, List[Review]]:
  """``train``/``eval`` from ``train/`` reviews, ``test`` from ``test/``.

  A ``train/`` review goes to ``eval`` when ``hash_fraction(review_id, seed)
  < eval_fraction``, so the assignment is the same on every machine and a
  review never changes split when others are added or removed. ``test`` is
  present only when the source has ``test/`` reviews. Each split is in a
  deterministic pseudo-random order (see ``_shuffled``).

  Raises:
    ValueError: unless 0 < eval_fraction < 1.
    ReviewDataError: if ``train`` or ``eval`` ends up empty.
  """
  if not 0.0 < eval_fraction < 1.0:
    raise ValueError(f"eval_fraction must be in (0, 1), got {eval_fraction!r}")
  source = getattr(scan, "source", "<in-memory reviews>")
  reviews = getattr(scan, "reviews", scan)
  splits: Dict[str, List[Review]] = {"train": [], "eval": [], "test": []}
  for review in reviews:
    if review.split_dir == "test":
      splits["test"].append(review)
    elif hash_fraction(review.review_id, seed) < eval_fraction:
      splits["eval"].append(review)
    else:
      splits["train"].append(review)
  n_train_dir = len(splits["train"]) + len(splits["eval"])
  for name in ("train", "eval"):
    if not splits[name]:
      raise _data_error(
          source, f"split {name!r} is empty ({n_train_dir} reviews in train/, "
          f"eval_fraction={eval_fraction}); add reviews or change "
          "eval_fraction")
  if not splits["test"]:
    del splits["test"]
  return {name: _shuffled(rs, seed) for name, rs in splits.items()}


def _shuffled(reviews: Iterable[Review], seed: int) -> List[Review]:
  """Reviews in a stable hashed order. The corpus lists all neg then all pos
  files; a trainer's shuffle buffer (5,000 in the book) smaller than a split
  would otherwise see one class for thousands of steps."""
  return sorted(reviews, key=lambda r: hash_fraction(f"order:{r.review_id}", seed))


def subsample(splits: Dict[str, List[Review]], max_per_class: int,
              seed: int = 42) -> Dict[str, List[Review]]:
  """Keeps at most ``max_per_class`` reviews per label in every split.

  The kept reviews are those with the smallest ``hash_fraction`` (salted
  differently from the split), so the subset is deterministic and growing
  ``max_per_class`` only adds reviews. ``max_per_class=0`` keeps everything.
  """
  if int(max_per_class) != max_per_class or max_per_class < 0:
    raise ValueError(f"max_per_class must be an integer >= 0, got "
                     f"{max_per_class!r}")
  if max_per_class == 0:
    return {name: list(rs) for name, rs in splits.items()}
  out = {}
  for name, rs in splits.items():
    kept: List[Review] = []
    for label in sorted({r.label for r in rs}):
      of_label = [r for r in rs if r.label == label]
      of_label.sort(key=lambda r: hash_fraction(f"subset:{r.review_id}", seed))
      kept.extend(of_label[:max_per_class])
    out[name] = _shuffled(kept, seed)
  return out


# --------------------------------------------------------------------------
# TFRecord output
# --------------------------------------------------------------------------


def length_bucket(text: str) -> str:
  """``"<100"``, ``"100-199"``, ``"200-399"`` or ``"400+"`` whitespace words."""
  n_words = len(text.split())
  for upper, name in LENGTH_BUCKETS:
    if upper is None or n_words < upper:
      return name
  raise AssertionError("unreachable")  # the last bucket is open-ended


def _bytes(value: str) -> tf.train.Feature:
  return tf.train.Feature(bytes_list=tf.train.BytesList(
      value=[value.encode("utf-8")]))


def _int64(value: int) -> tf.train.Feature:
  return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))


def to_example(review: Review) -> tf.train.Example:
  return tf.train.Example(features=tf.train.Features(feature={
      TEXT_FEATURE: _bytes(review.text),
      LABEL_FEATURE: _int64(review.label),
      RATING_FEATURE: _int64(review.rating),
      ID_FEATURE: _bytes(review.review_id),
      LENGTH_BUCKET_FEATURE: _bytes(length_bucket(review.text)),
  }))


def _examples(reviews: Iterable[Review]) -> List[tf.train.Example]:
  return [to_example(review) for review in reviews]


def write_split(output_dir: str, reviews: Iterable[Review],
                num_shards: int) -> List[str]:
  """Writes ``reviews`` as GZIP TFRecord shards, round-robin; returns the paths."""
  return tfrecords.write_split(output_dir, _examples(reviews), num_shards,
                               contiguous=False)


def write_examples(uri: str, splits: Dict[str, List[Review]],
                   num_shards: int = 4) -> Dict[str, List[str]]:
  """Writes every split to ``<uri>/Split-<name>/`` (TFX's Examples layout)."""
  return tfrecords.write_examples(
      uri, {name: _examples(rs) for name, rs in splits.items()}, num_shards)


# --------------------------------------------------------------------------
# Fetching the source
# --------------------------------------------------------------------------


def fetch(url_or_path: str, cache_dir: str = fetch_lib.DEFAULT_CACHE_DIR,
          sha256: Optional[str] = None) -> str:
  """``components.common.fetch.fetch`` for an aclImdb directory or archive.

  A path is returned unchanged (it must exist; with ``sha256`` it must be a
  file with that digest); an ``http(s)://`` or ``file://`` URL is downloaded
  once into ``cache_dir`` ("" = ``~/.cache/keras_tfx_pipelines``) and checked against
  ``sha256`` when given (``IMDB_SHA256`` is the digest of ``IMDB_URL``).

  Raises:
    ReviewDataError: naming the path or URL: missing path, failed or
      truncated download, sha256 mismatch (with expected and actual digests).
    ValueError: for a malformed ``sha256``.
  """
  return fetch_lib.fetch(url_or_path, cache_dir, sha256,
                         error_cls=ReviewDataError,
                         expected="a directory, a .tar.gz archive")
