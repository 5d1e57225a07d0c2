"""The claim registry: every THEORY.md id tied to its simulation, prediction, proof and figure.

One module per paper (``linsim.claims.k24``, ...) lists its :class:`Claim` and :class:`Figure`
objects; this package gathers them into :data:`CLAIMS` and :data:`FIGURES`.

A :class:`Claim` says what is simulated (problem x dynamics x integrator x parameters), how the
prediction is compared with what the simulation measures, which SymPy certificate backs it
(``proofs.<paper>``), and which figure illustrates it. ``python -m linsim.verify`` runs the
checks; ``python -m linsim.figures`` draws the figures.

Measurements are always taken from simulated trajectories; the closed forms and limits enter
only as the *prediction*.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache


@dataclass(frozen=True)
class Measurement:
    """What a simulation measured for a claim, and how it compares with the prediction.

    ``compare`` is ``"rel"`` (``|measured - predicted| <= tolerance * |predicted|``), ``"abs"``
    (``|measured - predicted| <= tolerance``) or ``"max"`` (``measured <= tolerance``, for errors
    and deviations whose prediction is 0).
    """

    measured: float
    predicted: float
    tolerance: float
    compare: str = "rel"
    detail: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        m, p, tol = self.measured, self.predicted, self.tolerance
        if m is None or not math.isfinite(m):
            return False
        if self.compare == "rel":
            return abs(m - p) <= tol * abs(p)
        if self.compare == "abs":
            return abs(m - p) <= tol
        if self.compare == "max":
            return m <= tol
        raise ValueError(f"unknown comparison {self.compare!r}")


@dataclass(frozen=True)
class Claim:
    """One claim of THEORY.md.

    Attributes
    ----------
    id : str
        The THEORY.md id, e.g. ``"K24.gf-rate"``.
    paper : str
        ``"K24"``, ``"Z24"``, ``"Z20"``, ``"PL23"``, ...
    statement : str
        One line.
    simulate : str
        Problem, dynamics, integrator and parameters of the check.
    check : callable
        ``check(quick: bool) -> Measurement``.
    proof : str or None
        ``"module:function"`` in ``proofs`` returning a :class:`proofs.Certificate`.
    figure : str or None
        Name of the figure in :data:`FIGURES` that illustrates the claim.
    """

    id: str
    paper: str
    statement: str
    simulate: str
    check: Callable[[bool], Measurement]
    proof: str | None = None
    figure: str | None = None

    def certificate(self):
        """Run the SymPy certificate, or return None when the claim has none."""
        if self.proof is None:
            return None
        return _certificate(self.proof)

    def perturbed(self, predicted: float) -> Claim:
        """A copy whose prediction is replaced (for testing that a wrong claim FAILs)."""
        check = self.check

        def wrong(quick: bool) -> Measurement:
            return replace(check(quick), predicted=predicted)

        return replace(self, id=self.id + "~perturbed", check=wrong)


@cache
def _certificate(ref: str):
    import importlib

    mod, func = ref.split(":")
    return getattr(importlib.import_module(mod), func)()


@dataclass(frozen=True)
class Figure:
    """A theorem-illustration figure: ``make(quick)`` returns a matplotlib Figure."""

    name: str
    claims: tuple[str, ...]
    caption: str
    make: Callable[[bool], object]


def _gather() -> tuple[dict[str, Claim], dict[str, Figure]]:
    import importlib

    claims: dict[str, Claim] = {}
    figures: dict[str, Figure] = {}
    for paper in PAPERS:
        mod = importlib.import_module(f"{__name__}.{paper}")
        for c in mod.CLAIMS:
            if c.id in claims:
                raise RuntimeError(f"claim {c.id} registered twice")
            claims[c.id] = c
        for f in mod.FIGURES:
            figures[f.name] = f
    return claims, figures


#: Modules of this package that register claims, one per paper.
PAPERS: tuple[str, ...] = ("k24", "k24_linear", "y25", "z24", "z20", "pl23", "adam")
CLAIMS, FIGURES = _gather()
