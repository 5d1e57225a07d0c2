"""SymPy proof certificates for K24's general linear model (Proposition 2 of K24).

The model (THEORY.md, "Gradient and Hessian of the general linear model"): per sample
``(x, y)`` the logits are ``z = W x`` (``W`` is ``c x D``; with a bias the last input is 1) and
the loss is ``l = -log softmax(z)_y = -z_y + log sum_j e^{z_j}``; the full-batch loss is
``L = (1/n) sum_i l_i``. Data statistics: ``pi_k = n_k / n``, class means ``xbar^k``, the
overall mean ``xbar`` and second moment ``Hbar = (1/n) sum_i x_i x_i^T``.

================================  =========================================================
``k24_init_grad_hess``            K24.init-grad-hess: at W = 0, grad_{w_k} L = xbar/c -
                                  pi_k xbar^k and every diagonal Hessian block is
                                  (1/c)(1 - 1/c) Hbar (off-diagonal: -(1/c^2) Hbar)
``k24_block_rows``                K24.block-rows: per sample every row of Hessian blocks
                                  sums to zero, H_kk = -sum_{j != k} H_kj
``k24_assignment_iid``            K24.assignment-iid: inputs independent of the label, mean
                                  absorbed: E||grad_k||^2 = pi_k(1-pi_k) tr Sigma / n and
                                  tr H_kk ~ pi_k(1-pi_k), so the log-log slope is 1/2
                                  (partial: assumes sample-independent probabilities)
================================  =========================================================

How each is derived (never a formula compared with itself: the left-hand sides are always
SymPy's derivatives of the loss, the right-hand sides built from the data statistics):

* **any number of classes**: the loss is written with ``c`` a symbol, the logits an
  ``IndexedBase`` and the normalizer a ``Sum`` over ``1..c``; SymPy differentiates it with
  respect to ``z_k`` and ``z_j`` (the Kronecker deltas resolved for indices in ``1..c``), sums
  the Hessian row over ``j = 1..c``, and evaluates at ``z = 0``;
* **the chain rule through ``z = W x`` and the average over samples**, on explicit small models:
  symbolic weights ``w_ka``, symbolic inputs (bias included), symbolic samples with fixed
  labels; SymPy differentiates the full-batch loss in the weights (gradient and the whole
  ``cD x cD`` Hessian) and compares the blocks with the statistics of the same symbolic data;
* **any number of samples**: the per-sample terms averaged over ``n_k`` samples of class ``k``
  and ``n - n_k`` others (``Sum`` with symbolic bounds) give ``xbar/c - pi_k xbar^k`` and
  ``(1/c)(1 - 1/c) Hbar``.

A check is ``"symbolic"`` only when SymPy reduced the residual to 0 (exponentials of the logits
are replaced by positive symbols first where the expression is rational in them). Every check
here is symbolic; K24.assignment-iid's certificate is "partial" (it lists two assumptions).

Run ``python -m proofs.k24_linear`` for a table of every check.

Examples
--------
>>> from proofs.k24_linear import certificates
>>> all(cert.passed for cert in certificates().values())
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sympy as sp

from proofs import Certificate, main

__all__ = ["certificates", "k24_assignment_iid", "k24_block_rows", "k24_init_grad_hess"]

# the number of classes, symbolic; class indices k, j, the label y and a dummy l in 1..c
_C = sp.Symbol("c", integer=True, positive=True)
_K, _J, _Y, _L = sp.symbols("k j y l", integer=True, positive=True)
_ZI = sp.IndexedBase("z")
#: Explicit models of the checks: (classes, input dimension d without the bias, labels).
EXPLICIT_INIT = ((2, 1, (0, 1, 1)), (3, 2, (0, 0, 1, 2)))
EXPLICIT_ROWS = ((2, 2), (3, 2), (4, 1))


# --------------------------------------------------------------------------------------------
# any number of classes: the logits
# --------------------------------------------------------------------------------------------
def _normalizer() -> sp.Expr:
    """``S = sum_{l=1}^c e^{z_l}``."""
    return sp.Sum(sp.exp(_ZI[_L]), (_L, 1, _C))


def _in_range(expr: sp.Expr) -> sp.Expr:
    """``doit``, then resolve the conditions ``k <= c``, ``j <= c`` that the Kronecker-delta sums
    leave (class indices lie in 1..c), and name every ``sum_l e^{z_l}`` (whatever its dummy)
    ``S``."""
    e = sp.sympify(expr).doit()
    e = e.subs({sp.Ge(_C, _K): True, sp.Ge(_C, _J): True, sp.Le(_K, _C): True,
                sp.Le(_J, _C): True})
    S = sp.Symbol("S", positive=True)
    ref = _normalizer()
    return e.replace(lambda a: isinstance(a, sp.Sum) and a.dummy_eq(
        ref.xreplace({_L: a.variables[0]}) if a.variables else ref), lambda a: S)


def _logit_derivatives() -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """SymPy's ``dl/dz_k``, ``d2l/dz_k dz_j`` and the row sum ``sum_{j=1}^c d2l/dz_k dz_j`` of
    ``l = -z_y + log sum_l e^{z_l}``, for symbolic ``c``; the normalizer is named ``S``."""
    loss = -_ZI[_Y] + sp.log(_normalizer())
    g = sp.diff(loss, _ZI[_K])
    h = sp.diff(g, _ZI[_J])
    row = _in_range(sp.Sum(_in_range(h).subs(sp.Symbol("S", positive=True), _normalizer()),
                           (_J, 1, _C)))
    return _in_range(g), _in_range(h), row


def _at_zero(expr: sp.Expr) -> sp.Expr:
    """Evaluate at ``z = 0``: every ``e^{z_i}`` is 1 and ``S = sum_{l=1}^c 1 = c``."""
    e = expr.replace(lambda a: isinstance(a, sp.Indexed) and a.base == _ZI, lambda a: 0)
    return e.subs(sp.Symbol("S", positive=True), _C)


def _general_init(hess_diag: sp.Expr | None = None) -> tuple[bool, str]:
    """Logit derivatives at ``z = 0`` for any ``c``: ``1/c - 1[y = k]``, ``hess_diag`` (default
    the true ``(1/c)(1 - 1/c)``) on the diagonal and ``-1/c^2`` off it."""
    diag = (1 / _C) * (1 - 1 / _C) if hess_diag is None else sp.sympify(hess_diag)
    g, h, _ = _logit_derivatives()
    g0 = sp.simplify(_at_zero(g) - (1 / _C - sp.KroneckerDelta(_K, _Y)))
    hkk = sp.simplify(_at_zero(h.subs(_J, _K)) - diag)
    hkj = sp.simplify(_at_zero(h).subs(sp.KroneckerDelta(_J, _K), 0) + 1 / _C**2)
    ok = g0 == 0 and hkk == 0 and hkj == 0
    return ok, (f"dl/dz_k = {g}; d2l/dz_k dz_j = {h}; at z = 0 (S = c) residuals {g0}, {hkk}, "
                f"{hkj} (j != k)")


def _general_rows(include_diagonal: bool = True) -> tuple[bool, str]:
    """Row sum of the logit Hessian over ``j = 1..c`` for any ``c`` and any ``z`` (without the
    diagonal term when ``include_diagonal`` is False: a wrong statement)."""
    _, h, row = _logit_derivatives()
    if not include_diagonal:
        row = row - _in_range(h.subs(_J, _K))
    # factor e^{z_k} out of the sum over j, then name the sum over j (= S) and cancel
    r = sp.simplify(_in_range(sp.simplify(sp.together(row))))
    return r == 0, f"sum_{{j=1}}^c d2l/dz_k dz_j = {row} -> {r}"


# --------------------------------------------------------------------------------------------
# explicit models: the chain rule through z = W x, the average over samples
# --------------------------------------------------------------------------------------------
def _weights(c: int, D: int) -> sp.Matrix:
    """Symbolic weights ``w_ka`` (``c x D``)."""
    return sp.Matrix(c, D, lambda k, a: sp.Symbol(f"w_{k}{a}", real=True))


def _inputs(d: int, i: int | str, bias: bool = True) -> sp.Matrix:
    """Symbolic input ``x_i`` (``d`` entries) with the bias input 1 appended."""
    x = [sp.Symbol(f"x_{i}{a}", real=True) for a in range(d)]
    return sp.Matrix(x + ([sp.S.One] if bias else []))


def _sample_loss(W: sp.Matrix, x: sp.Matrix, y: int) -> tuple[sp.Expr, Callable]:
    """``-z_y + log sum_j e^{z_j}`` with ``z = W x`` (the last input is the bias 1), and a map
    that rewrites every ``e^{m_0 z_0 + .. + m_{c-1} z_{c-1}}`` in an expression as
    ``E_0^m_0 .. E_{c-1}^m_{c-1}`` (``E_j = e^{z_j}`` positive symbols), so that the
    derivatives become rational functions."""
    z = W * x
    c, D = W.shape
    E = sp.symbols(f"E0:{c}", positive=True)

    def to_powers(arg: sp.Expr) -> sp.Expr:
        # w_{j,bias} enters z_j alone, with coefficient 1: it reads off m_j
        m = [sp.diff(arg, W[j, D - 1]) for j in range(c)]
        if all(mj.is_Integer for mj in m) and sp.expand(arg - sum(
                mj * zj for mj, zj in zip(m, z, strict=True))) == 0:
            return sp.Mul(*[e**mj for e, mj in zip(E, m, strict=True)])
        return sp.exp(arg)

    def rational(expr: sp.Expr) -> sp.Expr:
        return sp.sympify(expr).replace(sp.exp, to_powers)

    rational.symbols = E
    return -z[y] + sp.log(sum(sp.exp(zj) for zj in z)), rational


def _rational_zero(expr: sp.Expr, rational: Callable | None = None) -> bool:
    """Whether ``expr`` (made rational by ``rational``) cancels to 0."""
    e = sp.sympify(expr)
    if rational is not None:
        e = rational(e)
    return sp.cancel(sp.together(sp.expand(e))) == 0


def _init_explicit(c: int, d: int, labels: Sequence[int],
                   grad_rule: Callable | None = None,
                   diag_rule: Callable | None = None) -> tuple[bool, bool, bool, str]:
    """Gradient and Hessian blocks of the full-batch loss at ``W = 0`` on symbolic samples.

    ``grad_rule(c, pi_k, xbar, xbar_k)`` and ``diag_rule(c, Hbar)`` give the predictions
    (default the K24 statement: ``xbar/c - pi_k xbar^k`` and ``(1/c)(1 - 1/c) Hbar``); the
    off-diagonal blocks are compared with ``-(1/c^2) Hbar``. Returns the three verdicts and a
    detail line.
    """
    grad_rule = grad_rule or (lambda c_, p, xb, xk: xb / c_ - p * xk)
    diag_rule = diag_rule or (lambda c_, Hb: sp.Rational(1, c_) * (1 - sp.Rational(1, c_)) * Hb)
    D = d + 1
    n = len(labels)
    W = _weights(c, D)
    X = [_inputs(d, i) for i in range(n)]
    L = sum(_sample_loss(W, x, y)[0] for x, y in zip(X, labels, strict=True)) / n
    wv = list(W)
    zero = {w: 0 for w in wv}
    # the data statistics, from the same symbolic samples
    xbar = sum(X, sp.zeros(D, 1)) / n
    Hbar = sum((x * x.T for x in X), sp.zeros(D, D)) / n
    grad_ok = True
    for k in range(c):
        mine = [x for x, y in zip(X, labels, strict=True) if y == k]
        pk = sp.Rational(len(mine), n)
        xk = sum(mine, sp.zeros(D, 1)) / len(mine)
        got = sp.Matrix([sp.diff(L, W[k, a]).subs(zero) for a in range(D)])
        grad_ok &= all(sp.simplify(r) == 0 for r in got - grad_rule(c, pk, xbar, xk))
    H = sp.hessian(L, wv).subs(zero)
    diag_ok = off_ok = True
    for k in range(c):
        for j in range(c):
            block = H[k * D : (k + 1) * D, j * D : (j + 1) * D]
            want = diag_rule(c, Hbar) if k == j else -sp.Rational(1, c**2) * Hbar
            ok = all(sp.expand(r) == 0 for r in block - want)
            if k == j:
                diag_ok &= ok
            else:
                off_ok &= ok
    return grad_ok, diag_ok, off_ok, (f"c = {c}, d = {d} + bias, labels {tuple(labels)}: "
                                      f"{c * D} weights, {n * d} input symbols; grad via diff "
                                      f"of (1/n) sum_i l_i, Hessian via sympy.hessian, at W = 0")


def _general_average(diag: sp.Expr | None = None) -> tuple[bool, str]:
    """Average of the per-sample terms over ``n_k`` samples of class ``k`` (inputs ``u_i``) and
    ``n - n_k`` others (``v_i``), ``n`` and ``n_k`` symbolic; one input coordinate ``a`` (and
    ``b`` for the second moment)."""
    diag = (1 / _C) * (1 - 1 / _C) if diag is None else sp.sympify(diag)
    n, nk = sp.symbols("n n_k", integer=True, positive=True)
    i = sp.Symbol("i", integer=True, positive=True)
    u, v = sp.IndexedBase("u"), sp.IndexedBase("v")  # u[i]: x_a of sample i; u2: x_a x_b
    u2, v2 = sp.IndexedBase("uu"), sp.IndexedBase("vv")
    Su, Sv = sp.Sum(u[i], (i, 1, nk)), sp.Sum(v[i], (i, 1, n - nk))
    # per-sample gradient (1/c - 1[y = k]) x_a, averaged
    grad = (sp.Sum((1 / _C - 1) * u[i], (i, 1, nk)) + sp.Sum(v[i] / _C, (i, 1, n - nk))) / n
    xbar, xk, pk = (Su + Sv) / n, Su / nk, nk / n
    r1 = sp.simplify((grad - (xbar / _C - pk * xk)).doit())
    r1 = sp.simplify(sp.expand(sp.factor_terms(r1)))
    # per-sample diagonal block (1/c)(1 - 1/c) x_a x_b, averaged
    hess = (sp.Sum((1 / _C) * (1 - 1 / _C) * u2[i], (i, 1, nk))
            + sp.Sum((1 / _C) * (1 - 1 / _C) * v2[i], (i, 1, n - nk))) / n
    Hbar = (sp.Sum(u2[i], (i, 1, nk)) + sp.Sum(v2[i], (i, 1, n - nk))) / n
    r2 = sp.simplify(sp.expand(sp.factor_terms((hess - diag * Hbar).doit())))
    return r1 == 0 and r2 == 0, f"residuals {r1}, {r2}"


def _rows_explicit(c: int, d: int, y: int, include_diagonal: bool = True
                   ) -> tuple[bool, bool, str]:
    """Per-sample Hessian in the weights at a generic ``W`` and ``x``: every block against
    ``p_k (1[k=j] - p_j) x x^T``, and every row of blocks summed over ``j``."""
    D = d + 1
    W = _weights(c, D)
    x = _inputs(d, "s")
    loss, rational = _sample_loss(W, x, y)
    H = sp.hessian(loss, list(W))
    E = list(rational.symbols)
    S = sum(E)
    p = [e / S for e in E]
    xx = x * x.T
    form_ok = rows_ok = True
    for k in range(c):
        row = sp.zeros(D, D)
        for j in range(c):
            block = H[k * D : (k + 1) * D, j * D : (j + 1) * D]
            want = p[k] * ((1 if k == j else 0) - p[j]) * xx
            form_ok &= all(_rational_zero(r, rational) for r in block - want)
            if include_diagonal or j != k:
                row += block
        rows_ok &= all(_rational_zero(r, rational) for r in row)
    return form_ok, rows_ok, (f"c = {c}, d = {d} + bias, y = {y}: sympy.hessian in the "
                              f"{c * D} weights at symbolic W and x, e^(w_j.x) -> E_j")


# --------------------------------------------------------------------------------------------
# the certificates
# --------------------------------------------------------------------------------------------
def k24_init_grad_hess() -> Certificate:
    """K24.init-grad-hess: at ``W = 0`` the gradient is imbalanced, the diagonal blocks are not.

    Returns
    -------
    Certificate
        Claim ``"K24.init-grad-hess"``.
    """
    cert = Certificate("K24.init-grad-hess")
    ok, detail = _general_init()
    cert.add("any c: at z = 0 dl/dz_k = 1/c - 1[y=k], d2l/dz_k^2 = (1/c)(1-1/c), "
             "d2l/dz_k dz_j = -1/c^2 (j != k)", "symbolic", ok, detail)
    for c, d, labels in EXPLICIT_INIT:
        g_ok, h_ok, off_ok, detail = _init_explicit(c, d, labels)
        cert.add(f"c = {c}, d = {d}, {len(labels)} symbolic samples: at W = 0 grad_(w_k) L = "
                 "xbar/c - pi_k xbar^k for every k", "symbolic", g_ok, detail)
        cert.add(f"c = {c}, d = {d}, {len(labels)} symbolic samples: at W = 0 every diagonal "
                 "Hessian block is (1/c)(1-1/c) Hbar (equal for all k) and every off-diagonal "
                 "one -(1/c^2) Hbar", "symbolic", h_ok and off_ok, detail)
    ok, detail = _general_average()
    cert.add("any n, n_k, c: averaging (1/c - 1[y=k]) x and (1/c)(1-1/c) x x^T over the samples "
             "gives xbar/c - pi_k xbar^k and (1/c)(1-1/c) Hbar", "symbolic", ok, detail)
    return cert


def k24_block_rows() -> Certificate:
    """K24.block-rows: per sample ``sum_j H_kj = 0`` for every ``k``.

    Returns
    -------
    Certificate
        Claim ``"K24.block-rows"``.
    """
    cert = Certificate("K24.block-rows")
    ok, detail = _general_rows()
    cert.add("any c, any logits z: sum_{j=1}^c d2l/dz_k dz_j = 0 (so sum_j H_kj = 0 x x^T "
             "through z = W x)", "symbolic", ok, detail)
    for c, d in EXPLICIT_ROWS:
        for y in range(c) if c <= 3 else (0,):
            form_ok, rows_ok, detail = _rows_explicit(c, d, y)
            cert.add(f"c = {c}, d = {d}, label {y}, generic W and x: H_kj = p_k (1[k=j] - p_j) "
                     "x x^T and sum_j H_kj = 0 for every k", "symbolic", form_ok and rows_ok,
                     detail)
    return cert


def _iid_variance(weights_sq: sp.Expr | None = None) -> tuple[bool, str, sp.Expr]:
    """``E ||(1/n) sum_i (pi - y_i)(x_i - m)||^2`` for i.i.d. centred inputs of covariance
    trace ``s2``, ``n_k = n pi`` samples with ``y_i = 1`` and ``n - n_k`` with ``y_i = 0``:
    cross terms vanish (independent, mean 0), each diagonal term is ``(pi - y_i)^2 s2``. The
    sum over the two kinds of samples is done by SymPy (``Sum`` with symbolic bounds);
    ``weights_sq`` replaces ``(pi - y_i)^2`` of the class-``k`` samples (a wrong statement, for
    the tests). Returns whether it equals ``pi (1 - pi) s2 / n`` and the expression."""
    n, i = sp.symbols("n i", integer=True, positive=True)
    pi, s2 = sp.symbols("pi s2", positive=True)
    nk = n * pi
    own = (pi - 1) ** 2 if weights_sq is None else weights_sq
    total = (sp.Sum(own * s2, (i, 1, nk)) + sp.Sum(pi**2 * s2, (i, 1, n - nk))).doit() / n**2
    r = sp.simplify(total - pi * (1 - pi) * s2 / n)
    return r == 0, f"E||g_k||^2 = {sp.factor(total)}; minus pi(1-pi) s2/n: {r}", total


def _iid_mean_absorbed() -> tuple[bool, str]:
    """With ``p_ik = p_k`` for every sample, ``grad_{w_k} = (1/n) sum_i (p_k - y_ik) x_i`` has
    the mean part ``(p_k - pi_k) m``; it vanishes exactly when the bias coordinate of the
    gradient does (``p_k = pi_k``), and then ``sum_i (pi_k - y_ik) = 0`` so the gradient equals
    ``(1/n) sum_i (pi_k - y_ik)(x_i - m)``: the centred sum of the variance step."""
    n, i = sp.symbols("n i", integer=True, positive=True)
    pi, pk, mean = sp.symbols("pi p_k m", real=True)
    u = sp.IndexedBase("u")  # centred inputs x_i - m, one coordinate
    nk = n * pi
    grad = (sp.Sum((pk - 1) * (mean + u[i]), (i, 1, nk))
            + sp.Sum(pk * (mean + u[i]), (i, nk + 1, n))) / n
    bias = (sp.Sum(pk - 1, (i, 1, nk)) + sp.Sum(pk, (i, nk + 1, n))).doit() / n
    r_bias = sp.simplify(bias - (pk - pi))
    centred = (sp.Sum((pi - 1) * u[i], (i, 1, nk)) + sp.Sum(pi * u[i], (i, nk + 1, n))) / n
    r = sp.simplify(sp.expand((grad.subs(pk, pi) - centred).doit()))
    return r_bias == 0 and r == 0, (f"bias coordinate of grad_k = {sp.factor(bias)} (0 iff "
                                    f"p_k = pi_k); grad_k - centred sum at p_k = pi_k: {r}")


_HALF = sp.Rational(1, 2)


def _iid_slope(exponent: sp.Expr = _HALF) -> tuple[bool, str]:
    """``d log ||g_k|| / d log tr H_kk`` with ``||g_k|| = (pi (1 - pi) s2 / n)^exponent`` and
    ``tr H_kk = pi (1 - pi) M2`` (``p_ik = pi_k`` for every sample: ``tr H_kk = (1/n) sum_i
    pi (1 - pi) ||a_i||^2``), both as functions of ``pi``: the slope of the scatter over the
    classes."""
    pi, s2, n, M2 = sp.symbols("pi s2 n M2", positive=True)
    g = (pi * (1 - pi) * s2 / n) ** exponent
    h = pi * (1 - pi) * M2
    slope = sp.simplify(sp.diff(sp.log(g), pi) / sp.diff(sp.log(h), pi))
    return sp.simplify(slope - sp.Rational(1, 2)) == 0, f"d log||g|| / d log tr H = {slope}"


def k24_assignment_iid() -> Certificate:
    """K24.assignment-iid: slope 1/2 of ``log ||grad_k||`` against ``log tr H_kk`` on inputs
    independent of the label (THEORY.md), as a variance computation.

    Steps derived symbolically: (1) once the bias coordinate of ``grad_{w_k}`` is 0 (the mean
    absorbed, ``p_k = pi_k``) the gradient is the centred sum ``(1/n) sum_i (pi_k - y_ik)(x_i -
    m)``; (2) its expected squared norm over i.i.d. centred inputs is ``pi_k (1 - pi_k) tr Sigma
    / n`` (``~ n_k / n^2``: norm ``~ sqrt(n_k) / n``); (3) with ``tr H_kk = pi_k (1 - pi_k)
    E||a||^2`` the log-log slope over the classes is exactly 1/2. Assumed, not derived: the
    probabilities do not depend on the sample (classes far from fitted), and the realized norm
    is its expectation (concentration over the ``D`` input coordinates).

    Returns
    -------
    Certificate
        Claim ``"K24.assignment-iid"``, grade "partial" (it lists what it assumes).
    """
    cert = Certificate("K24.assignment-iid")
    ok, detail = _iid_mean_absorbed()
    cert.add("mean absorbed (bias coordinate of grad_k = p_k - pi_k = 0) => grad_k = (1/n) "
             "sum_i (pi_k - y_ik)(x_i - m)", "symbolic", ok, detail)
    ok, detail, _ = _iid_variance()
    cert.add("i.i.d. centred inputs, n_k = n pi_k: E||grad_k||^2 = pi_k (1 - pi_k) tr Sigma / n",
             "symbolic", ok, detail)
    ok, detail = _iid_slope()
    cert.add("||grad_k|| ~ sqrt(pi_k (1 - pi_k)) and tr H_kk ~ pi_k (1 - pi_k): slope of "
             "log ||grad_k|| against log tr H_kk is 1/2", "symbolic", ok, detail)
    cert.assume("p_ik = p_k for every sample i (the classes are far from fitted)")
    cert.assume("||grad_k||^2 is close to its expectation (concentration over many input "
                "coordinates)")
    return cert


_CLAIMS: dict[str, Callable[[], Certificate]] = {
    "K24.init-grad-hess": k24_init_grad_hess,
    "K24.block-rows": k24_block_rows,
    "K24.assignment-iid": k24_assignment_iid,
}


def certificates() -> dict[str, Certificate]:
    """Compute every certificate of this module.

    Returns
    -------
    dict of str to Certificate
        Claim id -> certificate, in THEORY.md order.
    """
    return {claim: fn() for claim, fn in _CLAIMS.items()}


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.exit(main(certificates))
