"""Reading image datasets: IDX files, Keras-style ``.npz``, folders of images.

Three layouts, each as distributed or as people keep them:

* ``idx``: ``train-images-idx3-ubyte[.gz]`` + ``train-labels-idx1-ubyte[.gz]``
  and optionally the ``t10k-*`` pair (MNIST, Fashion-MNIST). The IDX header
  (magic ``0x00000803`` for images: unsigned bytes, 3 dimensions; ``0x00000801``
  for labels) is parsed here with NumPy, no decoder needed.
* ``npz``: ``x_train, y_train[, x_test, y_test]`` as ``keras.datasets`` keeps
  them (x uint8 ``[n, H, W]`` or ``[n, H, W, C]``; y ``[n]`` or ``[n, 1]``).
* ``folder``: ``<root>/train/<class>/*.png|jpg|jpeg`` and optionally
  ``<root>/test/<class>/...``; the class ids are the sorted class folder
  names of train. The file list of each split is shuffled with a fixed seed
  (``FOLDER_SEED``) before the cuts: sorted by class, the positional eval cut
  and ``max_images`` would otherwise take whole classes.

Every image becomes ``uint8 [H, W, C]`` (grayscale keeps 1 channel), every
label an ``int64``. The book's split (``split_ranges``): the last
``eval_images`` training images are eval, the test part is test; a source
without a test part holds out its last ``test_images`` training images.

Anything that cannot be imported raises ``ImageDataError`` naming the file
and the problem. Pure NumPy and Pillow: no TensorFlow, no TFX (the executor
reads the bytes through ``tfx.dsl.io.fileio`` and hands a reader over).
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import math
import posixpath
import re
import zipfile
import zlib
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

from preprocessing import image_contract as contract

# Source formats (the component detects one at pipeline construction).
IDX, NPZ, FOLDER = "idx", "npz", "folder"
SOURCE_FORMATS = (IDX, NPZ, FOLDER)
# What each format looks like, for "no data found" messages.
EXPECTED = {
    IDX: ("IDX files <prefix>-images-idx3-ubyte[.gz] and "
          "<prefix>-labels-idx1-ubyte[.gz] (train-* and optionally t10k-*)"),
    NPZ: "a .npz file with x_train, y_train[, x_test, y_test]",
    FOLDER: ("images <root>/train/<class>/*.png|jpg|jpeg and optionally "
             "<root>/test/<class>/..."),
}

IDX_IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
IDX_LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension
_IDX_MAGICS = {"images": IDX_IMAGES_MAGIC, "labels": IDX_LABELS_MAGIC}
# train-images-idx3-ubyte.gz -> prefix "train", kind "images"; also the
# train-images.idx3-ubyte spelling of some copies.
_IDX_NAME = re.compile(r"^(?P<prefix>.*?)[-.]?(?P<kind>images|labels)[-.]"
                       r"(?P<dims>idx[13])-ubyte(\.gz)?$")
_IDX_DIMS = {"images": "idx3", "labels": "idx1"}
_GZIP_MAGIC = b"\x1f\x8b"

FOLDER_SPLITS = (contract.TRAIN, contract.TEST)  # split folder names
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
FOLDER_SEED = 42

Reader = Callable[[str], bytes]  # path -> the file's bytes
Shape = Tuple[int, int, int]  # height, width, channels


class ImageDataError(ValueError):
  """Image data that cannot be imported. The message names the file and the
  problem."""


@dataclasses.dataclass
class Part:
  """The training or the test images of a source."""
  images: np.ndarray  # uint8 [n, height, width, channels]
  labels: np.ndarray  # int64 [n]
  source: str  # the file(s) or folder it came from, for messages


@dataclasses.dataclass
class ImageSet:
  """A source's images: the training part, the test part when it has one."""
  train: Part
  test: Optional[Part]
  num_classes: int  # labels are 0..num_classes-1
  source: str
  class_names: Optional[List[str]] = None  # folder layout only

  @property
  def shape(self) -> Shape:
    """``(height, width, channels)`` of every image."""
    return tuple(int(d) for d in self.train.images.shape[1:])


