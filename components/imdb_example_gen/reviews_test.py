"""Tests for reviews.py: scanning, bad files, fatal errors, splits, fetch, TFRecords."""

import glob
import hashlib
import io
import os
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import pytest
import tensorflow as tf

from components.common import fetch as fetch_lib
from components.imdb_example_gen import reviews as rv
from components.imdb_example_gen import testing
from components.imdb_example_gen.reviews import Review
from components.imdb_example_gen.reviews import ReviewDataError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SHARED_ARCHIVE = os.path.normpath(os.path.join(
    REPO, "..", "shared", "datasets", "imdb", "aclImdb_train.tar.gz"))

_SPEC = {
    "text": tf.io.FixedLenFeature([], tf.string),
    "label": tf.io.FixedLenFeature([], tf.int64),
    "rating": tf.io.FixedLenFeature([], tf.int64),
    "review_id": tf.io.FixedLenFeature([], tf.string),
    "length_bucket": tf.io.FixedLenFeature([], tf.string),
}

def _tree(tmp_path, files, prefix="aclImdb", name="data", dirs=()):
  root = tmp_path / name
  testing.write_tree(root, files, prefix=prefix, dirs=dirs)
  return str(root)


def _summary(scan):
  return [(r.review_id, r.split_dir, r.label, r.rating, r.text)
          for r in scan.reviews]


def _assert_error(exc_info, source, *fragments):
  msg = str(exc_info.value)
  assert str(source) in msg, msg
  for fragment in fragments:
    assert fragment in msg, msg


# ---------------------------------------------------------------------------
# Sources: directories and archives
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["contains_aclImdb", "is_aclImdb",
                                    "plain_folder"])
def test_directory_layouts(tmp_path, layout):
  files = testing.review_files(n_pos=5, n_neg=4)
  if layout == "plain_folder":
    source = _tree(tmp_path, files, prefix="")
  else:
    source = _tree(tmp_path, files)
    if layout == "is_aclImdb":
      source = os.path.join(source, "aclImdb")
  scan = rv.read_reviews(source)
  assert len(scan.reviews) == 9
  assert scan.counts == {("train", 1): 5, ("train", 0): 4}
  assert scan.num_bad == 0 and not scan.has_test
  first_pos = [r for r in scan.reviews if r.review_id == "train/pos/3"]
  assert first_pos == [Review(review_id="train/pos/3", split_dir="train",
                              text=testing.review_text(3, 1), label=1,
                              rating=10)]
  neg = [r for r in scan.reviews if r.review_id == "train/neg/2"][0]
  assert (neg.label, neg.rating) == (0, 3)
  # Sorted by review_id.
  ids = [r.review_id for r in scan.reviews]
  assert ids == sorted(ids)


@pytest.mark.parametrize("name, mode, prefix", [
    ("reviews.tar.gz", "w:gz", "aclImdb"),
    ("reviews.tgz", "w:gz", ""),
    ("reviews.tar", "w", "my_reviews"),
])
def test_archive_matches_directory(tmp_path, name, mode, prefix):
  files = dict(testing.review_files(n_pos=6, n_neg=7))
  files.update(testing.review_files(n_pos=3, n_neg=2, split_dir="test"))
  from_dir = rv.read_reviews(_tree(tmp_path, files))
  with_extras = dict(files, **testing.EXTRA_FILES)
  archive = testing.write_archive(tmp_path / name, with_extras, prefix=prefix,
                                  mode=mode)
  from_archive = rv.read_reviews(archive)
  assert _summary(from_archive) == _summary(from_dir)
  assert from_archive.counts == {("train", 1): 6, ("train", 0): 7,
                                 ("test", 1): 3, ("test", 0): 2}
  assert from_archive.num_bad == 0 and from_archive.ignored == 0
  assert from_archive.has_test
  assert from_archive.source == archive


