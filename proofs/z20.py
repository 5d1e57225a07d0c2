"""SymPy certificates for the exponent algebra behind the Z20 claims (THEORY.md, "Z20").

These certify the *algebra* that turns the assumptions of Z20 into the exponents the
simulations test; the rates themselves are measured in :mod:`linsim.experiments.z20`.

================================  ==========================================================
``z20_sgd_fails``                 eta_k = 1/(mu k) gives x_K = -(1/(mu K)) sum xi_j; scale
                                  K^(1/alpha-1); a sum of R tail-index-alpha/2 terms grows
                                  like R^(2/alpha)
``z20_clip_strongly_convex``      E min(xi^2, tau^2) ~ tau^(2-alpha); the mean-square recursion
                                  with eta_k = 4/(mu(k+1)), tau_k = G k^(1/alpha) balances at
                                  k^(-2(alpha-1)/alpha) with a positive constant
``z20_clip_nonconvex``            the three error terms balance at K^(-2(alpha-1)/(3alpha-2))
``z20_threshold_tent``            e(p) = min(1-p(2-alpha), 2p(alpha-1)) peaks at p = 1/alpha
                                  with value 2(alpha-1)/alpha; the clipped Pareto bias
``z20_coordinate``                G = d^(1/alpha) gives a per-coordinate factor d^(2/alpha-1)
================================  ==========================================================

Symbols: ``alpha`` in (1, 2) is written ``alpha = (2 + s)/(1 + s)`` with ``s > 0`` (``s -> 0``:
alpha -> 2; ``s -> inf``: alpha -> 1), so that ``alpha - 1 = 1/(1+s)`` and
``2 - alpha = s/(1+s)`` are positive by SymPy's assumptions and every sign below is settled by
SymPy itself.

Run ``python -m proofs.z20`` for a table of every check.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from proofs import Certificate, main

__all__ = ["certificates", "z20_clip_nonconvex", "z20_clip_strongly_convex", "z20_coordinate",
           "z20_sgd_fails", "z20_threshold_tent"]

_S = sp.Symbol("s", positive=True)
_ALPHA = (2 + _S) / (1 + _S)  # in (1, 2) for every s > 0
_K = sp.Symbol("k", positive=True)
_MU = sp.Symbol("mu", positive=True)
_G = sp.Symbol("G", positive=True)
_C = sp.Symbol("C", positive=True)


def _is_zero(expr) -> bool:
    return sp.simplify(expr) == 0


def z20_sgd_fails() -> Certificate:
    """Z20.sgd-fails: SGD with eta_k = 1/(mu k) averages the noise; the mean over R grows."""
    cert = Certificate("Z20.sgd-fails")
    K = sp.Symbol("K", integer=True, positive=True)
    S_prev, xi = sp.symbols("S_prev xi", real=True)
    x_prev = -S_prev / (_MU * (K - 1))
    step = x_prev - (1 / (_MU * K)) * (_MU * x_prev + xi)
    cert.add("x_K = -(1/(mu K)) sum_{j<=K} xi_j solves x_K = x_{K-1} - (1/(mu K))(mu x_{K-1} + "
             "xi_K)", "symbolic", _is_zero(step - (-(S_prev + xi) / (_MU * K))),
             "induction step simplified to 0")
    x1 = sp.Symbol("x0", real=True) - (1 / _MU) * (_MU * sp.Symbol("x0", real=True) + xi)
    cert.add("x_1 = -xi_1/mu whatever x_0 (eta_1 = 1/mu)", "symbolic", _is_zero(x1 + xi / _MU))
    scale = K ** (1 / _ALPHA) / K
    expo = sp.simplify(sp.log(scale ** 2) / sp.log(K))
    target = -2 * (_ALPHA - 1) / _ALPHA
    cert.add("median f(x_K) ~ (K^(1/alpha) / K)^2 = K^(-2(alpha-1)/alpha)", "symbolic",
             _is_zero(sp.expand_log(expo, force=True) - target), f"exponent {expo}")
    R = sp.Symbol("R", positive=True)
    grow = sp.simplify(sp.log(R ** (2 / _ALPHA) / R) / sp.log(R))
    g = sp.simplify(sp.expand_log(grow, force=True))
    cert.add("sum of R i.i.d. f ~ xi^2 (tail index alpha/2 < 1) scales like R^(2/alpha); the "
             "mean over R grows like R^(2/alpha - 1) with 2/alpha - 1 > 0 for alpha < 2",
             "symbolic", _is_zero(g - (2 / _ALPHA - 1)) and g.is_positive is True,
             f"exponent {g}")
    return cert


def z20_clip_strongly_convex() -> Certificate:
    """Z20.clip-strongly-convex: truncated second moment and the balance of the recursion."""
    cert = Certificate("Z20.clip-strongly-convex")
    x, tau = sp.symbols("x tau", positive=True)
    # P(|xi| > x) = C x^-alpha above 1: E min(xi^2, tau^2) = int_0^tau 2x P(|xi|>x) dx; the
    # antiderivative F of the tail part is checked by differentiation (fast and exact)
    F = 2 * _C * x ** (2 - _ALPHA) / (2 - _ALPHA)
    deriv_ok = sp.simplify(sp.diff(F, x) - 2 * x * _C * x ** (-_ALPHA)) == 0
    tail = F.subs(x, tau) - F.subs(x, 1)
    lead = sp.limit(sp.simplify(tail / tau ** (2 - _ALPHA)), tau, sp.oo)
    expected = 2 * _C / (2 - _ALPHA)
    cert.add("int_1^tau 2x C x^(-alpha) dx ~ 2C/(2-alpha) tau^(2-alpha) as tau -> inf",
             "symbolic", deriv_ok and _is_zero(lead - expected),
             f"antiderivative 2C x^(2-alpha)/(2-alpha) checked; limit of ratio = {lead}")
    beta = 2 * (_ALPHA - 1) / _ALPHA
    D = sp.Symbol("D", positive=True)
    eta = 4 / (_MU * (_K + 1))
    V = _C * _G ** (2 - _ALPHA) * _K ** ((2 - _ALPHA) / _ALPHA)
    # e_{k+1} - e_k = -2 eta mu e_k + eta^2 V with e_k = D k^-beta: leading order k^(-beta-1)
    lhs_lead = -beta * D
    rhs = (-2 * eta * _MU * D * _K ** (-beta) + eta ** 2 * V) * _K ** (beta + 1)
    rhs_lead = sp.limit(sp.simplify(rhs), _K, sp.oo)
    expo = sp.simplify((2 - _ALPHA) / _ALPHA - 2 - (-beta - 1))
    cert.add("eta_k^2 V_k ~ k^((2-alpha)/alpha - 2) has the order k^(-beta-1) of the decay of "
             "D k^-beta, beta = 2(alpha-1)/alpha", "symbolic", expo == 0, f"difference {expo}")
    Dsol = sp.solve(sp.Eq(lhs_lead, rhs_lead), D)
    ok = len(Dsol) == 1 and sp.simplify(Dsol[0]).is_positive is True
    cert.add("the leading-order balance fixes a positive constant D = 16 C G^(2-alpha) / "
             "(mu^2 (8 - beta)) (8 - beta > 0)", "symbolic", ok, f"D = {Dsol}")
    return cert


def z20_clip_nonconvex() -> Certificate:
    """Z20.clip-nonconvex: F/(eta K), eta L tau^(2-alpha), tau^(2(1-alpha)) all balance."""
    cert = Certificate("Z20.clip-nonconvex")
    Kh = sp.Symbol("K", positive=True)
    eta = Kh ** (-_ALPHA / (3 * _ALPHA - 2))
    tau = Kh ** (1 / (3 * _ALPHA - 2))
    target = -2 * (_ALPHA - 1) / (3 * _ALPHA - 2)

    def exponent(e):
        return sp.simplify(sp.expand_log(sp.log(e), force=True) / sp.log(Kh))

    for name, term in (("initial gap F/(eta K)", 1 / (eta * Kh)),
                       ("variance eta tau^(2-alpha)", eta * tau ** (2 - _ALPHA)),
                       ("squared bias tau^(2(1-alpha))", tau ** (2 * (1 - _ALPHA)))):
        e = exponent(term)
        cert.add(f"{name} = K^(-2(alpha-1)/(3alpha-2))", "symbolic", _is_zero(e - target),
                 f"exponent {e}")
    return cert


def z20_threshold_tent() -> Certificate:
    """Z20.threshold-tent: the tent's peak, its two sides, and the clipped Pareto bias."""
    cert = Certificate("Z20.threshold-tent")
    p = sp.Symbol("p", nonnegative=True)
    var = 1 - p * (2 - _ALPHA)
    bias = 2 * p * (_ALPHA - 1)
    cross = sp.solve(sp.Eq(var, bias), p)
    ok = len(cross) == 1 and _is_zero(cross[0] - 1 / _ALPHA)
    cert.add("the variance and bias exponents cross at p = 1/alpha", "symbolic", ok,
             f"p = {cross}")
    peak = sp.simplify(bias.subs(p, 1 / _ALPHA))
    cert.add("the peak value is 2(alpha-1)/alpha, the strongly convex exponent", "symbolic",
             _is_zero(peak - 2 * (_ALPHA - 1) / _ALPHA), f"e(1/alpha) = {peak}")
    up = sp.diff(bias, p)
    down = sp.simplify(sp.diff(var, p))
    cert.add("e(p) rises left of the peak (slope 2(alpha-1) > 0) and falls right of it (slope "
             "-(2-alpha) < 0 for alpha < 2)", "symbolic",
             up.is_positive is True and down.is_negative is True, f"slopes {up}, {down}")
    x, t, m = sp.symbols("x tau m", positive=True)
    # centred Pareto xi = P - m, P(xi > x) = (x + m)^-alpha: E clip - E xi = -int_tau^inf P dx
    b = -sp.integrate((x + m) ** (-_ALPHA), (x, t, sp.oo), conds="none")
    closed = -(t + m) ** (1 - _ALPHA) / (_ALPHA - 1)
    cert.add("clipping centred Pareto noise at tau (upper tail) biases its mean by "
             "-(tau + m)^(1-alpha)/(alpha-1), m = alpha/(alpha-1): exponent 2p(alpha-1) for "
             "the squared bias once tau >> m", "symbolic",
             sp.simplify(sp.powsimp(b / closed, force=True)) == 1, f"bias {b}")
    return cert


