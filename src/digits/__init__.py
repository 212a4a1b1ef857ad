"""digits: learn to read handwritten digits with a stack of Linear+ReLU layers, then read yours."""

__version__ = "0.1.0"
