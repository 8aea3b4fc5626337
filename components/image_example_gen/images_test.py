"""Tests for images.py: IDX, .npz and folders of images, every data error,
and the book's splits."""

import gzip
import io
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from components.image_example_gen import images as il
from components.image_example_gen import testing
from components.image_example_gen.images import ImageDataError
from preprocessing import image_contract as contract


def _error(call, *args, **kwargs) -> str:
  with pytest.raises(ImageDataError) as e:
    call(*args, **kwargs)
  return str(e.value)


def _idx_dataset(folder, n_train=12, n_test=5, gz=True, shape=(4, 3)):
  x, y = testing.images(n_train, shape), testing.labels(n_train)
  xt, yt = testing.images(n_test, shape, 100), testing.labels(n_test, 3, 1)
  paths = testing.write_idx(folder, "train", x, y, gz)
  if n_test:
    paths += testing.write_idx(folder, "t10k", xt, yt, gz)
  return list(paths), (x, y, xt, yt)


# ---------------------------------------------------------------------------
# IDX
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False])
def test_load_idx(tmp_path, gz):
  paths, (x, y, xt, yt) = _idx_dataset(tmp_path, gz=gz)
  data = il.load_images(paths, il.IDX, source="src")
  assert data.shape == (4, 3, 1) and data.num_classes == 3
  assert data.class_names is None and data.source == "src"
  assert data.train.images.dtype == np.uint8
  assert data.train.labels.dtype == np.int64
  np.testing.assert_array_equal(data.train.images[..., 0], x)
  np.testing.assert_array_equal(data.train.labels, y)
  np.testing.assert_array_equal(data.test.images[..., 0], xt)
  np.testing.assert_array_equal(data.test.labels, yt)
  assert data.train.source == paths[0]
  # max_images keeps the first images of each part; num_classes is the
  # whole file's.
  small = il.load_images(paths, il.IDX, max_images=2)
  np.testing.assert_array_equal(small.train.images[..., 0], x[:2])
  np.testing.assert_array_equal(small.test.labels, yt[:2])
  assert small.num_classes == 3


def test_parse_idx_header_and_sizes():
  x = testing.images(3, (2, 5))
  data = testing.idx_bytes(x)
  np.testing.assert_array_equal(il.parse_idx(data, "f", "images"), x)
  y = np.array([0, 9, 255], np.uint8)
  np.testing.assert_array_equal(
      il.parse_idx(testing.idx_bytes(y, "labels"), "l", "labels"), y)
  # Labels where images are expected and the reverse: the magic says so.
  msg = _error(il.parse_idx, testing.idx_bytes(y, "labels"), "f.idx", "images")
  assert msg == ("f.idx: not an IDX images file: magic number 0x00000801, "
                 "expected 0x00000803 (unsigned bytes, 3 dimensions)")
  assert "magic number 0x00000803, expected 0x00000801" in _error(
      il.parse_idx, data, "l", "labels")
  assert "magic number none (file too short)" in _error(
      il.parse_idx, b"\0\0", "f", "images")
  assert "magic number 0x3c68746d" in _error(
      il.parse_idx, b"<html>oops</html>", "f", "images")
  msg = _error(il.parse_idx, data[:-1], "train-images", "images")
  assert msg == ("train-images: truncated: the header says 3x2x5 (30 bytes "
                 "of data), the file has 29")
  assert "longer than its header says" in _error(
      il.parse_idx, data + b"\0", "f", "images")
  assert "truncated IDX header" in _error(il.parse_idx, data[:10], "f",
                                          "images")
  huge = data[:4] + b"\xff" * 12 + data[16:]  # a corrupt header
  assert f"the header says {2**32 - 1}x{2**32 - 1}x{2**32 - 1}" in _error(
      il.parse_idx, huge, "f", "images")


