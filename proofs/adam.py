"""SymPy certificates for the continuous-time models of adaptive methods (THEORY.md,
"Continuous-time models of adaptive methods").

Every certificate here is "partial": each derives some steps and lists, with
:meth:`Certificate.assume`, the ones it takes as given.

* adam.ode: one step of discrete Adam's moments agrees with the flow of ``m' = a(g - m)`` (and
  ``v``) over time ``eta`` to ``O(eta^2)``; the discrete bias correction tends to
  ``1 - e^(-a t)``; the start rule of :mod:`linsim.flows`. Assumed: local ``O(eta^2)`` errors
  add up to a global ``O(eta)`` (Gronwall).
* adam.small-step: the exponential average of a gradient that drifts linearly lags it by
  ``eta beta/(1 - beta)`` times the drift. Assumed: that lag sets the gap (Gronwall).
* adam.k24-rate: the two-level column reduces to ``u' = -2 mhat/sqrt(vhat)``; for large
  margins, in the scaled moments ``m e^u``, ``v e^(2u)`` the reduced Adam ODE is autonomous and
  its fixed point with ``u' = r`` gives ``r = 2 (a/(a-r)) sqrt(1 - 2r/b)`` (no ``pi_k``); a root
  in ``(0, b/2)`` for ``a > b/2``; ``r < 2`` for ``a >= b`` and RMSProp, ``r > 2`` at
  ``(a, b) = (6, 10)``; the RMSProp closed form. Assumed: the fixed point attracts, the root
  is unique.
* adam.k24-classes: in ``m/pi_k``, ``v/pi_k^2`` the reduced Adam ODE has no ``pi_k``.
  Assumed: uniqueness from the (singular) start.
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
    """adam.ode: consistency of discrete Adam (``1 - beta1 = a eta``) with the Adam ODE.

    Derived: one step of each moment matches the flow over time ``eta`` to ``O(eta^2)``; the
    discrete bias corrections tend to the ODE's; the ODE's start rule. Assumed: that these local
    ``O(eta^2)`` errors add up to a global ``O(eta)`` over ``[0, T]`` (a Gronwall argument that
    needs the field Lipschitz along the trajectory; the field is singular at ``t = 0``).
    """
    cert = Certificate("adam.ode")
    m0, g = sp.symbols("m0 g", real=True)
    # exact flow of m' = a (g - m) over time eta (g frozen over the step: the gradient's own
    # change adds O(eta^2) to both sides alike)
    for name, rate, target in (("m", _a, g), ("v", _b, g**2)):
        exact = target + (m0 - target) * sp.exp(-rate * _eta)
        discrete = (1 - rate * _eta) * m0 + rate * _eta * target
        diff = sp.series(exact - discrete, _eta, 0, 2).removeO()
        cert.add(f"one Adam {name} step (1 - {rate} eta) {name} + {rate} eta "
                 f"{'g' if name == 'm' else 'g^2'} matches the flow of {name}' = {rate}("
                 f"{'g' if name == 'm' else 'g^2'} - {name}) over time eta up to O(eta^2)",
                 "symbolic", _zero(diff), f"series of the difference to order eta: {diff}")
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
    cert.assume("the local O(eta^2) step errors add up to a global O(eta) error over [0, T] "
                "(Gronwall: needs the field Lipschitz along the trajectory, not derived; the "
                "field is singular at t = 0)")
    return cert


def adam_small_step() -> Certificate:
    """adam.small-step: the lag of an exponential average behind a drifting gradient.

    Derived: the lag ``eta beta/(1 - beta)`` of the average, which for ``v`` is
    ``~ eta/(1 - beta2)``. Assumed: that this lag, carried through the flow over ``[0, T]``,
    sets the gap between the iterates and ``x' = -g/(|g| + eps)`` (Gronwall, not derived).
    """
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
    cert.assume("the lags of m (eta beta1/(1 - beta1)) and v (eta beta2/(1 - beta2), the larger "
                "for beta1 < beta2) carried through the flow over [0, T] give a gap "
                "proportional to eta/(1 - beta2) (Gronwall, not derived)")
    return cert


def _weighted_average(rate, decay):
    """``int_0^inf rate e^(-rate s) e^(decay s) ds`` (the average of ``e^(-decay (t - s))``
    relative to its current value)."""
    return sp.integrate(rate * sp.exp(-rate * _s) * sp.exp(decay * _s), (_s, 0, sp.oo),
                        conds="none")


def _two_level_adam(cert: Certificate) -> None:
    """The reduction of a two-level column under the Adam ODE (eps = 0) to one margin.

    With ``g_off = -g_d/(c-1)`` (K24.decouple), the off-diagonal moments stay
    ``m_off = -m_d/(c-1)`` and ``v_off = v_d/(c-1)^2`` (the same linear ODEs from 0), so the
    off-diagonal velocity is ``+mhat_d/sqrt(vhat_d)``, minus the diagonal's: the margin moves at
    ``u' = -2 mhat_d/sqrt(vhat_d)``.
    """
    z = sp.Symbol("z", positive=True)  # c - 1
    gd, md = sp.symbols("g_d m_d", real=True)
    vd, ca, cb = sp.symbols("v_d C_a C_b", positive=True)  # C: bias corrections 1 - e^(-a t)
    ok_m = _zero(sp.diff(-md / z, md) * _a * (gd - md) - _a * (-gd / z - (-md / z)))
    ok_v = _zero(sp.diff(vd / z**2, vd) * _b * (gd**2 - vd) - _b * ((gd / z) ** 2 - vd / z**2))
    vel_d = -(md / ca) / sp.sqrt(vd / cb)
    vel_off = -((-md / z) / ca) / sp.sqrt((vd / z**2) / cb)
    ok_u = _zero(vel_off + vel_d) and _zero((vel_d - vel_off) - 2 * vel_d)
    cert.add("two-level column under the Adam ODE (eps = 0): m_off = -m_d/(c-1) and "
             "v_off = v_d/(c-1)^2 solve the off-diagonal moment ODEs when g_off = -g_d/(c-1), "
             "so the off entries move at -(diagonal velocity) and u' = -2 mhat_d/sqrt(vhat_d)",
             "symbolic", ok_m and ok_v and ok_u,
             f"moment ODEs: {ok_m}, {ok_v}; velocities: {ok_u}")


def adam_k24_rate(r_rms: sp.Expr | None = None, rate_eq: sp.Expr | None = None
                  ) -> Certificate:
    """adam.k24-rate: the asymptotic rate of the K24 margin under the Adam/RMSProp ODEs.

    Derived from the reduced Adam ODE with eps = 0 (``u' = -2 mhat/sqrt(vhat)``,
    ``m' = a(g - m)``, ``v' = b(g^2 - v)``, ``g = -pi q(u)``): for large margins
    ``q ~ (c-1) e^(-u)`` and the bias corrections tend to 1; in the scaled moments
    ``M = m e^u``, ``V = v e^(2u)`` the field is autonomous, and a fixed point with ``u' = r``
    exists exactly when ``r`` solves ``rate_eq`` (default ``r - 2 (a/(a-r)) sqrt(1 - 2r/b)``; a
    wrong equation fails). Assumed: that the trajectory converges to that fixed point (its
    stability) and that the root in ``(0, b/2)`` is unique.

    ``r_rms`` is the closed form of the RMSProp rate to certify (default
    ``2 (sqrt(1 + 4/b^2) - 2/b)``, a function of the positive symbol ``b``); a wrong one fails.
    """
    cert = Certificate("adam.k24-rate")
    _two_level_adam(cert)
    P = sp.Symbol("P", positive=True)  # pi_k (c - 1)
    z = sp.Symbol("z", positive=True)
    u = sp.Symbol("u", real=True)
    q = z * sp.exp(-u) / (1 + z * sp.exp(-u))
    lim_q = sp.limit(q * sp.exp(u), u, sp.oo)
    lim_c = sp.limit(1 - sp.exp(-_a * _t), _t, sp.oo)
    cert.add("for large margins q(u) e^u -> c - 1 and the bias corrections 1 - e^(-a t) -> 1: "
             "asymptotically g = -P e^(-u) with P = pi_k (c - 1)", "symbolic",
             _zero(lim_q - z) and lim_c == 1, f"limits {lim_q}, {lim_c}")
    M = sp.Symbol("M", real=True)
    V = sp.Symbol("V", positive=True)
    m, v, g = M * sp.exp(-u), V * sp.exp(-2 * u), -P * sp.exp(-u)
    du = sp.simplify(-2 * m / sp.sqrt(v))
    dM = sp.simplify((_a * (g - m) + m * du) * sp.exp(u))
    dV = sp.simplify((_b * (g**2 - v) + 2 * v * du) * sp.exp(2 * u))
    auto = not ({u} & (du.free_symbols | dM.free_symbols | dV.free_symbols))
    cert.add("in M = m e^u, V = v e^(2u) the asymptotic reduced field is autonomous: "
             "u' = -2M/sqrt(V), M' = -a(P + M) + M u', V' = b(P^2 - V) + 2V u'", "symbolic",
             auto and _zero(dM - (-_a * (P + M) + M * du)) and
             _zero(dV - (_b * (P**2 - V) + 2 * V * du)),
             f"u' = {du}; M' = {dM}; V' = {dV}")
    # a fixed point of (M, V) with u' = r: a > r and b > 2r (write a = r + d, b = 2r + e)
    d, e = sp.symbols("d e", positive=True)
    on = {_a: _r + d, _b: 2 * _r + e}
    Ms = sp.solve(sp.Eq((-_a * (P + M) + M * _r).subs(on), 0), M)
    Vs = sp.solve(sp.Eq((_b * (P**2 - V) + 2 * V * _r).subs(on), 0), V)
    ok_fp = len(Ms) == 1 and len(Vs) == 1
    if ok_fp:
        derived = sp.simplify(_r - (-2 * Ms[0] / sp.sqrt(Vs[0])))
        if rate_eq is None:
            rate_eq = _r - 2 * (_a / (_a - _r)) * sp.sqrt(1 - 2 * _r / _b)
        same = _zero(derived - rate_eq.subs(on))
        no_pi = P not in derived.free_symbols
    else:
        derived, same, no_pi = None, False, False
    cert.add(f"the fixed point M = -aP/(a - r), V = bP^2/(b - 2r) with u' = r = -2M/sqrt(V) "
             f"exists iff {rate_eq} = 0 (a > r, b > 2r); P = pi_k (c-1) drops out",
             "symbolic", ok_fp and same and no_pi,
             f"M* = {Ms}, V* = {Vs}; r + 2M*/sqrt(V*) = {derived} (a = r + d, b = 2r + e)")
    F = 2 * (_a / (_a - _r)) * sp.sqrt(1 - 2 * _r / _b) - _r
    f0, fb = sp.simplify(F.subs(_r, 0)), sp.simplify(F.subs(_r, _b / 2))
    cert.add("for a > b/2 the root lies in (0, b/2): F(r) = 2(a/(a-r)) sqrt(1 - 2r/b) - r is "
             "continuous on [0, b/2] with F(0) = 2 > 0 and F(b/2) = -b/2 < 0", "symbolic",
             f0 == 2 and _zero(fb + _b / 2), f"F(0) = {f0}, F(b/2) = {fb}")
    cert.assume("the trajectory converges to the fixed point of (M, V) (its stability, i.e. the "
                "eigenvalues of the linearization there, is not derived; adam.k24-rate "
                "measures it)")
    cert.assume("the root of F in (0, b/2) is unique (F is not shown monotone)")
    # where the root lies against sign flow's 2 (the claim's statement says which)
    bb = sp.Symbol("B", positive=True)  # b = 4 + B > 4 at a = b
    f2_ab = F.subs({_r: 2, _a: _b}).subs(_b, 4 + bb)
    form = 2 * (sp.sqrt((4 + bb) * bb) / (2 + bb) - 1)
    ok_form = _zero(f2_ab - form)
    at_ab = sp.simplify(sp.expand((bb + 2) ** 2 - (bb + 4) * bb))
    da = sp.simplify(sp.diff(_a / (_a - 2), _a))
    cert.add("a = b > 4: F(2) < 0 (so r < 2 with the root unique), since F(2) = "
             "2(sqrt(b(b-4))/(b-2) - 1) and (b-2)^2 - b(b-4) = 4 > 0; d/da a/(a-2) < 0, so F(2) "
             "falls as a grows and r < 2 for every a >= b (b <= 4: r < b/2 <= 2)", "symbolic",
             ok_form and at_ab == 4 and bool(da.subs(_a, 2 + bb).is_negative),
             f"F(2) at a = b = 4 + B minus the form: {ok_form}; (b-2)^2 - b(b-4) = {at_ab}; "
             f"d/da a/(a-2) = {da}")
    f2 = F.subs({_a: 6, _b: 10, _r: 2})
    cert.add("(a, b) = (6, 10): F(2) = 3 sqrt(3/5) - 2 > 0 and F(b/2) < 0, so a root lies in "
             "(2, 5): r < 2 does not hold for every a > b/2", "symbolic",
             bool(sp.simplify(f2).is_positive), f"F(2) = {sp.nsimplify(f2)}")
    # RMSProp (a -> inf): the closed form
    ma = _weighted_average(_a, _r).subs(_a, _r + sp.Symbol("d", positive=True))
    cert.add("int_0^inf a e^(-a s) e^(r s) ds = a/(a - r) for a > r (the M* above as an "
             "average of the history)", "symbolic", _zero(ma - (_r + d) / d),
             f"with a = r + d: {sp.simplify(ma)}")
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
    below = sp.simplify(sp.expand((1 + 2 / _b) ** 2 - (1 + 4 / _b**2)))
    cert.add("RMSProp: r < 2, since (1 + 2/b)^2 - (1 + 4/b^2) = 4/b > 0", "symbolic",
             _zero(below - 4 / _b), f"difference {below}")
    lim = sp.limit(r_rms, _b, sp.oo)
    cert.add("RMSProp: r -> 2 (the sign-flow rate) as b -> inf", "symbolic", _zero(lim - 2),
             f"limit {lim}")
    adam_eq = 2 * (_a / (_a - _r)) * sp.sqrt(1 - 2 * _r / _b) - _r
    rms_eq = 2 * sp.sqrt(1 - 2 * _r / _b) - _r
    cert.add("Adam's rate equation tends to RMSProp's as a -> inf", "symbolic",
             _zero(sp.limit(adam_eq, _a, sp.oo) - rms_eq), "limit in a")
    return cert


def adam_k24_classes(power: int = 2) -> Certificate:
    """adam.k24-classes: with eps = 0 the reduced Adam ODE does not involve pi_k.

    Derived: the two-level reduction (:func:`_two_level_adam`); in the moments
    ``M = m/pi``, ``V = v/pi^power`` (``power = 2`` is the right scaling; another one fails)
    the reduced field has no ``pi``; ``mhat/sqrt(vhat)`` is invariant under scaling the gradient
    history. Assumed: uniqueness of the solution from the common start (the field's bias
    correction is 0/0 at ``t = 0``), which makes every class follow the same margin curve.
    """
    cert = Certificate("adam.k24-classes")
    _two_level_adam(cert)
    z = sp.Symbol("z", positive=True)
    u = sp.Symbol("u", real=True)
    M = sp.Symbol("M", real=True)
    V, ca, cb = sp.symbols("V C_a C_b", positive=True)
    q = z * sp.exp(-u) / (1 + z * sp.exp(-u))
    g = -_pi * q
    m, v = _pi * M, _pi**power * V
    du = sp.simplify(-2 * (m / ca) / sp.sqrt(v / cb))
    dM = sp.simplify(_a * (g - m) / _pi)
    dV = sp.simplify(_b * (g**2 - v) / _pi**power)
    free = du.free_symbols | dM.free_symbols | dV.free_symbols
    cert.add(f"in M = m/pi_k, V = v/pi_k^{power} the reduced Adam ODE (eps = 0) reads "
             "u' = -2 (M/C_a)/sqrt(V/C_b), M' = a(-q(u) - M), V' = b(q(u)^2 - V): no pi_k, "
             "and M = V = 0, u = 0 at the start for every class", "symbolic", _pi not in free,
             f"u' = {du}; M' = {dM}; V' = {dV}")
    h = sp.Function("h")
    mi = sp.Integral(_a * sp.exp(-_a * (_t - _s)) * _pi * h(_s), (_s, 0, _t))
    vi = sp.Integral(_b * sp.exp(-_b * (_t - _s)) * (_pi * h(_s)) ** 2, (_s, 0, _t))
    m1 = sp.Integral(_a * sp.exp(-_a * (_t - _s)) * h(_s), (_s, 0, _t))
    v1 = sp.Integral(_b * sp.exp(-_b * (_t - _s)) * h(_s) ** 2, (_s, 0, _t))
    m_scaled = sp.simplify(mi)  # pulls the constant pi out of the integral
    v_scaled = sp.simplify(vi)
    ratio = sp.simplify(m_scaled / sp.sqrt(v_scaled) - m1 / sp.sqrt(v1))
    ok = _zero(m_scaled - _pi * m1) and _zero(v_scaled - _pi**2 * v1) and ratio == 0
    cert.add("with eps = 0, mhat/sqrt(vhat) for the history pi h(s) equals that for h(s) "
             "(pi > 0)", "symbolic", ok,
             f"m -> {m_scaled}; v -> {v_scaled}; ratio difference {ratio}")
    cert.assume("the scaled reduced ODE has one solution from the common start (its bias "
                "correction is 0/0 at t = 0; the start rule mhat = g, vhat = g^2 is taken as "
                "giving the unique solution), so every class follows the same margin curve")
    return cert


def certificates() -> dict[str, Certificate]:
    """Compute every adam.* certificate (claim id -> certificate)."""
    fns = (adam_ode, adam_small_step, adam_k24_rate, adam_k24_classes)
    return {c.claim: c for c in (fn() for fn in fns)}


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.exit(main(certificates))
