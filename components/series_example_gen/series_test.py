"""Tests for series.py: generator, CSV import, windows, splits, TFRecords."""

import glob
import os

import numpy as np
import pytest
import tensorflow as tf

from components.series_example_gen import series as sl
from components.series_example_gen.series import SeriesDataError

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def _write(tmp_path, name, text):
  path = tmp_path / name
  if isinstance(text, bytes):
    path.write_bytes(text)
  else:
    path.write_text(text, encoding="utf-8")
  return str(path)


def _long_csv(n_series, length, shuffle_seed=None, iso=False):
  rows = []
  for s in range(n_series):
    for t in range(length):
      stamp = (f"2024-01-01T{t // 60:02d}:{t % 60:02d}:00" if iso else str(t))
      rows.append((f"s{s:03d}", stamp, f"{s * 1000 + t}"))
  if shuffle_seed is not None:
    order = np.random.RandomState(shuffle_seed).permutation(len(rows))
    rows = [rows[i] for i in order]
  lines = ["series_id,timestamp,value"] + [",".join(r) for r in rows]
  return "\n".join(lines) + "\n"


def _parse_split(split_dir):
  files = sorted(glob.glob(os.path.join(split_dir, "*")))
  spec = {
      "series": tf.io.VarLenFeature(tf.float32),
      "target": tf.io.VarLenFeature(tf.float32),
      "series_id": tf.io.FixedLenFeature([], tf.string),
  }
  out = []
  for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
    ex = tf.io.parse_single_example(record, spec)
    out.append((ex["series_id"].numpy().decode(),
                tf.sparse.to_dense(ex["series"]).numpy(),
                tf.sparse.to_dense(ex["target"]).numpy()))
  return files, out


def _assert_error(exc_info, path, *fragments, row=None):
  msg = str(exc_info.value)
  assert path in msg, msg
  if row is not None:
    assert f"row {row}" in msg, msg
  for fragment in fragments:
    assert fragment in msg, msg


# ---------------------------------------------------------------------------
# Synthetic generator
# ---------------------------------------------------------------------------


def test_generator_is_deterministic_and_shaped():
  a = sl.generate_time_series(50, 30, seed=7)
  b = sl.generate_time_series(50, 30, seed=7)
  c = sl.generate_time_series(50, 30, seed=8)
  assert a.shape == (50, 30) and a.dtype == np.float32
  np.testing.assert_array_equal(a, b)
  assert not np.allclose(a, c)
  # 0.5 + 0.2 amplitudes plus +-0.05 noise.
  assert np.all(np.abs(a) <= 0.75 + 1e-6)
  assert a.std() > 0.2


def test_generator_matches_the_book_formula():
  rng = np.random.RandomState(3)
  freq1, freq2, offsets1, offsets2 = rng.rand(4, 4, 1)
  t = np.linspace(0, 1, 12)
  expected = (0.5 * np.sin((t - offsets1) * (freq1 * 10 + 10)) +
              0.2 * np.sin((t - offsets2) * (freq2 * 20 + 20)) +
              0.1 * (rng.rand(4, 12) - 0.5))
  np.testing.assert_allclose(sl.generate_time_series(4, 12, 3), expected,
                             rtol=1e-6, atol=1e-6)


def test_synthetic_windows_book_sizes_and_naive_mse():
  splits = sl.synthetic_windows()  # 10000 series, 50 steps, horizon 10
  assert {k: len(v) for k, v in splits.items()} == {
      "train": 7000, "eval": 2000, "test": 1000}
  for ws in splits.values():
    assert ws.series.shape[1:] == (50,) and ws.target.shape[1:] == (10,)
    assert ws.series.dtype == np.float32 and ws.target.dtype == np.float32
  assert splits["train"].ids[0] == "synthetic-000000"
  assert splits["eval"].ids[0] == "synthetic-007000"
  assert splits["test"].ids[-1] == "synthetic-009999"
  # Book: naive forecasting, 10 steps ahead, MSE ~0.223 (+-30%).
  assert 0.223 * 0.7 < sl.naive_mse(splits["test"]) < 0.223 * 1.3
  # Target continues the same generated array as the inputs.
  x = sl.generate_time_series(10000, 60, 42)
  np.testing.assert_array_equal(splits["eval"].series, x[7000:9000, :50])
  np.testing.assert_array_equal(splits["eval"].target, x[7000:9000, 50:])