def read_local(path: str) -> bytes:
  """The bytes of a local file (the default reader)."""
  with open(path, "rb") as f:
    return f.read()


def format_shape(shape: Sequence[int]) -> str:
  """``28x28x1``."""
  return "x".join(str(int(d)) for d in shape)


def _check_count(name: str, value: int, minimum: int) -> None:
  if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
    raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


# ---------------------------------------------------------------------------
# IDX
# ---------------------------------------------------------------------------


def gunzip(data: bytes, name: str) -> bytes:
  """``data`` decompressed when it is gzip (by its magic bytes, not its name).

  Raises:
    ImageDataError: naming the file, for truncated or corrupt gzip data, or
      a ``.gz`` name on data that is not gzip.
  """
  if data[:2] == _GZIP_MAGIC:
    try:
      return gzip.decompress(data)
    except (EOFError, OSError, zlib.error) as e:  # BadGzipFile is an OSError
      raise ImageDataError(f"{name}: truncated or corrupt gzip data "
                           f"({type(e).__name__}: {e})") from None
  if name.endswith(".gz"):
    raise ImageDataError(f"{name}: named .gz but is not gzip data (starts "
                         f"with {data[:4]!r})")
  return data


def parse_idx(data: bytes, name: str, kind: str) -> np.ndarray:
  """The uint8 array of an IDX file's bytes (gzip or not): ``[n, rows,
  columns]`` for ``kind`` "images", ``[n]`` for "labels". A view of the
  (decompressed) bytes: read-only, no copy.

  Raises:
    ImageDataError: naming the file: a magic number other than ``kind``'s,
      fewer or more bytes than the header says, broken gzip.
  """
  expected_magic = _IDX_MAGICS[kind]
  data = gunzip(data, name)
  ndim = expected_magic & 0xFF
  header = 4 + 4 * ndim
  magic = int.from_bytes(data[:4], "big") if len(data) >= 4 else None
  if magic != expected_magic:
    found = "none (file too short)" if magic is None else f"0x{magic:08x}"
    raise ImageDataError(
        f"{name}: not an IDX {kind} file: magic number {found}, expected "
        f"0x{expected_magic:08x} (unsigned bytes, {ndim} dimension"
        f"{'s' if ndim > 1 else ''})")
  if len(data) < header:
    raise ImageDataError(f"{name}: truncated IDX header: {len(data)} bytes, "
                         f"the header alone has {header}")
  dims = [int(d) for d in np.frombuffer(data, ">u4", ndim, 4)]
  size = math.prod(dims)  # Python ints: a corrupt header cannot overflow
  have = len(data) - header
  if have != size:
    problem = "truncated" if have < size else "longer than its header says"
    raise ImageDataError(
        f"{name}: {problem}: the header says {format_shape(dims)} "
        f"({size} bytes of data), the file has {have}")
  return np.frombuffer(data, np.uint8, size, header).reshape(dims)


def idx_split(prefix: str, path: str) -> str:
  """The split of an IDX file from its name's prefix: ``train``,
  ``*-train`` -> train; ``t10k``, ``test``, ``*-test`` -> test.

  Raises:
    ImageDataError: naming the file, for any other prefix.
  """
  low = prefix.lower()
  if low.endswith("train"):
    return contract.TRAIN
  if low.endswith(("t10k", "test")):
    return contract.TEST
  raise ImageDataError(
      f"{path}: cannot tell the split of this IDX file: the part of its name "
      "before images-idx3/labels-idx1 should end in train (training images) "
      "or t10k/test (test images)")


