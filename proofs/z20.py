"""SymPy certificates for the exponent algebra behind the Z20 claims (THEORY.md, "Z20").

These certify the *algebra* that turns the assumptions of Z20 into the exponents the
simulations test; the rates themselves are measured in :mod:`linsim.experiments.z20`. Every
certificate is at most "partial": the rates of Z20 (the error bounds of its theorems, the
generalized central limit theorem, the tails of stable laws) are taken as given and listed with
``cert.assume``; what is derived here is derived from the noise law (the Pareto tail is exact)
and from the recursions. Each function takes the statement it checks as an argument (the
default is THEORY.md's), so that ``tests/test_proofs_z20.py`` can run the same code on a wrong
statement and watch it fail.

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


def _exponent(expr, var) -> sp.Expr:
    """``log(expr) / log(var)`` for a monomial in ``var`` (simplified)."""
    return sp.simplify(sp.expand_log(sp.log(expr), force=True) / sp.log(var))


def z20_sgd_fails(growth=None, median=None) -> Certificate:
    """Z20.sgd-fails: E f(x_k) = inf from the noise law's moments; the median's rate; the growth
    of the mean over R runs.

    ``growth`` (default ``2/alpha - 1``) and ``median`` (default ``-2(alpha-1)/alpha``) are the
    exponents checked.
    """
    cert = Certificate("Z20.sgd-fails")
    growth = 2 / _ALPHA - 1 if growth is None else growth
    median = -2 * (_ALPHA - 1) / _ALPHA if median is None else median
    K = sp.Symbol("K", integer=True, positive=True)
    S_prev, xi = sp.symbols("S_prev xi", real=True)
    x_prev = -S_prev / (_MU * (K - 1))
    step = x_prev - (1 / (_MU * K)) * (_MU * x_prev + xi)
    cert.add("x_K = -(1/(mu K)) sum_{j<=K} xi_j solves x_K = x_{K-1} - (1/(mu K))(mu x_{K-1} + "
             "xi_K)", "symbolic", _is_zero(step - (-(S_prev + xi) / (_MU * K))),
             "induction step simplified to 0")
    x0 = sp.Symbol("x0", real=True)
    x1 = x0 - (1 / _MU) * (_MU * x0 + xi)
    cert.add("x_1 = -xi_1/mu whatever x_0 (eta_1 = 1/mu)", "symbolic", _is_zero(x1 + xi / _MU))
    # E f = inf from the law: centred Pareto xi = P - m, P density alpha P^(-alpha-1) on [1, oo)
    T, P = sp.symbols("T P", positive=True)
    s = sp.Symbol("s", real=True)
    dens = _ALPHA * P ** (-_ALPHA - 1)
    m = _ALPHA / (_ALPHA - 1)
    first = sp.integrate(P * dens, (P, 1, sp.oo), conds="none")
    cert.add("the centred Pareto law has E|xi| < inf and E xi = 0 (E P = alpha/(alpha-1))",
             "symbolic", _is_zero(first - m), f"E P = {sp.simplify(first)}")
    # E (xi + s)^2 truncated at P <= T, for every shift s (the other terms of the sum): oo
    # int_1^T P^j dens dP = alpha (T^(j-alpha) - 1)/(j - alpha), j = 0, 1, 2 (antiderivatives
    # checked by differentiation; faster than integrate with a symbolic exponent)
    anti = [_ALPHA * P ** (j - _ALPHA) / (j - _ALPHA) for j in range(3)]
    ok_anti = all(_is_zero(sp.powsimp(sp.expand(sp.diff(F, P) - P ** j * dens), force=True))
                  for j, F in enumerate(anti))
    I = [F.subs(P, T) - F.subs(P, 1) for F in anti]
    trunc = I[2] + 2 * (s - m) * I[1] + (s - m) ** 2 * I[0]
    lim = sp.limit(trunc, T, sp.oo) if ok_anti else None
    cert.add("E (xi + s)^2 = inf for every real s (the second-moment integral of the Pareto "
             "density diverges like T^(2-alpha) for alpha < 2): so E x_1^2 = E xi^2/mu^2 = inf, "
             "and E x_k^2 = inf for every k (condition on the other, independent, terms)",
             "symbolic", lim == sp.oo, f"lim_T int_1^T (P - m + s)^2 alpha P^(-alpha-1) dP = {lim}")
    cert.assume("the symmetric stable law has a density tail ~ C x^(-alpha-1) (so its "
                "second-moment integral diverges as the Pareto one does)")
    # stable sums: the characteristic function of a sum of K i.i.d. copies
    t = sp.Symbol("t", positive=True)
    cf = sp.exp(-t ** _ALPHA)
    cert.add("sum of K i.i.d. xi with E e^(i t xi) = e^(-|t|^alpha) is K^(1/alpha) xi in law "
             "(characteristic functions)", "symbolic",
             _is_zero(cf ** K - cf.subs(t, K ** (1 / _ALPHA) * t)),
             "exp(-t^alpha)^K = exp(-(K^(1/alpha) t)^alpha)")
    expo = _exponent((K ** (1 / _ALPHA) / K) ** 2, K)
    cert.add("so x_K is exactly K^(1/alpha - 1)/mu times xi and median f(x_K) ~ K^(-e) with "
             "the checked e", "symbolic", _is_zero(expo - median),
             f"exponent {expo}; checked against {median}")
    R = sp.Symbol("R", positive=True)
    g = _exponent(R ** (2 / _ALPHA) / R, R)
    cert.add("the mean over R runs grows like R^g with the checked g, positive for alpha < 2",
             "symbolic", _is_zero(g - growth) and sp.simplify(growth).is_positive is True,
             f"exponent {g}; checked against {growth}")
    cert.assume("generalized central limit theorem: a sum of R i.i.d. positive variables with "
                "tail index alpha/2 < 1 scales like R^(2/alpha)")
    # the first-order drift of such sums is R times the regularized second moment of xi, the
    # value at p = 2 of the continuation of E|xi|^p (Mellin transform of the tail)
    p = sp.Symbol("p", positive=True)
    mom = 2 ** p * sp.gamma((1 + p) / 2) * sp.gamma(1 - p / _ALPHA) / (
        sp.sqrt(sp.pi) * sp.gamma(1 - p / 2))
    at2 = sp.limit(mom, p, 2)
    gauss = sp.simplify(mom.subs(_S, 0).subs(p, 2))
    cert.add("the regularized second moment of a symmetric stable law vanishes for alpha < 2 "
             "(1/Gamma(1 - p/2) = 0 at p = 2; at alpha = 2 the formula gives Var N(0, 2) = 2): "
             "no first-order pre-asymptotic drift in the growth of the mean", "symbolic",
             at2 == 0 and gauss == 2, f"limit at p = 2: {at2}; alpha = 2: {gauss}")
    cert.assume("E|xi|^p = 2^p Gamma((1+p)/2) Gamma(1-p/alpha) / (sqrt(pi) Gamma(1-p/2)) for "
                "0 < p < alpha, and its continuation past p = alpha is the tail-subtracted "
                "Mellin integral")
    return cert


def z20_clip_strongly_convex(beta=None) -> Certificate:
    """Z20.clip-strongly-convex: truncated second moment and the balance of the recursion.

    ``beta`` (default ``2(alpha-1)/alpha``) is the decay exponent checked.
    """
    cert = Certificate("Z20.clip-strongly-convex")
    beta = 2 * (_ALPHA - 1) / _ALPHA if beta is None else beta
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
    cert.assume("the noise tail is P(|xi| > x) = C x^(-alpha) (Pareto-type; a stable law's "
                "only asymptotically)")
    cert.assume("the mean-square recursion e_(k+1) = (1 - 2 eta_k mu) e_k + eta_k^2 V_k with "
                "V_k = C' tau_k^(2-alpha) describes E f (clipping bias of symmetric noise and "
                "higher-order terms neglected)")
    D = sp.Symbol("D", positive=True)
    eta = 4 / (_MU * (_K + 1))
    V = _C * _G ** (2 - _ALPHA) * _K ** ((2 - _ALPHA) / _ALPHA)
    lhs_lead = -beta * D
    rhs = (-2 * eta * _MU * D * _K ** (-beta) + eta ** 2 * V) * _K ** (beta + 1)
    rhs_lead = sp.limit(sp.simplify(rhs), _K, sp.oo)
    expo = sp.simplify((2 - _ALPHA) / _ALPHA - 2 - (-beta - 1))
    cert.add("eta_k^2 V_k ~ k^((2-alpha)/alpha - 2) has the order k^(-beta-1) of the decay of "
             "D k^-beta (the checked beta)", "symbolic", expo == 0,
             f"difference {expo}; beta = {beta}")
    Dsol = sp.solve(sp.Eq(lhs_lead, rhs_lead), D)
    ok = len(Dsol) == 1 and sp.simplify(Dsol[0]).is_positive is True
    cert.add("the leading-order balance fixes a positive constant D = 16 C G^(2-alpha) / "
             "(mu^2 (8 - beta)) (8 - beta > 0)", "symbolic", ok, f"D = {Dsol}")
    # the homogeneous part prod (1 - 8/(j+1)) ~ k^-8 decays faster than k^-beta
    cert.add("the start is forgotten faster than the rate: prod_j (1 - 8/(j+1)) ~ k^-8 and "
             "8 > beta", "symbolic", sp.simplify(8 - beta).is_positive is True,
             f"8 - beta = {sp.simplify(8 - beta)}")
    cert.assume("Z20's lower bound: no method does better than k^(-2(alpha-1)/alpha), so the "
                "exponent is tight")
    return cert


def z20_clip_nonconvex(target=None) -> Certificate:
    """Z20.clip-nonconvex: F/(eta K), eta L tau^(2-alpha), tau^(2(1-alpha)) all balance at
    ``target`` (default ``-2(alpha-1)/(3alpha-2)``)."""
    cert = Certificate("Z20.clip-nonconvex")
    Kh = sp.Symbol("K", positive=True)
    eta = Kh ** (-_ALPHA / (3 * _ALPHA - 2))
    tau = Kh ** (1 / (3 * _ALPHA - 2))
    target = -2 * (_ALPHA - 1) / (3 * _ALPHA - 2) if target is None else target
    cert.assume("Z20's nonconvex bound: the mean of E min(||grad f||, ||grad f||^2) over K "
                "steps is at most F/(eta K) + eta L tau^(2-alpha) + tau^(2(1-alpha)) up to "
                "constants")
    for name, term in (("initial gap F/(eta K)", 1 / (eta * Kh)),
                       ("variance eta tau^(2-alpha)", eta * tau ** (2 - _ALPHA)),
                       ("squared bias tau^(2(1-alpha))", tau ** (2 * (1 - _ALPHA)))):
        e = _exponent(term, Kh)
        cert.add(f"{name} = K^(-2(alpha-1)/(3alpha-2)) (the checked exponent)", "symbolic",
                 _is_zero(e - target), f"exponent {e}; checked against {target}")
    return cert


def z20_threshold_tent(peak=None) -> Certificate:
    """Z20.threshold-tent: the tent's peak (default ``1/alpha``), its two sides, and the
    clipped Pareto bias."""
    cert = Certificate("Z20.threshold-tent")
    peak = 1 / _ALPHA if peak is None else peak
    p = sp.Symbol("p", nonnegative=True)
    cert.assume("E f - f* ~ (squared bias) + (variance term) with variance term eta_k "
                "E min(xi^2, tau_k^2) ~ k^(-1) tau_k^(2-alpha) (the recursion of "
                "Z20.clip-strongly-convex)")
    var = 1 - p * (2 - _ALPHA)
    bias = 2 * p * (_ALPHA - 1)
    tv = _exponent(_K ** -1 * (_K ** p) ** (2 - _ALPHA), _K)
    cert.add("the variance term eta_k tau_k^(2-alpha) with tau_k = k^p decays like "
             "k^-(1 - p(2-alpha))", "symbolic", _is_zero(tv + var), f"exponent {tv}")
    cross = sp.solve(sp.Eq(var, bias), p)
    ok = len(cross) == 1 and _is_zero(cross[0] - peak)
    cert.add("the variance and bias exponents cross at the checked peak p = 1/alpha", "symbolic",
             ok, f"p = {cross}; checked against {peak}")
    val = sp.simplify(bias.subs(p, peak))
    cert.add("the peak value is 2(alpha-1)/alpha, the strongly convex exponent", "symbolic",
             _is_zero(val - 2 * (_ALPHA - 1) / _ALPHA), f"e(peak) = {val}")
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
             "-(tau + m)^(1-alpha)/(alpha-1), m = alpha/(alpha-1)", "symbolic",
             sp.simplify(sp.powsimp(b / closed, force=True)) == 1, f"bias {b}")
    q = sp.Symbol("q", positive=True)
    eb = sp.limit(sp.log(closed.subs(t, _K ** q) ** 2) / sp.log(_K), _K, sp.oo)
    cert.add("its square decays like k^(-2p(alpha-1)) at tau_k = k^p, p > 0 (the bias side of "
             "the tent)", "symbolic", _is_zero(eb + bias.subs(p, q)),
             f"limit exponent {sp.simplify(eb)}")
    cert.assume("the mean of x_k follows the clipping bias of the noise: E x_k ~ -b(tau_k)/mu "
                "(the mean recursion m_(k+1) = (1 - eta_k mu) m_k - eta_k E clip(xi))")
    return cert


def z20_coordinate(factor=None) -> Certificate:
    """Z20.coordinate: the theory's G for i.i.d. coordinates, and the per-coordinate factor
    (default exponent ``2/alpha - 1``)."""
    cert = Certificate("Z20.coordinate")
    factor = 2 / _ALPHA - 1 if factor is None else factor
    d = sp.Symbol("d", positive=True)
    Gd = d ** (1 / _ALPHA)
    f = _exponent(Gd ** (2 - _ALPHA), d)
    cert.add("G = ||B||_alpha = d^(1/alpha) for unit scales gives the per-coordinate factor "
             "G^(2-alpha) = d^(2/alpha - 1) (the checked exponent)", "symbolic",
             _is_zero(f - factor), f"exponent {f}; checked against {factor}")
    cert.assume("GClip's constant is proportional to G^(2-alpha) (Z20's bound with "
                "E ||xi||^alpha <= G^alpha), and CClip's per-coordinate constant does not "
                "depend on d")
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
