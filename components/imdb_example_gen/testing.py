"""Builders of small aclImdb-style fixtures (directories and archives) for tests."""

import io
import os
import tarfile
from typing import Dict, Iterable, Optional, Union

Content = Union[str, bytes]

# Files of the real archive that are not labelled reviews (ignored).
EXTRA_FILES: Dict[str, Content] = {
    "imdb.vocab": "the\nand\na\n",
    "imdbEr.txt": "0.0490972013402\n",
    "README": "Large Movie Review Dataset v1.0\n",
    "train/labeledBow.feat": "0 0:9 1:1\n",
    "train/urls_pos.txt": "http://www.imdb.com/title/tt0453418/usercomments\n",
    "train/unsup/0_0.txt": "An unlabelled review.",
    "train/unsup/1_0.txt": "Another unlabelled review.",
}


def review_text(i: int, label: int) -> str:
  """A review of ``20 + (37 * i) % 460`` words (covers every length bucket)."""
  n_words = 20 + (37 * i) % 460
  word = "great" if label else "awful"
  words = [f"{word}{j % 7}" for j in range(n_words)]
  return f"Review {i}: " + " ".join(words[2:]) + ".<br /><br />The end."


def review_files(n_pos: int = 30, n_neg: int = 30, split_dir: str = "train",
                 start: int = 0) -> Dict[str, Content]:
  """``{"<split_dir>/<pos|neg>/<id>_<rating>.txt": text}``, ids from ``start``."""
  files: Dict[str, Content] = {}
  for i in range(start, start + n_pos):
    files[f"{split_dir}/pos/{i}_{7 + i % 4}.txt"] = review_text(i, 1)
  for i in range(start, start + n_neg):
    files[f"{split_dir}/neg/{i}_{1 + i % 4}.txt"] = review_text(i, 0)
  return files


def write_tree(root: Union[str, os.PathLike], files: Dict[str, Content],
               prefix: str = "", dirs: Iterable[str] = ()) -> str:
  """Writes ``files`` (relative path -> content) under ``root/prefix``."""
  base = os.path.join(str(root), prefix) if prefix else str(root)
  os.makedirs(base, exist_ok=True)
  for d in dirs:
    os.makedirs(os.path.join(base, d), exist_ok=True)
  for rel, content in files.items():
    path = os.path.join(base, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    with open(path, "wb") as f:
      f.write(data)
  return str(root)


def write_archive(path: Union[str, os.PathLike], files: Dict[str, Content],
                  prefix: Optional[str] = "aclImdb", mode: str = "w:gz",
                  with_dirs: bool = True) -> str:
  """Writes ``files`` into a tar archive under ``prefix/``, dir entries first."""
  def name(rel):
    return f"{prefix}/{rel}" if prefix else rel

  with tarfile.open(str(path), mode) as archive:
    if with_dirs:
      folders = sorted({os.path.dirname(rel) for rel in files} - {""})
      for folder in folders:
        info = tarfile.TarInfo(name(folder))
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        archive.addfile(info)
    for rel, content in files.items():
      data = content.encode("utf-8") if isinstance(content, str) else content
      info = tarfile.TarInfo(name(rel))
      info.size = len(data)
      archive.addfile(info, io.BytesIO(data))
  return str(path)