def test_synthetic_one_step_naive_mse_near_book():
  splits = sl.synthetic_windows(n_series=3000, horizon=1)
  # Book: naive 1-step validation MSE 0.020 (+-30%).
  assert 0.020 * 0.7 < sl.naive_mse(splits["eval"]) < 0.020 * 1.3


def test_synthetic_small_split_sizes():
  splits = sl.synthetic_windows(n_series=10, n_steps=8, horizon=2, seed=1)
  assert [len(splits[k]) for k in ("train", "eval", "test")] == [7, 2, 1]


def test_naive_mse_value():
  ws = sl.WindowSet(ids=["a", "b"],
                    series=np.array([[0, 1], [0, 2]], np.float32),
                    target=np.array([[1, 3], [2, 2]], np.float32))
  # errors: (0, 2) and (0, 0) -> mean of squares = 4 / 4.
  assert sl.naive_mse(ws) == pytest.approx(1.0)


# ---------------------------------------------------------------------------
# TFRecord output
# ---------------------------------------------------------------------------


def test_tfrecord_round_trip(tmp_path):
  splits = sl.synthetic_windows(n_series=20, n_steps=12, horizon=3, seed=5)
  paths = sl.write_examples(str(tmp_path), splits, num_shards=3)
  assert sorted(paths) == ["eval", "test", "train"]
  names = sorted(os.listdir(tmp_path / "Split-train"))
  assert names == [f"data_tfrecord-0000{i}-of-00003.gz" for i in range(3)]
  for name, ws in splits.items():
    files, parsed = _parse_split(str(tmp_path / f"Split-{name}"))
    assert files == sorted(paths[name])
    assert len(parsed) == len(ws)
    by_id = {i: (s, t) for i, s, t in parsed}
    assert set(by_id) == set(ws.ids)
    for k, window_id in enumerate(ws.ids):
      s, t = by_id[window_id]
      assert s.shape == (12,) and t.shape == (3,)
      np.testing.assert_array_equal(s, ws.series[k])
      np.testing.assert_array_equal(t, ws.target[k])


def test_write_split_is_gzip_and_round_robin(tmp_path):
  splits = sl.synthetic_windows(n_series=10, n_steps=8, horizon=1)
  paths = sl.write_split(str(tmp_path / "out"), splits["train"], num_shards=2)
  with open(paths[0], "rb") as f:
    assert f.read(2) == b"\x1f\x8b"  # gzip magic
  counts = [sum(1 for _ in tf.data.TFRecordDataset(p, compression_type="GZIP"))
            for p in paths]
  assert counts == [4, 3]
  first = next(iter(tf.data.TFRecordDataset(paths[1], compression_type="GZIP")))
  ex = tf.train.Example.FromString(first.numpy())
  assert ex.features.feature["series_id"].bytes_list.value == [b"synthetic-000001"]
  with pytest.raises(ValueError, match="num_shards"):
    sl.write_split(str(tmp_path / "x"), splits["train"], num_shards=0)


# ---------------------------------------------------------------------------
# CSV import: good inputs
# ---------------------------------------------------------------------------


def test_wide_with_series_id(tmp_path):
  path = _write(tmp_path, "w.csv",
                "t0,series_id,t1,t2\n1,alpha,2,3\n4,beta,5,6.5\n")
  table = sl.read_series_csv(path, "wide")
  assert list(table) == ["alpha", "beta"]
  np.testing.assert_array_equal(table["alpha"], [1, 2, 3])
  np.testing.assert_array_equal(table["beta"], [4, 5, 6.5])
  assert table["beta"].dtype == np.float32


def test_wide_without_series_id(tmp_path):
  path = _write(tmp_path, "w.csv", "a,b,c\n1,2,3\n\n4,5,6\n")
  table = sl.read_series_csv(path, "wide")
  # ids name the file row (header is row 1; the blank line is row 3).
  assert list(table) == ["row-2", "row-4"]
  np.testing.assert_array_equal(table["row-4"], [4, 5, 6])