def test_archive_is_streamed_not_extracted(tmp_path, monkeypatch):
  archive = testing.write_archive(tmp_path / "a.tar.gz",
                                  testing.review_files(4, 4), with_dirs=False)

  def refuse(*args, **kwargs):
    raise AssertionError("the archive must not be extracted to disk")
  monkeypatch.setattr(tarfile.TarFile, "extract", refuse)
  monkeypatch.setattr(tarfile.TarFile, "extractall", refuse)
  before = sorted(os.listdir(tmp_path))
  scan = rv.read_reviews(archive)
  assert len(scan.reviews) == 8
  assert sorted(os.listdir(tmp_path)) == before


def test_hidden_and_non_txt_files_are_ignored(tmp_path):
  files = dict(testing.review_files(4, 4))
  files.update({"train/pos/.DS_Store": b"\0\1", "train/neg/notes.md": "x",
                "train/pos/._1_8.txt": b"\0\5\x16\x07"})
  scan = rv.read_reviews(_tree(tmp_path, files, dirs=["train/pos/sub"]))
  assert len(scan.reviews) == 8 and scan.num_bad == 0 and scan.ignored == 3


# ---------------------------------------------------------------------------
# Bad files: counted per kind and skipped
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("rel, content, kind", [
    ("train/pos/900_8.txt", b"", rv.BAD_EMPTY),
    ("train/neg/900_2.txt", b" \n\t\n", rv.BAD_EMPTY),
    ("train/neg/900_2.txt", b"\xef\xbb\xbf\n", rv.BAD_EMPTY),  # BOM only
    ("train/pos/900_8.txt", b"caf\xe9 latin-1", rv.BAD_NOT_UTF8),
    ("train/neg/900_2.txt", b"\xff\xfeu\x00t\x00f\x00", rv.BAD_NOT_UTF8),
    ("train/pos/900.txt", "no rating", rv.BAD_NO_RATING),
    ("train/pos/abc_8.txt", "non-numeric id", rv.BAD_NO_RATING),
    ("train/neg/900_x.txt", "non-numeric rating", rv.BAD_NO_RATING),
    ("train/neg/900_2_3.txt", "two ratings", rv.BAD_NO_RATING),
    ("train/pos/900_2.txt", "pos but 2 stars", rv.BAD_RATING),
    ("train/neg/900_9.txt", "neg but 9 stars", rv.BAD_RATING),
    ("train/pos/900_5.txt", "5 is in neither class", rv.BAD_RATING),
    ("train/neg/900_0.txt", "0 is no rating", rv.BAD_RATING),
    ("train/pos/900_11.txt", "11 is no rating", rv.BAD_RATING),
    ("train/pos/1_9.txt", "same id as 1_8.txt", rv.BAD_DUPLICATE),
])
@pytest.mark.parametrize("as_archive", [False, True])
def test_bad_file_is_counted_and_skipped(tmp_path, rel, content, kind,
                                         as_archive):
  files = dict(testing.review_files(n_pos=60, n_neg=60))
  files[rel] = content
  if as_archive:
    source = testing.write_archive(tmp_path / "a.tar.gz", files)
  else:
    source = _tree(tmp_path, files)
  scan = rv.read_reviews(source)  # 1 bad file of 121 < 1%
  assert len(scan.reviews) == 120
  assert scan.counts == {("train", 1): 60, ("train", 0): 60}
  assert scan.bad_counts == {k: int(k == kind) for k in rv.BAD_KINDS}
  assert scan.bad[kind] == [rel]
  assert scan.num_files == 121
  assert f"bad ({kind}): 1 file(s), e.g. {rel}" in scan.report()
  if kind == rv.BAD_DUPLICATE:  # the first copy is kept
    [kept] = [r for r in scan.reviews if r.review_id == "train/pos/1"]
    assert kept.rating == 8


