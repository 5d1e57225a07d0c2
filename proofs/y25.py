"""SymPy certificates for the unigram-model claims of Y25 (THEORY.md, "The unigram model").

================================  ==========================================================
``y25_sf_extinction``             under Zipf's law max log pi - min log pi = a log c; the
                                  l_inf distance to the minimizer set {log pi + s 1} is half
                                  the range of log pi - theta0
``y25_sf_vs_nf``                  ||theta*||_2 / (a sqrt c) -> (int_0^1 (log u + 1)^2 du)^(1/2)
                                  = 1, so the straight-line ratio of the two times is
                                  log(c)/(2 sqrt c); the factor log c adds 1/log c to a
                                  log-log slope
================================  ==========================================================

Both are "partial": the dynamics (sign flow's coordinates move at unit speed until they stick
and are never released; normalized flow's path is a constant factor longer than the straight
line) are taken as given and listed; linsim's simulations test them.

Run ``python -m proofs.y25`` for a table of every check.
"""

from __future__ import annotations

import sympy as sp

from proofs import Certificate, main

__all__ = ["certificates", "y25_sf_extinction", "y25_sf_vs_nf"]

_A = sp.Symbol("a", positive=True)
_C = sp.Symbol("c", positive=True)


def y25_sf_extinction(time=None) -> Certificate:
    """Y25.sf-extinction: the extinction time ``time`` (default ``a log(c)/2``) from 0."""
    cert = Certificate("Y25.sf-extinction")
    time = _A * sp.log(_C) / 2 if time is None else time
    H = sp.Symbol("H", positive=True)  # the Zipf normalizer sum_j j^-a
    k = sp.Symbol("k", positive=True)
    logpi = -_A * sp.log(k) - sp.log(H)
    dlog = sp.diff(logpi, k)
    cert.add("log pi_k = -a log k - log H decreases in k (a > 0): its extremes are k = 1, c",
             "symbolic", dlog.is_negative is True, f"d/dk log pi_k = {dlog}")
    rng = sp.expand_log(logpi.subs(k, 1) - logpi.subs(k, _C), force=True)
    cert.add("max log pi - min log pi = a log c", "symbolic", sp.simplify(rng - _A * sp.log(_C))
             == 0, f"range {rng}")
    M, m = sp.symbols("M m", real=True)
    mid = (M + m) / 2
    at_mid = sp.simplify(sp.Max(sp.Abs(M - mid), sp.Abs(m - mid)).subs(m, M - sp.Symbol(
        "r", nonnegative=True)))
    r = sp.Symbol("r", nonnegative=True)
    cert.add("at the shift s = (max + min)/2 the l_inf distance is (max - min)/2", "symbolic",
             sp.simplify(at_mid - r / 2) == 0, f"{at_mid}")
    # any other shift s = mid +- v (v >= 0): the two deviations are r/2 + v and |r/2 - v|, and
    # (r/2 + v)^2 - (r/2 - v)^2 = 2 r v >= 0, so the distance is r/2 + v >= r/2
    v = sp.Symbol("v", nonnegative=True)
    gap = sp.expand((r / 2 + v) ** 2 - (r / 2 - v) ** 2)
    cert.add("for s = (max + min)/2 +- v the distance is (max - min)/2 + v: the minimum over "
             "shifts is (max - min)/2", "symbolic", gap.is_nonnegative is True,
             f"(r/2 + v)^2 - (r/2 - v)^2 = {gap}")
    cert.add("so from theta0 = 0 the l_inf distance to the minimizer set is the checked "
             "time", "symbolic", sp.simplify(rng / 2 - time) == 0, f"{rng / 2} vs {time}")
    cert.assume("sign flow on the unigram model moves each coordinate at unit speed towards "
                "its target until it sticks, and never releases one, so it arrives at the l_inf "
                "distance (THEORY.md; the simulation tests it)")
    return cert


def y25_sf_vs_nf(constant=None) -> Certificate:
    """Y25.sf-vs-nf: the straight-line ratio of the two times, with ``constant`` (default 1)
    the limit of ``||theta*||_2^2 / (a^2 c)``."""
    cert = Certificate("Y25.sf-vs-nf")
    constant = sp.Integer(1) if constant is None else constant
    u = sp.Symbol("u", positive=True)
    mean = sp.integrate(sp.log(u), (u, 0, 1))
    var = sp.integrate((sp.log(u) - mean) ** 2, (u, 0, 1))
    cert.add("with k = c u, (1/c) sum_k (log k - mean log k)^2 -> int_0^1 (log u + 1)^2 du, "
             "the checked constant (centred log pi = -a (log k - mean))", "symbolic",
             mean == -1 and sp.simplify(var - constant) == 0, f"mean {mean}, variance {var}")
    cert.assume("the Riemann sums of (log u + 1)^2 on the grid k/c converge to the integral "
                "(an integrable singularity at 0)")
    dist = _A * sp.sqrt(_C * var)
    ratio = (_A * sp.log(_C) / 2) / dist
    cert.add("the straight-line ratio (a log c / 2) / ||theta*||_2 = log(c)/(2 sqrt c) as "
             "c -> oo", "symbolic", sp.simplify(ratio - sp.log(_C) / (2 * sp.sqrt(_C))) == 0,
             f"ratio {sp.simplify(ratio)}")
    x = sp.Symbol("x", positive=True)  # x = log c
    sig = sp.diff(sp.log(x), x)
    cert.add("the factor log c contributes d log log c / d log c = 1/log c > 0 to a log-log "
             "slope (the resolution of the test)", "symbolic",
             sp.simplify(sig - 1 / x) == 0 and sig.is_positive is True, f"{sig}")
    cert.assume("normalized flow's time to the minimizer is a c-independent constant factor "
                "times the straight-line distance ||theta*||_2 (THEORY.md 'about'); the "
                "simulation measures that factor")
    return cert


def certificates() -> dict[str, Certificate]:
    """Every Y25 certificate, by claim id."""
    return {c.claim: c for c in (y25_sf_extinction(), y25_sf_vs_nf())}


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.exit(main(certificates))