def idx_pairs(paths: Sequence[str], source: str = "<idx>",
              ) -> Dict[str, Tuple[str, str]]:
  """``{split: (images file, labels file)}`` of the IDX files among
  ``paths`` (others, e.g. checksum files, are left out); train first.

  Raises:
    ImageDataError: naming the file(s): two files for the same split and
      kind (e.g. both ``.gz`` and not), an images file without its labels
      file or the reverse, no training images (naming ``source``).
  """
  found: Dict[Tuple[str, str], str] = {}
  for path in sorted(paths):
    match = _IDX_NAME.match(posixpath.basename(path))
    if not match or _IDX_DIMS[match.group("kind")] != match.group("dims"):
      continue
    prefix, kind = match.group("prefix"), match.group("kind")
    split = idx_split(prefix, path)
    if (split, kind) in found:
      raise ImageDataError(
          f"{path}: a second {split} {kind} file besides "
          f"{found[split, kind]}; keep one")
    found[split, kind] = path
  pairs = {}
  for split in (contract.TRAIN, contract.TEST):
    images, labels = found.get((split, "images")), found.get((split, "labels"))
    if images and not labels:
      raise ImageDataError(
          f"{images}: no labels file next to it (expected "
          f"{_companion(images)}[.gz])")
    if labels and not images:
      raise ImageDataError(
          f"{labels}: no images file next to it (expected "
          f"{_companion(labels)}[.gz])")
    if images:
      pairs[split] = (images, labels)
  if contract.TRAIN not in pairs:
    present = ", ".join(found.values()) or "no IDX file"
    raise ImageDataError(
        f"{source}: no data found: no training images ({present}); expected "
        f"{EXPECTED[IDX]}")
  return pairs


def _companion(path: str) -> str:
  """The labels file's name for an images file and the reverse (no .gz)."""
  name = posixpath.basename(path)
  match = _IDX_NAME.match(name)
  other = "labels" if match.group("kind") == "images" else "images"
  return (name[:match.start("kind")] + other
          + name[match.end("kind"):match.start("dims")] + _IDX_DIMS[other]
          + "-ubyte")


def load_idx(paths: Sequence[str], read: Reader = read_local, *,
             max_images: int = 0, source: str = "<idx>") -> ImageSet:
  """The images and labels of the IDX files among ``paths``; ``max_images``
  > 0 keeps the first that many of each part.

  Raises:
    ImageDataError: see ``idx_pairs`` and ``parse_idx``; also for images and
      labels counts that differ, an empty part, and train and test images of
      different sizes.
  """
  _check_count("max_images", max_images, 0)
  parts: Dict[str, Part] = {}
  top = 0
  for split, (images_path, labels_path) in idx_pairs(paths, source).items():
    images = parse_idx(read(images_path), images_path, "images")
    labels = parse_idx(read(labels_path), labels_path, "labels")
    if len(images) != len(labels):
      raise ImageDataError(
          f"{images_path}: {len(images)} images, but {labels_path} has "
          f"{len(labels)} labels")
    if not len(images):
      raise ImageDataError(f"{images_path}: holds no images (the header "
                           f"says {format_shape(images.shape)})")
    top = max(top, int(labels.max()))
    if max_images:
      images, labels = images[:max_images], labels[:max_images]
    parts[split] = Part(images[..., np.newaxis], labels.astype(np.int64),
                        images_path)
  _check_same_size(parts)
  return ImageSet(train=parts[contract.TRAIN], test=parts.get(contract.TEST),
                  num_classes=top + 1, source=source)


def _check_same_size(parts: Dict[str, Part]) -> None:
  train = parts[contract.TRAIN]
  test = parts.get(contract.TEST)
  if test is not None and test.images.shape[1:] != train.images.shape[1:]:
    raise ImageDataError(
        f"{test.source}: images are {format_shape(test.images.shape[1:])}, "
        f"but {train.source} has {format_shape(train.images.shape[1:])}; "
        "train and test images must have one size")


# ---------------------------------------------------------------------------
# .npz
# ---------------------------------------------------------------------------


