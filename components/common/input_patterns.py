"""Source paths with ``{SPAN}``/``{VERSION}`` specs or globs, cut into what a
TFX ``FileBasedExampleGen`` takes: an ``input_base`` and a split pattern.

TFX's driver resolves the specs (the latest span by default) and fingerprints
the matching files; these helpers only decide, at pipeline construction,
where the fixed directory ends and the pattern begins. Shared by the
file-based ExampleGens (sentence pairs, images).

No TensorFlow or TFX import here.
"""

from __future__ import annotations

import os
import re
from typing import Tuple

# A path component that TFX or glob expands: {SPAN}, {SPAN:4}, {VERSION},
# the date specs, or glob characters.
PATTERN_PART = re.compile(r"\{(SPAN|VERSION|YYYY|MM|DD)(:[^}]*)?\}|[*?\[]")
# Only the specs TFX's driver fills in (not the glob characters).
_SPEC = re.compile(r"\{(SPAN|VERSION|YYYY|MM|DD)(:[^}]*)?\}")


def split_source(path: str) -> Tuple[str, str]:
  """``(input_base, pattern)`` for ExampleGen: the directory up to the first
  component with ``{SPAN}``-like specs or glob characters, and the rest.

  ``/data/spa.txt`` -> ``("/data", "spa.txt")``;
  ``/data/pairs/span-{SPAN}/spa.txt`` -> ``("/data/pairs", "span-{SPAN}/spa.txt")``.
  A local relative path is made absolute first (the executor may run
  elsewhere).
  """
  if "://" not in path:
    path = os.path.abspath(os.path.expanduser(path))
  parts = path.split("/")
  first = next((i for i, part in enumerate(parts)
                if PATTERN_PART.search(part)), len(parts) - 1)
  return "/".join(parts[:first]) or "/", "/".join(parts[first:])


def is_pattern(path: str) -> bool:
  """True when ``path`` has a ``{SPAN}``-like spec or glob characters."""
  return bool(PATTERN_PART.search(path))


def spec_glob(path: str) -> str:
  """``path`` with every ``{SPAN}``-like spec replaced by ``*``: a glob that
  matches every span and version, to look at the data at pipeline
  construction (``/d/span-{SPAN}`` -> ``/d/span-*``)."""
  return _SPEC.sub("*", path)
