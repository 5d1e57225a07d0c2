"""SymPy certificates for the continuous-time models of adaptive methods (THEORY.md,
"Continuous-time models of adaptive methods").

* adam.ode: one step of discrete Adam's moments agrees with the flow of ``m' = a(g - m)`` over
  time ``eta`` to ``O(eta^2)`` (local error, hence ``O(eta)`` over a fixed horizon); the
  discrete bias correction ``1 - (1 - a eta)^(t/eta)`` tends to ``1 - e^(-a t)``; the
  bias-corrected averages tend to ``g(0)`` and ``g(0)^2`` as ``t -> 0`` (the start rule of
  :mod:`linsim.flows`).
* adam.small-step: the exponential average of a gradient that drifts linearly lags it by
  ``eta beta/(1 - beta)`` times the drift (the gap scales like ``eta/(1 - beta)``).
* adam.k24-rate: the exponentially weighted averages of ``e^(-r s)``; the RMSProp rate
  ``r = 2 (sqrt(1 + 4/b^2) - 2/b)`` solves ``r = 2 sqrt(1 - 2r/b)``, lies below ``b/2`` and 2
  and tends to 2 (sign flow) as ``b -> inf``; Adam's equation tends to RMSProp's as
  ``a -> inf``.
* adam.k24-classes: ``mhat/sqrt(vhat)`` is invariant under scaling the gradient history by
  ``pi > 0`` (so with ``eps = 0`` the margin ODE does not depend on ``pi_k``).
"""

from __future__ import annotations

import sympy as sp

from . import Certificate, main

_a, _b, _eta, _t, _s = sp.symbols("a b eta t s", positive=True)
_r = sp.Symbol("r", positive=True)
_g0, _g1, _pi = sp.Symbol("g0", real=True), sp.Symbol("g1", real=True), sp.Symbol(
    "pi", positive=True)


def _zero(expr) -> bool:
    return sp.simplify(expr) == 0


def adam_ode() -> Certificate:
    """adam.ode: consistency of discrete Adam (``1 - beta1 = a eta``) with the Adam ODE."""
    cert = Certificate("adam.ode")
    m0, g = sp.symbols("m0 g", real=True)
    # exact flow of m' = a (g - m) over time eta (g frozen over the step: the gradient's own
    # change adds O(eta^2) to both sides alike)
    exact = g + (m0 - g) * sp.exp(-_a * _eta)
    discrete = (1 - _a * _eta) * m0 + _a * _eta * g
    diff = sp.series(exact - discrete, _eta, 0, 2).removeO()
    cert.add("one Adam moment step (1 - a eta) m + a eta g matches the flow of m' = a(g - m) "
             "over time eta up to O(eta^2)", "symbolic", _zero(diff),
             f"series of the difference to order eta: {diff}")
    k = _t / _eta
    lim = sp.limit((1 - _a * _eta) ** k, _eta, 0, "+")
    cert.add("discrete bias correction 1 - beta1^(t/eta) -> 1 - e^(-a t) as eta -> 0",
             "symbolic", _zero(lim - sp.exp(-_a * _t)), f"limit of (1 - a eta)^(t/eta) = {lim}")
    # start rule: m(t) = int_0^t a e^(-a (t - s)) g(s) ds with g(s) = g0 + g1 s
    m = sp.integrate(_a * sp.exp(-_a * (_t - _s)) * (_g0 + _g1 * _s), (_s, 0, _t))
    v = sp.integrate(_b * sp.exp(-_b * (_t - _s)) * (_g0 + _g1 * _s) ** 2, (_s, 0, _t))
    mh = sp.limit(m / (1 - sp.exp(-_a * _t)), _t, 0, "+")
    vh = sp.limit(v / (1 - sp.exp(-_b * _t)), _t, 0, "+")
    cert.add("bias-corrected averages at the start: m/(1 - e^(-a t)) -> g(0) and "
             "v/(1 - e^(-b t)) -> g(0)^2 as t -> 0 (the field's rule at t = 0)", "symbolic",
             _zero(mh - _g0) and _zero(vh - _g0**2), f"limits {mh}, {vh}")
    return cert


def adam_small_step() -> Certificate:
    """adam.small-step: the lag of an exponential average behind a drifting gradient."""
    cert = Certificate("adam.small-step")
    q = sp.Symbol("q", positive=True)
    beta = 1 / (1 + q)  # any beta in (0, 1)
    j = sp.Symbol("j", integer=True, nonnegative=True)
    # m_k = sum_j (1 - beta) beta^j g(t - j eta) (the steady state, bias correction 1)
    avg = sp.summation((1 - beta) * beta**j * (_g0 + _g1 * (_t - j * _eta)), (j, 0, sp.oo))
    lag = sp.simplify(avg - (_g0 + _g1 * _t))
    cert.add("the exponential average of g(s) = g0 + g1 s over steps eta lags by "
             "g1 eta beta/(1 - beta)", "symbolic",
             _zero(lag + _g1 * _eta * beta / (1 - beta)), f"average - g(t) = {lag}")
    return cert


