"""Learning-rate schedules: 1cycle's shape against the book's callback,
power / exponential / piecewise values, serialization, and bad options."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from models.classifier import schedules


def _values(schedule, steps) -> np.ndarray:
    return np.array([float(keras.ops.convert_to_numpy(schedule(s))) for s in steps])


def _book_one_cycle(iterations, max_rate):
    """The book's OneCycleScheduler.on_batch_begin rates, iteration by iteration."""
    start_rate = max_rate / 10
    last_iterations = iterations // 10 + 1
    half = (iterations - last_iterations) // 2
    last_rate = start_rate / 1000

    def interpolate(it, i1, i2, r1, r2):
        return (r2 - r1) * (it - i1) / (i2 - i1) + r1

    rates = []
    for it in range(iterations):
        if it < half:
            rates.append(interpolate(it, 0, half, start_rate, max_rate))
        elif it < 2 * half:
            rates.append(interpolate(it, half, 2 * half, max_rate, start_rate))
        else:
            rates.append(interpolate(it, 2 * half, iterations, start_rate, last_rate))
    return np.array(rates)


def test_one_cycle_rises_then_falls_with_known_values():
    schedule = schedules.OneCycle(max_rate=0.1, total_steps=100)
    # last_steps = 100 // 10 + 1 = 11, half = (100 - 11) // 2 = 44
    assert (schedule.start_rate, schedule.last_steps, schedule.half_steps) == (0.01, 11, 44)
    known = {0: 0.01, 22: 0.055, 44: 0.1, 66: 0.055, 88: 0.01, 100: 1e-5, 500: 1e-5}
    np.testing.assert_allclose(_values(schedule, list(known)), list(known.values()), rtol=1e-4)
    rates = _values(schedule, range(101))
    assert np.all(np.diff(rates[:45]) > 0)  # rises to the peak
    assert np.all(np.diff(rates[44:]) < 0)  # then only falls
    assert rates.argmax() == 44
    np.testing.assert_allclose(rates[:100], _book_one_cycle(100, 0.1), rtol=1e-5)


def test_one_cycle_drives_an_optimizer_and_round_trips():
    schedule = schedules.OneCycle(max_rate=0.05, total_steps=30, start_rate=0.001, last_rate=1e-6)
    optimizer = keras.optimizers.SGD(schedule)
    variable = keras.Variable(1.0)
    for _ in range(15):
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(0.0), variable)])
    assert schedules.current_learning_rate(optimizer) == pytest.approx(float(schedule(15)))
    clone = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(schedule))
    assert isinstance(clone, schedules.OneCycle) and clone.get_config() == schedule.get_config()


def test_power_exponential_and_piecewise_values():
    power = schedules.learning_rate("power", 0.01, steps_per_epoch=10, total_steps=1000,
                                    decay_epochs=2, power=2.0)
    steps = [0, 20, 60]
    np.testing.assert_allclose(_values(power, steps), [0.01 / (1 + s / 20) ** 2 for s in steps],
                               rtol=1e-6)
    exponential = schedules.learning_rate("exponential", 0.01, steps_per_epoch=10,
                                          total_steps=1000, decay_epochs=2)
    np.testing.assert_allclose(_values(exponential, [0, 20, 40]), [0.01, 0.001, 0.0001], rtol=1e-5)
    piecewise = schedules.learning_rate("piecewise", 0.01, steps_per_epoch=10, total_steps=1000,
                                        piecewise_epochs=(5, 15), piecewise_factors=(1, 0.5, 0.1))
    np.testing.assert_allclose(_values(piecewise, [0, 50, 51, 150, 151]),
                               [0.01, 0.01, 0.005, 0.005, 0.001], rtol=1e-6)
    for name in ("constant", "plateau"):
        assert schedules.learning_rate(name, 0.02, steps_per_epoch=1, total_steps=1) == 0.02


def test_plateau_is_a_callback_and_the_others_need_none():
    (callback,) = schedules.callbacks("plateau", plateau_factor=0.2, plateau_patience=3)
    assert isinstance(callback, keras.callbacks.ReduceLROnPlateau)
    assert (callback.factor, callback.patience, callback.monitor) == (0.2, 3, "val_loss")
    assert all(not schedules.callbacks(s) for s in schedules.SCHEDULES if s != "plateau")


@pytest.mark.parametrize("call, message", [
    (lambda: schedules.learning_rate("cosine", 0.1, steps_per_epoch=1, total_steps=1),
     "schedule must be one of constant, power"),
    (lambda: schedules.OneCycle(0.1, total_steps=2), "total_steps must be >= 3"),
    (lambda: schedules.learning_rate("piecewise", 0.1, steps_per_epoch=1, total_steps=1,
                                     piecewise_epochs=(5,), piecewise_factors=(1.0,)),
     "one factor more"),
    (lambda: schedules.learning_rate("piecewise", 0.1, steps_per_epoch=1, total_steps=1,
                                     piecewise_epochs=(5, 2), piecewise_factors=(1, 1, 1)),
     "increasing"),
    (lambda: schedules.learning_rate("exponential", 0.1, steps_per_epoch=1, total_steps=1,
                                     decay_rate=1.5), "decay_rate"),
    (lambda: schedules.callbacks("plateau", plateau_factor=1.0), "plateau_factor"),
])
def test_bad_schedule_options_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
