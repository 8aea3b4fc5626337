"""Tests for pairs.py: parsing, bad lines, zips, the shuffle and the splits."""

import os
import time
import zipfile

import numpy as np
import pytest

from components.sentence_pairs_example_gen import pairs as pl
from components.sentence_pairs_example_gen.pairs import SentencePairsDataError
from preprocessing import translation_contract as contract

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SHARED_PAIRS = os.path.normpath(os.path.join(
    REPO, "..", "shared", "datasets", "spa-eng", "spa.txt"))
SHARED_NUM_LINES = 113_964

GOOD = ("Go.\tVe.\n"
        "¿Quién ganó?\t¡Nadie!\tCC-BY 2.0 (France) Attribution: tatoeba.org\n"
        "  I'm café.  \t Soy café. \n")


def _parse(text, **kwargs):
  data = text.encode("utf-8") if isinstance(text, str) else text
  return pl.parse_pairs(data, "pairs.txt", **kwargs)


def _numbered(n):
  return [(f"sentence {i}", f"frase {i}") for i in range(n)]


def _write_zip(path, members):
  with zipfile.ZipFile(path, "w") as archive:
    for name, text in members.items():
      archive.writestr(name, text)
  return str(path)


# ---------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------


def test_good_lines_cleaned_and_attribution_ignored():
  pairs, report = _parse(GOOD)
  # ¡ and ¿ dropped from both sides, whitespace stripped, 3rd column ignored.
  assert pairs == [("Go.", "Ve."), ("Quién ganó?", "Nadie!"),
                   ("I'm café.", "Soy café.")]
  assert (report.num_lines, report.num_pairs, report.num_blank,
          report.num_bad) == (3, 3, 0, 0)
  assert report.bad == dict.fromkeys(pl.BAD_KINDS, 0)


def test_dropped_characters_removed_everywhere():
  assert contract.DROPPED_CHARACTERS == ("¡", "¿")
  pairs, _ = _parse("¿Sí?\t¡¿Qué?!  ¡Vale!\n")
  assert pairs == [("Sí?", "Qué?!  Vale!")]
  for source, target in _parse(GOOD)[0]:
    for char in contract.DROPPED_CHARACTERS:
      assert char not in source and char not in target
  assert pl.clean("  ¡Hola!  ") == "Hola!"


def test_windows_line_endings_bom_and_no_final_newline():
  data = b"\xef\xbb\xbfHi.\tHola.\r\nBye.\tAdi\xc3\xb3s."
  pairs, report = _parse(data)
  assert pairs == [("Hi.", "Hola."), ("Bye.", "Adiós.")]
  assert report.num_lines == 2


def test_line_separators_inside_a_sentence_are_kept():
  # U+2028 would end a line for str.splitlines, not for the file format.
  pairs, _ = _parse("a\u2028b\tc\x85d\n")
  assert pairs == [("a\u2028b", "c\x85d")]


def test_column_swap_and_other_columns():
  pairs, _ = _parse(GOOD, source_column=1, target_column=0)
  assert pairs[1] == ("Nadie!", "Quién ganó?")
  pairs, report = _parse(GOOD, source_column=2, target_column=0)
  assert pairs == [("CC-BY 2.0 (France) Attribution: tatoeba.org",
                    "Quién ganó?")]
  assert report.bad[pl.NO_TAB] == 2  # the 2-column lines lack column 2


