"""SymPy certificates for the PL23 claims (THEORY.md, "PL23").

================================  ==========================================================
``pl23_sharpness``                f(x - eta v) = f - eta g'v + eta^2/2 v'Hv exactly on
                                  quadratics; eta* and Delta*; S(sign g) = tr(H)/d and
                                  S(g) = sum h g^2 / sum g^2 for diagonal H
``pl23_clip_helps``               Delta*(v) <= g'H^-1 g / 2 (Newton's decrease); clipping with
                                  equal |g_i| returns g (balanced: ratio 1); the two-group
                                  ratio of sign to GD and its limits
``pl23_stable_step``              GD on curvature h contracts iff 0 < eta < 2/h; a clipped
                                  coordinate moves by at most eta c per step
================================  ==========================================================

Run ``python -m proofs.pl23`` for a table of every check.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from proofs import Certificate, main

__all__ = ["certificates", "pl23_clip_helps", "pl23_sharpness", "pl23_stable_step"]


def _sym_matrix(n: int, name: str) -> sp.Matrix:
    return sp.Matrix(n, n, lambda i, j: sp.Symbol(f"{name}{min(i, j)}{max(i, j)}", real=True))


def pl23_sharpness(weight_power=2, sign_curvature=None) -> Certificate:
    """PL23.sharpness: the quadratic model is exact; the two sharpness identities.

    Parameters
    ----------
    weight_power : number
        The statement checked is ``S(g) = sum h_i |g_i|^p / sum |g_i|^p``; only ``p = 2`` is
        true.
    sign_curvature : callable, optional
        ``sign_curvature(h)``: the claimed ``S(sign g)`` (default the mean ``sum h / d``).
    """
    cert = Certificate("PL23.sharpness")
    n = 3
    H = _sym_matrix(n, "h")
    x = sp.Matrix(sp.symbols("x0:3", real=True))
    xs = sp.Matrix(sp.symbols("s0:3", real=True))
    v = sp.Matrix(sp.symbols("v0:3", real=True))
    eta = sp.Symbol("eta", real=True)

    def f(y):
        return ((y - xs).T * H * (y - xs))[0] / 2

    g = H * (x - xs)
    model = f(x) - eta * (g.T * v)[0] + eta**2 / 2 * (v.T * H * v)[0]
    cert.add("on a quadratic f(x - eta v) = f(x) - eta g'v + eta^2/2 v'Hv exactly (3x3 "
             "symmetric H)", "symbolic", sp.expand(f(x - eta * v) - model) == 0)
    a, b, f0 = sp.Symbol("a", real=True), sp.Symbol("b", positive=True), sp.Symbol("f0")
    quad = f0 - eta * a + eta**2 / 2 * b  # a = g'v, b = v'Hv > 0
    best = sp.solve(sp.diff(quad, eta), eta)
    ok = (len(best) == 1 and sp.simplify(best[0] - a / b) == 0
          and sp.simplify(f0 - quad.subs(eta, best[0]) - a**2 / (2 * b)) == 0
          and sp.diff(quad, eta, 2).is_positive is True)
    cert.add("eta* = g'v / v'Hv minimizes the model (v'Hv > 0) and the best decrease is "
             "Delta* = (g'v)^2 / (2 v'Hv)", "symbolic", ok,
             f"stationary point {best}; second derivative v'Hv > 0")
    d = 4
    h = sp.symbols("h0:4", positive=True)
    s = sp.symbols("sigma0:4")
    S_sign = sum(hi * si**2 for hi, si in zip(h, s, strict=True)) / sum(si**2 for si in s)
    S_sign = S_sign.subs({si**2: 1 for si in s})
    claimed = sum(h) / d if sign_curvature is None else sign_curvature(h)
    cert.add("diagonal H: S(sign g) = sum h_i / d whatever the signs (sign_i^2 = 1, g_i != 0)",
             "symbolic", sp.simplify(S_sign - claimed) == 0)
    gs = sp.symbols("g0:4", real=True)
    Hd = sp.diag(*h)
    gvec = sp.Matrix(gs)
    S_g = (gvec.T * Hd * gvec)[0] / (gvec.T * gvec)[0]
    weighted = (sum(hi * sp.Abs(gi) ** weight_power for hi, gi in zip(h, gs, strict=True))
                / sum(sp.Abs(gi) ** weight_power for gi in gs))
    cert.add("diagonal H: S(g) = sum h_i g_i^2 / sum g_i^2 (curvature weighted by g_i^2)",
             "symbolic", sp.simplify(S_g - weighted) == 0)
    return cert


def pl23_clip_helps(helps_G=10, hurts_G=1000) -> Certificate:
    """PL23.clip-helps: Newton's bound, the balanced case, the two-group sign/GD ratio.

    Parameters
    ----------
    helps_G, hurts_G : number
        Gradient size of the sharp group (rho = 1%, h_s = 100) said to give a ratio > 1 and < 1;
        the true statement has 10 (1% of the loss) and 1000 (99%).
    """
    cert = Certificate("PL23.clip-helps")
    rng = np.random.default_rng(0)
    worst = -np.inf
    for _ in range(200):
        n = int(rng.integers(2, 8))
        Q = np.linalg.qr(rng.standard_normal((n, n)))[0]
        H = (Q * rng.uniform(0.1, 10, n)) @ Q.T
        g = rng.standard_normal(n)
        v = rng.standard_normal(n)
        worst = max(worst, (g @ v) ** 2 / (2 * v @ H @ v) - g @ np.linalg.solve(H, g) / 2)
    cert.add("Delta*(v) <= g'H^-1 g / 2 for every v (Cauchy-Schwarz in the H inner product)",
             "numeric", worst <= 1e-12, f"max(Delta*(v) - Newton) = {worst:.3g} over 200 random "
                                         "SPD H, g, v")
    c, a = sp.symbols("c a", positive=True)
    sg = sp.symbols("t0:4")
    g = [a * si for si in sg]  # |g_i| = a for all i, signs t_i = +-1
    clipped = [sp.Max(-c, sp.Min(c, gi)) for gi in g]
    same = all(sp.simplify(ci.subs({c: a}).subs(si, sv) - gi.subs(si, sv)) == 0
               for ci, gi, si in zip(clipped, g, sg, strict=True) for sv in (-1, 1))
    cert.add("balanced gradients (every |g_i| = a): the rank threshold is a, clipping returns g "
             "exactly, so Delta*(clip g) = Delta*(g)", "symbolic", same)
    rho, hs, G = sp.symbols("rho h_s G", positive=True)
    # a fraction rho of coordinates: curvature h_s, |g| = G; the rest: curvature 1, |g| = 1
    d_gd = (rho * G**2 + 1 - rho) ** 2 / (rho * hs * G**2 + 1 - rho)
    d_sign = (rho * G + 1 - rho) ** 2 / (rho * hs + 1 - rho)
    ratio = sp.simplify(d_sign / d_gd)
    lim = sp.limit(ratio, hs, sp.oo)
    cert.add("two groups (fraction rho: curvature h_s, |g| = G; else 1, 1): Delta*(sign)/"
             "Delta*(g) -> G^2 (rho G + 1 - rho)^2 / (rho G^2 + 1 - rho)^2 as h_s -> inf",
             "symbolic", sp.simplify(lim - G**2 * (rho * G + 1 - rho) ** 2
                                     / (rho * G**2 + 1 - rho) ** 2) == 0, f"limit {lim}")
    helps = ratio.subs({rho: sp.Rational(1, 100), hs: 100, G: helps_G})
    hurts = ratio.subs({rho: sp.Rational(1, 100), hs: 100, G: hurts_G})
    cert.add(f"with rho = 1%, h_s = 100: G = {helps_G} (1% of the loss at 10) gives a ratio > 1, "
             f"G = {hurts_G} (99% of the loss at 1000) a ratio < 1", "symbolic",
             bool(helps > 1) and bool(hurts < 1),
             f"ratios {sp.nsimplify(helps)} = {float(helps):.4g}, {float(hurts):.4g}")
    return cert


def pl23_stable_step(limit=2) -> Certificate:
    """PL23.stable-step: GD's stability interval; the clipped update is bounded.

    Parameters
    ----------
    limit : number
        The statement checked is "stable iff 0 < eta < limit/h"; only 2 is true.
    """
    cert = Certificate("PL23.stable-step")
    eta, h = sp.symbols("eta h", positive=True)
    sol = sp.solve_univariate_inequality(sp.Abs(1 - eta * h) < 1, eta, relational=False)
    cert.add(f"GD on curvature h: |1 - eta h| < 1 iff 0 < eta < {limit}/h", "symbolic",
             sol == sp.Interval.open(0, limit / h), f"solution set {sol}")
    cert.assume("with m = floor(q d) clip slots and at most m coordinates with eta h_i > 2, the "
                "unstable coordinates hold the slots (their |g| grows), so clipped GD is stable "
                "for eta < 2/h_(m+1) (the prediction of linsim.experiments.pl23."
                "stable_step_prediction)")
    rng = np.random.default_rng(1)
    xs = rng.standard_normal(10_000) * 10.0 ** rng.uniform(-3, 3, 10_000)
    hs = 10.0 ** rng.uniform(-2, 3, 10_000)
    cs = 10.0 ** rng.uniform(-3, 1, 10_000)
    moved = np.abs(np.clip(hs * xs, -cs, cs))
    cert.add("a clipped coordinate moves by at most eta c per step whatever its curvature "
             "(|clip(h x, -c, c)| <= c)", "numeric", bool(np.all(moved <= cs)),
             "10^4 random (x, h, c) over 6, 5 and 4 decades")
    return cert


def certificates() -> dict[str, Certificate]:
    """Every PL23 certificate, by claim id."""
    return {c.claim: c for c in (pl23_sharpness(), pl23_clip_helps(), pl23_stable_step())}


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.exit(main(certificates))
