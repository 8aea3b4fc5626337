"""Reading, cleaning and splitting sentence pairs (the Tatoeba/anki format).

One pair per line, ``english<TAB>spanish[<TAB>attribution...]``, UTF-8,
either as a plain file or inside a ``.zip`` (the official ``spa-eng.zip``
holds ``contract.SPA_ENG_MEMBER``). The book's preprocessing: drop
``contract.DROPPED_CHARACTERS`` from both sides, shuffle the pairs with a
fixed seed, the first ``TRAIN_PAIRS`` are train and the rest eval (here
optionally cut into eval and test).

Bad lines are skipped and counted per kind (``BAD_KINDS``) in a
``ParseReport``; only a file without a single valid pair is an error.

Pure Python and NumPy: no TensorFlow, no TFX (the executor does the I/O on
``tfx.dsl.io.fileio`` paths and hands the bytes over).
"""

from __future__ import annotations

import dataclasses
import io
import os
import zipfile
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from preprocessing import translation_contract as contract

# Kinds of bad lines, in the order they are checked and reported.
NO_TAB = "no_tab"  # fewer columns than source/target need
EMPTY_SIDE = "empty_side"  # a side is empty after cleaning
NOT_UTF_8 = "not_utf_8"  # the line's bytes are not UTF-8
TOO_LONG = "too_long"  # a side has more than max_words words
BAD_KINDS = (NO_TAB, EMPTY_SIDE, NOT_UTF_8, TOO_LONG)

DEFAULT_SEED = 42
# Bad lines kept per kind as "file:line" examples for the report.
_LOCATIONS_PER_KIND = 3
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header / empty zip
_BOM = b"\xef\xbb\xbf"

Pair = Tuple[str, str]  # (source, target)


class SentencePairsDataError(ValueError):
  """Input that yields no usable pairs. The message names the file."""


@dataclasses.dataclass
class ParseReport:
  """What reading the pairs found: line counts and bad lines per kind."""
  sources: List[str] = dataclasses.field(default_factory=list)
  num_lines: int = 0  # lines read (blank and bad ones included)
  num_blank: int = 0
  num_pairs: int = 0  # valid pairs kept
  stopped_at_max_pairs: bool = False
  bad: Dict[str, int] = dataclasses.field(
      default_factory=lambda: dict.fromkeys(BAD_KINDS, 0))
  # The first few "file:line" of every kind, to find them in the file.
  locations: Dict[str, List[str]] = dataclasses.field(
      default_factory=lambda: {kind: [] for kind in BAD_KINDS})

  @property
  def num_bad(self) -> int:
    return sum(self.bad.values())

  def count_bad(self, kind: str, location: str) -> None:
    self.bad[kind] += 1
    if len(self.locations[kind]) < _LOCATIONS_PER_KIND:
      self.locations[kind].append(location)

  def bad_counts(self) -> str:
    """``no_tab=0, empty_side=2, not_utf_8=0, too_long=1``."""
    return ", ".join(f"{kind}={self.bad[kind]}" for kind in BAD_KINDS)

  def format(self) -> str:
    """A multi-line report: totals, then one line per kind of bad line."""
    stop = " (stopped at max_pairs)" if self.stopped_at_max_pairs else ""
    lines = [f"{', '.join(self.sources) or '<no file>'}: {self.num_lines} "
             f"lines read{stop}, {self.num_pairs} pairs kept, "
             f"{self.num_blank} blank, {self.num_bad} bad"]
    for kind in BAD_KINDS:
      where = self.locations[kind]
      more = ", ..." if self.bad[kind] > len(where) else ""
      at = f" (at {', '.join(where)}{more})" if where else ""
      lines.append(f"  {kind}: {self.bad[kind]}{at}")
    return "\n".join(lines)


def check_columns(source_column: int, target_column: int) -> None:
  """Raises ValueError unless both columns are integers >= 0 and distinct."""
  for name, value in (("source_column", source_column),
                      ("target_column", target_column)):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
      raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
  if source_column == target_column:
    raise ValueError("source_column and target_column must differ, both are "
                     f"{source_column}")


def _check_count(name: str, value: int, minimum: int) -> None:
  if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
    raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def clean(side: str) -> str:
  """The book's cleaning of one side: drop ``DROPPED_CHARACTERS``, strip."""
  for char in contract.DROPPED_CHARACTERS:
    side = side.replace(char, "")
  return side.strip()