def test_long_numeric_unsorted_is_sorted(tmp_path):
  path = _write(tmp_path, "l.csv",
                "extra,value,series_id,timestamp\n"
                "x,30,b,3\nx,10,a,10\nx,1,a,1\nx,20,b,2\nx,2.5,a,2.5\n")
  table = sl.read_series_csv(path, "long")
  assert list(table) == ["b", "a"]  # order of first appearance
  np.testing.assert_array_equal(table["a"], [1, 2.5, 10])  # numeric, not text
  np.testing.assert_array_equal(table["b"], [20, 30])


def test_long_iso_unsorted_is_sorted(tmp_path):
  path = _write(tmp_path, "l.csv",
                "series_id,timestamp,value\n"
                "a,2024-03-01,3\na,2024-01-15,1\na,2024-02-01T12:00,2\n")
  np.testing.assert_array_equal(sl.read_series_csv(path, "long")["a"], [1, 2, 3])


def test_long_shuffled_round_trip(tmp_path):
  path = _write(tmp_path, "l.csv", _long_csv(3, 20, shuffle_seed=1, iso=True))
  table = sl.read_series_csv(path, "long")
  assert sorted(table) == ["s000", "s001", "s002"]
  np.testing.assert_array_equal(table["s002"], 2000 + np.arange(20))


def test_window_series_counts_and_ids():
  series = {"a": np.arange(10, dtype=np.float32), "b@x": np.arange(7.0)}
  windows = sl.window_series(series, n_steps=4, horizon=2, stride=2)
  # a: starts 0, 2, 4 (4 + 6 <= 10); b@x: start 0 only.
  assert [w.id for w in windows] == ["a@0", "a@2", "a@4", "b@x@0"]
  np.testing.assert_array_equal(windows[1].series, [2, 3, 4, 5])
  np.testing.assert_array_equal(windows[1].target, [6, 7])
  assert len(sl.window_series(series, 4, 2, stride=1)) == 5 + 2
  assert sl.series_id_of("b@x@0") == "b@x"
  with pytest.raises(ValueError, match="stride"):
    sl.window_series(series, 4, 2, stride=0)


def test_split_by_series_no_leak_and_non_empty(tmp_path):
  path = _write(tmp_path, "l.csv", _long_csv(40, 20))
  windows = sl.window_series(sl.read_series_csv(path, "long"), 8, 2)
  splits = sl.split_windows(windows, split_by="series")
  assert all(len(ws) > 0 for ws in splits.values())
  assert sum(len(ws) for ws in splits.values()) == 40 * 11
  owners = {}
  for name, ws in splits.items():
    for window_id in ws.ids:
      owners.setdefault(sl.series_id_of(window_id), set()).add(name)
  assert len(owners) == 40
  assert all(len(names) == 1 for names in owners.values())
  # Stable: the same assignment every time (hashlib, not hash()).
  again = sl.split_windows(windows, split_by="series")
  assert all(again[k].ids == splits[k].ids for k in splits)


def test_split_by_time_is_chronological(tmp_path):
  path = _write(tmp_path, "l.csv", _long_csv(3, 30))
  windows = sl.window_series(sl.read_series_csv(path, "long"), 8, 2)
  splits = sl.split_windows(windows, split_by="time")
  # 21 windows per series -> 14 / 4 / 3.
  assert [len(splits[k]) for k in ("train", "eval", "test")] == [42, 12, 9]
  for sid in ("s000", "s001", "s002"):
    starts = {k: [int(i.split("@")[1]) for i in ws.ids if i.startswith(sid)]
              for k, ws in splits.items()}
    assert starts["train"] == list(range(14))
    assert starts["eval"] == list(range(14, 18))
    assert starts["test"] == list(range(18, 21))


def test_csv_splits_end_to_end_values(tmp_path):
  path = _write(tmp_path, "w.csv",
                "series_id," + ",".join(f"v{i}" for i in range(12)) + "\n" +
                "".join(f"s{s}," + ",".join(str(s * 100 + i) for i in range(12))
                        + "\n" for s in range(30)))
  splits = sl.csv_splits(path, layout="wide", n_steps=8, horizon=2, stride=1,
                         split_by="series")
  ws = splits["train"]
  k = len(ws) // 2
  sid, start = ws.ids[k].rsplit("@", 1)
  base = int(sid[1:]) * 100 + int(start)
  np.testing.assert_array_equal(ws.series[k], base + np.arange(8))
  np.testing.assert_array_equal(ws.target[k], base + 8 + np.arange(2))


