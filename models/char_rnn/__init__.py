"""Character-level language model (Géron, *Hands-On ML* 3rd ed., chapter 16), in Keras 3.

See :mod:`models.char_rnn.architectures` for the model and
:mod:`models.char_rnn.generation` for in-graph text generation.
"""
