"""The claim registry: every THEORY.md id tied to its simulation, prediction, proof and figure.

One module per paper (``linsim.claims.k24``, ...) lists its :class:`Claim` and :class:`Figure`
objects; this package gathers them into :data:`CLAIMS` and :data:`FIGURES`.

A :class:`Claim` says what is simulated (problem x dynamics x integrator x parameters), how the
prediction is compared with what the simulation measures, which SymPy certificate backs it
(``proofs.<paper>``), and which figure illustrates it. ``python -m linsim.verify`` runs the
checks; ``python -m linsim.figures`` draws the figures.

What a PASS means (THEORY.md, "What a PASS must mean"): the prediction comes from THEORY.md or a
derivation in ``proofs/`` (:attr:`Claim.prediction_source`), the tolerance from a stated error
model (:attr:`Claim.tolerance_reason`), and every claim carries negative controls
(:attr:`Claim.controls`): the same check run on a mutated simulation or data set, which must
FAIL. ``python -m linsim.verify --controls`` runs them. :attr:`Claim.evidence` says whether the
measurement comes from simulated trajectories or runs (``"trajectory"``) or from a formula
evaluated at given points (``"formula"``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
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


#: What a control's mutant changes. At least one control per claim must change the simulation
#: or the data; a ``"prediction"`` control only moves the predicted number.
CONTROL_KINDS: tuple[str, ...] = ("simulation", "data", "prediction")

#: Where a claim's measurement comes from.
EVIDENCE_KINDS: tuple[str, ...] = ("trajectory", "formula")


@dataclass(frozen=True)
class Control:
    """A negative control: the claim's own check run on a mutant that makes the claim false.

    Attributes
    ----------
    mutant : str
        What was changed, in one line (e.g. ``"gradient flow in place of sign flow"``).
    check : callable
        ``check(quick: bool) -> Measurement``: the claim's check code on the mutated simulation
        or data. For ``kind`` ``"simulation"`` or ``"data"`` it must keep the claim's
        prediction, tolerance and comparison; only what is measured may change.
    kind : {"simulation", "data", "prediction"}
        What the mutant changes.
    """

    mutant: str
    check: Callable[[bool], Measurement]
    kind: str = "simulation"


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
    prediction_source : str
        Where the predicted value comes from: ``"THEORY.md"`` (with the section) or the
        ``proofs/`` check that derives it. Never the measurement.
    tolerance_reason : str
        One sentence naming the error model behind the tolerance (integrator rtol, method
        order, a bootstrap interval over N seeds, a grid resolution).
    controls : tuple of Control
        Negative controls; at least one changes the simulation or the data.
    evidence : {"trajectory", "formula"}
        ``"trajectory"`` when the measurement is taken from simulated trajectories or runs,
        ``"formula"`` when it evaluates a formula (a gradient, a Hessian) at given points.
    """

    id: str
    paper: str
    statement: str
    simulate: str
    check: Callable[[bool], Measurement]
    proof: str | None = None
    figure: str | None = None
    prediction_source: str = ""
    tolerance_reason: str = ""
    controls: tuple[Control, ...] = ()
    evidence: str = "trajectory"

    def certificate(self):
        """Run the SymPy certificate, or return None when the claim has none."""
        if self.proof is None:
            return None
        return _certificate(self.proof)

    def problems(self) -> list[str]:
        """What this registration lacks under THEORY.md's standard (empty when complete)."""
        out = []
        if not self.prediction_source.strip():
            out.append("no prediction_source")
        if not self.tolerance_reason.strip():
            out.append("no tolerance_reason")
        if not any(c.kind in ("simulation", "data") for c in self.controls):
            out.append("no control that changes the simulation or the data")
        if any(c.kind not in CONTROL_KINDS for c in self.controls):
            out.append(f"a control kind outside {CONTROL_KINDS}")
        if self.evidence not in EVIDENCE_KINDS:
            out.append(f"evidence {self.evidence!r} outside {EVIDENCE_KINDS}")
        return out


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
PAPERS: tuple[str, ...] = ("k24", "k24_linear", "y25", "z24", "z20", "pl23", "adam", "kb25")
CLAIMS, FIGURES = _gather()