def z20_coordinate() -> Certificate:
    """Z20.coordinate: the theory's G for i.i.d. coordinates, and the per-coordinate factor."""
    cert = Certificate("Z20.coordinate")
    d = sp.Symbol("d", positive=True)
    Gd = d ** (1 / _ALPHA)
    factor = sp.simplify(sp.expand_log(sp.log(Gd ** (2 - _ALPHA)) / sp.log(d), force=True))
    cert.add("G = ||B||_alpha = d^(1/alpha) for unit scales gives the per-coordinate factor "
             "G^(2-alpha) = d^(2/alpha - 1)", "symbolic", _is_zero(factor - (2 / _ALPHA - 1)),
             f"exponent {factor}")
    rng = np.random.default_rng(0)
    worst = -np.inf
    for alpha in (1.1, 1.5, 1.9, 2.0):
        v = rng.standard_cauchy((2000, 16))
        gap = np.linalg.norm(v, 2, axis=1) - np.sum(np.abs(v) ** alpha, axis=1) ** (1 / alpha)
        worst = max(worst, float(gap.max()))
    cert.add("||xi||_2 <= ||xi||_alpha for alpha <= 2, so E||xi||_2^alpha <= sum_i B_i^alpha",
             "numeric", worst <= 1e-12, f"max(||v||_2 - ||v||_alpha) = {worst:.3g} over 8000 "
                                         "Cauchy vectors, alpha in {1.1, 1.5, 1.9, 2}")
    return cert


def certificates() -> dict[str, Certificate]:
    """Every Z20 certificate, by claim id."""
    return {c.claim: c for c in (z20_sgd_fails(), z20_clip_strongly_convex(),
                                 z20_clip_nonconvex(), z20_threshold_tent(), z20_coordinate())}


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.exit(main(certificates))