def _npz_part(x: np.ndarray, y: np.ndarray, path: str, x_name: str,
              y_name: str, max_images: int) -> Part:
  where = f"{path}: {x_name}"
  if x.ndim == 3:
    x = x[..., np.newaxis]
  elif x.ndim != 4:
    raise ImageDataError(f"{where} has shape {x.shape}, expected [n, height, "
                         "width] or [n, height, width, channels]")
  if y.ndim == 2 and y.shape[1] == 1:
    y = y[:, 0]
  if y.ndim != 1:
    raise ImageDataError(f"{path}: {y_name} has shape {y.shape}, expected "
                         "[n] or [n, 1] labels")
  if len(x) != len(y):
    raise ImageDataError(f"{where} has {len(x)} images, but {y_name} has "
                         f"{len(y)} labels")
  if not len(x):
    raise ImageDataError(f"{where} holds no images (shape {x.shape})")
  if not np.issubdtype(y.dtype, np.integer):
    raise ImageDataError(f"{path}: {y_name} has dtype {y.dtype}, expected "
                         "integer class ids")
  if y.min() < 0:
    raise ImageDataError(
        f"{path}: {y_name} has the label {int(y.min())} at index "
        f"{int(np.argmin(y))}; labels must be 0..num_classes-1")
  if max_images:
    x, y = x[:max_images], y[:max_images]
  if x.dtype != np.uint8:
    if not np.issubdtype(x.dtype, np.integer) or (
        x.size and (x.min() < 0 or x.max() > 255)):
      raise ImageDataError(f"{where} has dtype {x.dtype}"
                           + (f" with values {x.min()}..{x.max()}"
                              if np.issubdtype(x.dtype, np.number) and x.size
                              else "")
                           + ", expected uint8 pixels 0..255")
    x = x.astype(np.uint8)
  return Part(x, y.astype(np.int64), f"{path}: {x_name}")


def load_npz(paths: Sequence[str], read: Reader = read_local, *,
             max_images: int = 0, source: str = "<npz>") -> ImageSet:
  """The images and labels of the one ``.npz`` among ``paths`` (loaded
  without pickles); ``max_images`` > 0 keeps the first that many of each
  part.

  Raises:
    ImageDataError: naming the file: not a readable .npz, missing arrays,
      bad shapes or dtypes, counts that differ, negative labels; naming
      ``source`` when there is not exactly one file.
  """
  _check_count("max_images", max_images, 0)
  if len(paths) != 1:
    found = ", ".join(sorted(paths)) if paths else "none"
    raise ImageDataError(
        f"{source}: {'no data found' if not paths else 'several files'}: "
        f"expected {EXPECTED[NPZ]}, found {found}")
  [path] = paths
  try:
    with np.load(io.BytesIO(read(path)), allow_pickle=False) as npz:
      arrays = {key: npz[key] for key in npz.files
                if key in ("x_train", "y_train", "x_test", "y_test")}
  except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile,
          zlib.error) as e:
    raise ImageDataError(f"{path}: not a readable .npz archive "
                         f"({type(e).__name__}: {e})") from None
  missing = [k for k in ("x_train", "y_train") if k not in arrays]
  if missing:
    raise ImageDataError(f"{path}: no {' or '.join(missing)} array (has "
                         f"{sorted(arrays) or 'none of them'}); expected "
                         f"{EXPECTED[NPZ]}")
  if ("x_test" in arrays) != ("y_test" in arrays):
    has, lacks = (("x_test", "y_test") if "x_test" in arrays
                  else ("y_test", "x_test"))
    raise ImageDataError(f"{path}: has {has} without {lacks}")
  parts = {contract.TRAIN: _npz_part(arrays["x_train"], arrays["y_train"],
                                     path, "x_train", "y_train", max_images)}
  top = int(arrays["y_train"].max())
  if "x_test" in arrays:
    parts[contract.TEST] = _npz_part(arrays["x_test"], arrays["y_test"], path,
                                     "x_test", "y_test", max_images)
    top = max(top, int(arrays["y_test"].max()))
  _check_same_size(parts)
  return ImageSet(train=parts[contract.TRAIN], test=parts.get(contract.TEST),
                  num_classes=top + 1, source=source)


