"""Convolutional DRAW (Gregor et al. 2016, arXiv 1604.08772): not implemented yet.

The model, the Omniglot converter and ``examples/train_omniglot.py`` arrive with the
ConvDRAW issue; this package exists so the layout is in place.
"""