# ---------------------------------------------------------------------------
# CSV import: bad inputs (message names file, row and problem)
# ---------------------------------------------------------------------------


def test_missing_file(tmp_path):
  path = str(tmp_path / "nope.csv")
  with pytest.raises(SeriesDataError) as e:
    sl.read_series_csv(path, "long")
  _assert_error(e, path, "file not found")


def test_empty_file(tmp_path):
  path = _write(tmp_path, "e.csv", "")
  with pytest.raises(SeriesDataError) as e:
    sl.read_series_csv(path, "wide")
  _assert_error(e, path, "empty", "no header")


def test_header_only(tmp_path):
  path = _write(tmp_path, "h.csv", "series_id,timestamp,value\n")
  with pytest.raises(SeriesDataError) as e:
    sl.read_series_csv(path, "long")
  _assert_error(e, path, "no data rows", row=1)


def test_missing_column(tmp_path):
  path = _write(tmp_path, "m.csv", "series_id,time,value\na,1,2\n")
  with pytest.raises(SeriesDataError) as e:
    sl.read_series_csv(path, "long")
  _assert_error(e, path, "missing required column", "'timestamp'",
                "columns present: 'series_id', 'time', 'value'", row=1)


def test_non_numeric_value(tmp_path):
  path = _write(tmp_path, "n.csv",
                "series_id,timestamp,value\na,1,2\na,2,abc\n")
  with pytest.raises(SeriesDataError) as e:
    sl.read_series_csv(path, "long")
  _assert_error(e, path, "non-numeric", "'abc'", "'value'", row=3)


def test_non_numeric_wide(tmp_path):
  path = _write(tmp_path, "n.csv", "a,b\n1,2\n3,x4\n")
  with pytest.raises(SeriesDataError) as e:
    sl.read_series_csv(path, "wide")
  _assert_error(e, path, "non-numeric", "'x4'", "column 'b'", row=3)


@pytest.mark.parametrize("bad", ["nan", "NaN", "inf", "-Infinity"])
def test_nan_or_inf(tmp_path, bad):
  path = _write(tmp_path, "nan.csv", f"a,b,c\n1,2,3\n4,{bad},6\n")
  with pytest.raises(SeriesDataError) as e:
    sl.read_series_csv(path, "wide")
  _assert_error(e, path, "non-finite", repr(bad), "column 'b'", row=3)


def test_empty_cell(tmp_path):
  path = _write(tmp_path, "ec.csv",
                "series_id,timestamp,value\na,1,2\na,2, \n")
  with pytest.raises(SeriesDataError) as e:
    sl.read_series_csv(path, "long")
  _assert_error(e, path, "empty cell", "'value'", row=3)


def test_too_short_series(tmp_path):
  path = _write(tmp_path, "s.csv", _long_csv(1, 12) + "short,0,1\nshort,1,2\n")
  series = sl.read_series_csv(path, "long")
  with pytest.raises(SeriesDataError) as e:
    sl.window_series(series, n_steps=8, horizon=2)
  _assert_error(e, path, "'short'", "has 2 values", "8 + 2 = 10", row=14)


def test_duplicate_timestamp(tmp_path):
  path = _write(tmp_path, "d.csv",
                "series_id,timestamp,value\na,1,1\nb,1,1\na,2,2\na,1,3\n")
  with pytest.raises(SeriesDataError) as e:
    sl.read_series_csv(path, "long")
  _assert_error(e, path, "duplicate timestamp '1'", "series 'a'",
                "rows 2 and 5", row=5)


def test_duplicate_iso_timestamp_same_instant(tmp_path):
  path = _write(tmp_path, "d.csv",
                "series_id,timestamp,value\na,2024-01-01,1\n"
                "a,2024-01-01T00:00:00,2\n")
  with pytest.raises(SeriesDataError) as e:
    sl.read_series_csv(path, "long")
  _assert_error(e, path, "duplicate timestamp", row=3)


def test_bad_timestamp(tmp_path):
  path = _write(tmp_path, "t.csv",
                "series_id,timestamp,value\na,2024-01-01,1\na,yesterday,2\n")
  with pytest.raises(SeriesDataError) as e:
    sl.read_series_csv(path, "long")
  _assert_error(e, path, "'yesterday'", "ISO-8601", row=3)