# ---------------------------------------------------------------------------
# Folders of images
# ---------------------------------------------------------------------------


def decode_image(data: bytes, name: str) -> np.ndarray:
  """A PNG or JPEG file's pixels as ``uint8 [height, width, channels]``:
  grayscale 1 channel (2 with alpha), color 3 (4 with alpha); palette images
  become RGB(A), 16-bit grayscale keeps its high byte.

  Raises:
    ImageDataError: naming the file, when it cannot be decoded.
  """
  try:
    with Image.open(io.BytesIO(data)) as image:
      image.load()
      mode = image.mode
      if mode == "1":
        image = image.convert("L")
      elif mode in ("P", "PA"):
        image = image.convert(
            "RGBA" if mode == "PA" or "transparency" in image.info else "RGB")
      elif mode.startswith("I"):  # 16-bit grayscale: I;16, I;16B, I
        pixels = np.asarray(image).astype(np.uint32) >> 8
        return np.minimum(pixels, 255).astype(np.uint8)[..., np.newaxis]
      elif mode not in ("L", "LA", "RGB", "RGBA"):
        image = image.convert("RGB")  # CMYK, YCbCr, ...
      pixels = np.asarray(image, dtype=np.uint8)
  except (OSError, SyntaxError, ValueError, EOFError,
          Image.DecompressionBombError) as e:
    # PIL reports broken files as any of these (UnidentifiedImageError is an
    # OSError, a bad PNG chunk a SyntaxError).
    raise ImageDataError(f"{name}: cannot decode the image "
                         f"({type(e).__name__}: {e})") from None
  return pixels if pixels.ndim == 3 else pixels[..., np.newaxis]


def folder_entries(paths: Sequence[str], source: str = "<folder>",
                   ) -> Tuple[Dict[str, List[Tuple[str, str]]], List[str]]:
  """``({split: [(path, class name), ...]}, class names)`` of
  ``<root>/<split>/<class>/<image>`` paths, each split's files sorted, then
  shuffled with ``FOLDER_SEED``; the class names are train's, sorted. Hidden
  names (starting with ".") are left out.

  Raises:
    ImageDataError: naming the file: a split folder other than train and
      test, a file that is not .png/.jpg/.jpeg, a test class that train
      lacks; naming ``source``: no training image.
  """
  entries: Dict[str, List[Tuple[str, str]]] = {s: [] for s in FOLDER_SPLITS}
  for path in sorted(paths):
    parts = path.rsplit("/", 3)
    if len(parts) < 4 or any(p.startswith(".") for p in parts[1:]):
      continue
    _, split, label, name = parts
    if split not in FOLDER_SPLITS:
      raise ImageDataError(
          f"{path}: unknown split folder {split!r}; expected "
          f"{EXPECTED[FOLDER]}")
    if not name.lower().endswith(IMAGE_EXTENSIONS):
      raise ImageDataError(f"{path}: not a .png, .jpg or .jpeg file; a class "
                           "folder holds images only")
    entries[split].append((path, label))
  if not entries[contract.TRAIN]:
    raise ImageDataError(f"{source}: no data found: no training image; "
                         f"expected {EXPECTED[FOLDER]}")
  classes = sorted({label for _, label in entries[contract.TRAIN]})
  known = set(classes)
  for path, label in entries[contract.TEST]:
    if label not in known:
      raise ImageDataError(
          f"{path}: the test class folder {label!r} has no train folder "
          f"(train classes: {', '.join(classes)})")
  for split, items in entries.items():
    order = np.random.RandomState(FOLDER_SEED).permutation(len(items))
    entries[split] = [items[i] for i in order]
  return {s: items for s, items in entries.items() if items}, classes


