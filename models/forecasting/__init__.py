"""Time-series forecasting models (Géron, *Hands-On ML*, chapter 15), in Keras 3.

See :mod:`models.forecasting.architectures` for the variants and ``build_model``.
"""