def test_bad_examples_are_capped_and_counted(tmp_path):
  files = dict(testing.review_files(n_pos=30, n_neg=30))
  for i in range(8):
    files[f"train/pos/{100 + i}_8.txt"] = ""
  files["train/neg/200_2.txt"] = b"\x80"
  scan = rv.read_reviews(_tree(tmp_path, files), max_bad_fraction=0.5)
  assert scan.bad_counts[rv.BAD_EMPTY] == 8
  assert scan.bad_counts[rv.BAD_NOT_UTF8] == 1
  assert len(scan.bad[rv.BAD_EMPTY]) == rv.MAX_BAD_EXAMPLES
  assert scan.bad[rv.BAD_EMPTY][0] == "train/pos/100_8.txt"
  assert "8 file(s)" in scan.report() and ", ..." in scan.report()
  assert len(scan.reviews) == 60


def test_require_rating_false_accepts_unrated_names(tmp_path):
  files = {"train/pos/great_movie.txt": "Loved it.",
           "train/pos/12_8.txt": "Rated file.",
           "train/pos/13_2.txt": "Inconsistent rating is still bad.",
           "train/neg/boring.txt": "Meh.",
           "train/neg/7_x.txt": "Non-numeric rating: the name is the id."}
  source = _tree(tmp_path, files, prefix="")
  with pytest.raises(ReviewDataError):
    rv.read_reviews(source)  # 4 of 5 files have no rating: too many bad
  scan = rv.read_reviews(source, require_rating=False, max_bad_fraction=0.5)
  got = {r.review_id: (r.label, r.rating) for r in scan.reviews}
  assert got == {"train/pos/great_movie": (1, -1), "train/pos/12": (1, 8),
                 "train/neg/boring": (0, -1), "train/neg/7_x": (0, -1)}
  assert scan.bad_counts[rv.BAD_RATING] == 1
  assert scan.bad_counts[rv.BAD_NO_RATING] == 0


def test_bad_fraction_threshold(tmp_path):
  files = dict(testing.review_files(n_pos=60, n_neg=60))
  files["train/pos/900_8.txt"] = ""
  assert len(rv.read_reviews(_tree(tmp_path, files, name="one")).reviews) == 120
  files["train/neg/901_2.txt"] = b"\xff"  # 2 of 122 = 1.6% > 1%
  source = _tree(tmp_path, files, name="two")
  with pytest.raises(ReviewDataError) as e:
    rv.read_reviews(source)
  _assert_error(e, source, "2 of 122 review files are bad", "1.64%",
                "empty file: 1", "not UTF-8: 1", "train/neg/901_2.txt")
  assert len(rv.read_reviews(source, max_bad_fraction=0.02).reviews) == 120
  with pytest.raises(ValueError, match="max_bad_fraction"):
    rv.read_reviews(source, max_bad_fraction=1.5)


# ---------------------------------------------------------------------------
# Fatal errors
# ---------------------------------------------------------------------------


def test_missing_source(tmp_path):
  source = str(tmp_path / "nowhere.tar.gz")
  with pytest.raises(ReviewDataError) as e:
    rv.read_reviews(source)
  _assert_error(e, source, "not found")


@pytest.mark.parametrize("damage", ["truncated", "garbage", "corrupt", "empty",
                                    "plain_gzip"])
