"""Tests for common/fetch.py: the caller's error class and wording.

The download, cache and checksum behaviour is tested through
``imdb_example_gen.reviews.fetch`` (reviews_test.py) and
``text_corpus_example_gen.component.resolve_source`` (component_test.py).
"""

import hashlib
import os
import subprocess
import sys
import urllib.request

import pytest

from components.common import fetch as fetch_lib


class _MyError(ValueError):
  pass


def test_default_error_class_and_wording(tmp_path):
  missing = str(tmp_path / "missing.bin")
  with pytest.raises(fetch_lib.FetchError) as e:
    fetch_lib.fetch(missing, str(tmp_path / "cache"))
  assert str(e.value) == (f"{missing}: not found (expected a file, or an "
                          "http(s):// or file:// URL)")


def test_caller_error_class_and_wording(tmp_path):
  missing = str(tmp_path / "missing.csv")
  with pytest.raises(_MyError) as e:
    fetch_lib.fetch(missing, error_cls=_MyError, expected="a CSV file")
  assert str(e.value).startswith(f"{missing}: not found (expected a CSV file,")
  data = b"a,b\n1,2\n"
  source = tmp_path / "data.csv"
  source.write_bytes(data)
  url = "file://" + urllib.request.pathname2url(str(source))
  cache = tmp_path / "cache"
  with pytest.raises(_MyError, match="sha256 mismatch"):
    fetch_lib.fetch(url, str(cache), "0" * 64, error_cls=_MyError)
  assert os.listdir(cache) == []
  digest = hashlib.sha256(data).hexdigest()
  assert fetch_lib.file_sha256(str(source)) == digest
  path = fetch_lib.fetch(url, str(cache), digest, error_cls=_MyError)
  assert path == fetch_lib.cache_path(url, str(cache))
  with pytest.raises(ValueError, match="64 hexadecimal"):
    fetch_lib.fetch(url, str(cache), "abc", error_cls=_MyError)


def test_is_url():
  assert fetch_lib.is_url("https://example.com/a.txt")
  assert fetch_lib.is_url("FILE:///tmp/a.txt")
  assert not fetch_lib.is_url("/tmp/a.txt")
  assert not fetch_lib.is_url("gs://bucket/a.txt")


def test_importing_fetch_does_not_import_tfx():
  code = ("import sys; import components.common.fetch; "
          "print(sorted(m for m in sys.modules if m.split('.')[0] == 'tfx'))")
  root = os.path.dirname(os.path.dirname(os.path.dirname(
      os.path.abspath(__file__))))
  out = subprocess.run([sys.executable, "-c", code], cwd=root, check=True,
                       capture_output=True, text=True).stdout
  assert out.strip().splitlines()[-1] == "[]"
