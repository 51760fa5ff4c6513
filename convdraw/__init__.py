"""Convolutional DRAW (Gregor et al. 2016, arXiv 1604.08772): the ConvLSTM cell
(:mod:`convdraw.cell`) and the model (:mod:`convdraw.model`).

The package builds on ``draw``'s shared pieces (the model interface
:mod:`draw.base`, the loss, the LSTM arithmetic) and is trained, evaluated and drawn by
``draw``'s run machinery; ``draw`` reaches back only through the registry
(:data:`draw.registry.KINDS`, imported on first use), so ``draw.get_model
("convdraw_omniglot")`` works. ``examples/train_omniglot.py`` trains it.
"""
