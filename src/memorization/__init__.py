"""Reproduction of *Memorization in Overparameterized Autoencoders* (arXiv:1810.10333).

Submodules are not imported here on purpose: the Keras backend must be chosen by
`memorization.runtime.configure` before anything imports Keras.
"""

__version__ = "0.1.0"
