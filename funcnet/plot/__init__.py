"""Pictures of training and of gradients, drawn with matplotlib.

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot: nothing
is shown, no global state is touched, and it works headless. Save one with
:func:`save`, or let a notebook display the returned figure. Functions that draw a
single panel take ``ax=`` to draw into an existing Axes instead.

========================== =============================================================
``loss_curves``            loss / accuracy / learning rate per epoch, or per-step losses
``gradient_field``         contours of a 2-D function and the ``-grad`` quiver (jax.grad)
``optimizer_paths``        optimizer trajectories over contours
``decision_boundary``      class regions of a 2-D classifier with the data on top
``gradient_magnitudes``    per-layer gradient norms: vanishing / exploding gradients
``gradients_through_time`` ``||dL/dh_t||`` against t per recurrent model, through time
``confusion_counts``       the ``(K, K)`` count table (rows true, columns predicted)
``confusion_matrix``       that table drawn, counts in the cells
``image_grid``             images titled "pred p / true t", mistakes in red
``weight_histograms``      one histogram per parameter leaf (paths as ``dense_0/w``)
``activation_histograms``  one histogram per layer output, with the zero fraction
``training_health``        ``fit(record=Health())``'s dashboard: distributions, saturated
                           and dead units, gradient:data and update:data ratios per layer
``expression_graph``       a scalar autograd graph (``reference.Value``): data and grad
``network_diagram``        a dense network's layers of units and (trained) weights
``attention_maps``         one heatmap per attention head of a sequence, tokens on axes
``matrices``               heatmaps of small matrices (W beside dW, a dropout mask), signed
``layer_panels``           per-layer quantities side by side (gradient, activation, weight)
``gradient_check``         numerical against analytic gradients: bars, scatter, rel. error
``lr_range``               loss against rate from a learning-rate range test, suggestion
``loss_landscape``         a 1-D curve or 2-D contours of the loss around the params
``save``                   write a figure (PNG by default), creating parent folders
========================== =============================================================

matplotlib is imported on first use, so ``import funcnet`` stays fast.

Examples:
    >>> from funcnet import plot
    >>> fig = plot.loss_curves({"train_loss": [0.9, 0.4, 0.2], "eval_loss": [1.0, 0.5, 0.3]})
    >>> plot.save(fig, "figures/loss.png")
    PosixPath('figures/loss.png')
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_SOURCES = {
    "loss_curves": "_curves",
    "gradient_magnitudes": "_curves",
    "gradients_through_time": "_through_time",
    "gradient_field": "_surfaces",
    "optimizer_paths": "_surfaces",
    "decision_boundary": "_surfaces",
    "confusion_counts": "_classification",
    "confusion_matrix": "_classification",
    "image_grid": "_classification",
    "weight_histograms": "_histograms",
    "activation_histograms": "_histograms",
    "expression_graph": "_graph",
    "network_diagram": "_network",
    "attention_maps": "_attention",
    "training_health": "_health",
    "matrices": "_panels",
    "layer_panels": "_panels",
    "gradient_check": "_panels",
    "lr_range": "_curvature",
    "loss_landscape": "_curvature",
    "save": "_figures",
}

__all__ = [
    "activation_histograms",
    "attention_maps",
    "confusion_counts",
    "confusion_matrix",
    "decision_boundary",
    "expression_graph",
    "gradient_check",
    "gradient_field",
    "gradient_magnitudes",
    "gradients_through_time",
    "image_grid",
    "layer_panels",
    "loss_curves",
    "matrices",
    "network_diagram",
    "loss_landscape",
    "lr_range",
    "optimizer_paths",
    "save",
    "training_health",
    "weight_histograms",
]

if TYPE_CHECKING:
    from funcnet.plot._attention import attention_maps
    from funcnet.plot._classification import confusion_counts, confusion_matrix, image_grid
    from funcnet.plot._curvature import loss_landscape, lr_range
    from funcnet.plot._curves import gradient_magnitudes, loss_curves
    from funcnet.plot._figures import save
    from funcnet.plot._graph import expression_graph
    from funcnet.plot._health import training_health
    from funcnet.plot._histograms import activation_histograms, weight_histograms
    from funcnet.plot._network import network_diagram
    from funcnet.plot._panels import gradient_check, layer_panels, matrices
    from funcnet.plot._surfaces import decision_boundary, gradient_field, optimizer_paths
    from funcnet.plot._through_time import gradients_through_time


def __getattr__(name: str):
    if name not in _SOURCES:
        raise AttributeError(f"module 'funcnet.plot' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"funcnet.plot.{_SOURCES[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SOURCES))
