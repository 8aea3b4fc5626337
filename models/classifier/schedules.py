"""Learning-rate schedules of *Hands-On ML* (3rd ed.), chapter 11, by name.

Every schedule is a function of the optimizer's step, so it is saved with
the optimizer in the ``.keras`` file and resumes where it stopped:

* ``constant``     the learning rate as given;
* ``power``        lr0 / (1 + step / s) ** c  (``PowerDecay``; the book's c = 1);
* ``exponential``  lr0 · rate ** (step / s)  (Keras' ``ExponentialDecay``; rate 0.1);
* ``piecewise``    lr0 · factor_i between epoch boundaries
                   (Keras' ``PiecewiseConstantDecay``);
* ``plateau``      performance scheduling: a constant rate multiplied by
                   ``factor`` when the validation loss stops improving for
                   ``patience`` epochs (``ReduceLROnPlateau``, a callback);
* ``one_cycle``    1cycle (Smith, 2018; ``OneCycle``): linear warm-up from
                   max/10 to max over the first half of the run (less the
                   last ~10 %), linear back down to max/10 over the second
                   half, then down to max/10,000 over the last ~10 %.

Decay lengths are given in epochs and turned into steps here, so a schedule
means the same whatever the batch size.
"""

from __future__ import annotations

import math
from typing import Sequence

import keras

SERIALIZATION_PACKAGE = "classifier"

SCHEDULES: tuple[str, ...] = ("constant", "power", "exponential", "piecewise", "plateau", "one_cycle")


@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
class PowerDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Power scheduling: ``initial_learning_rate / (1 + step / decay_steps) ** power``."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, power: float = 1.0):
        if decay_steps < 1:
            raise ValueError(f"PowerDecay: decay_steps must be >= 1, got {decay_steps}")
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = int(decay_steps)
        self.power = float(power)

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        return self.initial_learning_rate / keras.ops.power(1.0 + step / self.decay_steps, self.power)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "power": self.power}


@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """1cycle as in the book's ``OneCycleScheduler``, as a schedule of the step.

    ``start_rate`` defaults to max_rate / 10, ``last_steps`` to
    total_steps // 10 + 1 and ``last_rate`` to start_rate / 1000. With
    ``half = (total_steps - last_steps) // 2``:

        step in [0, half)            start_rate → max_rate   (linear)
        step in [half, 2·half)       max_rate → start_rate
        step in [2·half, total)      start_rate → last_rate
        step >= total_steps          last_rate
    """

    def __init__(self, max_rate: float, total_steps: int, start_rate: float | None = None,
                 last_steps: int | None = None, last_rate: float | None = None):
        if total_steps < 3:
            raise ValueError(f"OneCycle: total_steps must be >= 3 (a rise, a fall and an end), "
                             f"got {total_steps}")
        if max_rate <= 0:
            raise ValueError(f"OneCycle: max_rate must be > 0, got {max_rate}")
        self.max_rate = float(max_rate)
        self.total_steps = int(total_steps)
        self.start_rate = float(start_rate) if start_rate else self.max_rate / 10
        self.last_steps = int(last_steps) if last_steps else self.total_steps // 10 + 1
        if not 1 <= self.last_steps <= self.total_steps - 2:
            raise ValueError(f"OneCycle: last_steps must be between 1 and total_steps - 2 = "
                             f"{self.total_steps - 2}, got {self.last_steps}")
        self.last_rate = float(last_rate) if last_rate else self.start_rate / 1000
        self.half_steps = (self.total_steps - self.last_steps) // 2

    def _interpolate(self, step, step1: float, step2: float, rate1: float, rate2: float):
        return (rate2 - rate1) * (step - step1) / (step2 - step1) + rate1

    def __call__(self, step):
        step = keras.ops.minimum(keras.ops.cast(step, "float32"), float(self.total_steps))
        half = float(self.half_steps)
        rising = self._interpolate(step, 0.0, half, self.start_rate, self.max_rate)
        falling = self._interpolate(step, half, 2 * half, self.max_rate, self.start_rate)
        ending = self._interpolate(step, 2 * half, float(self.total_steps), self.start_rate,
                                   self.last_rate)
        return keras.ops.where(step < half, rising, keras.ops.where(step < 2 * half, falling, ending))

    def get_config(self):
        return {"max_rate": self.max_rate, "total_steps": self.total_steps,
                "start_rate": self.start_rate, "last_steps": self.last_steps,
                "last_rate": self.last_rate}


def _steps(epochs: float, steps_per_epoch: int) -> int:
    return max(1, int(round(epochs * steps_per_epoch)))


def learning_rate(schedule: str, learning_rate: float, *, steps_per_epoch: int, total_steps: int,
                  decay_epochs: float = 20.0, decay_rate: float = 0.1, power: float = 1.0,
                  piecewise_epochs: Sequence[float] = (5.0, 15.0),
                  piecewise_factors: Sequence[float] = (1.0, 0.5, 0.1)
                  ) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """What the optimizer's ``learning_rate`` is for `schedule` (a float
    for ``constant`` and ``plateau``, whose callback changes it)."""
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}; got {schedule!r}")
    if schedule in ("constant", "plateau"):
        return float(learning_rate)
    if schedule == "one_cycle":
        return OneCycle(max_rate=learning_rate, total_steps=total_steps)
    if schedule in ("power", "exponential"):
        if not decay_epochs > 0:
            raise ValueError(f"decay_epochs must be > 0 for the {schedule} schedule, "
                             f"got {decay_epochs}")
        decay_steps = _steps(decay_epochs, steps_per_epoch)
        if schedule == "power":
            return PowerDecay(learning_rate, decay_steps, power)
        if not 0 < decay_rate < 1:
            raise ValueError(f"decay_rate must be > 0 and < 1 for the exponential schedule, "
                             f"got {decay_rate}")
        return keras.optimizers.schedules.ExponentialDecay(learning_rate, decay_steps, decay_rate)
    # piecewise
    if len(piecewise_factors) != len(piecewise_epochs) + 1:
        raise ValueError(f"piecewise_factors needs one factor more than piecewise_epochs has "
                         f"boundaries: got {len(piecewise_factors)} factors for "
                         f"{len(piecewise_epochs)} boundaries")
    if list(piecewise_epochs) != sorted(set(piecewise_epochs)) or not all(
            e > 0 for e in piecewise_epochs):
        raise ValueError(f"piecewise_epochs must be increasing and > 0, got {list(piecewise_epochs)}")
    if not all(f > 0 and math.isfinite(f) for f in piecewise_factors):
        raise ValueError(f"piecewise_factors must be > 0, got {list(piecewise_factors)}")
    boundaries = [_steps(e, steps_per_epoch) for e in piecewise_epochs]
    return keras.optimizers.schedules.PiecewiseConstantDecay(
        boundaries, [float(learning_rate * f) for f in piecewise_factors])


def callbacks(schedule: str, *, plateau_factor: float = 0.5,
              plateau_patience: int = 5) -> list[keras.callbacks.Callback]:
    """The callbacks `schedule` needs (performance scheduling only)."""
    if schedule != "plateau":
        return []
    if not 0 < plateau_factor < 1:
        raise ValueError(f"plateau_factor must be > 0 and < 1, got {plateau_factor}")
    return [keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=plateau_factor,
                                              patience=plateau_patience)]


def current_learning_rate(optimizer: keras.optimizers.Optimizer) -> float:
    """The rate the optimizer applies at its current step."""
    rate = optimizer.learning_rate  # Keras evaluates a schedule at the current iteration
    return float(keras.ops.convert_to_numpy(rate))