def load_folder(paths: Sequence[str], read: Reader = read_local, *,
                max_images: int = 0, source: str = "<folder>") -> ImageSet:
  """The decoded images of ``<root>/<split>/<class>/<image>`` paths (see
  ``folder_entries``); ``max_images`` > 0 keeps (and decodes) only the first
  that many of each split after the shuffle.

  Raises:
    ImageDataError: see ``folder_entries`` and ``decode_image``; also for
      images of different sizes, naming one offending file and both sizes.
  """
  _check_count("max_images", max_images, 0)
  entries, classes = folder_entries(paths, source)
  class_ids = {name: i for i, name in enumerate(classes)}
  first: Optional[Tuple[str, Shape]] = None
  parts: Dict[str, Part] = {}
  for split, items in entries.items():
    if max_images:
      items = items[:max_images]
    images: Optional[np.ndarray] = None
    for i, (path, _) in enumerate(items):
      pixels = decode_image(read(path), path)
      if first is None:
        first = (path, pixels.shape)
      elif pixels.shape != first[1]:
        raise ImageDataError(
            f"{path}: image is {format_shape(pixels.shape)} (height x width "
            f"x channels), but {first[0]} is {format_shape(first[1])}; all "
            "images must have one size")
      if images is None:
        images = np.empty((len(items),) + pixels.shape, np.uint8)
      images[i] = pixels
    labels = np.array([class_ids[label] for _, label in items], np.int64)
    root = posixpath.dirname(posixpath.dirname(posixpath.dirname(
        items[0][0])))
    parts[split] = Part(images, labels, posixpath.join(root, split))
  return ImageSet(train=parts[contract.TRAIN], test=parts.get(contract.TEST),
                  num_classes=len(classes), source=source,
                  class_names=classes)


# ---------------------------------------------------------------------------
# Any format, and the splits
# ---------------------------------------------------------------------------


def load_images(paths: Sequence[str], source_format: str,
                read: Reader = read_local, *, max_images: int = 0,
                source: str = "") -> ImageSet:
  """The images of ``paths`` (the files a source's pattern matches) in
  ``source_format`` (one of ``SOURCE_FORMATS``); ``source`` (the pattern)
  names the source in messages.

  Raises:
    ImageDataError: naming the file and the problem, or ``source`` when no
      data is found.
    ValueError: for an unknown ``source_format`` or a bad ``max_images``.
  """
  loaders = {IDX: load_idx, NPZ: load_npz, FOLDER: load_folder}
  if source_format not in loaders:
    raise ValueError(f"source_format must be one of {SOURCE_FORMATS}, got "
                     f"{source_format!r}")
  source = source or f"<{source_format}>"
  if not paths:
    raise ImageDataError(f"{source}: no data found (no file matches; "
                         f"expected {EXPECTED[source_format]})")
  return loaders[source_format](paths, read, max_images=max_images,
                                source=source)


