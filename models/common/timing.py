"""Training-throughput bookkeeping written next to every trained model."""

from __future__ import annotations

import json
import os
import time

import keras


class ThroughputLog(keras.callbacks.Callback):
    """Measures examples/s over the training batches of `fit`.

    Validation and the first epoch's tracing are excluded from the steady-state
    figure so it compares like with like against a bare `model.fit`.
    """

    def __init__(self, batch_size: int):
        super().__init__()
        self.batch_size = batch_size
        self.epoch_seconds: list[float] = []
        self.epoch_steps: list[int] = []
        self._start = 0.0
        self._steps = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = self._last = time.perf_counter()
        self._steps = 0

    def on_train_batch_end(self, batch, logs=None):
        self._steps += 1
        self._last = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        # Time until the last training batch: validation is not counted.
        self.epoch_seconds.append(self._last - self._start)
        self.epoch_steps.append(self._steps)

    def summary(self) -> dict:
        steady = slice(1, None) if len(self.epoch_seconds) > 1 else slice(None)
        seconds = sum(self.epoch_seconds[steady])
        steps = sum(self.epoch_steps[steady])
        return {
            "epochs": len(self.epoch_seconds),
            "steps": sum(self.epoch_steps),
            "train_seconds_total": sum(self.epoch_seconds),
            "epoch_seconds": [float(x) for x in self.epoch_seconds],  # learning curve vs time
            "steady_examples_per_second": (steps * self.batch_size / seconds) if seconds else None,
        }


def write_json(path: str, payload: dict) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(payload, f, indent=2, default=float)
