"""Helpers for exporting Keras 3 models inside a tf.Module SavedModel."""

from __future__ import annotations

import keras
import tensorflow as tf


def tf_variables(model: keras.Model) -> list[tf.Variable]:
    """Every backing tf.Variable of `model`, for a tf.Module to track.

    Keras 3 keeps some state (the seed generators of dropout layers, for
    instance) where tf.Module's automatic tracking does not look; a traced
    serving function that captures it fails to export as "untracked".
    """
    return [v.value for v in model.variables]
