"""Quiet runs: third-party chatter goes to a log file, progress to the terminal.

TensorFlow's C++ logging, absl, Beam and Python warnings all write to the
process's standard error, some of it from C++ where no Python filter reaches.
So the quiet mode moves file descriptor 2 itself onto a log file and keeps a
duplicate of the original for the lines meant for the user: component
progress and the result. Standard output (Keras' per-epoch lines) is left alone.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import sys
from typing import Iterator, TextIO


def log_path(work_dir: str, pipeline_name: str) -> str:
    """``<work_dir>/logs/<pipeline_name>-<UTC timestamp>.log``."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return os.path.join(os.path.abspath(work_dir), "logs", f"{pipeline_name}-{stamp}.log")


@contextlib.contextmanager
def quiet_stderr(path: str | None) -> Iterator[TextIO]:
    """Within the block, everything written to standard error goes to the file
    at ``path``; yields a stream onto the original standard error. With
    ``path`` None nothing is redirected and the stream is ``sys.stderr``."""
    if path is None:
        yield sys.stderr
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    sys.stderr.flush()
    original = sys.stderr
    try:
        real = original.fileno() == 2
    except (AttributeError, OSError, ValueError):
        real = False  # replaced by a capture object (pytest's capsys, a notebook)
    saved = os.dup(2)
    log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    console = os.fdopen(os.dup(saved), "w", buffering=1) if real else original
    log_stream = os.fdopen(os.dup(log), "w", buffering=1)
    try:
        os.dup2(log, 2)
        sys.stderr = log_stream
        yield console
    finally:
        log_stream.flush()
        sys.stderr = original
        os.dup2(saved, 2)
        os.close(saved)
        os.close(log)
        log_stream.close()
        console.flush()
        if real:
            console.close()
