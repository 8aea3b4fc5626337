"""Builders of small text corpora for tests."""

import os
from typing import Union


def make_text(n_chars: int) -> str:
  """Exactly ``n_chars`` characters of play-like text, some of them non-ASCII
  (so character offsets differ from byte offsets)."""
  lines, size, i = [], 0, 0
  while size < n_chars:
    line = (f"CITIZEN {i}:\nFair Verona — ça, naïve 映画 {i * 7 % 13}!\n\n"
            if i % 3 else f"KING {i}:\nO, what a rogue and peasant slave.\n")
    lines.append(line)
    size += len(line)
    i += 1
  return "".join(lines)[:n_chars]


def write_corpus(path: Union[str, os.PathLike],
                 content: Union[str, bytes]) -> str:
  """Writes ``content`` (a str is encoded as UTF-8) to ``path``; returns it."""
  data = content.encode("utf-8") if isinstance(content, str) else content
  with open(path, "wb") as f:
    f.write(data)
  return str(path)