def test_unreadable_archive(tmp_path, damage):
  good = testing.write_archive(tmp_path / "good.tar.gz",
                               testing.review_files(200, 200))
  data = open(good, "rb").read()
  if damage == "truncated":
    data = data[:len(data) // 2]
  elif damage == "garbage":
    data = b"this is not an archive\n" * 50
  elif damage == "corrupt":
    data = data[:200] + bytes(300) + data[500:]
  elif damage == "empty":
    data = b""
  else:
    import gzip
    data = gzip.compress(b"just some text, not a tar file\n" * 40)
  bad = tmp_path / "bad.tar.gz"
  bad.write_bytes(data)
  with pytest.raises(ReviewDataError) as e:
    rv.read_reviews(str(bad))
  _assert_error(e, bad, "cannot read the archive")


@pytest.mark.parametrize("drop, missing", [
    (("train/neg",), "no train/neg folder"),
    (("train/pos",), "no train/pos folder"),
    (("train/pos", "train/neg"), "no train/pos and no train/neg folder"),
])
@pytest.mark.parametrize("as_archive", [False, True])
def test_missing_class_folder(tmp_path, drop, missing, as_archive):
  files = dict(testing.review_files(5, 5))
  files.update(testing.review_files(5, 5, split_dir="test"))
  files = {k: v for k, v in files.items()
           if not k.startswith(tuple(d + "/" for d in drop))}
  if as_archive:
    source = testing.write_archive(tmp_path / "a.tar.gz", files)
  else:
    source = _tree(tmp_path, files)
  with pytest.raises(ReviewDataError) as e:
    rv.read_reviews(source)
  _assert_error(e, source, missing, "half the data")


def test_test_split_with_one_class(tmp_path):
  files = dict(testing.review_files(5, 5))
  files.update(testing.review_files(5, 0, split_dir="test"))
  source = _tree(tmp_path, files)
  with pytest.raises(ReviewDataError) as e:
    rv.read_reviews(source)
  _assert_error(e, source, "test/pos exists but test/neg does not")


def test_class_folder_without_usable_reviews(tmp_path):
  files = dict(testing.review_files(n_pos=5, n_neg=0))
  files.update({"train/neg/1_2.txt": "", "train/neg/2.txt": "x",
                "train/neg/readme.md": "not a review"})
  source = _tree(tmp_path, files)
  with pytest.raises(ReviewDataError) as e:
    rv.read_reviews(source, max_bad_fraction=1.0)
  _assert_error(e, source, "train/neg has no usable reviews", "2 bad files",
                "empty file: 1", "no rating in file name: 1",
                "1 other files ignored")
  # An empty class folder (directory only).
  source = _tree(tmp_path, testing.review_files(5, 0), name="empty_neg",
                 dirs=["train/neg"])
  with pytest.raises(ReviewDataError) as e:
    rv.read_reviews(source)
  _assert_error(e, source, "train/neg has no usable reviews", "0 bad files")


def test_empty_class_folder_in_archive(tmp_path):
  archive = testing.write_archive(tmp_path / "a.tar.gz",
                                  testing.review_files(5, 0))
  with tarfile.open(archive, "r:gz") as a:
    members = [(m, a.extractfile(m).read() if m.isfile() else None)
               for m in a.getmembers()]
  with tarfile.open(archive, "w:gz") as a:
    for m, data in members:
      a.addfile(m, io.BytesIO(data) if data is not None else None)
    info = tarfile.TarInfo("aclImdb/train/neg")
    info.type = tarfile.DIRTYPE
    a.addfile(info)
  with pytest.raises(ReviewDataError) as e:
    rv.read_reviews(archive)
  _assert_error(e, archive, "train/neg has no usable reviews")


@pytest.mark.parametrize("as_archive", [False, True])
def test_no_reviews_at_all(tmp_path, as_archive):
  files = {"README": "nothing here", "train/unsup/1_0.txt": "unlabelled"}
  if as_archive:
    source = testing.write_archive(tmp_path / "a.tar.gz", files)
  else:
    source = _tree(tmp_path, files)
  with pytest.raises(ReviewDataError) as e:
    rv.read_reviews(source)
  _assert_error(e, source, "no reviews at all", "{train,test}/{pos,neg}")


def test_archive_with_two_roots(tmp_path):
  archive = tmp_path / "two.tar.gz"
  with tarfile.open(archive, "w:gz") as a:
    for name in ("aclImdb/train/pos/1_8.txt", "backup/train/pos/1_8.txt"):
      info = tarfile.TarInfo(name)
      info.size = 4
      a.addfile(info, io.BytesIO(b"good"))
  with pytest.raises(ReviewDataError) as e:
    rv.read_reviews(str(archive))
  _assert_error(e, archive, "two roots", "'aclImdb'", "'backup'")


# ---------------------------------------------------------------------------
# Splits
# ---------------------------------------------------------------------------


def _reviews(n, start=0, split_dir="train"):
  return [Review(review_id=f"{split_dir}/{'pos' if i % 2 else 'neg'}/{i}",
                 split_dir=split_dir, text=f"review {i}", label=i % 2,
                 rating=8 if i % 2 else 3)
          for i in range(start, start + n)]


def test_split_is_deterministic_and_about_90_10():
  reviews = _reviews(5000)
  a = rv.split_reviews(reviews)
  b = rv.split_reviews(list(reversed(reviews)))
  assert a == b
  assert set(a) == {"train", "eval"}
  assert len(a["train"]) + len(a["eval"]) == 5000
  assert 450 <= len(a["eval"]) <= 550  # 10% +- 5 standard deviations
  ids = {name: [r.review_id for r in rs] for name, rs in a.items()}
  for name in a:
    # Hashed order: the classes are interleaved, not all neg then all pos.
    assert ids[name] != sorted(ids[name])
    labels = [r.label for r in a[name]]
    assert 0.3 < np.mean(labels[: len(labels) // 4]) < 0.7
  assert not set(ids["train"]) & set(ids["eval"])
  # Another seed gives another (equally sized) split.
  c = rv.split_reviews(reviews, seed=7)
  assert c["eval"] != a["eval"] and 450 <= len(c["eval"]) <= 550
  # Other fractions.
  d = rv.split_reviews(reviews, eval_fraction=0.3)
  assert 1400 <= len(d["eval"]) <= 1600
  assert set(ids["eval"]) <= {r.review_id for r in d["eval"]}


def test_a_review_never_changes_split_when_others_are_added():
  before = rv.split_reviews(_reviews(1000))
  after = rv.split_reviews(_reviews(1000) + _reviews(3000, start=1000))
  for name in ("train", "eval"):
    old = {r.review_id for r in before[name]}
    new = {r.review_id for r in after[name]}
    assert old <= new
  # Removing reviews does not move the others either.
  fewer = rv.split_reviews(_reviews(500))
  assert {r.review_id for r in fewer["eval"]} <= {
      r.review_id for r in before["eval"]}


def test_split_with_and_without_test(tmp_path):
  files = dict(testing.review_files(40, 40))
  without = rv.split_reviews(rv.read_reviews(_tree(tmp_path, files, name="a")))
  assert list(without) == ["train", "eval"]
  files.update(testing.review_files(7, 9, split_dir="test"))
  scan = rv.read_reviews(_tree(tmp_path, files, name="b"))
  splits = rv.split_reviews(scan)
  assert list(splits) == ["train", "eval", "test"]
  assert len(splits["test"]) == 16
  assert all(r.split_dir == "test" for r in splits["test"])
  assert all(r.split_dir == "train" for r in splits["train"] + splits["eval"])
  # The test reviews do not change the train/eval assignment.
  assert splits["train"] == without["train"]
  assert splits["eval"] == without["eval"]


def test_split_errors():
  with pytest.raises(ValueError, match="eval_fraction"):
    rv.split_reviews(_reviews(10), eval_fraction=0.0)
  with pytest.raises(ValueError, match="eval_fraction"):
    rv.split_reviews(_reviews(10), eval_fraction=1.0)
  with pytest.raises(ReviewDataError, match="split 'eval' is empty"):
    rv.split_reviews(_reviews(2), eval_fraction=0.01)


def test_subsample_is_per_class_per_split_and_stable():
  splits = rv.split_reviews(_reviews(2000) + _reviews(300, split_dir="test"))
  small = rv.subsample(splits, 10)
  assert list(small) == ["train", "eval", "test"]
  for name, rs in small.items():
    assert sorted(r.label for r in rs) == [0] * 10 + [1] * 10
    assert {r.review_id for r in rs} <= {r.review_id for r in splits[name]}
  assert rv.subsample(splits, 10) == small
  bigger = rv.subsample(splits, 25)
  for name in small:
    assert set(small[name]) <= set(bigger[name])
  assert rv.subsample(splits, 0) == splits
  with pytest.raises(ValueError, match="max_per_class"):
    rv.subsample(splits, -1)


# ---------------------------------------------------------------------------
# Examples
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n_words, bucket", [
    (0, "<100"), (1, "<100"), (99, "<100"), (100, "100-199"),
    (199, "100-199"), (200, "200-399"), (399, "200-399"), (400, "400+"),
    (5000, "400+"),
])
def test_length_bucket(n_words, bucket):
  text = "\n\t ".join(["w"] * n_words) + "  "
  assert rv.length_bucket(text) == bucket


def test_examples_round_trip_through_gzip_tfrecords(tmp_path):
  files = dict(testing.review_files(25, 25))
  files["train/pos/999_10.txt"] = "Très bien! 映画 👍 \"quoted\"\n<br />"
  files.update(testing.review_files(6, 6, split_dir="test"))
  scan = rv.read_reviews(_tree(tmp_path, files))
  splits = rv.split_reviews(scan)
  paths = rv.write_examples(str(tmp_path / "out"), splits, num_shards=3)
  assert list(paths) == ["train", "eval", "test"]
  for name, rs in splits.items():
    shard_files = sorted(glob.glob(str(tmp_path / "out" / f"Split-{name}" /
                                       "*")))
    assert [os.path.basename(p) for p in shard_files] == [
        f"data_tfrecord-0000{i}-of-00003.gz" for i in range(3)]
    assert shard_files == sorted(paths[name])
    with open(shard_files[0], "rb") as f:
      assert f.read(2) == b"\x1f\x8b"  # GZIP magic
    parsed = [tf.io.parse_single_example(r, _SPEC) for r in
              tf.data.TFRecordDataset(shard_files, compression_type="GZIP")]
    got = sorted((p["review_id"].numpy().decode(),
                  p["text"].numpy().decode("utf-8"), int(p["label"]),
                  int(p["rating"]), p["length_bucket"].numpy().decode())
                 for p in parsed)
    want = sorted((r.review_id, r.text, r.label, r.rating,
                   rv.length_bucket(r.text)) for r in rs)
    assert got == want
  all_ids = {r.review_id: r for rs in splits.values() for r in rs}
  assert all_ids["train/pos/999"].text.startswith("Très bien! 映画 👍")
  buckets = {rv.length_bucket(r.text) for r in all_ids.values()}
  assert buckets == {"<100", "100-199", "200-399", "400+"}


def test_to_example_features():
  review = Review("train/neg/7", "train", "bad film", 0, 2)
  ex = rv.to_example(review)
  f = ex.features.feature
  assert sorted(f) == ["label", "length_bucket", "rating", "review_id", "text"]
  assert f["text"].bytes_list.value == [b"bad film"]
  assert f["label"].int64_list.value == [0]
  assert f["rating"].int64_list.value == [2]
  assert f["review_id"].bytes_list.value == [b"train/neg/7"]
  assert f["length_bucket"].bytes_list.value == [b"<100"]
  unrated = rv.to_example(review._replace(rating=-1))
  assert unrated.features.feature["rating"].int64_list.value == [-1]
  with pytest.raises(ValueError, match="num_shards"):
    rv.write_split("/tmp/unused", [review], num_shards=0)


# ---------------------------------------------------------------------------
# fetch
# ---------------------------------------------------------------------------


def _sha256(data):
  return hashlib.sha256(data).hexdigest()


def test_fetch_local_path(tmp_path):
  archive = testing.write_archive(tmp_path / "a.tar.gz",
                                  testing.review_files(3, 3))
  digest = _sha256(open(archive, "rb").read())
  cache = tmp_path / "cache"
  assert rv.fetch(archive, str(cache)) == archive
  assert rv.fetch(archive, str(cache), sha256=digest.upper()) == archive
  assert not cache.exists()  # nothing copied
  with pytest.raises(ReviewDataError) as e:
    rv.fetch(archive, str(cache), sha256="0" * 64)
  _assert_error(e, archive, "sha256 mismatch", "0" * 64, digest)
  assert os.path.exists(archive)  # a user's file is never deleted
  folder = _tree(tmp_path, testing.review_files(3, 3))
  assert rv.fetch(folder, str(cache)) == folder
  with pytest.raises(ReviewDataError, match="is a directory"):
    rv.fetch(folder, str(cache), sha256=digest)
  missing = str(tmp_path / "missing.tar.gz")
  with pytest.raises(ReviewDataError) as e:
    rv.fetch(missing, str(cache))
  _assert_error(e, missing, "not found")
  with pytest.raises(ValueError, match="64 hexadecimal"):
    rv.fetch(archive, str(cache), sha256="abc")


def test_fetch_file_url_downloads_once_then_verifies_cache(tmp_path,
                                                           monkeypatch):
  (tmp_path / "src").mkdir()
  archive = testing.write_archive(tmp_path / "src" / "aclImdb_v1.tar.gz",
                                  testing.review_files(8, 8))
  data = open(archive, "rb").read()
  url = "file://" + urllib.request.pathname2url(archive)
  cache = tmp_path / "cache"
  opened = []
  guarded = urllib.request.urlopen

  def counting(u, *args, **kwargs):
    opened.append(u)
    return guarded(u, *args, **kwargs)
  monkeypatch.setattr(urllib.request, "urlopen", counting)

  path = rv.fetch(url, str(cache), sha256=_sha256(data))
  assert path == fetch_lib.cache_path(url, str(cache))
  assert path.endswith("-aclImdb_v1.tar.gz") and path.startswith(str(cache))
  assert open(path, "rb").read() == data
  assert os.listdir(cache) == [os.path.basename(path)]  # no temp files left
  assert len(opened) == 1
  # Cached: verified, not downloaded again (also without a digest).
  assert rv.fetch(url, str(cache), sha256=_sha256(data)) == path
  assert rv.fetch(url, str(cache)) == path
  assert len(opened) == 1
  # The scan reads the cached copy.
  assert len(rv.read_reviews(path).reviews) == 16
  # A damaged cache entry fails the check, is deleted and downloaded next time.
  with open(path, "ab") as f:
    f.write(b"junk")
  with pytest.raises(ReviewDataError) as e:
    rv.fetch(url, str(cache), sha256=_sha256(data))
  _assert_error(e, url, "cached copy", _sha256(data), _sha256(data + b"junk"))
  assert not os.path.exists(path)
  assert rv.fetch(url, str(cache), sha256=_sha256(data)) == path
  assert len(opened) == 2


def test_fetch_checksum_mismatch_deletes_download(tmp_path):
  archive = testing.write_archive(tmp_path / "a.tar.gz",
                                  testing.review_files(3, 3))
  actual = _sha256(open(archive, "rb").read())
  url = "file://" + urllib.request.pathname2url(archive)
  cache = tmp_path / "cache"
  with pytest.raises(ReviewDataError) as e:
    rv.fetch(url, str(cache), sha256="ab" * 32)
  _assert_error(e, url, "sha256 mismatch", "expected " + "ab" * 32,
                "got " + actual)
  assert os.listdir(cache) == []


class _FakeResponse(io.BytesIO):
  """What urlopen returns, enough for fetch: read(n), headers, a context."""

  def __init__(self, data, length=None, fail_after=None):
    super().__init__(data)
    self.headers = {"Content-Length": str(len(data) if length is None
                                          else length)}
    self.fail_after = fail_after

  def read(self, n=-1):
    if self.fail_after is not None and self.tell() >= self.fail_after:
      raise ConnectionResetError("connection reset by peer")
    return super().read(min(n, 1000) if n and n > 0 else n)


def test_fetch_http_with_fake_urlopen(tmp_path, monkeypatch):
  data = open(testing.write_archive(tmp_path / "a.tar.gz",
                                    testing.review_files(30, 30)), "rb").read()
  assert len(data) > 1000  # several reads of the fake response
  calls = []

  def fake_urlopen(url, timeout=None):
    calls.append((url, timeout))
    return _FakeResponse(data)
  monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
  cache = tmp_path / "cache"
  path = rv.fetch(rv.IMDB_URL, str(cache), sha256=_sha256(data))
  assert calls == [(rv.IMDB_URL, 60)]
  assert os.path.basename(path).endswith("-aclImdb_v1.tar.gz")
  assert open(path, "rb").read() == data
  assert rv.fetch(rv.IMDB_URL, str(cache)) == path and len(calls) == 1


@pytest.mark.parametrize("failure, message", [
    ("reset", "download failed (ConnectionResetError"),
    ("short", "download truncated: got"),
    ("refused", "download failed (URLError"),
])
def test_fetch_failed_download_leaves_no_file(tmp_path, monkeypatch, failure,
                                              message):
  data = b"x" * 5000

  def fake_urlopen(url, timeout=None):
    if failure == "refused":
      raise urllib.error.URLError("connection refused")
    if failure == "reset":
      return _FakeResponse(data, fail_after=2000)
    return _FakeResponse(data[:3000], length=5000)
  monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
  cache = tmp_path / "cache"
  url = "https://example.invalid/data/aclImdb_v1.tar.gz"
  with pytest.raises(ReviewDataError) as e:
    rv.fetch(url, str(cache))
  _assert_error(e, url, message)
  assert os.listdir(cache) == []


def test_cache_path_keeps_urls_apart(tmp_path):
  a = fetch_lib.cache_path("https://a.example/x/data.tar.gz", str(tmp_path))
  b = fetch_lib.cache_path("https://b.example/x/data.tar.gz", str(tmp_path))
  assert a != b and a.endswith("-data.tar.gz") and b.endswith("-data.tar.gz")
  assert fetch_lib.cache_path("https://a.example/", "~/c").startswith(
      os.path.expanduser("~/c"))


def test_constants():
  assert rv.IMDB_URL == (
      "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz")
  assert rv.SHARED_COPY_SHA1 == "33151e65b22a79c63070ac020e101ac52ac79a06"
  assert len(rv.IMDB_SHA256) == 64 and len(rv.SHARED_COPY_SHA256) == 64


# ---------------------------------------------------------------------------
# The real data (optional)
# ---------------------------------------------------------------------------


@pytest.mark.skipif(not os.path.exists(SHARED_ARCHIVE),
                    reason=f"shared IMDb copy not present at {SHARED_ARCHIVE} "
                    "(../shared/datasets/imdb/aclImdb_train.tar.gz relative "
                    "to the repository root)")
def test_real_archive(tmp_path):
  start = time.perf_counter()
  assert rv.fetch(SHARED_ARCHIVE, str(tmp_path / "cache"),
                  sha256=rv.SHARED_COPY_SHA256) == SHARED_ARCHIVE
  scan = rv.read_reviews(SHARED_ARCHIVE)
  scanned = time.perf_counter()
  assert scan.counts == {("train", 1): 12499, ("train", 0): 12500}
  assert scan.num_bad == 0 and not scan.has_test
  splits = rv.split_reviews(scan)
  assert list(splits) == ["train", "eval"]
  n_train, n_eval = len(splits["train"]), len(splits["eval"])
  assert n_train + n_eval == 24999
  assert 22250 <= n_train <= 22750 and 2250 <= n_eval <= 2750
  assert (n_train, n_eval) == (22476, 2523)  # seed 42; sha256 is stable
  paths = rv.write_examples(str(tmp_path / "out"), splits, num_shards=4)
  assert len(paths["train"]) == 4
  elapsed = time.perf_counter() - start
  print(f"\nreal archive: scan {scanned - start:.2f} s, scan+split+write "
        f"{elapsed:.2f} s")
  assert elapsed < 60
