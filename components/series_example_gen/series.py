"""Time-series windows -> TFRecord files of ``tf.train.Example``.

Pure logic behind the series ExampleGen components (no TFX imports here):

* ``generate_time_series`` / ``synthetic_windows``: the synthetic series from
  Geron, *Hands-On Machine Learning*, chapter 15 (two sine waves plus noise).
* ``read_series_csv``: imports series from a ``wide`` or ``long`` CSV file with
  errors (``SeriesDataError``) that name the file, the row and the problem.
* ``window_series`` / ``split_windows``: cut series into (input, target)
  windows and assign them to the ``train``/``eval``/``test`` splits.
* ``write_split`` / ``write_examples``: GZIP TFRecord shards laid out the way
  TFX expects inside an ``Examples`` artifact (``<uri>/Split-<name>/*.gz``;
  written by ``components.common.tfrecords``, round-robin).

Every written ``tf.train.Example`` has three features:

``series``     float_list, ``n_steps`` values (the model input)
``target``     float_list, ``horizon`` values (what follows the input)
``series_id``  bytes_list, the window id (``synthetic-000042`` or
               ``<series_id>@<start>`` for CSV imports)
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import hashlib
import io
import math
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from components.common import tfrecords
# Re-exported: part of this module's API (same names in the sibling packages).
from components.common.tfrecords import shard_name  # pylint: disable=unused-import

SPLIT_NAMES: Tuple[str, str, str] = ("train", "eval", "test")
DEFAULT_FRACTIONS: Tuple[float, float, float] = (0.7, 0.2, 0.1)
LAYOUTS: Tuple[str, str] = ("wide", "long")
SPLIT_BY: Tuple[str, str] = ("series", "time")

# Column names of the CSV layouts.
ID_COLUMN = "series_id"
TIMESTAMP_COLUMN = "timestamp"
VALUE_COLUMN = "value"
LONG_COLUMNS: Tuple[str, str, str] = (ID_COLUMN, TIMESTAMP_COLUMN, VALUE_COLUMN)

# Feature keys of the written tf.train.Example records.
SERIES_FEATURE = "series"
TARGET_FEATURE = "target"
ID_FEATURE = "series_id"

_IN_MEMORY = "<in-memory series>"


class SeriesDataError(ValueError):
  """Bad input data. The message names the file, the row and the problem."""


def _data_error(source: Optional[str], problem: str,
                row: Optional[int] = None) -> SeriesDataError:
  where = source or _IN_MEMORY
  if row is not None:
    where = f"{where}, row {row}"
  return SeriesDataError(f"{where}: {problem}")


# --------------------------------------------------------------------------
# Containers
# --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class WindowSet:
  """One split: ``len(ids)`` windows of ``n_steps`` inputs and ``horizon`` targets."""

  ids: List[str]
  series: np.ndarray  # [n, n_steps] float32
  target: np.ndarray  # [n, horizon] float32

  def __post_init__(self):
    series = np.asarray(self.series, dtype=np.float32)
    target = np.asarray(self.target, dtype=np.float32)
    if series.ndim != 2 or target.ndim != 2:
      raise ValueError(
          f"WindowSet needs 2-D series and target arrays, got shapes "
          f"{series.shape} and {target.shape}")
    if not len(self.ids) == series.shape[0] == target.shape[0]:
      raise ValueError(
          f"WindowSet sizes disagree: {len(self.ids)} ids, series "
          f"{series.shape}, target {target.shape}")
    object.__setattr__(self, "ids", list(self.ids))
    object.__setattr__(self, "series", series)
    object.__setattr__(self, "target", target)

  def __len__(self) -> int:
    return len(self.ids)

  @property
  def n_steps(self) -> int:
    return int(self.series.shape[1])

  @property
  def horizon(self) -> int:
    return int(self.target.shape[1])


class Window(NamedTuple):
  """One window: ``id`` is ``"<series_id>@<start>"``."""

  id: str
  series: np.ndarray  # [n_steps] float32
  target: np.ndarray  # [horizon] float32


class SeriesTable(dict):
  """``dict[series_id, values]`` that also remembers where the data came from.

  ``source`` is the CSV path and ``first_row`` maps each series id to the file
  row where the series first appears, so that later errors (for example a
  series that is too short to window) can still name the file and the row.
  """

  def __init__(self, *args, source: Optional[str] = None,
               first_row: Optional[Dict[str, int]] = None, **kwargs):
    super().__init__(*args, **kwargs)
    self.source = source
    self.first_row = dict(first_row or {})


class WindowList(list):
  """List of ``Window`` that remembers the file the windows came from."""

  def __init__(self, *args, source: Optional[str] = None):
    super().__init__(*args)
    self.source = source


# --------------------------------------------------------------------------
# Synthetic data (Hands-On ML, chapter 15)
# --------------------------------------------------------------------------


def generate_time_series(n_series: int, n_steps: int, seed: int) -> np.ndarray:
  """Returns float32 ``[n_series, n_steps]``: two sines of random phase/frequency + noise."""
  rng = np.random.RandomState(seed)
  freq1, freq2, offsets1, offsets2 = rng.rand(4, n_series, 1)
  t = np.linspace(0, 1, n_steps)
  series = 0.5 * np.sin((t - offsets1) * (freq1 * 10 + 10))
  series += 0.2 * np.sin((t - offsets2) * (freq2 * 20 + 20))
  series += 0.1 * (rng.rand(n_series, n_steps) - 0.5)
  return series.astype(np.float32)


def _split_sizes(n: int, fractions: Sequence[float]) -> List[int]:
  """Cumulative-boundary split sizes; robust to float error (0.7+0.2 != 0.9)."""
  bounds, total = [], 0.0
  for fraction in fractions[:-1]:
    total += fraction
    bounds.append(min(n, int(math.floor(n * total + 1e-9))))
  bounds = [0] + bounds + [n]
  return [bounds[i + 1] - bounds[i] for i in range(len(fractions))]


def synthetic_windows(n_series: int = 10000, n_steps: int = 50,
                      horizon: int = 10, seed: int = 42) -> Dict[str, WindowSet]:
  """The book's data set: train/eval/test = first 70% / next 20% / last 10% of the series.

  One array of ``n_steps + horizon`` steps is generated and cut, so
  ``target`` is the continuation of ``series``.
  """
  if n_series < len(SPLIT_NAMES) or n_steps < 1 or horizon < 1:
    raise ValueError(
        f"synthetic_windows needs n_series >= 3, n_steps >= 1 and horizon >= 1;"
        f" got n_series={n_series}, n_steps={n_steps}, horizon={horizon}")
  x = generate_time_series(n_series, n_steps + horizon, seed)
  ids = [f"synthetic-{i:06d}" for i in range(n_series)]
  splits, start = {}, 0
  for name, size in zip(SPLIT_NAMES, _split_sizes(n_series, DEFAULT_FRACTIONS)):
    stop = start + size
    splits[name] = WindowSet(ids=ids[start:stop],
                             series=x[start:stop, :n_steps],
                             target=x[start:stop, n_steps:])
    start = stop
  return splits


# --------------------------------------------------------------------------
# CSV import
# --------------------------------------------------------------------------


def _decode_utf8(path: str, data: bytes) -> str:
  try:
    return data.decode("utf-8-sig")
  except UnicodeDecodeError as e:
    # Physical line of the bad byte; equals the CSV row unless a quoted cell
    # spans several lines before it.
    row = data.count(b"\n", 0, e.start) + 1
    bad = data[e.start:e.end]
    raise _data_error(
        path, f"not valid UTF-8: byte(s) {bad!r} at byte offset {e.start}; "
        "save the file as UTF-8", row=row) from None


def _parse_value(path: str, row: int, column: str, cell: str) -> float:
  text = cell.strip()
  if not text:
    raise _data_error(path, f"empty cell in column {column!r}", row=row)
  try:
    value = float(text)
  except ValueError:
    raise _data_error(
        path, f"non-numeric value {cell!r} in column {column!r}",
        row=row) from None
  if not math.isfinite(value):
    raise _data_error(
        path, f"non-finite value {cell!r} (NaN/inf) in column {column!r}",
        row=row)
  return value


def _read_rows(path: str) -> Tuple[int, List[str], List[Tuple[int, List[str]]]]:
  """Returns (header_row, header, [(row, cells), ...]); blank lines are skipped."""
  if not tf.io.gfile.exists(path):
    raise _data_error(path, "file not found")
  if tf.io.gfile.isdir(path):
    raise _data_error(path, "is a directory, expected a CSV file")
  with tf.io.gfile.GFile(path, "rb") as f:
    text = _decode_utf8(path, f.read())
  reader = csv.reader(io.StringIO(text, newline=""))
  header: Optional[List[str]] = None
  header_row = 1
  rows: List[Tuple[int, List[str]]] = []
  try:
    for cells in reader:
      if not cells:  # blank line
        continue
      if header is None:
        header = [c.strip() for c in cells]
        header_row = reader.line_num
      else:
        rows.append((reader.line_num, cells))
  except csv.Error as e:
    raise _data_error(path, f"malformed CSV: {e}", row=reader.line_num) from None
  if header is None:
    raise _data_error(path, "file is empty (no header row)")
  for i, name in enumerate(header):
    if not name:
      raise _data_error(path, f"header cell {i + 1} is empty; every column "
                        "needs a name", row=header_row)
  if not rows:
    raise _data_error(path, "no data rows after the header", row=header_row)
  for row, cells in rows:
    if len(cells) != len(header):
      raise _data_error(
          path, f"ragged row: {len(cells)} cells but the header has "
          f"{len(header)} columns", row=row)
  return header_row, header, rows


def _duplicate_columns(path: str, header_row: int, header: List[str],
                       names: Iterable[str]):
  for name in names:
    if header.count(name) > 1:
      raise _data_error(path, f"column {name!r} appears {header.count(name)} "
                        "times in the header", row=header_row)


def _read_wide(path: str, header_row: int, header: List[str],
               rows: List[Tuple[int, List[str]]]) -> SeriesTable:
  _duplicate_columns(path, header_row, header, [ID_COLUMN])
  id_index = header.index(ID_COLUMN) if ID_COLUMN in header else None
  value_columns = [(i, name) for i, name in enumerate(header) if i != id_index]
  if not value_columns:
    raise _data_error(path, "wide layout needs at least one value column "
                      f"besides {ID_COLUMN!r}", row=header_row)
  table = SeriesTable(source=path)
  for row, cells in rows:
    if id_index is None:
      series_id = f"row-{row}"
    else:
      series_id = cells[id_index].strip()
      if not series_id:
        raise _data_error(path, f"empty cell in column {ID_COLUMN!r}", row=row)
      if series_id in table:
        raise _data_error(
            path, f"duplicate series id {series_id!r} (first seen in row "
            f"{table.first_row[series_id]}); the wide layout has one row per "
            "series", row=row)
    values = [_parse_value(path, row, name, cells[i]) for i, name in value_columns]
    table[series_id] = np.asarray(values, dtype=np.float32)
    table.first_row[series_id] = row
  return table


def _as_number(text: str) -> Optional[float]:
  try:
    value = float(text)
  except ValueError:
    return None
  return value if math.isfinite(value) else None


def _read_long(path: str, header_row: int, header: List[str],
               rows: List[Tuple[int, List[str]]]) -> SeriesTable:
  missing = [c for c in LONG_COLUMNS if c not in header]
  if missing:
    raise _data_error(
        path, "long layout: missing required column(s) "
        f"{', '.join(repr(c) for c in missing)}; columns present: "
        f"{', '.join(repr(c) for c in header)}", row=header_row)
  _duplicate_columns(path, header_row, header, LONG_COLUMNS)
  id_i, ts_i, value_i = (header.index(c) for c in LONG_COLUMNS)

  # series_id -> [(timestamp text, value, row)], in order of first appearance.
  grouped: Dict[str, List[Tuple[str, float, int]]] = {}
  first_row: Dict[str, int] = {}
  for row, cells in rows:
    series_id = cells[id_i].strip()
    if not series_id:
      raise _data_error(path, f"empty cell in column {ID_COLUMN!r}", row=row)
    stamp = cells[ts_i].strip()
    if not stamp:
      raise _data_error(path, f"empty cell in column {TIMESTAMP_COLUMN!r}",
                        row=row)
    value = _parse_value(path, row, VALUE_COLUMN, cells[value_i])
    if series_id not in grouped:
      grouped[series_id] = []
      first_row[series_id] = row
    grouped[series_id].append((stamp, value, row))

  # Numeric timestamps if every timestamp in the file is a number, otherwise
  # every timestamp must be ISO-8601 (datetime.fromisoformat).
  numeric = all(_as_number(s) is not None
                for points in grouped.values() for s, _, _ in points)
  table = SeriesTable(source=path, first_row=first_row)
  for series_id, points in grouped.items():
    keyed = []
    for stamp, value, row in points:
      if numeric:
        key = _as_number(stamp)
      else:
        try:
          key = datetime.datetime.fromisoformat(stamp)
        except ValueError:
          raise _data_error(
              path, f"timestamp {stamp!r} in column {TIMESTAMP_COLUMN!r} is "
              "neither a number nor an ISO-8601 date/time (and not every "
              "timestamp in the file is a number)", row=row) from None
      keyed.append((key, stamp, value, row))
    # Aware datetimes sort by instant, naive ones by wall-clock time; a series
    # mixing the two has no order.
    aware = {isinstance(k, datetime.datetime) and k.tzinfo is not None
             for k, _, _, _ in keyed}
    if len(aware) > 1:
      rows_aware = [r for k, _, _, r in keyed if k.tzinfo is not None]
      rows_naive = [r for k, _, _, r in keyed if k.tzinfo is None]
      raise _data_error(
          path, f"series {series_id!r} mixes timestamps with a UTC offset "
          f"(e.g. row {rows_aware[0]}) and without one (e.g. row "
          f"{rows_naive[0]}); they cannot be ordered", row=rows_aware[0])
    keyed.sort(key=lambda item: (item[0], item[3]))
    for (k0, s0, _, r0), (k1, s1, _, r1) in zip(keyed, keyed[1:]):
      if k0 == k1:
        first, second = sorted((r0, r1))
        raise _data_error(
            path, f"duplicate timestamp {s1!r} for series {series_id!r} "
            f"(rows {first} and {second})", row=second)
    table[series_id] = np.asarray([v for _, _, v, _ in keyed], dtype=np.float32)
  return table


def read_series_csv(path: str, layout: str) -> Dict[str, np.ndarray]:
  """Reads series from a CSV file; returns ``{series_id: float32 values}``.

  Series are ordered by first appearance in the file. The result is a
  ``SeriesTable`` (a ``dict``) that also carries the path and each series'
  first row for later error messages.

  Layouts (both need a header row; blank lines are ignored):

  ``wide``  one series per row. An optional ``series_id`` column holds the id;
            every other column is a value, in column order. Without
            ``series_id`` the ids are ``row-<n>``, ``n`` being the file row
            (header = row 1, so the first series is ``row-2``).
  ``long``  one value per row, columns ``series_id``, ``timestamp``, ``value``
            in any order (other columns are ignored). Each series is sorted by
            timestamp: numerically if every timestamp in the file is a number,
            otherwise chronologically after parsing each one with
            ``datetime.fromisoformat`` (which for uniformly formatted ISO-8601
            strings is the lexicographic order). A timestamp repeated within a
            series is an error.

  Raises:
    SeriesDataError: naming the file, the row (header = row 1) and the problem.
  """
  if layout not in LAYOUTS:
    raise _data_error(path, f"unknown layout {layout!r}; expected one of "
                      f"{', '.join(repr(x) for x in LAYOUTS)}")
  header_row, header, rows = _read_rows(path)
  if layout == "wide":
    return _read_wide(path, header_row, header, rows)
  return _read_long(path, header_row, header, rows)


# --------------------------------------------------------------------------
# Windows and splits
# --------------------------------------------------------------------------


def window_series(series: Dict[str, np.ndarray], n_steps: int, horizon: int,
                  stride: int = 1) -> List[Window]:
  """Cuts every series into windows starting at 0, stride, 2*stride, ...

  A window starting at ``start`` has inputs ``values[start:start+n_steps]`` and
  targets ``values[start+n_steps:start+n_steps+horizon]``; its id is
  ``"<series_id>@<start>"``. Returns a ``WindowList`` (a ``list`` of
  ``Window``), series in input order, windows in time order.

  Raises:
    ValueError: for n_steps, horizon or stride < 1.
    SeriesDataError: for a series shorter than ``n_steps + horizon``, or no
      series at all (naming the file when ``series`` came from
      ``read_series_csv``).
  """
  for name, value in (("n_steps", n_steps), ("horizon", horizon),
                      ("stride", stride)):
    if int(value) != value or value < 1:
      raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
  source = getattr(series, "source", None)
  first_row = getattr(series, "first_row", {})
  needed = n_steps + horizon
  windows = WindowList(source=source)
  for series_id, values in series.items():
    values = np.asarray(values, dtype=np.float32)
    if values.ndim != 1:
      raise _data_error(source, f"series {series_id!r} has shape "
                        f"{values.shape}, expected 1-D values")
    if len(values) < needed:
      raise _data_error(
          source, f"series {series_id!r} has {len(values)} values but "
          f"n_steps + horizon = {n_steps} + {horizon} = {needed} are needed "
          "for one window", row=first_row.get(series_id))
    for start in range(0, len(values) - needed + 1, stride):
      windows.append(Window(id=f"{series_id}@{start}",
                            series=values[start:start + n_steps],
                            target=values[start + n_steps:start + needed]))
  if not windows:
    raise _data_error(source, "no windows at all: the input has no series")
  return windows


def series_id_of(window_id: str) -> str:
  """``"<series_id>@<start>"`` -> ``series_id`` (ids may contain '@')."""
  return window_id.rsplit("@", 1)[0]


def _start_of(window_id: str) -> int:
  return int(window_id.rsplit("@", 1)[1])


def _hash_fraction(series_id: str, seed: int) -> float:
  """Stable (across processes and machines) uniform number in [0, 1)."""
  digest = hashlib.sha256(f"{seed}:{series_id}".encode("utf-8")).digest()
  return int.from_bytes(digest[:8], "big") / 2.0**64


def _to_window_set(windows: Sequence[Window]) -> WindowSet:
  if not windows:
    return WindowSet(ids=[], series=np.zeros((0, 0), np.float32),
                     target=np.zeros((0, 0), np.float32))
  return WindowSet(ids=[w.id for w in windows],
                   series=np.stack([w.series for w in windows]),
                   target=np.stack([w.target for w in windows]))


def split_windows(windows: Sequence[Window], split_by: str = "series",
                  fractions: Sequence[float] = DEFAULT_FRACTIONS,
                  seed: int = 42) -> Dict[str, WindowSet]:
  """Assigns windows to ``train``/``eval``/``test``.

  ``split_by="series"``: whole series go to one split, chosen by a SHA-256 hash
  of ``seed`` and the series id compared with the cumulative ``fractions``, so
  no series leaks across splits and the assignment is the same on every
  machine. Split sizes only approximate the fractions (few series -> coarse).

  ``split_by="time"``: every series contributes to every split: its windows in
  time order, the first 70% (``fractions[0]``) go to train, the next 20% to
  eval and the last 10% to test. Adjacent windows overlap, so the targets of
  the last train windows are inputs (and possibly targets) of the first eval
  windows: the model sees those values during training. That leak is the
  price of a time split on few series; choose ``split_by="series"`` or a
  ``stride >= n_steps + horizon`` to avoid it.

  Raises:
    ValueError: for an unknown ``split_by`` or bad ``fractions``.
    SeriesDataError: if a split ends up empty (naming the split).
  """
  if split_by not in SPLIT_BY:
    raise ValueError(f"split_by must be one of "
                     f"{', '.join(repr(x) for x in SPLIT_BY)}, got {split_by!r}")
  fractions = tuple(float(f) for f in fractions)
  if (len(fractions) != len(SPLIT_NAMES) or any(f < 0 for f in fractions)
      or not math.isclose(sum(fractions), 1.0, abs_tol=1e-6)):
    raise ValueError(f"fractions must be {len(SPLIT_NAMES)} non-negative "
                     f"numbers that sum to 1, got {fractions!r}")
  source = getattr(windows, "source", None)

  buckets: Dict[str, List[Window]] = {name: [] for name in SPLIT_NAMES}
  by_series: Dict[str, List[Window]] = {}
  for w in windows:
    by_series.setdefault(series_id_of(w.id), []).append(w)

  if split_by == "series":
    bounds = np.cumsum(fractions)
    for series_id, ws in by_series.items():
      u = _hash_fraction(series_id, seed)
      index = int(np.searchsorted(bounds, u, side="right"))
      buckets[SPLIT_NAMES[min(index, len(SPLIT_NAMES) - 1)]].extend(ws)
  else:
    for ws in by_series.values():
      ws = sorted(ws, key=lambda w: _start_of(w.id))
      start = 0
      for name, size in zip(SPLIT_NAMES, _split_sizes(len(ws), fractions)):
        buckets[name].extend(ws[start:start + size])
        start += size

  for name in SPLIT_NAMES:
    if not buckets[name]:
      other = "time" if split_by == "series" else "series"
      if split_by == "series":
        hint = (f"add more series, or use split_by={other!r} to split every "
                "series in time")
      else:
        hint = (f"use longer series or a smaller stride, or split_by={other!r} "
                "with more series")
      raise _data_error(
          source, f"split {name!r} is empty ({len(windows)} windows from "
          f"{len(by_series)} series, split_by={split_by!r}, fractions="
          f"{fractions}); {hint}")
  return {name: _to_window_set(buckets[name]) for name in SPLIT_NAMES}


# --------------------------------------------------------------------------
# TFRecord output
# --------------------------------------------------------------------------


def to_example(window_id: str, series: np.ndarray,
               target: np.ndarray) -> tf.train.Example:
  return tf.train.Example(features=tf.train.Features(feature={
      SERIES_FEATURE: tf.train.Feature(float_list=tf.train.FloatList(
          value=np.asarray(series, np.float32).ravel().tolist())),
      TARGET_FEATURE: tf.train.Feature(float_list=tf.train.FloatList(
          value=np.asarray(target, np.float32).ravel().tolist())),
      ID_FEATURE: tf.train.Feature(bytes_list=tf.train.BytesList(
          value=[window_id.encode("utf-8")])),
  }))


def _examples(windows: WindowSet) -> List[tf.train.Example]:
  return [to_example(window_id, windows.series[i], windows.target[i])
          for i, window_id in enumerate(windows.ids)]


def write_split(output_dir: str, windows: WindowSet,
                num_shards: int) -> List[str]:
  """Writes ``windows`` as GZIP TFRecord shards, round-robin; returns the paths."""
  return tfrecords.write_split(output_dir, _examples(windows), num_shards,
                               contiguous=False)


def write_examples(uri: str, splits: Dict[str, WindowSet],
                   num_shards: int = 4) -> Dict[str, List[str]]:
  """Writes every split to ``<uri>/Split-<name>/`` (TFX's Examples layout)."""
  return tfrecords.write_examples(
      uri, {name: _examples(ws) for name, ws in splits.items()}, num_shards)


def naive_mse(ws: WindowSet) -> float:
  """MSE of forecasting every target step as the last input value."""
  last = ws.series[:, -1:].astype(np.float64)
  return float(np.mean((ws.target.astype(np.float64) - last) ** 2))


def csv_splits(csv_path: str, layout: str = "long", n_steps: int = 50,
               horizon: int = 10, stride: int = 1, split_by: str = "series",
               fractions: Sequence[float] = DEFAULT_FRACTIONS,
               seed: int = 42) -> Dict[str, WindowSet]:
  """``read_series_csv`` -> ``window_series`` -> ``split_windows``."""
  series = read_series_csv(csv_path, layout)
  windows = window_series(series, n_steps, horizon, stride)
  return split_windows(windows, split_by=split_by, fractions=fractions,
                       seed=seed)
