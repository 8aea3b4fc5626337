"""Prints one line as each component starts and finishes, and times them.

Logging is not a reliable carrier for this: libraries inside Transform raise
the absl logger's level mid-run. So the launcher that LocalDagRunner uses is
wrapped instead; the timings also feed bench/pipeline_cost.md.
"""

from __future__ import annotations

import contextlib
import sys
import time
from typing import Iterator, TextIO


class ComponentProgress:
    def __init__(self, stream: TextIO = sys.stderr):
        self.stream = stream
        self.start = time.perf_counter()
        self.durations: dict[str, float] = {}
        self.cached: set[str] = set()

    def began(self, node: str) -> float:
        self._print(f"{node} ...")
        return time.perf_counter()

    def finished(self, node: str, began: float, *, cached: bool, failed: bool = False) -> None:
        took = time.perf_counter() - began
        self.durations[node] = took
        if cached:
            self.cached.add(node)
        state = "FAILED after" if failed else ("cached," if cached else "done in")
        self._print(f"{node} {state} {took:.1f}s")

    def _print(self, text: str) -> None:
        print(f"[{time.perf_counter() - self.start:7.1f}s] {text}", file=self.stream, flush=True)


@contextlib.contextmanager
def reporting(verbose: bool = False, stream: TextIO = sys.stderr) -> Iterator[ComponentProgress]:
    """Within the block, every component launched by LocalDagRunner reports
    start/finish (and cache hits) to `stream`; TFX's INFO logs show only if
    `verbose`."""
    from absl import logging as absl_logging
    from tfx.orchestration.portable import launcher as launcher_lib

    progress = ComponentProgress(stream)
    original_launch = launcher_lib.Launcher.launch
    original_prepare = launcher_lib.Launcher._prepare_execution

    def prepare(self, *args, **kwargs):
        result = original_prepare(self, *args, **kwargs)
        self._progress_ran = bool(result.is_execution_needed)
        return result

    def launch(self, *args, **kwargs):
        node = self._pipeline_node.node_info.id
        began = progress.began(node)
        try:
            result = original_launch(self, *args, **kwargs)
        except BaseException:
            progress.finished(node, began, cached=False, failed=True)
            raise
        progress.finished(node, began, cached=not getattr(self, "_progress_ran", True))
        return result

    absl_logging.set_verbosity(absl_logging.INFO if verbose else absl_logging.WARNING)
    launcher_lib.Launcher.launch = launch
    launcher_lib.Launcher._prepare_execution = prepare
    try:
        yield progress
    finally:
        launcher_lib.Launcher.launch = original_launch
        launcher_lib.Launcher._prepare_execution = original_prepare
