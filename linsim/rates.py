"""Measuring rates from simulated trajectories: log-log slopes, exponential rates, limits.

Each fit returns a :class:`Fit` with the estimate, its standard error from the least-squares
residuals, and the number of points used, so that a rate is never reported without the data
behind it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

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
