"""The one plotting style of linsim: builders take results and return a matplotlib Figure.

This package holds the style (:func:`new_figure`, :func:`group_colors`); one module per paper
(``linsim.plotting.k24``, ...) holds that paper's figure builders.

They never compute physics. Every figure has labelled log axes where the data span decades and
carries its THEORY.md claim id in the title; :func:`linsim.io.save_figure` writes PNG and PDF.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

STYLE = {
    "figure.dpi": 100,
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "lines.linewidth": 1.4,
    "legend.fontsize": 7,
    "legend.frameon": False,
    "svg.hashsalt": "linsim",
}


def new_figure(panels: int, *, width: float = 3.2, height: float = 2.8, sharey: bool = True):
    """A row of ``panels`` axes in the linsim style."""
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, panels, figsize=(width * panels, height), sharey=sharey,
                                 squeeze=False, layout="constrained")
    for ax in axes[0]:
        ax.grid(True, which="major", alpha=0.3)
    return fig, list(axes[0])


def group_colors(n: int):
    """One color per frequency group, from frequent (dark) to rare (light)."""
    cmap = plt.get_cmap("viridis")
    return [cmap(x) for x in np.linspace(0.0, 0.85, max(n, 1))]
