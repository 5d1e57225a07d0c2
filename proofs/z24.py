"""SymPy proof certificates for the Z24 claims on block-diagonal quadratics.

The problem (THEORY.md, "Z24"): ``f(w) = 1/2 w^T H w - h^T w``, ``H = diag(H_1, .., H_L)``,
``H_l = Q_l Lambda_l Q_l^T``, ``h = H w*``.

================================  =========================================================
``z24_gf_closed_form``            Z24.gf-closed-form: GF and GD closed forms solve their
                                  equations; the loss sees only (lambda_i, c_i)
``z24_sf_diagonal``               Z24.sf-diagonal: the clipped-linear path is a Filippov
                                  solution of sign flow; it stops at ||w0 - w*||_inf
``z24_gd_lower_bound``            Z24.gd-lower-bound: every fixed step contracts no faster than
                                  (1 - 2/(kappa+1))^2 per step on diag(1, kappa)
``z24_adam_bound``                Z24.adam-bound: Adam(0, 1) is GD preconditioned by |g0|;
                                  the contraction step; the bound on kappa (numeric)
``z24_scale_invariance``          Z24.scale-invariance: sign and Adam(beta2 = 1) updates are
                                  invariant under block scaling, GD's are not
================================  =========================================================

A check is ``"symbolic"`` only when SymPy reduced it to an identity (``simplify(residual) ==
0``) or settled a sign with its assumption system on an expression it produced itself. What a
certificate does not derive it records with ``assume``, and its grade is then ``partial``: the
blockwise Rayleigh-quotient bounds behind Z24.adam-bound (also checked on random instances),
the uniqueness of the Filippov solution in Z24.sf-diagonal, the step from the 3-dimensional
symbolic instance to every block-diagonal H in Z24.gf-closed-form. Each certificate takes the
statement's key constant as a parameter (the exponent, the speed, the rate, ...) so a test can
run its own code on a wrong statement and see it fail.

Run ``python -m proofs.z24`` for a table of every check.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import sympy as sp

from proofs import Certificate, main, nonneg_from_zero, zero

__all__ = ["certificates", "z24_adam_bound", "z24_gd_lower_bound", "z24_gf_closed_form",
           "z24_scale_invariance", "z24_sf_diagonal"]

_T = sp.Symbol("t", nonnegative=True)
_ETA = sp.Symbol("eta", positive=True)
_K = sp.Symbol("k", integer=True, nonnegative=True)
_KAPPA = sp.Symbol("kappa", positive=True)
#: kappa = 1 + m, m > 0: the worst case of Z24.gd-lower-bound needs distinct eigenvalues
_KAPPA_GT1 = 1 + sp.Symbol("m", positive=True)


def _small_problem():
    """A 2x2 block rotated by an arbitrary angle and a 1x1 block, symbolically.

    The rotation is parametrized rationally (``cos = (1-u^2)/(1+u^2)``, ``sin = 2u/(1+u^2)``,
    every angle but pi), so every residual is a rational function and ``cancel`` decides it
    fast. Returns ``H, U, lam, ws, w0`` with ``H = U diag(lam) U^T``.
    """
    u = sp.Symbol("u", real=True)
    c, s = (1 - u**2) / (1 + u**2), 2 * u / (1 + u**2)
    lam = sp.symbols("lambda1:4", positive=True)
    U = sp.diag(sp.Matrix([[c, -s], [s, c]]), sp.Matrix([[1]]))
    H = U * sp.diag(*lam) * U.T
    ws = sp.Matrix(sp.symbols("ws1:4", real=True))
    w0 = sp.Matrix(sp.symbols("w01:4", real=True))
    return H, U, lam, ws, w0


def _rational_zero(expr, atoms: dict | None = None) -> tuple[bool, sp.Expr]:
    """``cancel`` after replacing ``atoms`` (e.g. exponentials) by symbols: zero or not."""
    e = sp.sympify(expr)
    if atoms:
        e = e.subs(atoms)
    r = sp.cancel(sp.together(sp.expand(e)))
    return r == 0, r


def _matrix_zero(M: sp.Matrix, atoms: dict | None = None) -> tuple[bool, list]:
    res = [_rational_zero(x, atoms)[1] for x in M]
    return all(r == 0 for r in res), [r for r in res if r != 0]


# --------------------------------------------------------------------------------------------
# Z24.gf-closed-form
# --------------------------------------------------------------------------------------------
def z24_gf_closed_form(exponent=2) -> Certificate:
    """Z24.gf-closed-form: ``f(t) - f* = sum_i c_i e^(-2 lambda_i t)``, GD's and heavy ball's
    discrete forms, and the matched Case 3 / Case 4 losses.

    Parameters
    ----------
    exponent : number
        The statement checked is ``f(t) - f* = sum_i c_i e^(-exponent lambda_i t)``; only 2 is
        true (tests pass a wrong one and see the certificate fail).

    Returns
    -------
    Certificate
        Claim ``"Z24.gf-closed-form"``.
    """
    cert = Certificate("Z24.gf-closed-form")
    cert.assume("the 3-dimensional instance (a rotated 2 x 2 block and a 1 x 1 block) stands "
                "for every block-diagonal H: its residuals use only U^T U = I and "
                "U^T H U = Lambda")
    H, U, lam, ws, _ = _small_problem()
    I3 = sp.eye(3)
    ok_u, bad_u = _matrix_zero(U.T * U - I3)
    ok_uu, bad_uu = _matrix_zero(U * U.T - I3)
    ok_h, bad_h = _matrix_zero(U.T * H * U - sp.diag(*lam))
    cert.add("U is orthogonal and U^T H U = Lambda: H = diag(R diag(l1,l2) R^T, l3) for any "
             "rotation R (rational parametrization)", "symbolic", ok_u and ok_uu and ok_h,
             f"residuals {bad_u or 0}, {bad_uu or 0}, {bad_h or 0}")

    z = sp.Matrix(sp.symbols("z1:4", real=True))  # z = U^T (w0 - w*): w(0) = w* + U z = w0
    h = H * ws
    ex = [sp.exp(-li * _T) for li in lam]
    Es = sp.symbols("E1:4", positive=True)
    atoms = dict(zip(ex, Es, strict=True))
    w = ws + U * sp.diag(*ex) * z
    ok, bad = _matrix_zero(w.diff(_T) + (H * w - h), atoms)
    cert.add("w(t) = w* + U exp(-Lambda t) U^T (w0 - w*) solves w' = -(H w - h) with w(0) = w0 "
             "(U U^T = I)", "symbolic", ok, f"h = H w*; residual {bad or 0}")

    x = sp.Matrix(sp.symbols("x1:3", real=True))
    y = sp.Matrix(sp.symbols("y1:3", real=True))
    a11, a12, a22 = sp.symbols("a11 a12 a22", real=True)
    A = sp.Matrix([[a11, a12], [a12, a22]])
    hy = A * y
    fx = (x.T * A * x)[0] / 2 - (hy.T * x)[0]
    ok1, r1 = _rational_zero(fx + (hy.T * y)[0] / 2 - ((x - y).T * A * (x - y))[0] / 2)
    c = [li * z[i] ** 2 / 2 for i, li in enumerate(lam)]
    e = w - ws
    closed = sum(ci * E**exponent for ci, E in zip(c, Es, strict=True))
    ok2, r2 = _rational_zero((e.T * H * e)[0].subs(atoms) / 2 - closed)
    cert.add(f"f(w(t)) - f* = sum_i c_i exp(-{exponent} lambda_i t), c_i = lambda_i "
             "(u_i^T(w0-w*))^2/2",
             "symbolic", ok1 and ok2,
             f"f - f* = (w-w*)^T H (w-w*)/2 for any symmetric H, h = H w* (residual {r1}); "
             f"minus the sum -> {r2}")

    # GD: w_k = w* + U (I - eta Lambda)^k z, with P_i = (1 - eta lambda_i)^k
    P = sp.symbols("P1:4", real=True)
    wk = ws + U * sp.diag(*P) * z
    wk1 = ws + U * sp.diag(*[(1 - _ETA * li) * Pi for li, Pi in zip(lam, P, strict=True)]) * z
    ok3, bad3 = _matrix_zero(wk1 - (wk - _ETA * (H * wk - h)))
    pw = all(sp.powsimp((1 - _ETA * li) * (1 - _ETA * li) ** _K) == (1 - _ETA * li) ** (_K + 1)
             for li in lam)
    ek = wk - ws
    ok4, r4 = _rational_zero((ek.T * H * ek)[0] / 2
                             - sum(ci * Pi**2 for ci, Pi in zip(c, P, strict=True)))
    cert.add("GD: w_k = w* + U (I - eta Lambda)^k U^T (w0-w*) obeys w_{k+1} = w_k - eta(Hw_k - h)"
             " and f_k - f* = sum_i c_i (1 - eta lambda_i)^(2k)", "symbolic",
             ok3 and ok4 and pw,
             f"P_i = (1-eta lambda_i)^k, k a symbolic integer, (1-eta l)P_i = (1-eta l)^(k+1) "
             f"({pw}); residuals {bad3 or 0}, {r4}")

    # heavy ball: w_{k+1} = w_k - eta (H w_k - h) + beta (w_k - w_{k-1}) decouples in U
    beta = sp.Symbol("beta", nonnegative=True)
    a = sp.Matrix(sp.symbols("a1:4", real=True))  # U^T (w_k - w*)
    b = sp.Matrix(sp.symbols("b1:4", real=True))  # U^T (w_{k-1} - w*)
    wk, wkm = ws + U * a, ws + U * b
    hb = wk - _ETA * (H * wk - h) + beta * (wk - wkm)
    modes = sp.Matrix([(1 + beta - _ETA * li) * a[i] - beta * b[i] for i, li in enumerate(lam)])
    ok6, bad6 = _matrix_zero(U.T * (hb - ws) - modes)
    cert.add("heavy ball decouples: U^T(w_{k+1} - w*)_i = (1 + beta - eta lambda_i) a_i - beta "
             "b_i, so its loss, like GD's, depends only on (lambda_i, c_i)", "symbolic", ok6,
             f"a = U^T(w_k - w*), b = U^T(w_(k-1) - w*); residual {bad6 or 0}")

    # Case 3 and Case 4: same spectrum, same eigen-coordinates -> the same loss for all t.
    z = sp.symbols("z1:10", real=True)
    spec3 = [1, 2, 3, 99, 100, 101, 4998, 4999, 5000]
    spec4 = [1, 99, 4998, 2, 100, 4999, 3, 101, 5000]

    def loss(spec):  # eigen-coordinate of each eigenvalue by its rank in the full spectrum
        rank = {v: i for i, v in enumerate(sorted(spec))}
        return sum(sp.Rational(v, 2) * z[rank[v]] ** 2 * sp.exp(-2 * v * _T) for v in spec)

    ok5, r5 = zero(loss(spec3) - loss(spec4))
    cert.add("Case 3 and Case 4 with matched eigen-coordinates have the same GF loss for all t "
             "(GF cannot tell the block structure)", "symbolic", ok5,
             f"the two closed-form sums differ by {r5}")
    return cert


# --------------------------------------------------------------------------------------------
# Z24.sf-diagonal
# --------------------------------------------------------------------------------------------
def z24_sf_diagonal(speed=1) -> Certificate:
    """Z24.sf-diagonal: ``w_i(t) = w*_i + sign(d_i) max(|d_i| - t, 0)`` on a diagonal H.

    Parameters
    ----------
    speed : number
        The path checked is ``w*_i + sign(d_i) max(|d_i| - speed t, 0)``; only 1 is true.

    Returns
    -------
    Certificate
        Claim ``"Z24.sf-diagonal"``.
    """
    cert = Certificate("Z24.sf-diagonal")
    cert.assume("the Filippov solution of w_i' in -Sgn(lambda_i (w_i - w*_i)) is unique (a "
                "maximal monotone inclusion), so the path checked here is the one sign flow "
                "takes")
    lam = sp.Symbol("lambda", positive=True)
    a = sp.Symbol("a", positive=True)  # |d_i|
    s = sp.Symbol("s", positive=True)  # time left before the stop: t = a - s
    ok_all, detail = True, []
    for sgn in (1, -1):
        d = sgn * a
        e_before = sp.sign(d) * (a - (a - s))  # w - w* at t = a - s < a
        vel = sp.diff(sp.sign(d) * (a - speed * _T), _T)  # dw/dt before the stop
        field = -sp.sign(lam * e_before)  # -sign(grad_i), grad_i = lambda (w_i - w*_i)
        r = sp.simplify(vel - field)
        ok_all &= r == 0
        detail.append(f"d={'+' if sgn > 0 else '-'}a: w'-(-sign(g)) -> {r}")
    cert.add("before t = |d_i|: w_i' = -sign(d_i) = -sign(lambda_i (w_i - w*_i))", "symbolic",
             ok_all, "; ".join(detail) + " (t = |d_i| - s, s > 0)")
    inside = sp.Interval(-1, 1).contains(0)
    cert.add("after t = |d_i|: w_i = w*_i, g_i = 0 and the velocity 0 lies in -Sgn(0) = [-1, 1]",
             "symbolic", inside is sp.true, f"Interval(-1, 1).contains(0) -> {inside}")
    d = sp.Symbol("d", real=True)
    path = sp.sign(d) * sp.Max(sp.Abs(d) - _T, 0)
    lim = sp.simplify(path.subs(_T, sp.Abs(d)))
    cert.add("the path is continuous and reaches w*_i exactly at t = |d_i|", "symbolic",
             lim == 0, f"sign(d) max(|d| - t, 0) at t = |d| -> {lim}")
    # |d| sorted WLOG: a1 <= a2 <= a3, any signs; lambdas never enter the path
    a1, p, q = sp.Symbol("a1", positive=True), *sp.symbols("p q", nonnegative=True)
    mags = [a1, a1 + p, a1 + p + q]
    lams = sp.symbols("lambda1:4", positive=True)
    paths = [sg * sp.Max(m - _T, 0) for sg, m in zip((1, -1, 1), mags, strict=True)]
    stop = mags[-1]  # = ||d||_inf
    at_stop = [sp.simplify(x.subs(_T, stop)) for x in paths]
    moving = sp.simplify(paths[-1].subs(_T, stop - a1))  # the largest still moves before
    free = set().union(*(x.free_symbols for x in paths)) & set(lams)
    cert.add("all coordinates are at w* at t = ||d||_inf and the largest is not before: the "
             "stopping time is ||w0 - w*||_inf, with no lambda in it", "symbolic",
             all(v == 0 for v in at_stop) and moving.is_positive is True and not free,
             f"|d| = (a1, a1+p, a1+q+p): paths at t = a1+p+q -> {at_stop}; largest at "
             f"t = p+q -> {moving}; lambdas in the path: {free or 'none'}")
    return cert


# --------------------------------------------------------------------------------------------
# Z24.gd-lower-bound
# --------------------------------------------------------------------------------------------
def z24_gd_lower_bound(rho: Callable | None = None) -> Certificate:
    """Z24.gd-lower-bound on ``H = diag(1, kappa)``, ``w0 - w* = (1, 1/kappa)``.

    Every inequality is settled by SymPy's assumptions on an expression it produced: the
    first-step ratio is ``rho^2 + kappa (eta - eta*)^2``, the per-step ratios are nondecreasing
    (their cross difference is ``a^k b^k (a - b)^2 / kappa``), so every step of every fixed
    step size contracts by at least ``rho^2``.

    Parameters
    ----------
    rho : callable, optional
        ``rho(kappa)``: the rate checked (default ``(kappa - 1)/(kappa + 1)``, the true one).

    Returns
    -------
    Certificate
        Claim ``"Z24.gd-lower-bound"``.
    """
    cert = Certificate("Z24.gd-lower-bound")
    kap = _KAPPA_GT1
    eta = sp.Symbol("eta", real=True)
    star = 2 / (kap + 1)
    rho = (kap - 1) / (kap + 1) if rho is None else rho(kap)
    # loss components: 1/2 * 1 * 1^2 and 1/2 * kappa * (1/kappa)^2
    N = (1 - eta) ** 2 + (1 - eta * kap) ** 2 / kap  # 2 (f_1 - f*), any step eta
    N0 = 1 + 1 / kap  # 2 (f_0 - f*)
    excess = sp.factor(N / N0 - rho ** 2)
    sq = kap * (eta - star) ** 2
    ok1 = sp.simplify(excess - sq) == 0 and sq.is_nonnegative is True
    cert.add("first step, any eta: (f_1-f*)/(f_0-f*) - rho^2 = kappa (eta - eta*)^2 >= 0 with "
             "rho = (kappa-1)/(kappa+1), equality at eta* = 2/(kappa+1)", "symbolic", ok1,
             f"N(eta)/N(0) - rho^2 -> {excess}; kappa (eta - eta*)^2 nonnegative: "
             f"{sq.is_nonnegative}")
    ok3, r3 = zero(rho ** 2 - (1 - 2 / (kap + 1)) ** 2)
    cert.add("rho^2 = (1 - 2/(kappa+1))^2", "symbolic", ok3, f"difference -> {r3}")

    a, b = sp.symbols("a b", nonnegative=True)  # per-mode factors (1-eta)^2, (1-eta kappa)^2
    k = sp.Symbol("k", integer=True, nonnegative=True)

    def S(j):
        return a ** j + b ** j / kap

    cross = a ** k * b ** k / kap * (a - b) ** 2
    diff = S(k + 2) * S(k) - S(k + 1) ** 2 - cross
    ok6, r6 = zero(sp.powsimp(sp.expand(diff), force=True))
    ok6b = cross.is_nonnegative is True
    both = sp.solve([1 - eta, 1 - kap * eta], [eta], dict=True)
    ok6c = both == []
    s0, s1, s2 = sp.symbols("S0 S1 S2", positive=True)  # S_k, S_(k+1), S_(k+2)
    ok6d, r6d = _rational_zero(s2 / s1 - s1 / s0 - (s2 * s0 - s1 ** 2) / (s0 * s1))
    cert.add("per-step ratios R_k = S_{k+1}/S_k (S_j = a^j + b^j/kappa) are nondecreasing in "
             "k: R_{k+1} - R_k = a^k b^k (a-b)^2 / (kappa S_k S_{k+1}) >= 0, so every step "
             "contracts no faster than the first: R_k >= R_0 >= rho^2", "symbolic",
             ok6 and ok6b and ok6c and ok6d,
             f"S_(k+2) S_k - S_(k+1)^2 - a^k b^k (a-b)^2/kappa -> {r6}; the cross term is "
             f"nonnegative: {ok6b}; (1-eta)^2 and (1-kappa eta)^2 vanish together for no eta "
             f"when kappa > 1 (solve -> {both}), so S_j > 0; R_(k+1) - R_k times S_k S_(k+1) "
             f"minus the cross difference -> {r6d}")

    x = sp.Symbol("x", positive=True)
    ok7, why = nonneg_from_zero(x - sp.log(1 + x), x)
    ok7b, r7 = zero(1 / rho - (1 + 2 / (kap - 1)))
    cert.add("iterations to eps: k >= log(1/eps)/log(1/rho^2) >= (kappa-1)/4 log(1/eps): "
             "Omega(kappa log 1/eps)", "symbolic", ok7 and ok7b,
             f"1/rho = 1 + x with x = 2/(kappa-1) (residual {r7}), so log(1/rho^2) = "
             f"2 log(1 + x) <= 2x = 4/(kappa-1) since log(1+x) <= x: {why}")
    return cert


# --------------------------------------------------------------------------------------------
# Z24.adam-bound
# --------------------------------------------------------------------------------------------
def _numeric_kappa_bound(trials: int = 500, seed: int = 0) -> tuple[bool, str]:
    """kappa(D^-1/2 H D^-1/2) <= r1 max_l kappa_l on random block matrices and random D."""
    rng = np.random.default_rng(seed)
    worst = 0.0
    for _ in range(trials):
        sizes = rng.integers(1, 5, size=rng.integers(1, 5))
        blocks, lmax = [], []
        for d in sizes:
            lam = 10.0 ** rng.uniform(-3, 3, size=d)
            q, r = np.linalg.qr(rng.standard_normal((d, d)))
            q *= np.sign(np.diag(r))
            blocks.append((q * lam) @ q.T)
            lmax.append(lam.max())
        n = int(sizes.sum())
        H = np.zeros((n, n))
        off = np.concatenate([[0], np.cumsum(sizes)])
        for b, M in enumerate(blocks):
            H[off[b]:off[b + 1], off[b]:off[b + 1]] = M
        Dg = 10.0 ** rng.uniform(-3, 3, size=n)
        c1 = [Dg[off[b]:off[b + 1]].min() / lmax[b] for b in range(len(sizes))]
        c2 = [Dg[off[b]:off[b + 1]].max() / lmax[b] for b in range(len(sizes))]
        r1 = max(c2) / min(c1)
        kl = max(np.linalg.cond(M) for M in blocks)
        s = 1.0 / np.sqrt(Dg)
        ev = np.linalg.eigvalsh(H * np.outer(s, s))
        worst = max(worst, (ev[-1] / ev[0]) / (r1 * kl))
    return worst <= 1.0 + 1e-8, (f"{trials} random instances (1-4 blocks of size 1-4, "
                                 f"eigenvalues and D log-uniform over 6 decades): "
                                 f"max kappa_pre / (r1 max kappa_l) = {worst:.4g}")


def z24_adam_bound(power=1) -> Certificate:
    """Z24.adam-bound: Adam(0, 1) with ``v0 = g0^2`` is GD preconditioned by ``D = diag|g0|``.

    Parameters
    ----------
    power : number
        The statement checked is "the step is ``lr g_k / |g0|^power``"; only 1 is true.

    Returns
    -------
    Certificate
        Claim ``"Z24.adam-bound"``.
    """
    cert = Certificate("Z24.adam-bound")
    g0 = sp.Symbol("g0", nonzero=True, real=True)
    g = sp.Symbol("g", real=True)
    v = sp.Symbol("v", positive=True)
    lr = sp.Symbol("lr", positive=True)
    # beta1 = 0, beta2 = 1, v0 = g0^2, no bias correction, eps = 0
    v_next = 1 * v + (1 - 1) * g ** 2  # v_{k+1} = beta2 v_k + (1 - beta2) g_k^2
    m = 0 * sp.Symbol("m") + (1 - 0) * g  # m_k = beta1 m_{k-1} + (1 - beta1) g_k
    upd = (lr * m / sp.sqrt(v)).subs(v, g0 ** 2)
    r_v = sp.simplify(v_next - v)
    r_u = sp.simplify(upd - lr * g / sp.Abs(g0) ** power)
    cert.add("Adam(beta1=0, beta2=1, v0=g0^2, no bias correction, eps=0): v_{k+1} = v_k, so "
             "v_k = g0^2 for every k (induction), and the step is lr g_k / |g0|: GD "
             "preconditioned by D = diag|g0|", "symbolic", r_v == 0 and r_u == 0,
             f"v_(k+1) - v_k -> {r_v}; step - lr g/|g0|^{power} -> {r_u}")

    # contraction of preconditioned GD at lr = 1/lambda_max: lambda_i = lmin (1 + u y),
    # lambda_max = lmin (1 + y), u in [0, 1] written u = p/(1 + p), y = kappa_pre - 1 >= 0
    y, pp = sp.symbols("y p", nonnegative=True)
    u = pp / (1 + pp)
    mode = 1 - (1 + u * y) / (1 + y)  # 1 - lambda_i/lambda_max
    worst = 1 - 1 / (1 + y)  # 1 - 1/kappa_pre
    gap1 = sp.factor(sp.together(worst ** 2 - mode ** 2))
    gap2 = sp.factor(sp.together(worst - worst ** 2))
    ok_c = (mode.is_nonnegative is True or sp.factor(sp.together(mode)).is_nonnegative is True) \
        and gap1.is_nonnegative is True and gap2.is_nonnegative is True
    cert.add("with lr = 1/lambda_max(D^-1/2 H D^-1/2) each mode contracts by (1 - lambda_i/"
             "lambda_max)^2 <= (1 - 1/kappa_pre)^2 <= 1 - 1/kappa_pre", "symbolic", ok_c,
             f"lambda_i in [lmin, lmax] as u = p/(1+p) in [0, 1), kappa_pre = 1 + y: "
             f"(1-1/kappa)^2 - (1-lambda_i/lmax)^2 = {gap1} >= 0, (1-1/kappa) - (1-1/kappa)^2 "
             f"= {gap2} >= 0")
    cert.assume("preconditioned GD is GD in y = D^1/2 w on D^-1/2 H D^-1/2, whose eigenmodes "
                "decouple as in Z24.gf-closed-form, so the loss ratio is at most the largest "
                "mode factor")

    # the kappa bound from blockwise Rayleigh quotients
    cert.assume("blockwise Rayleigh quotients: lambda_max(D_l^-1/2 H_l D_l^-1/2) <= "
                "lambda_max,l / min_(i in l) |g0_i| and lambda_min(...) >= lambda_min,l / "
                "max_(i in l) |g0_i|")
    c1, c2, K = sp.symbols("c1 c2 K", positive=True)  # min_l C_l1, max_l C_l2, max_l kappa_l
    dc, dK = sp.symbols("delta_c delta_K", nonnegative=True)
    # per block: lambda_max(A_l) <= 1/C_l1 <= 1/c1; lambda_min(A_l) >= 1/(C_l2 kappa_l)
    # >= 1/(c2 K); write C_l1 = c1 + dc, C_l2 kappa_l = c2 K / (1 + dK)
    up = sp.factor(sp.together(1 / c1 - 1 / (c1 + dc)))
    low = sp.factor(sp.together((1 + dK) / (c2 * K) - 1 / (c2 * K)))
    bound, r_b = _rational_zero((1 / c1) / (1 / (c2 * K)) - (c2 / c1) * K)
    ok_k = up.is_nonnegative is True and low.is_nonnegative is True and bound
    cert.add("kappa(D^-1/2 H D^-1/2) = max_l lambda_max(A_l) / min_l lambda_min(A_l) <= "
             "(1/min C_l1) / (1/(max C_l2 max kappa_l)) = r1 max_l kappa_l", "symbolic", ok_k,
             f"1/c1 - 1/C_l1 = {up} >= 0; 1/(C_l2 kappa_l) - 1/(c2 K) = {low} >= 0; the ratio "
             f"minus r1 K -> {r_b}")
    b = sp.Symbol("B", positive=True)  # r max_l kappa_l
    mono = sp.simplify(sp.diff(1 - 1 / b, b))
    cert.add("kappa_pre <= r max_l kappa_l implies 1 - 1/kappa_pre <= 1 - 1/(r max_l kappa_l) "
             "= max_l (1 - 1/(r kappa_l))", "symbolic", mono.is_positive is True,
             f"d/dB (1 - 1/B) = {mono} > 0")
    q = sp.Symbol("q", nonnegative=True)  # r1 = 1 + q: max C_l2 >= C_l2 >= C_l1 >= min C_l1
    weaker = sp.factor((1 + q) ** 2 - (1 + q))
    cert.add("with r1 = max C_l2 / min C_l1 >= 1, the squared ratio r2 = r1^2 >= r1 gives a "
             "weaker bound (both definitions hold when the r1 bound does)", "symbolic",
             weaker.is_nonnegative is True,
             f"r1 = 1 + q, q >= 0: r1^2 - r1 = {weaker} >= 0")
    okn, detail = _numeric_kappa_bound()
    cert.add("kappa(D^-1/2 H D^-1/2) <= r1 max_l kappa_l on random instances (a check of the "
             "assumed Rayleigh bounds)", "numeric", okn, detail)
    return cert


# --------------------------------------------------------------------------------------------
# Z24.scale-invariance
# --------------------------------------------------------------------------------------------
def z24_scale_invariance(eps=0) -> Certificate:
    """Z24.scale-invariance: ``H_l -> s_l H_l`` scales block l's gradient by ``s_l``.

    Parameters
    ----------
    eps : number or sympy expression
        Adam's epsilon in the statement checked; only 0 makes Adam invariant.

    Returns
    -------
    Certificate
        Claim ``"Z24.scale-invariance"``.
    """
    cert = Certificate("Z24.scale-invariance")
    s = sp.Symbol("s", positive=True)
    g = sp.Symbol("g", real=True)
    lam, e = sp.Symbol("lambda", positive=True), sp.Symbol("e", real=True)
    rg = sp.simplify((s * lam) * e - s * (lam * e))
    cert.add("at the same iterate, the scaled block's gradient is s_l times the original: "
             "(s H_l)(w_l - w*_l) = s (H_l (w_l - w*_l)) (w* unchanged)", "symbolic", rg == 0,
             f"residual {rg}")
    r = sp.simplify(sp.sign(s * g) - sp.sign(g))
    cert.add("sign(s g) = sign(g) for s > 0: sign descent's update is unchanged", "symbolic",
             r == 0, f"sign(s g) - sign(g) -> {r}")
    b1 = sp.Symbol("beta1", nonnegative=True)
    lr = sp.Symbol("lr", positive=True)
    m, v, g0 = sp.Symbol("m", real=True), sp.Symbol("v", positive=True), sp.Symbol("g0",
                                                                                    real=True)
    # induction: if m' = s m and v' = s^2 v (true at k = 0: m = 0, v0 = g0^2), the next step
    # keeps both, and the update is unchanged
    m_next = b1 * m + (1 - b1) * g
    ms_next = b1 * (s * m) + (1 - b1) * (s * g)
    r_m = sp.simplify(ms_next - s * m_next)
    r_v0 = sp.simplify((s * g0) ** 2 - s ** 2 * g0 ** 2)
    r_u = sp.simplify(lr * (s * m) / (sp.sqrt(s ** 2 * v) + eps) - lr * m / (sp.sqrt(v) + eps))
    cert.add("Adam with beta2 = 1, v0 = g0^2, eps = 0: m' = s m and v' = s^2 v hold at k = 0 "
             "and are kept by each step (induction), so the update m/sqrt(v) is unchanged "
             "(any beta1)", "symbolic", r_m == 0 and r_v0 == 0 and r_u == 0,
             f"m step -> {r_m}; v0 -> {r_v0}; update difference (eps = {eps}) -> {r_u}")
    d = sp.simplify(lr * s * g - lr * g)
    cert.add("GD's update lr s g differs from lr g unless s = 1", "symbolic",
             sp.solve(sp.Eq(d, 0), s) == [1] and d != 0, f"lr s g - lr g = {sp.factor(d)}")
    return cert


# --------------------------------------------------------------------------------------------
# all certificates
# --------------------------------------------------------------------------------------------
_CLAIMS: dict[str, Callable[[], Certificate]] = {
    "Z24.gf-closed-form": z24_gf_closed_form,
    "Z24.sf-diagonal": z24_sf_diagonal,
    "Z24.gd-lower-bound": z24_gd_lower_bound,
    "Z24.adam-bound": z24_adam_bound,
    "Z24.scale-invariance": z24_scale_invariance,
}


def certificates() -> dict[str, Certificate]:
    """Compute every Z24 certificate (claim id -> certificate, in THEORY.md order)."""
    return {claim: fn() for claim, fn in _CLAIMS.items()}


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.exit(main(certificates))