def zip_member(names: Sequence[str], archive: str = "<zip>") -> str:
  """The member of a zip that holds the pairs.

  ``contract.SPA_ENG_MEMBER`` when present (the official archive), else the
  single ``.txt`` member (macOS ``__MACOSX/`` metadata ignored).

  Raises:
    SentencePairsDataError: naming the archive, for no or several ``.txt``.
  """
  if contract.SPA_ENG_MEMBER in names:
    return contract.SPA_ENG_MEMBER
  texts = [n for n in names
           if n.lower().endswith(".txt") and not n.startswith("__MACOSX/")]
  if len(texts) != 1:
    found = ", ".join(texts) if texts else "none"
    raise SentencePairsDataError(
        f"{archive}: expected {contract.SPA_ENG_MEMBER} or exactly one .txt "
        f"member in the zip, found {len(texts)} ({found})")
  return texts[0]


def unpack(data: bytes, name: str) -> Tuple[bytes, str]:
  """The pairs file's bytes and its label: ``data`` itself for a text file,
  the pairs member (see ``zip_member``) for a zip archive (``name!member``).

  Raises:
    SentencePairsDataError: naming the file, for a broken archive or one
      without a single pairs member.
  """
  if not data.startswith(_ZIP_MAGIC):
    return data, name
  try:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
      member = zip_member(archive.namelist(), name)
      return archive.read(member), f"{name}!{member}"
  except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError) as e:
    raise SentencePairsDataError(f"{name}: not a readable zip archive "
                                 f"({type(e).__name__}: {e})") from None


def parse_pairs(data: bytes, name: str = "<pairs>", *,
                source_column: int = 0, target_column: int = 1,
                max_words: int = contract.MAX_LENGTH, max_pairs: int = 0,
                report: Optional[ParseReport] = None,
                ) -> Tuple[List[Pair], ParseReport]:
  """The valid (source, target) pairs of one pairs file's bytes, in order.

  Each line is split on tabs; ``source_column``/``target_column`` pick the
  sides (``1, 0`` translates Spanish to English), further columns (the
  attribution) are ignored. Both sides are cleaned (``clean``). Blank lines
  are skipped; bad lines are skipped and counted in the report (``BAD_KINDS``;
  ``max_words`` 0 disables the ``too_long`` check). ``max_pairs`` > 0 stops
  after that many valid pairs. Pass ``report`` to accumulate over several
  files (``max_pairs`` then counts the report's pairs).

  Raises:
    ValueError: for bad columns, ``max_words`` or ``max_pairs``.
  """
  check_columns(source_column, target_column)
  _check_count("max_words", max_words, 0)
  _check_count("max_pairs", max_pairs, 0)
  report = report if report is not None else ParseReport()
  report.sources.append(name)
  needed = max(source_column, target_column) + 1
  if data.startswith(_BOM):
    data = data[len(_BOM):]
  pairs: List[Pair] = []
  # Split the bytes, not the text: a line that is not UTF-8 is then one bad
  # line, and str.splitlines would also break at U+2028 and friends.
  lines = data.split(b"\n")
  if lines and not lines[-1]:
    lines.pop()  # the final newline ends the last line, it starts none
  for number, raw in enumerate(lines, start=1):
    if max_pairs and report.num_pairs >= max_pairs:
      report.stopped_at_max_pairs = True
      break
    report.num_lines += 1
    where = f"{name}:{number}"
    try:
      line = raw.decode("utf-8")
    except UnicodeDecodeError:
      report.count_bad(NOT_UTF_8, where)
      continue
    if not line.strip():
      report.num_blank += 1
      continue
    columns = line.rstrip("\r\n").split("\t")
    if len(columns) < needed:
      report.count_bad(NO_TAB, where)
      continue
    source, target = clean(columns[source_column]), clean(columns[target_column])
    if not source or not target:
      report.count_bad(EMPTY_SIDE, where)
      continue
    if max_words and max(len(source.split()), len(target.split())) > max_words:
      report.count_bad(TOO_LONG, where)
      continue
    pairs.append((source, target))
    report.num_pairs += 1
  return pairs, report


def check_any_pairs(report: ParseReport) -> None:
  """Raises SentencePairsDataError, naming the file(s) and the counts of
  every kind of bad line, when the report holds no valid pair."""
  if report.num_pairs:
    return
  files = ", ".join(report.sources) or "<no file>"
  raise SentencePairsDataError(
      f"{files}: no valid sentence pair in {report.num_lines} lines "
      f"({report.num_blank} blank; bad lines: {report.bad_counts()}); "
      "expected UTF-8 lines 'source<TAB>target[<TAB>...]'")


