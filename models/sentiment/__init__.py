"""IMDb sentiment classifiers (Géron, *Hands-On ML* 3rd ed., chapter 16), in Keras 3.

See :mod:`models.sentiment.architectures` for the variants and ``build_model``.
"""
