"""Resolving a data source: a local path as is, a URL downloaded once.

``fetch`` returns a local (or ``tf.io.gfile``) path for a path or an
``http(s)://``/``file://`` URL. Downloads go into a cache folder (atomic
write, ``Content-Length`` check, optional SHA-256 check), so a cache entry is
always complete. Errors are raised as the caller's error class (``error_cls``,
``FetchError`` by default) with a message ``"<path or URL>: <problem>"``.

No TFX imports here (only TensorFlow, for ``tf.io.gfile`` paths).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import posixpath
import re
import tempfile
import urllib.parse
import urllib.request
from typing import Optional, Tuple, Type

import tensorflow as tf

DEFAULT_CACHE_DIR = "~/.cache/keras_tfx_pipelines"
URL_SCHEMES: Tuple[str, ...] = ("http", "https", "file")

_DOWNLOAD_CHUNK = 1 << 20
_DOWNLOAD_TIMEOUT_S = 60

# The class of the data errors ``fetch`` raises (called with the message).
ErrorClass = Type[Exception]


class FetchError(ValueError):
  """A source that cannot be fetched. The message names the path or URL."""


def _check_digest(sha256: Optional[str]) -> Optional[str]:
  if not sha256:
    return None
  digest = sha256.strip().lower()
  if not re.fullmatch(r"[0-9a-f]{64}", digest):
    raise ValueError(f"sha256 must be 64 hexadecimal digits, got {sha256!r}")
  return digest


def file_sha256(path: str) -> str:
  """Hex SHA-256 of the file at ``path`` (any ``tf.io.gfile`` path)."""
  digest = hashlib.sha256()
  with tf.io.gfile.GFile(path, "rb") as f:
    while True:
      chunk = f.read(_DOWNLOAD_CHUNK)
      if not chunk:
        break
      digest.update(chunk)
  return digest.hexdigest()


def is_url(url_or_path: str) -> bool:
  """True for an ``http``, ``https`` or ``file`` URL (``fetch`` downloads it)."""
  return urllib.parse.urlsplit(url_or_path).scheme.lower() in URL_SCHEMES


def cache_path(url: str, cache_dir: str) -> str:
  """Where ``fetch`` keeps ``url``: ``<cache_dir>/<url hash>-<file name>``."""
  name = posixpath.basename(urllib.parse.urlsplit(url).path) or "download"
  name = re.sub(r"[^A-Za-z0-9._-]", "_", urllib.parse.unquote(name))
  url_hash = hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]
  return os.path.join(os.path.expanduser(cache_dir), f"{url_hash}-{name}")


def _download(url: str, target: str, sha256: Optional[str],
              error_cls: ErrorClass) -> None:
  """Downloads ``url`` to a temporary file next to ``target``, then renames."""
  folder = os.path.dirname(target)
  fd, tmp = tempfile.mkstemp(dir=folder, prefix=".download-",
                             suffix=".part")
  try:
    digest, size, expected_size = hashlib.sha256(), 0, None
    try:
      with os.fdopen(fd, "wb") as out:
        with urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT_S) as resp:
          length = resp.headers.get("Content-Length") if resp.headers else None
          if length and length.strip().isdigit():
            expected_size = int(length)
          while True:
            chunk = resp.read(_DOWNLOAD_CHUNK)
            if not chunk:
              break
            out.write(chunk)
            digest.update(chunk)
            size += len(chunk)
        out.flush()
        os.fsync(out.fileno())
    except (OSError, http.client.HTTPException, ValueError) as e:
      # URLError/HTTPError/timeouts are OSErrors; ValueError: a malformed URL.
      raise error_cls(f"{url}: download failed ({type(e).__name__}: {e})"
                      ) from None
    if expected_size is not None and size != expected_size:
      raise error_cls(f"{url}: download truncated: got {size} of "
                      f"{expected_size} bytes")
    actual = digest.hexdigest()
    if sha256 and actual != sha256:
      raise error_cls(f"{url}: sha256 mismatch: expected {sha256}, got "
                      f"{actual}; the download was deleted")
    os.replace(tmp, target)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)


def fetch(url_or_path: str, cache_dir: str = DEFAULT_CACHE_DIR,
          sha256: Optional[str] = None, *,
          error_cls: ErrorClass = FetchError,
          expected: str = "a file") -> str:
  """Returns a local (or ``tf.io.gfile``) path for ``url_or_path``.

  * A path (anything that is not an ``http``, ``https`` or ``file`` URL) is
    returned unchanged; it must exist. With ``sha256``, a file is verified
    (never deleted) and a directory is an error.
  * A URL is downloaded once to ``cache_path(url, cache_dir)``: streamed to a
    temporary file in ``cache_dir``, checked against ``Content-Length`` and
    ``sha256`` (when given), then renamed into place, so a cache entry is
    always complete. A mismatching download is deleted. A cached file is
    re-verified against ``sha256`` (when given), not downloaded again; if it
    does not match it is deleted so the next call downloads it afresh.

  ``cache_dir`` "" means ``DEFAULT_CACHE_DIR``; ``sha256`` "" or None means no
  check. ``error_cls`` is the class of the data errors raised (a caller's
  own, e.g. ``ReviewDataError``); ``expected`` says what a path should be,
  for the "not found" message (``"<path>: not found (expected <expected>, or
  an http(s):// or file:// URL)"``).

  Raises:
    error_cls: naming the path or URL: missing path, failed or truncated
      download, sha256 mismatch (with expected and actual digests).
    ValueError: for a malformed ``sha256``.
  """
  digest = _check_digest(sha256)
  if not is_url(url_or_path):
    path = url_or_path
    if not tf.io.gfile.exists(path):
      raise error_cls(f"{path}: not found (expected {expected}, or an "
                      "http(s):// or file:// URL)")
    if digest:
      if tf.io.gfile.isdir(path):
        raise error_cls(f"{path}: is a directory; sha256 can only be checked "
                        "for an archive file")
      actual = file_sha256(path)
      if actual != digest:
        raise error_cls(f"{path}: sha256 mismatch: expected {digest}, got "
                        f"{actual}")
    return path

  url = url_or_path
  cache_dir = os.path.expanduser(cache_dir or DEFAULT_CACHE_DIR)
  os.makedirs(cache_dir, exist_ok=True)
  target = cache_path(url, cache_dir)
  if os.path.isfile(target):
    if digest:
      actual = file_sha256(target)
      if actual != digest:
        os.remove(target)
        raise error_cls(
            f"{url}: cached copy {target} has sha256 {actual}, expected "
            f"{digest}; deleted it, the next run downloads it again")
    return target
  _download(url, target, digest, error_cls)
  return target