def test_ragged_row(tmp_path):
  path = _write(tmp_path, "r.csv", "a,b,c\n1,2,3\n4,5\n")
  with pytest.raises(SeriesDataError) as e:
    sl.read_series_csv(path, "wide")
  _assert_error(e, path, "ragged", "2 cells", "3 columns", row=3)


def test_non_utf8_bytes(tmp_path):
  path = _write(tmp_path, "u.csv",
                b"series_id,timestamp,value\na,1,1.0\nb\xff\xfe,2,2.0\n")
  with pytest.raises(SeriesDataError) as e:
    sl.read_series_csv(path, "long")
  _assert_error(e, path, "UTF-8", "\\xff", row=3)


def test_unknown_layout(tmp_path):
  path = _write(tmp_path, "x.csv", "a\n1\n")
  with pytest.raises(SeriesDataError) as e:
    sl.read_series_csv(path, "tall")
  _assert_error(e, path, "unknown layout 'tall'", "'wide'", "'long'")


def test_duplicate_wide_id(tmp_path):
  path = _write(tmp_path, "dup.csv", "series_id,a\nx,1\nx,2\n")
  with pytest.raises(SeriesDataError) as e:
    sl.read_series_csv(path, "wide")
  _assert_error(e, path, "duplicate series id 'x'", row=3)


def test_empty_split_by_series(tmp_path):
  path = _write(tmp_path, "few.csv", _long_csv(2, 30))
  windows = sl.window_series(sl.read_series_csv(path, "long"), 8, 2)
  with pytest.raises(SeriesDataError) as e:
    sl.split_windows(windows, split_by="series")
  _assert_error(e, path, "is empty", "split_by='time'", "more series")
  assert "split '" in str(e.value)


def test_empty_split_by_time(tmp_path):
  path = _write(tmp_path, "one.csv", _long_csv(3, 10))  # one window each
  windows = sl.window_series(sl.read_series_csv(path, "long"), 8, 2)
  with pytest.raises(SeriesDataError) as e:
    sl.split_windows(windows, split_by="time")
  _assert_error(e, path, "split 'train' is empty", "split_by='series'")


def test_no_windows_at_all():
  with pytest.raises(SeriesDataError, match="no windows"):
    sl.window_series({}, 8, 2)


def test_bad_split_arguments():
  windows = sl.window_series({"a": np.arange(20.0)}, 8, 2)
  with pytest.raises(ValueError, match="split_by"):
    sl.split_windows(windows, split_by="random")
  with pytest.raises(ValueError, match="fractions"):
    sl.split_windows(windows, split_by="time", fractions=(0.5, 0.2, 0.1))


def test_missing_column_after_leading_blank_line(tmp_path):
  path = _write(tmp_path, "m.csv", "\nseries_id,value\na,1\n")
  with pytest.raises(SeriesDataError) as e:
    sl.read_series_csv(path, "long")
  _assert_error(e, path, "'timestamp'", row=2)


def test_duplicate_required_column(tmp_path):
  path = _write(tmp_path, "dc.csv", "series_id,timestamp,value,value\na,1,2,3\n")
  with pytest.raises(SeriesDataError) as e:
    sl.read_series_csv(path, "long")
  _assert_error(e, path, "column 'value' appears 2 times", row=1)


def test_wide_needs_a_value_column(tmp_path):
  path = _write(tmp_path, "v.csv", "series_id\na\n")
  with pytest.raises(SeriesDataError) as e:
    sl.read_series_csv(path, "wide")
  _assert_error(e, path, "at least one value column", row=1)


def test_mixed_utc_offsets_and_naive_timestamps(tmp_path):
  path = _write(tmp_path, "tz.csv",
                "series_id,timestamp,value\na,2024-01-01T00:00,1\n"
                "a,2024-01-02T00:00+00:00,2\n")
  with pytest.raises(SeriesDataError) as e:
    sl.read_series_csv(path, "long")
  _assert_error(e, path, "UTC offset", row=3)


def test_utf8_bom_is_accepted(tmp_path):
  path = _write(tmp_path, "bom.csv", "\ufeffseries_id,timestamp,value\na,1,5\n")
  np.testing.assert_array_equal(sl.read_series_csv(path, "long")["a"], [5])