def test_every_bad_kind_counted_blank_lines_silent():
  text = ("Hi.\tHola.\n"          # 1 ok
          "no tab here\n"         # 2 no_tab
          "\n"                    # 3 blank
          "  \t  \n"              # 4 blank (whitespace only)
          "¡¿\tAlgo.\n"           # 5 empty_side (only dropped characters)
          "Something.\t   \n"     # 6 empty_side
          "one two three four\tuno\n"  # 7 too_long (max_words=3)
          "Ok.\tVale.\n"          # 8 ok
          "also no tab\n")        # 9 no_tab
  data = text.encode("utf-8") + b"caf\xe9\tcaf\xc3\xa9\n" + b"\xff\xfe\t\n"
  pairs, report = _parse(data, max_words=3)
  assert pairs == [("Hi.", "Hola."), ("Ok.", "Vale.")]
  assert report.bad == {"no_tab": 2, "empty_side": 2, "not_utf_8": 2,
                        "too_long": 1}
  assert (report.num_lines, report.num_blank, report.num_pairs,
          report.num_bad) == (11, 2, 2, 7)
  assert report.locations["no_tab"] == ["pairs.txt:2", "pairs.txt:9"]
  assert report.locations["not_utf_8"] == ["pairs.txt:10", "pairs.txt:11"]
  text = report.format()
  assert "pairs.txt: 11 lines read, 2 pairs kept, 2 blank, 7 bad" in text
  assert "  no_tab: 2 (at pairs.txt:2, pairs.txt:9)" in text
  assert "  too_long: 1 (at pairs.txt:7)" in text
  assert report.bad_counts() == ("no_tab=2, empty_side=2, not_utf_8=2, "
                                 "too_long=1")


def test_report_keeps_the_first_locations_only():
  _, report = _parse("x\n" * 10)
  assert report.bad[pl.NO_TAB] == 10
  assert report.locations[pl.NO_TAB] == [f"pairs.txt:{i}" for i in (1, 2, 3)]
  assert "no_tab: 10 (at pairs.txt:1, pairs.txt:2, pairs.txt:3, ...)" in (
      report.format())


def test_too_long_counts_words_per_side_and_zero_disables():
  line = " ".join(["w"] * 5) + "\tuno\n" + "a\t" + " ".join(["p"] * 6) + "\n"
  assert _parse(line, max_words=5)[1].bad[pl.TOO_LONG] == 1
  assert _parse(line, max_words=6)[1].bad[pl.TOO_LONG] == 0
  assert _parse(line, max_words=4)[1].bad[pl.TOO_LONG] == 2
  assert len(_parse(line * 10, max_words=0)[0]) == 20
  assert _parse(line)[1].bad[pl.TOO_LONG] == 0  # default contract.MAX_LENGTH
  long_line = " ".join(["w"] * (contract.MAX_LENGTH + 1)) + "\tx\n"
  assert _parse(long_line)[1].bad[pl.TOO_LONG] == 1


def test_max_pairs_keeps_the_first_valid_pairs():
  text = "bad\n" + "".join(f"s{i}\tt{i}\n" for i in range(10))
  pairs, report = _parse(text, max_pairs=4)
  assert pairs == [(f"s{i}", f"t{i}") for i in range(4)]
  assert report.stopped_at_max_pairs and report.num_lines == 5
  assert report.bad[pl.NO_TAB] == 1
  pairs, report = _parse(text, max_pairs=10)
  assert len(pairs) == 10 and not report.stopped_at_max_pairs


@pytest.mark.parametrize("kwargs, fragment", [
    ({"source_column": -1}, "source_column must be an integer >= 0, got -1"),
    ({"target_column": 1.0}, "target_column must be an integer >= 0"),
    ({"source_column": 1}, "must differ, both are 1"),
    ({"max_words": -1}, "max_words must be an integer >= 0, got -1"),
    ({"max_pairs": -2}, "max_pairs must be an integer >= 0, got -2"),
])
def test_parse_argument_errors(kwargs, fragment):
  with pytest.raises(ValueError) as e:
    _parse(GOOD, **kwargs)
  assert not isinstance(e.value, SentencePairsDataError)
  assert fragment in str(e.value)


# ---------------------------------------------------------------------------
# Files and zips
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b"\n\n  \n\t\n"])
def test_empty_or_blank_file_is_an_error(tmp_path, content):
  path = tmp_path / "empty.txt"
  path.write_bytes(content)
  with pytest.raises(SentencePairsDataError) as e:
    pl.read_pairs(str(path))
  msg = str(e.value)
  assert str(path) in msg and "no valid sentence pair" in msg, msg
  assert ("no_tab=0, empty_side=0, not_utf_8=0, too_long=0") in msg


def test_all_bad_file_error_names_file_and_counts(tmp_path):
  path = tmp_path / "bad.txt"
  path.write_bytes(b"no tab\n\xff\tx\n\tempty source\n")
  with pytest.raises(SentencePairsDataError) as e:
    pl.read_pairs(str(path))
  msg = str(e.value)
  assert msg.startswith(f"{path}: no valid sentence pair in 3 lines"), msg
  assert "no_tab=1, empty_side=1, not_utf_8=1, too_long=0" in msg