def _weighted_average(rate, decay):
    """``int_0^inf rate e^(-rate s) e^(decay s) ds`` (the average of ``e^(-decay (t - s))``
    relative to its current value)."""
    return sp.integrate(rate * sp.exp(-rate * _s) * sp.exp(decay * _s), (_s, 0, sp.oo),
                        conds="none")


def adam_k24_rate(r_rms: sp.Expr | None = None) -> Certificate:
    """adam.k24-rate: the asymptotic rate of the K24 margin under the Adam/RMSProp ODEs.

    ``r_rms`` is the closed form of the RMSProp rate to certify (default
    ``2 (sqrt(1 + 4/b^2) - 2/b)``, a function of the positive symbol ``b``); a wrong one fails.
    """
    cert = Certificate("adam.k24-rate")
    # averages of a history decaying like e^(-r s), relative to its current value, for a > r
    ma = _weighted_average(_a, _r).subs(_a, _r + sp.Symbol("d", positive=True))
    d = sp.Symbol("d", positive=True)
    cert.add("int_0^inf a e^(-a s) e^(r s) ds = a/(a - r) for a > r", "symbolic",
             _zero(ma - (_r + d) / d), f"with a = r + d: {sp.simplify(ma)}")
    if r_rms is None:
        r_rms = 2 * (sp.sqrt(1 + 4 / _b**2) - 2 / _b)
    squared = sp.expand(r_rms**2 - 4 * (1 - 2 * r_rms / _b))
    cert.add(f"RMSProp: r = {r_rms} solves r^2 = 4 (1 - 2r/b), the square of "
             "r = 2 sqrt(1 - 2r/b)", "symbolic", _zero(squared),
             f"r^2 - 4(1 - 2r/b) = {sp.simplify(squared)}")
    pos = sp.simplify((1 + 4 / _b**2) - (2 / _b) ** 2)
    cert.add("RMSProp: r > 0, since (1 + 4/b^2) - (2/b)^2 = 1 > 0", "symbolic", pos == 1,
             f"difference {pos}")
    half = sp.simplify(sp.expand((_b / 2 + 4 / _b) ** 2 - 4 * (1 + 4 / _b**2)))
    cert.add("RMSProp: r < b/2 (so 1 - 2r/b > 0 and r = 2 sqrt(1 - 2r/b), not its negative), "
             "since b/2 - r = (b/2 + 4/b) - 2 sqrt(1 + 4/b^2) and (b/2 + 4/b)^2 - "
             "4 (1 + 4/b^2) = b^2/4 > 0", "symbolic", _zero(half - _b**2 / 4),
             f"difference of squares {half}")
    lim = sp.limit(r_rms, _b, sp.oo)
    cert.add("RMSProp: r -> 2 (the sign-flow rate) as b -> inf", "symbolic", _zero(lim - 2),
             f"limit {lim}")
    adam_eq = 2 * (_a / (_a - _r)) * sp.sqrt(1 - 2 * _r / _b) - _r
    rms_eq = 2 * sp.sqrt(1 - 2 * _r / _b) - _r
    cert.add("Adam's rate equation tends to RMSProp's as a -> inf", "symbolic",
             _zero(sp.limit(adam_eq, _a, sp.oo) - rms_eq), "limit in a")
    return cert


def adam_k24_classes() -> Certificate:
    """adam.k24-classes: the Adam velocity is invariant under scaling the gradient history."""
    cert = Certificate("adam.k24-classes")
    h = sp.Function("h")
    m = sp.Integral(_a * sp.exp(-_a * (_t - _s)) * _pi * h(_s), (_s, 0, _t))
    v = sp.Integral(_b * sp.exp(-_b * (_t - _s)) * (_pi * h(_s)) ** 2, (_s, 0, _t))
    m1 = sp.Integral(_a * sp.exp(-_a * (_t - _s)) * h(_s), (_s, 0, _t))
    v1 = sp.Integral(_b * sp.exp(-_b * (_t - _s)) * h(_s) ** 2, (_s, 0, _t))
    m_scaled = sp.simplify(m)  # pulls the constant pi out of the integral
    v_scaled = sp.simplify(v)
    ratio = sp.simplify(m_scaled / sp.sqrt(v_scaled) - m1 / sp.sqrt(v1))
    ok = _zero(m_scaled - _pi * m1) and _zero(v_scaled - _pi**2 * v1) and ratio == 0
    cert.add("with eps = 0, mhat/sqrt(vhat) for the history pi h(s) equals that for h(s) "
             "(pi > 0): the K24 margin ODE under the Adam ODE does not involve pi_k",
             "symbolic", ok, f"m -> {m_scaled}; v -> {v_scaled}; ratio difference {ratio}")
    return cert


def certificates() -> dict[str, Certificate]:
    """Compute every adam.* certificate (claim id -> certificate)."""
    fns = (adam_ode, adam_small_step, adam_k24_rate, adam_k24_classes)
    return {c.claim: c for c in (fn() for fn in fns)}


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.exit(main(certificates))