def test_gzip_errors():
  data = gzip.compress(testing.idx_bytes(testing.images(50, (8, 8))))
  msg = _error(il.parse_idx, data[:len(data) // 2], "a.gz", "images")
  assert msg.startswith("a.gz: truncated or corrupt gzip data (EOFError")
  corrupt = bytearray(data)
  corrupt[len(data) // 2] ^= 0xFF
  assert "truncated or corrupt gzip data" in _error(
      il.parse_idx, bytes(corrupt), "b.gz", "images")
  crc = data[:-8] + bytes([data[-8] ^ 1]) + data[-7:]  # CRC-32 mismatch
  assert "truncated or corrupt gzip data" in _error(
      il.parse_idx, crc, "c.gz", "images")
  assert "d.gz: named .gz but is not gzip data" in _error(
      il.parse_idx, b"\0\0\x08\x03", "d.gz", "images")


def test_idx_pairs_names_and_errors(tmp_path):
  paths, _ = _idx_dataset(tmp_path)
  readme = testing.write(tmp_path / "README.md", b"hi")
  md5 = testing.write(tmp_path / "train-images-idx3-ubyte.gz.md5", b"x")
  pairs = il.idx_pairs(paths + [readme, md5])
  assert pairs == {"train": (paths[0], paths[1]), "test": (paths[2], paths[3])}
  # Other prefixes (emnist-style, test-), the dotted spelling; a file
  # with mismatched kind and dimensions is not an IDX data file.
  assert il.idx_pairs(["/d/emnist-digits-train-images-idx3-ubyte",
                       "/d/emnist-digits-train-labels-idx1-ubyte",
                       "/d/test-images.idx3-ubyte", "/d/test-labels.idx1-ubyte",
                       "/d/train-images-idx1-ubyte"]) == {
                           "train": ("/d/emnist-digits-train-images-idx3-ubyte",
                                     "/d/emnist-digits-train-labels-idx1-ubyte"),
                           "test": ("/d/test-images.idx3-ubyte",
                                    "/d/test-labels.idx1-ubyte")}
  assert _error(il.idx_pairs, ["/d/t10k-labels.idx1-ubyte.gz",
                               "/d/train-images-idx3-ubyte",
                               "/d/train-labels-idx1-ubyte"]) == (
                                   "/d/t10k-labels.idx1-ubyte.gz: no images "
                                   "file next to it (expected "
                                   "t10k-images.idx3-ubyte[.gz])")
  msg = _error(il.idx_pairs, [paths[0]])
  assert msg == (f"{paths[0]}: no labels file next to it (expected "
                 "train-labels-idx1-ubyte[.gz])")
  msg = _error(il.idx_pairs, paths[:3])
  assert msg.startswith(f"{paths[2]}: no labels file next to it (expected "
                        "t10k-labels-idx1-ubyte")
  msg = _error(il.idx_pairs, [paths[1]])
  assert msg.startswith(f"{paths[1]}: no images file next to it (expected "
                        "train-images-idx3-ubyte")
  raw = testing.write(tmp_path / "train-images-idx3-ubyte", b"")
  assert "a second train images file besides" in _error(
      il.idx_pairs, paths + [raw])
  msg = _error(il.idx_pairs, ["/d/valid-images-idx3-ubyte"])
  assert msg.startswith("/d/valid-images-idx3-ubyte: cannot tell the split")
  msg = _error(il.idx_pairs, paths[2:] + [readme], "/d/*-ubyte*")
  assert msg.startswith("/d/*-ubyte*: no data found: no training images (")
  assert paths[2] in msg


def test_load_idx_count_and_size_mismatch(tmp_path):
  x = testing.images(4)
  images_path, labels_path = testing.write_idx(tmp_path, "train", x,
                                               testing.labels(3))
  msg = _error(il.load_idx, [images_path, labels_path])
  assert msg == f"{images_path}: 4 images, but {labels_path} has 3 labels"
  paths, _ = _idx_dataset(tmp_path / "b")
  test_paths = testing.write_idx(tmp_path / "b", "t10k",
                                 testing.images(2, (5, 3)), testing.labels(2))
  msg = _error(il.load_idx, paths[:2] + list(test_paths))
  assert msg == (f"{test_paths[0]}: images are 5x3x1, but {paths[0]} has "
                 "4x3x1; train and test images must have one size")
  empty = testing.write_idx(tmp_path / "c", "train",
                            np.zeros((0, 2, 2), np.uint8),
                            np.zeros(0, np.uint8))
  assert "holds no images" in _error(il.load_idx, list(empty))


# ---------------------------------------------------------------------------
# .npz
# ---------------------------------------------------------------------------


def test_load_npz(tmp_path):
  x, y = testing.images(10, (4, 3, 3)), testing.labels(10, 4).astype(np.int64)
  xt, yt = testing.images(3, (4, 3, 3), 50), testing.labels(3, 4)
  path = testing.write_npz(tmp_path / "d.npz", x_train=x, y_train=y,
                           x_test=xt, y_test=yt.reshape(-1, 1))
  data = il.load_images([path], il.NPZ)
  assert data.shape == (4, 3, 3) and data.num_classes == 4
  np.testing.assert_array_equal(data.train.images, x)
  np.testing.assert_array_equal(data.test.labels, yt)
  assert data.test.labels.dtype == np.int64
  # 3-D grayscale, no test part, integer pixels of another dtype.
  path = testing.write_npz(tmp_path / "g.npz",
                           x_train=testing.images(5).astype(np.int32),
                           y_train=testing.labels(5))
  data = il.load_images([path], il.NPZ, max_images=2)
  assert data.test is None and data.shape == (4, 3, 1)
  assert data.train.images.dtype == np.uint8 and len(data.train.images) == 2


@pytest.mark.parametrize("arrays, problem", [
    ({"x_train": np.zeros((2, 2, 2), np.uint8)}, "no y_train array"),
    ({"y_train": np.zeros(2, np.uint8)}, "no x_train array"),
    ({"x_train": np.zeros((2, 2, 2), np.uint8), "y_train": np.zeros(2),
      "x_test": np.zeros((2, 2, 2), np.uint8)}, "has x_test without y_test"),
    ({"x_train": np.zeros((3, 2, 2), np.uint8),
      "y_train": np.zeros(2, np.uint8)},
     "x_train has 3 images, but y_train has 2 labels"),
    ({"x_train": np.zeros((2, 4), np.uint8), "y_train": np.zeros(2, np.uint8)},
     "x_train has shape (2, 4), expected [n, height, width]"),
    ({"x_train": np.zeros((2, 2, 2), np.uint8),
      "y_train": np.zeros((2, 2), np.uint8)}, "y_train has shape (2, 2)"),
    ({"x_train": np.zeros((2, 2, 2), np.uint8),
      "y_train": np.array([0.0, 1.0])}, "y_train has dtype float64"),
    ({"x_train": np.zeros((2, 2, 2), np.uint8),
      "y_train": np.array([1, -1])},
     "y_train has the label -1 at index 1; labels must be 0..num_classes-1"),
    ({"x_train": np.full((2, 2, 2), 0.5), "y_train": np.zeros(2, np.uint8)},
     "x_train has dtype float64 with values 0.5..0.5, expected uint8 pixels"),
    ({"x_train": np.full((2, 2, 2), 256, np.int16),
      "y_train": np.zeros(2, np.uint8)},
     "x_train has dtype int16 with values 256..256, expected uint8 pixels"),
    ({"x_train": np.zeros((0, 2, 2), np.uint8),
      "y_train": np.zeros(0, np.uint8)}, "x_train holds no images"),
])
def test_load_npz_errors(tmp_path, arrays, problem):
  path = testing.write_npz(tmp_path / "d.npz", **arrays)
  msg = _error(il.load_npz, [path])
  assert msg.startswith(f"{path}: ") and problem in msg, msg


def test_load_npz_unreadable(tmp_path):
  pickled = str(tmp_path / "p.npz")
  np.savez(pickled, x_train=np.array([{"a": 1}], dtype=object),
           y_train=np.zeros(1))
  assert f"{pickled}: not a readable .npz archive (ValueError" in _error(
      il.load_npz, [pickled])
  junk = testing.write(tmp_path / "junk.npz", b"not a zip at all")
  assert f"{junk}: not a readable .npz archive" in _error(il.load_npz, [junk])
  good = testing.write_npz(tmp_path / "t.npz", x_train=testing.images(500),
                           y_train=testing.labels(500))
  data = open(good, "rb").read()
  cut = testing.write(tmp_path / "cut.npz", data[:len(data) // 2])
  assert f"{cut}: not a readable .npz archive" in _error(il.load_npz, [cut])
  msg = _error(il.load_npz, [good, junk], source="/d/*.npz")
  assert msg.startswith("/d/*.npz: several files: expected a .npz file")


# ---------------------------------------------------------------------------
# Folders of images
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode, pixels, channels", [
    ("L", testing.images(1, (5, 4))[0], 1),
    ("RGB", testing.images(1, (5, 4, 3))[0], 3),
    ("RGBA", testing.images(1, (5, 4, 4))[0], 4),
    ("LA", testing.images(1, (5, 4, 2))[0], 2),
])
def test_decode_png_keeps_channels(mode, pixels, channels):
  data = testing.encode_image(pixels, "PNG", mode)
  decoded = il.decode_image(data, "a.png")
  assert decoded.dtype == np.uint8 and decoded.shape == (5, 4, channels)
  np.testing.assert_array_equal(decoded.reshape(pixels.shape), pixels)


def test_decode_other_modes_and_jpeg():
  palette = Image.new("P", (3, 2))
  palette.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
  palette.putpixel((1, 1), 1)
  out = io.BytesIO()
  palette.save(out, "PNG")
  decoded = il.decode_image(out.getvalue(), "p.png")
  assert decoded.shape == (2, 3, 3)
  assert decoded[1, 1].tolist() == [255, 0, 0]
  wide = Image.fromarray(np.array([[0, 65535], [256, 1000]], np.uint16))
  out = io.BytesIO()
  wide.save(out, "PNG")
  decoded = il.decode_image(out.getvalue(), "w.png")
  assert decoded[..., 0].tolist() == [[0, 255], [1, 3]]
  gray = np.full((8, 8), 200, np.uint8)
  decoded = il.decode_image(testing.encode_image(gray, "JPEG"), "g.jpg")
  assert decoded.shape == (8, 8, 1) and abs(int(decoded.mean()) - 200) <= 2


def test_decode_errors():
  data = testing.encode_image(testing.images(1, (20, 20))[0])
  assert _error(il.decode_image, b"hello", "x.png").startswith(
      "x.png: cannot decode the image (UnidentifiedImageError")
  assert "t.png: cannot decode the image" in _error(
      il.decode_image, data[:len(data) // 2], "t.png")
  jpeg = testing.encode_image(testing.images(1, (40, 40, 3))[0], "JPEG")
  assert "j.jpg: cannot decode the image" in _error(
      il.decode_image, jpeg[:len(jpeg) // 2], "j.jpg")


def _folder(root, shape=(4, 3)):
  train = {"cat": testing.images(3, shape), "ant": testing.images(2, shape, 10),
           "bee": testing.images(4, shape, 20)}
  test = {"bee": testing.images(2, shape, 30), "ant": testing.images(1, shape,
                                                                     40)}
  return (testing.write_folder(root, "train", train)
          + testing.write_folder(root, "test", test)), train, test


def test_load_folder(tmp_path):
  paths, train, test = _folder(tmp_path)
  hidden = testing.write(tmp_path / "train" / "ant" / ".DS_Store", b"x")
  data = il.load_images(paths + [hidden], il.FOLDER)
  assert data.class_names == ["ant", "bee", "cat"] and data.num_classes == 3
  assert data.shape == (4, 3, 1)
  ids = {"ant": 0, "bee": 1, "cat": 2}
  want_train = testing.records(
      np.concatenate(list(train.values())),
      np.concatenate([[ids[k]] * len(v) for k, v in train.items()]))
  assert testing.records(data.train.images, data.train.labels) == want_train
  assert testing.records(data.test.images, data.test.labels) == (
      testing.records(np.concatenate([test["bee"], test["ant"]]),
                      [1, 1, 0]))
  assert data.test.source == str(tmp_path / "test")
  # Shuffled with a fixed seed: the same order every time, not by class.
  again = il.load_images(list(reversed(paths)), il.FOLDER)
  np.testing.assert_array_equal(again.train.labels, data.train.labels)
  assert data.train.labels.tolist() != sorted(data.train.labels.tolist())
  # max_images decodes the first images after the shuffle only.
  read = []
  small = il.load_images(paths, il.FOLDER, max_images=2,
                         read=lambda p: read.append(p) or il.read_local(p))
  assert len(small.train.images) == 2 and len(small.test.images) == 2
  assert len(read) == 4
  np.testing.assert_array_equal(small.train.labels, data.train.labels[:2])


def test_load_folder_jpeg_rgb(tmp_path):
  paths = testing.write_folder(tmp_path, "train", {
      "a": testing.images(2, (6, 5, 3)), "b": testing.images(1, (6, 5, 3))},
                               ext=".jpeg")
  data = il.load_images(paths, il.FOLDER)
  assert data.shape == (6, 5, 3) and data.test is None
  assert sorted(data.train.labels.tolist()) == [0, 0, 1]


def test_folder_errors(tmp_path):
  paths, _, _ = _folder(tmp_path)
  odd = [testing.write(tmp_path / "train" / "cat" / "zz.png",
                       testing.encode_image(testing.images(1, (5, 3))[0]))]
  msg = _error(il.load_folder, paths + odd)
  assert "images must have one size" in msg
  # One offending file and both sizes named (which one is first depends on
  # the shuffle).
  assert "4x3x1" in msg and "5x3x1" in msg and "zz.png" in msg
  rgb = testing.write(tmp_path / "train" / "cat" / "rgb.png",
                      testing.encode_image(testing.images(1, (4, 3, 3))[0]))
  assert "4x3x3" in _error(il.load_folder, paths[:3] + [rgb])
  valid = testing.write_folder(tmp_path, "validation",
                               {"cat": testing.images(1)})
  msg = _error(il.load_folder, paths + valid)
  assert msg.startswith(f"{valid[0]}: unknown split folder 'validation'; "
                        "expected images <root>/train/<class>/")
  text = testing.write(tmp_path / "train" / "cat" / "notes.txt", b"x")
  assert _error(il.load_folder, paths + [text]) == (
      f"{text}: not a .png, .jpg or .jpeg file; a class folder holds images "
      "only")
  dog = testing.write_folder(tmp_path, "test", {"dog": testing.images(1)})
  assert _error(il.load_folder, paths + dog) == (
      f"{dog[0]}: the test class folder 'dog' has no train folder (train "
      "classes: ant, bee, cat)")
  broken = testing.write(tmp_path / "train" / "ant" / "broken.png", b"\x89PNG")
  assert f"{broken}: cannot decode the image" in _error(
      il.load_folder, paths + [broken])
  test_only = [p for p in paths if "/test/" in p]
  assert _error(il.load_folder, test_only, source="/d/*/*/*").startswith(
      "/d/*/*/*: no data found: no training image; expected images "
      "<root>/train/<class>/*.png|jpg|jpeg")


def test_load_images_dispatch_and_no_data():
  assert _error(il.load_images, [], il.IDX, source="/d/*-ubyte*") == (
      "/d/*-ubyte*: no data found (no file matches; expected IDX files "
      "<prefix>-images-idx3-ubyte[.gz] and <prefix>-labels-idx1-ubyte[.gz] "
      "(train-* and optionally t10k-*))")
  assert "<npz>: no data found" in _error(il.load_images, [], il.NPZ)
  with pytest.raises(ValueError, match="source_format must be one of"):
    il.load_images(["a"], "tiff")
  with pytest.raises(ValueError, match="max_images must be an integer >= 0"):
    il.load_idx(["a"], max_images=-1)


# ---------------------------------------------------------------------------
# Splits
# ---------------------------------------------------------------------------


def test_split_ranges_with_a_test_part():
  assert contract.EVAL_IMAGES == 5000
  assert il.split_ranges(60000, 10000) == {
      "train": ("train", 0, 55000), "eval": ("train", 55000, 60000),
      "test": ("test", 0, 10000)}
  assert list(il.split_ranges(10, 3, eval_images=4)) == ["train", "eval",
                                                          "test"]
  msg = _error(il.split_ranges, 10, 3, eval_images=4, test_images=2,
               source="src")
  assert msg.startswith("src: has test images of its own (3); test_images "
                        "(2) holds out training images only")


def test_split_ranges_without_a_test_part():
  # MNIST's training half: train | eval | test, in file order.
  assert il.split_ranges(60000, None, test_images=10000) == {
      "train": ("train", 0, 45000), "eval": ("train", 45000, 50000),
      "test": ("train", 50000, 60000)}
  msg = _error(il.split_ranges, 60000, None, source="/d/mnist")
  assert msg.startswith("/d/mnist: has no test images (no t10k-*/test-* IDX "
                        "files, no x_test, no test/ folder); pass "
                        "test_images > 0")
  msg = _error(il.split_ranges, 10, None, eval_images=6, test_images=4,
               source="src")
  assert msg.startswith("src: 10 training images are too few for "
                        "eval_images=6 and test_images=4: the train split "
                        "would have 0")
  assert "would have -2" in _error(il.split_ranges, 3, 1, eval_images=5)
  with pytest.raises(ValueError, match="eval_images must be an integer >= 1"):
    il.split_ranges(10, 2, eval_images=0)
  with pytest.raises(ValueError, match="test_images must be an integer >= 0"):
    il.split_ranges(10, None, test_images=-1)


def test_split_images_and_check_shape(tmp_path):
  paths, (x, y, xt, yt) = _idx_dataset(tmp_path)
  data = il.load_images(paths, il.IDX)
  splits = il.split_images(data, eval_images=4)
  assert list(splits) == ["train", "eval", "test"]
  np.testing.assert_array_equal(splits["train"][0][..., 0], x[:8])
  np.testing.assert_array_equal(splits["eval"][1], y[8:])
  np.testing.assert_array_equal(splits["test"][0][..., 0], xt)
  il.check_shape(data, None)
  il.check_shape(data, (4, 3, 1))
  assert _error(il.check_shape, data, (28, 28, 1)) == (
      f"{paths[0]}: images are 4x3x1 (height x width x channels), but "
      "image_shape expects 28x28x1")
  no_test = il.load_images(paths[:2], il.IDX)
  splits = il.split_images(no_test, eval_images=3, test_images=2)
  np.testing.assert_array_equal(splits["test"][1], y[10:])
  np.testing.assert_array_equal(splits["eval"][1], y[7:10])


def test_select_classes_relabels_in_the_listed_order_and_limits_train():
  labels = np.array([0, 1, 2, 3, 1, 2, 3, 0, 2, 1])
  images = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1)
  splits = {contract.TRAIN: (images, labels), contract.EVAL: (images[1:3], labels[1:3]),
            contract.TEST: (images[5:], labels[5:])}
  out = il.select_classes(splits, [2, 1], 4, train_limit=3)
  train_images, train_labels = out[contract.TRAIN]
  # Classes 2 and 1 become 0 and 1; the first three train images are kept.
  assert train_images.reshape(-1).tolist() == [1, 2, 4]
  assert train_labels.tolist() == [1, 0, 1]
  assert out[contract.EVAL][1].tolist() == [1, 0]  # labels 1, 2
  assert out[contract.TEST][1].tolist() == [0, 0, 1]
  # No classes: only the cut.
  assert len(il.select_classes(splits, [], 4, train_limit=2)[contract.TRAIN][1]) == 2
  with pytest.raises(il.ImageDataError, match=r"classes \[7\] do not exist \(labels are 0..3\)"):
    il.select_classes(splits, [1, 7], 4)
  with pytest.raises(il.ImageDataError, match=r"left in the split\(s\) \['eval'\]"):
    il.select_classes(splits, [3, 0], 4)


def test_images_module_does_not_import_tensorflow_or_tfx():
  # The module itself, loaded without its package (whose __init__ imports
  # the component, and so TFX).
  path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "images.py")
  code = ("import importlib.util, sys; "
          f"spec = importlib.util.spec_from_file_location('images', {path!r}); "
          "module = sys.modules['images'] = "
          "importlib.util.module_from_spec(spec); "
          "spec.loader.exec_module(module); "
          "print(sorted({m.split('.')[0] for m in sys.modules} & "
          "{'tfx', 'tensorflow', 'apache_beam'}))")
  root = os.path.dirname(os.path.dirname(os.path.dirname(path)))
  out = subprocess.run([sys.executable, "-c", code], cwd=root, check=True,
                       capture_output=True, text=True).stdout
  assert out.strip().splitlines()[-1] == "[]"
