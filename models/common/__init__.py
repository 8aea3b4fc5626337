"""TFX glue shared by every family's trainer: reading Transform output, timing."""
