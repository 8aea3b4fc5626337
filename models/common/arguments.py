"""Argument checks shared by the architecture modules (no TensorFlow import:
those modules stay backend-neutral)."""

from __future__ import annotations

import math
import numbers


def check_int(name: str, value: int, minimum: int, *, why: str = "") -> int:
    """`value` as an int >= `minimum`; ValueError naming `name` otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {name}={value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}{why}, got {name}={value}.")
    return int(value)


def check_learning_rate(learning_rate: float, *, allow_zero: bool = False) -> float:
    """A finite learning rate > 0 (>= 0 with `allow_zero`)."""
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, numbers.Real):
        raise ValueError(f"learning_rate must be a number, got learning_rate={learning_rate!r}.")
    too_small = learning_rate < 0 if allow_zero else learning_rate <= 0
    if not math.isfinite(learning_rate) or too_small:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"learning_rate must be a finite number {bound}, "
                         f"got learning_rate={learning_rate}.")
    return float(learning_rate)


def canonical_name(kind: str, name: str, names: tuple[str, ...],
                   aliases: dict[str, str] | None = None) -> str:
    """`name` (or what its alias stands for) if it is one of `names`;
    ValueError naming the bad value and listing the valid ones otherwise."""
    aliases = aliases or {}
    if not isinstance(name, str):
        raise ValueError(f"Variant name must be a string, got {name!r} ({type(name).__name__}).")
    if name in names:
        return name
    if name in aliases:
        return aliases[name]
    valid = ", ".join(tuple(names) + tuple(aliases))
    raise ValueError(f"Unknown {kind} variant {name!r}; valid: {valid}.")


def check_image_shape(image_shape) -> tuple[int, int, int]:
    """(height, width, channels) of positive integers, or a ValueError naming it."""
    if (not isinstance(image_shape, (list, tuple)) or len(image_shape) != 3
            or not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) and d >= 1
                       for d in image_shape)):
        raise ValueError(f"image_shape must be (height, width, channels) of positive integers, "
                         f"got {image_shape!r}")
    return tuple(int(d) for d in image_shape)  # type: ignore[return-value]


def parse_image_shape(text: str) -> list[int]:
    """"28,28,1" or "28x28x1" → [28, 28, 1] (an argparse type)."""
    import argparse

    try:
        shape = [int(d) for d in text.replace("x", ",").split(",")]
    except ValueError:
        shape = []
    if len(shape) != 3 or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"expected HEIGHT,WIDTH,CHANNELS, got {text!r}")
    return shape
