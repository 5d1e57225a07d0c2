"""Measuring rates from simulated trajectories: log-log slopes, exponential rates, limits.

Each fit returns a :class:`Fit` with the estimate, its standard error from the least-squares
residuals, and the number of points used, so that a rate is never reported without the data
behind it. :class:`Rate` is one measured rate against its prediction, as the experiments
report it.

:func:`asymptotic_rate` and :data:`LOSS_UNDERFLOW` (the Adam ODE's rate on the K24 model) live
here, below both :mod:`linsim.experiments.k24` and :mod:`linsim.experiments.adam`, so neither
imports the other for them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass(frozen=True)
class Fit:
    """A fitted rate: ``value`` with standard error ``stderr`` from ``points`` samples."""

    value: float
    stderr: float
    points: int
    window: tuple[float, float]

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Rate(Mapping):
    """One rate measured from a simulated trajectory, with the prediction it is compared to.

    Read it by field (``rate.measured``); it is also a read-only mapping with the keys of
    :meth:`to_dict` (``rate["measured"]``), the form written to ``summary.json``.

    Attributes
    ----------
    name : str
        What is measured (``exp_rate_least_frequent``, ...), unique within one flow.
    claim : str or None
        The THEORY.md claim the rate tests.
    measured, predicted : float or None
        The measured number and the theory's (None where there is none).
    stderr : float or None
        Standard error of a fitted rate (:class:`Fit`); None for a read-off.
    klass : int or None
        The class measured (1-based), where the rate is one class's.
    note : str
        How the number was measured.
    extra : dict
        Further numbers (``t``, ``pi_t``, ...), written beside the fields.
    """

    name: str
    claim: str | None
    measured: float | None
    predicted: float | None
    stderr: float | None = None
    klass: int | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """``{name, claim, class, measured, stderr, predicted, note, **extra}`` (``class`` and
        ``stderr`` only where set)."""
        d: dict = {"name": self.name, "claim": self.claim}
        if self.klass is not None:
            d["class"] = self.klass
        d["measured"] = self.measured
        if self.stderr is not None:
            d["stderr"] = self.stderr
        d["predicted"] = self.predicted
        d["note"] = self.note
        d.update(self.extra)
        return d

    def __getitem__(self, key: str):
        return self.to_dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(self.to_dict())


def _linfit(x: np.ndarray, y: np.ndarray, window: tuple[float, float]) -> Fit:
    if x.size < 2:
        return Fit(float("nan"), float("nan"), int(x.size), window)
    A = np.vstack([x, np.ones_like(x)]).T
    coef, res, *_ = np.linalg.lstsq(A, y, rcond=None)
    slope = float(coef[0])
    if x.size > 2:
        resid = y - A @ coef
        s2 = float(resid @ resid) / (x.size - 2)
        se = float(np.sqrt(s2 / np.sum((x - x.mean()) ** 2)))
    else:
        se = float("nan")
    return Fit(slope, se, int(x.size), window)


def loglog_slope(t, values, t_min: float, t_max: float) -> Fit:
    """Slope of ``log(values)`` against ``log(t)`` over ``t_min <= t <= t_max``.

    Only positive, finite values enter the fit.
    """
    t = np.asarray(t, float)
    v = np.asarray(values, float)
    m = (t >= t_min) & (t <= t_max) & (v > 0) & np.isfinite(v) & (t > 0)
    return _linfit(np.log(t[m]), np.log(v[m]), (float(t_min), float(t_max)))


def exp_rate(t, values, v_min: float = 1e-250, v_max: float = 1e-3) -> Fit:
    """Rate ``r`` of ``values ~ C e^(-r t)``, fitted where ``v_min <= values <= v_max``.

    The window in value keeps out the pre-asymptotic start and the range where doubles
    underflow.
    """
    t = np.asarray(t, float)
    v = np.asarray(values, float)
    m = (v >= v_min) & (v <= v_max) & np.isfinite(v)
    tw = (float(t[m].min()), float(t[m].max())) if m.any() else (float("nan"),) * 2
    f = _linfit(t[m], -np.log(v[m]), tw)
    return f


def time_to_tol(t: np.ndarray, values: np.ndarray, eps: float) -> float | None:
    """First time with ``values <= eps``, interpolated linearly in ``(log t, log values)``
    between the bracketing output times (None if never)."""
    hit = np.flatnonzero(values <= eps)
    if hit.size == 0:
        return None
    i = int(hit[0])
    if i == 0:
        return float(t[0])
    v0, v1 = values[i - 1], values[i]
    if not (v0 > 0 and v1 > 0):
        return float(t[i])
    w = (math.log(v0) - math.log(eps)) / (math.log(v0) - math.log(v1))
    return float(math.exp(math.log(t[i - 1]) + w * (math.log(t[i]) - math.log(t[i - 1]))))


def asymptotic_rate(a: float | None, b: float) -> float:
    """Exponential loss rate ``r`` of the K24 one-hot model under the Adam ODE with ``eps = 0``.

    If the margin grows like ``r t``, the gradient history decays like ``e^(-r s)``; its
    exponentially weighted averages are ``mhat = g a/(a - r)`` and ``vhat = g^2 b/(b - 2r)``
    (needing ``r < a`` and ``2r < b``), and the margin speed ``-2 mhat/sqrt(vhat)`` must be
    ``r``: ``r = 2 (a/(a - r)) sqrt(1 - 2r/b)``, solved on ``(0, min(a, b/2))``.
    ``a = None`` is RMSProp (``mhat = g``). Per-class losses are ``~ C e^(-r t)``.

    The root exists for ``a > b/2`` only, the continuous form of Adam's condition
    ``beta1 < sqrt(beta2)``. For ``a <= b/2`` (a ``ValueError`` here) ``m`` remembers the large
    early gradients longer than ``v`` does, ``mhat/sqrt(vhat)`` grows without bound and the loss
    falls faster than any such exponential: measured rate about 2.5 at ``b = 2a = 2`` (sign
    flow: 2), faster than exponential at ``b = 4a``.
    """
    if a is not None and not a > b / 2.0:
        raise ValueError(f"no constant-rate regime for a <= b/2 (a = {a:g}, b = {b:g}): the "
                         f"Adam ODE is then faster than exponential on the K24 model")
    hi = b / 2.0 if a is None else min(a, b / 2.0)

    def f(r):
        ma = 1.0 if a is None else a / (a - r)
        return 2.0 * ma * math.sqrt(max(1.0 - 2.0 * r / b, 0.0)) - r

    from scipy.optimize import brentq  # here: the main job imports this module, not SciPy

    return float(brentq(f, 0.0, hi * (1.0 - 1e-15), xtol=1e-15, rtol=1e-15))


#: Losses of the K24 model below this are not used: the squared gradients in ``v`` (about
#: ``(pi_k l_k)^2``) approach the underflow of double precision (1e-308) further down.
LOSS_UNDERFLOW = 1e-140