def split_ranges(num_train: int, num_test: Optional[int], *,
                 eval_images: int = contract.EVAL_IMAGES,
                 test_images: int = 0, source: str = "<images>",
                 ) -> Dict[str, Tuple[str, int, int]]:
  """The book's split as ``{split: (part, start, stop)}``, a range of the
  training (``part`` "train") or test images, for train, eval, test.

  With a test part (``num_test`` not None): test is all of it, eval the last
  ``eval_images`` training images, train the rest. Without one,
  ``test_images`` > 0 holds out the last that many training images as test
  first, then eval is cut from what remains (train | eval | test in file
  order).

  Raises:
    ValueError: for counts that are not integers (``eval_images`` >= 1,
      ``test_images`` >= 0).
    ImageDataError: naming ``source``: no test part and ``test_images`` 0;
      a test part and ``test_images`` > 0; too few training images for the
      cuts (train would be empty).
  """
  _check_count("eval_images", eval_images, 1)
  _check_count("test_images", test_images, 0)
  if num_test is not None:
    if test_images:
      raise ImageDataError(
          f"{source}: has test images of its own ({num_test}); test_images "
          f"({test_images}) holds out training images only for a source "
          "without a test part: pass test_images=0")
    rest = num_train
    test = (contract.TEST, 0, num_test)
  else:
    if not test_images:
      raise ImageDataError(
          f"{source}: has no test images (no t10k-*/test-* IDX files, no "
          "x_test, no test/ folder); pass test_images > 0 to hold out the "
          "last training images as the test split")
    rest = num_train - test_images
    test = (contract.TRAIN, rest, num_train)
  num_kept = rest - eval_images
  if num_kept < 1:
    raise ImageDataError(
        f"{source}: {num_train} training images are too few for "
        f"eval_images={eval_images} and test_images={test_images}: the train "
        f"split would have {num_kept}; pass smaller cuts (or a larger "
        "max_images)")
  return {contract.TRAIN: (contract.TRAIN, 0, num_kept),
          contract.EVAL: (contract.TRAIN, num_kept, rest),
          contract.TEST: test}


def split_images(image_set: ImageSet, *,
                 eval_images: int = contract.EVAL_IMAGES,
                 test_images: int = 0) -> Dict[str, Tuple[np.ndarray,
                                                           np.ndarray]]:
  """``{split: (images, labels)}`` for train, eval, test (views, no copies);
  see ``split_ranges``."""
  ranges = split_ranges(
      len(image_set.train.images),
      None if image_set.test is None else len(image_set.test.images),
      eval_images=eval_images, test_images=test_images,
      source=image_set.source)
  parts = {contract.TRAIN: image_set.train, contract.TEST: image_set.test}
  return {split: (parts[part].images[start:stop],
                  parts[part].labels[start:stop])
          for split, (part, start, stop) in ranges.items()}


def select_classes(splits: Dict[str, Tuple[np.ndarray, np.ndarray]],
                   classes: Sequence[int], num_classes: int, *,
                   train_limit: int = 0, source: str = "<images>",
                   ) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
  """Each split keeping only the images of ``classes`` (original label ids),
  relabelled 0..k-1 in the listed order, then the train split cut to its
  first ``train_limit`` images (0: all). With no ``classes`` only the cut
  applies.

  This is how the book builds its transfer-learning tasks (MODELS.md §8):
  task A is eight of the ten classes, task B the two others with only 200
  labelled training images.

  Raises:
    ImageDataError: naming ``source``: a class id that the source does not
      have; a split left without images.
  """
  if classes:
    unknown = [c for c in classes if not 0 <= c < num_classes]
    if unknown:
      raise ImageDataError(
          f"{source}: classes {unknown} do not exist (labels are "
          f"0..{num_classes - 1})")
    relabel = np.full(num_classes, -1, np.int64)
    relabel[list(classes)] = np.arange(len(classes))
    selected = {}
    for split, (images, labels) in splits.items():
      keep = relabel[labels] >= 0
      selected[split] = (images[keep], relabel[labels[keep]])
    splits = selected
  if train_limit:
    images, labels = splits[contract.TRAIN]
    splits = {**splits, contract.TRAIN: (images[:train_limit],
                                         labels[:train_limit])}
  empty = [split for split, (_, labels) in splits.items() if not len(labels)]
  if empty:
    raise ImageDataError(
        f"{source}: no images of classes {list(classes)} left in the "
        f"split(s) {empty}")
  return splits


def check_shape(image_set: ImageSet, expected: Optional[Sequence[int]],
                ) -> None:
  """Raises ImageDataError, naming the source and both shapes, when
  ``expected`` (height, width, channels) is given and differs."""
  if expected and tuple(int(d) for d in expected) != image_set.shape:
    raise ImageDataError(
        f"{image_set.train.source}: images are "
        f"{format_shape(image_set.shape)} (height x width x channels), but "
        f"image_shape expects {format_shape(expected)}")
