"""The "classifier" family (MODELS.md §8): an image MLP whose training
techniques (initialization, activations, batch norm, clipping, optimizers,
learning-rate schedules, regularization, transfer learning) are chosen by
configuration.

* ``regularizers``: MC dropout layers, kernel regularizers and constraints;
* ``schedules``: learning-rate schedules, 1cycle included, and the
  performance-scheduling callback;
* ``architectures``: the options (``Toolbox``), the named presets, the model
  builder, the optimizer, compilation and the transfer-learning model;
* ``trainer``: the TFX ``run_fn`` and the exported serving module;
* ``evaluation``: expected calibration error as a TFMA metric.
"""