def test_missing_file_and_directory(tmp_path):
  missing = str(tmp_path / "missing.txt")
  with pytest.raises(SentencePairsDataError) as e:
    pl.read_pairs(missing)
  assert str(e.value).startswith(f"{missing}: not found")
  with pytest.raises(SentencePairsDataError, match="is a directory"):
    pl.read_pairs(str(tmp_path))


def test_several_files_in_order(tmp_path):
  (tmp_path / "a.txt").write_text("a1\tA1\na2\tA2\n", encoding="utf-8")
  (tmp_path / "b.txt").write_text("nope\nb1\tB1\n", encoding="utf-8")
  paths = [str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]
  pairs, report = pl.read_pairs(paths)
  assert pairs == [("a1", "A1"), ("a2", "A2"), ("b1", "B1")]
  assert report.sources == paths and report.num_lines == 4
  assert report.locations[pl.NO_TAB] == [f"{paths[1]}:1"]
  pairs, _ = pl.read_pairs(paths, max_pairs=2)
  assert pairs == [("a1", "A1"), ("a2", "A2")]


def test_official_zip_member(tmp_path):
  path = _write_zip(tmp_path / "spa-eng.zip", {
      "spa-eng/_about.txt": "About the data\n",
      contract.SPA_ENG_MEMBER: GOOD,
  })
  pairs, report = pl.read_pairs(path)
  assert pairs == _parse(GOOD)[0]
  assert report.sources == [f"{path}!{contract.SPA_ENG_MEMBER}"]


def test_single_txt_member_zip(tmp_path):
  path = _write_zip(tmp_path / "pairs.zip", {
      "readme.md": "not the pairs", "deu-eng/deu.txt": "Hi.\tHallo.\n",
      "__MACOSX/deu-eng/._deu.txt": "mac metadata"})
  pairs, report = pl.read_pairs(path)
  assert pairs == [("Hi.", "Hallo.")]
  assert report.sources == [f"{path}!deu-eng/deu.txt"]


@pytest.mark.parametrize("members, found", [
    ({"a.txt": GOOD, "b.txt": GOOD}, "found 2 (a.txt, b.txt)"),
    ({"data.csv": "x,y\n"}, "found 0 (none)"),
])
def test_zip_without_a_single_txt_member(tmp_path, members, found):
  path = _write_zip(tmp_path / "many.zip", members)
  with pytest.raises(SentencePairsDataError) as e:
    pl.read_pairs(path)
  msg = str(e.value)
  assert msg.startswith(f"{path}: expected {contract.SPA_ENG_MEMBER} or "
                        "exactly one .txt member"), msg
  assert found in msg


def test_broken_zip(tmp_path):
  path = tmp_path / "broken.zip"
  path.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
  with pytest.raises(SentencePairsDataError, match="not a readable zip"):
    pl.read_pairs(str(path))


# ---------------------------------------------------------------------------
# Shuffle and splits
# ---------------------------------------------------------------------------


def test_shuffle_is_deterministic_and_the_books():
  pairs = _numbered(50)
  assert pl.shuffle(pairs, 42) == pl.shuffle(pairs, 42)
  assert pl.shuffle(pairs, 42) != pl.shuffle(pairs, 7)
  assert sorted(pl.shuffle(pairs, 7)) == sorted(pairs)
  assert pairs == _numbered(50)  # the input is not shuffled in place
  # What the book gets from np.random.seed(42); np.random.shuffle(pairs).
  book = list(pairs)
  np.random.seed(42)
  np.random.shuffle(book)
  assert pl.shuffle(pairs) == book


def test_split_sizes_and_contents():
  pairs = _numbered(100)
  splits = pl.split_pairs(pairs, train_pairs=80)
  assert list(splits) == ["train", "eval"]
  assert [len(s) for s in splits.values()] == [80, 20]
  shuffled = pl.shuffle(pairs, 42)
  assert splits["train"] == shuffled[:80] and splits["eval"] == shuffled[80:]
  assert pl.split_pairs(pairs, train_pairs=80, seed=1) != splits


