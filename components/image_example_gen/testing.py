"""Tiny image datasets for the tests (not collected as tests themselves):
IDX files, Keras-style .npz, folders of PNG/JPEG, with distinct images so
that every example can be traced back to its source."""

from __future__ import annotations

import gzip
import io
import os
import struct
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

from components.image_example_gen import images as images_lib

Record = Tuple[int, Tuple[int, ...]]  # (label, pixels)


def images(n: int, shape: Sequence[int] = (4, 3), start: int = 0
           ) -> np.ndarray:
  """``n`` distinct uint8 images of ``shape``: image i counts up from
  ``(start + i) * 7``, mod 256 (pixels >= 128 included)."""
  size = int(np.prod(shape))
  rows = [((start + i) * 7 + np.arange(size) * 11) % 256 for i in range(n)]
  return np.array(rows, np.uint8).reshape((n,) + tuple(shape))


def labels(n: int, num_classes: int = 3, start: int = 0) -> np.ndarray:
  """Labels ``(start + i) % num_classes``, uint8 as in IDX files."""
  return ((start + np.arange(n)) % num_classes).astype(np.uint8)


def idx_bytes(array: np.ndarray, kind: str = "images") -> bytes:
  """An IDX file's bytes: the ``kind``'s magic, the dimensions, the data."""
  magic = {"images": images_lib.IDX_IMAGES_MAGIC,
           "labels": images_lib.IDX_LABELS_MAGIC}[kind]
  return (struct.pack(">I", magic)
          + b"".join(struct.pack(">I", d) for d in array.shape)
          + np.asarray(array, np.uint8).tobytes())


def write(path, data: bytes) -> str:
  os.makedirs(os.path.dirname(str(path)), exist_ok=True)
  with open(path, "wb") as f:
    f.write(data)
  return str(path)


def write_idx(folder, prefix: str, x: np.ndarray, y: np.ndarray,
              gz: bool = True) -> Tuple[str, str]:
  """``<folder>/<prefix>-images-idx3-ubyte[.gz]`` and its labels file."""
  suffix = ".gz" if gz else ""
  pack = gzip.compress if gz else bytes
  return (write(os.path.join(folder, f"{prefix}-images-idx3-ubyte{suffix}"),
                pack(idx_bytes(x, "images"))),
          write(os.path.join(folder, f"{prefix}-labels-idx1-ubyte{suffix}"),
                pack(idx_bytes(y, "labels"))))


def write_npz(path, **arrays: np.ndarray) -> str:
  """A Keras-style ``.npz`` (``np.savez_compressed``) of ``arrays``."""
  os.makedirs(os.path.dirname(str(path)), exist_ok=True)
  np.savez_compressed(str(path), **arrays)
  return str(path)


def encode_image(pixels: np.ndarray, image_format: str = "PNG",
                 mode: Optional[str] = None) -> bytes:
  """``pixels`` (uint8 ``[H, W]``, ``[H, W, 1|3|4]``) as PNG or JPEG bytes."""
  pixels = np.asarray(pixels, np.uint8)
  if pixels.ndim == 3 and pixels.shape[2] == 1:
    pixels = pixels[..., 0]
  image = Image.fromarray(pixels, mode) if mode else Image.fromarray(pixels)
  out = io.BytesIO()
  image.save(out, image_format)
  return out.getvalue()


def write_folder(root, split: str, classes: Dict[str, np.ndarray],
                 ext: str = ".png") -> List[str]:
  """``<root>/<split>/<class>/<i>.png`` for the images of each class."""
  image_format = "JPEG" if ext in (".jpg", ".jpeg") else "PNG"
  return [write(os.path.join(str(root), split, name, f"{i:03d}{ext}"),
                encode_image(pixels, image_format))
          for name, class_images in classes.items()
          for i, pixels in enumerate(class_images)]


def records(x: np.ndarray, y: np.ndarray) -> List[Record]:
  """``(label, pixels)`` of every image, sorted: a split's content whatever
  order the writer left it in."""
  flat = np.asarray(x).reshape(len(x), -1)
  return sorted((int(label), tuple(int(p) for p in row))
                for row, label in zip(flat, y))