def read_file(path: str) -> bytes:
  """The bytes of a local file.

  Raises:
    SentencePairsDataError: naming the path, when missing or a directory.
  """
  if os.path.isdir(path):
    raise SentencePairsDataError(f"{path}: is a directory, expected a pairs "
                                 "file (.txt/.tsv) or a .zip holding one")
  try:
    with open(path, "rb") as f:
      return f.read()
  except FileNotFoundError:
    raise SentencePairsDataError(
        f"{path}: not found (expected a pairs file 'english<TAB>spanish' per "
        "line, or a .zip holding one)") from None


def read_pairs(paths, *, source_column: int = 0, target_column: int = 1,
               max_words: int = contract.MAX_LENGTH, max_pairs: int = 0,
               ) -> Tuple[List[Pair], ParseReport]:
  """The valid pairs of local file(s) (text or zip), in file then line order.

  ``paths`` is one path or a sequence of paths; see ``parse_pairs`` for the
  other arguments.

  Raises:
    SentencePairsDataError: naming the file(s): missing file, broken zip, no
      valid pair at all (with the counts of every kind of bad line).
  """
  paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
  report = ParseReport()
  pairs: List[Pair] = []
  for path in paths:
    data, name = unpack(read_file(str(path)), str(path))
    more, _ = parse_pairs(data, name, source_column=source_column,
                          target_column=target_column, max_words=max_words,
                          max_pairs=max_pairs, report=report)
    pairs.extend(more)
    if report.stopped_at_max_pairs:
      break
  check_any_pairs(report)
  return pairs, report


def split_sizes(num_pairs: int, train_pairs: int = contract.TRAIN_PAIRS,
                test_fraction: float = 0.0, source: str = "<pairs>",
                ) -> Dict[str, int]:
  """Pairs per split: ``{"train": n, "eval": n[, "test": n]}``.

  test = ``test_fraction`` of the non-train pairs, rounded; every split
  must get at least one pair.

  Raises:
    ValueError: for ``train_pairs`` < 1 or ``test_fraction`` outside [0, 1).
    SentencePairsDataError: naming ``source``, when the pairs are too few.
  """
  _check_count("train_pairs", train_pairs, 1)
  if not 0.0 <= test_fraction < 1.0:
    raise ValueError(f"test_fraction must be >= 0 and < 1 (0 = no test "
                     f"split), got {test_fraction!r}")
  rest = num_pairs - train_pairs
  num_test = int(round(rest * test_fraction)) if test_fraction else 0
  sizes = {contract.TRAIN: train_pairs, contract.EVAL: rest - num_test}
  if test_fraction:
    sizes[contract.TEST] = num_test
  empty = [name for name, size in sizes.items() if size < 1]
  if empty:
    raise SentencePairsDataError(
        f"{source}: {num_pairs} valid pairs are too few for train_pairs="
        f"{train_pairs} and test_fraction={test_fraction}: split "
        f"{empty[0]!r} would be empty; pass a smaller train_pairs (or more "
        "pairs)")
  return sizes


def shuffle(pairs: Sequence[Pair], seed: int = DEFAULT_SEED) -> List[Pair]:
  """A copy of ``pairs`` shuffled by ``np.random.RandomState(seed)``: the
  order the book gets from ``np.random.seed(42); np.random.shuffle(pairs)``."""
  shuffled = list(pairs)
  np.random.RandomState(seed).shuffle(shuffled)
  return shuffled


def split_pairs(pairs: Sequence[Pair], *,
                train_pairs: int = contract.TRAIN_PAIRS,
                test_fraction: float = 0.0, seed: int = DEFAULT_SEED,
                source: str = "<pairs>") -> Dict[str, List[Pair]]:
  """The book's split: shuffle, the first ``train_pairs`` are train, the rest
  eval; ``test_fraction`` > 0 moves that fraction of the rest, from its end,
  to test. Returns ``{"train": [...], "eval": [...][, "test": [...]]}``.

  Raises:
    ValueError, SentencePairsDataError: see ``split_sizes``.
  """
  sizes = split_sizes(len(pairs), train_pairs, test_fraction, source)
  shuffled = shuffle(pairs, seed)
  splits, start = {}, 0
  for name, size in sizes.items():
    splits[name] = shuffled[start:start + size]
    start += size
  return splits