def test_test_fraction_takes_the_end_of_the_rest():
  pairs = _numbered(100)
  splits = pl.split_pairs(pairs, train_pairs=70, test_fraction=0.3)
  assert list(splits) == ["train", "eval", "test"]
  assert [len(s) for s in splits.values()] == [70, 21, 9]
  shuffled = pl.shuffle(pairs)
  assert splits["eval"] == shuffled[70:91] and splits["test"] == shuffled[91:]
  # The profiles' sizes: smoke and the book's file.
  assert pl.split_sizes(4000, 3200, 0.5) == {"train": 3200, "eval": 400,
                                             "test": 400}
  assert pl.split_sizes(SHARED_NUM_LINES, test_fraction=0.3) == {
      "train": 100_000, "eval": 9775, "test": 4189}
  assert pl.split_sizes(SHARED_NUM_LINES) == {"train": 100_000,
                                              "eval": 13_964}


def test_too_few_pairs():
  with pytest.raises(SentencePairsDataError) as e:
    pl.split_pairs(_numbered(100), train_pairs=100, source="/data/spa.txt")
  msg = str(e.value)
  assert msg.startswith("/data/spa.txt: 100 valid pairs are too few for "
                        "train_pairs=100"), msg
  assert "split 'eval' would be empty" in msg and "smaller train_pairs" in msg
  assert len(pl.split_pairs(_numbered(101), train_pairs=100)["eval"]) == 1
  # The default train_pairs needs more than contract.TRAIN_PAIRS pairs.
  with pytest.raises(SentencePairsDataError, match="train_pairs=100000"):
    pl.split_pairs(_numbered(10))
  # A test split that rounds to nothing, or eats all of eval.
  with pytest.raises(SentencePairsDataError, match="split 'test'"):
    pl.split_pairs(_numbered(12), train_pairs=10, test_fraction=0.1)
  with pytest.raises(SentencePairsDataError, match="split 'eval'"):
    pl.split_pairs(_numbered(11), train_pairs=10, test_fraction=0.9)


@pytest.mark.parametrize("kwargs, fragment", [
    ({"train_pairs": 0}, "train_pairs must be an integer >= 1, got 0"),
    ({"test_fraction": 1.0}, "test_fraction must be >= 0 and < 1"),
    ({"test_fraction": -0.1}, "got -0.1"),
])
def test_split_argument_errors(kwargs, fragment):
  with pytest.raises(ValueError) as e:
    pl.split_pairs(_numbered(10), **dict({"train_pairs": 5}, **kwargs))
  assert not isinstance(e.value, SentencePairsDataError)
  assert fragment in str(e.value)


def test_error_class_is_a_value_error():
  assert issubclass(SentencePairsDataError, ValueError)


# ---------------------------------------------------------------------------
# The real data (optional)
# ---------------------------------------------------------------------------


@pytest.mark.skipif(not os.path.exists(SHARED_PAIRS),
                    reason=f"shared spa-eng copy not present at {SHARED_PAIRS}")
def test_real_spa_eng_pairs():
  start = time.perf_counter()
  pairs, report = pl.read_pairs(SHARED_PAIRS)
  print(f"\n{report.format()}")
  assert report.num_lines == SHARED_NUM_LINES
  assert report.num_pairs + report.num_blank + report.num_bad == (
      SHARED_NUM_LINES)
  assert report.num_pairs == SHARED_NUM_LINES == len(pairs)
  assert pairs[0] == ("Go.", "Ve.")
  splits = pl.split_pairs(pairs, test_fraction=0.3)
  assert {k: len(v) for k, v in splits.items()} == {
      "train": 100_000, "eval": 9775, "test": 4189}
  # Spanish -> English is the same pairs, turned around.
  reverse, _ = pl.read_pairs(SHARED_PAIRS, source_column=1, target_column=0,
                             max_pairs=10)
  assert reverse == [(t, s) for s, t in pairs[:10]]
  elapsed = time.perf_counter() - start
  print(f"real pairs: read+split {elapsed:.2f} s")
  assert elapsed < 30
