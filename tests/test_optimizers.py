"""Tests for :mod:`linsim.optimizers`: every update rule against an independent NumPy reference,
rates fitted from trajectories against the theory, the drivers, stopping rules and sweeps."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from linsim import optimizers as opt
from linsim import rates
from linsim.problems import quadratic as quad


@pytest.fixture(scope="module")
def case3():
    return quad.case3(0)


def _oracle(p):
    def f(w, g):
        g[:] = p.H @ (w - p.w_star)
        return 0.5 * (w - p.w_star) @ g

    return opt.Oracle(f, p.w0, 0.0, p.offsets)


def _reference(p, method: str, steps: int, lr: float, **kw) -> np.ndarray:
    """Plain NumPy re-implementation of the update rules (iterates w_0..w_steps)."""
    H, ws = p.H, p.w_star
    w = p.w0.copy()
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    out = [w.copy()]
    for k in range(steps):
        g = H @ (w - ws)
        if method == "gd":
            w = w - lr * g
        elif method == "heavy_ball":
            m = kw["beta"] * m - lr * g
            w = w + m
        elif method == "adam":
            b1, b2, eps = kw["beta1"], kw["beta2"], kw["eps"]
            if k == 0 and kw["v0"] == "g0sq":
                v = g * g
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            mh, vh = m, v
            if kw["bias_correction"]:
                mh = m / (1 - b1 ** (k + 1)) if b1 < 1 else m
                vh = v / (1 - b2 ** (k + 1)) if b2 < 1 else v
            w = w - lr * mh / (np.sqrt(vh) + eps)
        elif method == "sign":
            lr_k = lr * kw.get("decay", 1.0) ** k
            w = w - lr_k * np.sign(g)
        elif method == "normalized":
            w = w - lr * g / np.linalg.norm(g)
        out.append(w.copy())
    return np.array(out)


# ---------------------------------------------------------------------------------------------
# update rules against NumPy
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method,o,kw", [
    ("gd", opt.gd(1e-4), {}),
    ("heavy_ball", opt.heavy_ball(1e-4, 0.9), {"beta": 0.9}),
    ("adam", opt.adam(1e-2), dict(beta1=0.9, beta2=0.999, eps=1e-8, bias_correction=True,
                                  v0="zero")),
    ("adam", opt.adam(1e-2, 0.5, 0.9, 1e-6, bias_correction=False, v0="g0sq"),
     dict(beta1=0.5, beta2=0.9, eps=1e-6, bias_correction=False, v0="g0sq")),
    ("adam", opt.adam01(1e-2), dict(beta1=0.0, beta2=1.0, eps=0.0, bias_correction=False,
                                    v0="g0sq")),
    ("adam", opt.rmsprop(1e-2, 0.99, 1e-8), dict(beta1=0.0, beta2=0.99, eps=1e-8,
                                                  bias_correction=False, v0="zero")),
    ("sign", opt.sign_descent(1e-2), {}),
    ("sign", opt.sign_descent(1e-2, "geometric", 0.97), {"decay": 0.97}),
    ("normalized", opt.normalized_gd(1e-2), {}),
])
def test_update_rules_match_numpy(case3, method, o, kw):
    ref = _reference(case3, method, 60, o.lr, **kw)
    got = opt.run(case3, o, max_iter=60, record_iterates=61).iterates
    scale = np.max(np.abs(ref))
    assert np.max(np.abs(got - ref)) <= 1e-12 * scale


@njit
def _adam_reference_step(hyper, k, w, g, m, v):
    """The Adam branch of :func:`linsim.optimizers.update` before it was made branch-free,
    verbatim (Python error model, an ``if`` around the store)."""
    n = w.size
    lr = hyper[0]
    b1 = hyper[1]
    b2 = hyper[2]
    eps = hyper[3]
    bc = hyper[4] != 0.0
    if k == 0 and hyper[5] != 0.0:
        for i in range(n):
            v[i] = g[i] * g[i]
    c1 = 1.0 - b1 ** (k + 1) if (bc and b1 < 1.0) else 1.0
    c2 = math.sqrt(1.0 - b2 ** (k + 1)) if (bc and b2 < 1.0) else 1.0
    for i in range(n):
        m[i] = b1 * m[i] + (1.0 - b1) * g[i]
        v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i]
        if m[i] != 0.0:
            w[i] -= lr * (m[i] / c1) / (math.sqrt(v[i]) / c2 + eps)


@pytest.mark.parametrize("o", [opt.adam(1e-2), opt.adam(3e-3, 0.0, 0.999, name="a0"),
                               opt.adam(1e-2, 0.5, 0.9, 0.0, bias_correction=False, v0="g0sq"),
                               opt.adam01(0.1), opt.rmsprop(1e-2, 0.99, 0.0)])
def test_adam_update_is_bit_identical_to_the_branching_rule(o):
    # zeros in g (m = 0 entries), signed zeros in w and g, eps = 0 with v = 0: the compiled
    # branch-free rule must give the old rule's iterates bit for bit, and never move an entry
    # with m = 0 (no 0/0 NaN leaking in)
    rng = np.random.default_rng(3)
    n = 1001
    w = rng.standard_normal(n)
    w[::5] = -0.0
    w[1::5] = 0.0
    hyper = o.vector()
    off = np.array([0, n], dtype=np.int64)
    ref = [w.copy(), np.zeros(n), np.zeros(n)]
    got = [w.copy(), np.zeros(n), np.zeros(n)]
    for k in range(12):
        g = rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 3, n)
        g[rng.random(n) < 0.3] = 0.0
        g[rng.random(n) < 0.1] = -0.0
        g[::3] = 0.0  # v0 = g0^2 = 0 there: with eps = 0 the denominator stays 0 while m = 0
        if k == 0:
            g0_zero = g == 0.0
        elif hyper[2] == 1.0:
            g[g0_zero] = 0.0  # beta2 = 1 freezes v = g0^2: the old rule was undefined there
        still = got[0].copy()
        _adam_reference_step(hyper, k, ref[0], g, ref[1], ref[2])
        opt.update(o.code, hyper, k, got[0], g, got[1], got[2], off)
        for a, b in zip(got, ref, strict=True):
            assert np.array_equal(a.view(np.int64), b.view(np.int64))
        zero_m = got[1] == 0.0
        assert np.array_equal(got[0][zero_m].view(np.int64), still[zero_m].view(np.int64))
        assert np.all(np.isfinite(got[0]))


def test_adam_zero_denominator_with_nonzero_m_gives_inf_not_an_exception():
    # beta2 = 1, eps = 0, v0 = g0^2 = 0 on entry 0, then g != 0 there: m != 0 over 0
    o = opt.adam01(0.1)
    w, m, v = np.zeros(2), np.zeros(2), np.zeros(2)
    off = np.array([0, 2], dtype=np.int64)
    opt.update(o.code, o.vector(), 0, w, np.array([0.0, 1.0]), m, v, off)
    opt.update(o.code, o.vector(), 1, w, np.array([2.0, 1.0]), m, v, off)
    assert w[0] == -math.inf and w[1] == -0.2


@pytest.mark.parametrize("o", [opt.gd(3e-4), opt.heavy_ball(2e-4, 0.8), opt.adam(1e-2),
                               opt.adam01(0.1), opt.rmsprop(1e-2), opt.sign_descent(1e-2),
                               opt.normalized_gd(1e-2, "polynomial", 0.5)])
def test_python_oracle_driver_matches_compiled_driver(case3, o):
    a = opt.run(case3, o, max_iter=300, tol=1e-8, record_iterates=301)
    b = opt.run(_oracle(case3), o, max_iter=300, tol=1e-8, record_iterates=301)
    assert a.status == b.status and a.iterations == b.iterations
    np.testing.assert_allclose(b.iterates, a.iterates, rtol=0, atol=1e-12)
    np.testing.assert_allclose(b.gaps, a.gaps, rtol=1e-10)


def test_block_gd_steps_each_block_with_its_own_rate(case3):
    o = opt.block_gd([1e-3, 2e-3, 3e-3], lr=0.5)
    w = opt.run(case3, o, max_iter=1, record_iterates=2).iterates[1]
    g = case3.grad(case3.w0)
    steps = np.repeat([0.5e-3, 1e-3, 1.5e-3], 3)
    np.testing.assert_allclose(w, case3.w0 - steps * g, rtol=1e-14, atol=1e-14)


# ---------------------------------------------------------------------------------------------
# rates measured from trajectories
# ---------------------------------------------------------------------------------------------
def test_gd_trajectory_equals_discrete_closed_form(case3):
    lr = 1.9 / case3.eigenvalues.max()
    r = opt.run(case3, opt.gd(lr), max_iter=3000)
    closed = case3.gd_gap(np.arange(r.gaps.size), lr)
    m = closed > 1e-14 * closed[0]
    assert np.max(np.abs(r.gaps[m] - closed[m]) / closed[m]) < 1e-9


@pytest.mark.parametrize("case_no", [3, 4])
def test_gd_fitted_rate_is_the_slowest_mode(case_no):
    p = quad.case(case_no, seed=2)
    lam = p.eigenvalues
    lr = 2.0 / (lam.min() + lam.max())
    gaps = opt.run(p, opt.gd(lr), max_iter=80_000).relative
    k = np.arange(gaps.size)
    fit = rates.exp_rate(k, gaps, v_min=1e-22, v_max=1e-8)  # above the rounding floor ~1e-26
    predicted = -2.0 * math.log((lam.max() - lam.min()) / (lam.max() + lam.min()))
    assert fit.points > 100
    assert fit.value == pytest.approx(predicted, rel=1e-3)


def test_heavy_ball_optimal_rate():
    # Polyak's parameters on a diagonal quadratic: the error contracts like sqrt(beta) per step
    p = quad.from_blocks([[1.0, 3.0, 10.0, 30.0, 100.0]], rotation="identity", seed=1,
                         w_star=np.zeros(5), w0=np.ones(5))  # w* = 0: no rounding floor
    mu, L = 1.0, 100.0
    lr = 4.0 / (math.sqrt(L) + math.sqrt(mu)) ** 2
    beta = ((math.sqrt(L) - math.sqrt(mu)) / (math.sqrt(L) + math.sqrt(mu))) ** 2
    gaps = opt.run(p, opt.heavy_ball(lr, beta), max_iter=400).relative
    k = np.arange(gaps.size)
    fit = rates.exp_rate(k, gaps, v_min=1e-200, v_max=1e-30)
    # loss ~ k^2 beta^k at the double root: the fitted rate approaches -log(beta) from below
    assert fit.value == pytest.approx(-math.log(beta), rel=0.03)
    gd_best = opt.tune(p, opt.gd(1.0), opt.lr_grid(1e-4, 1.0, 8)[::-1], tol=1e-10).iterations
    hb = opt.iterations_to_tolerance(p, opt.heavy_ball(lr, beta), tol=1e-10)
    assert hb < gd_best / 3


def test_adam01_is_gd_preconditioned_by_abs_g0(case3):
    g0 = case3.grad(case3.w0)
    D = np.abs(g0)
    lr = 0.05
    w = case3.w0.copy()
    ref = [w.copy()]
    for _ in range(100):
        w = w - lr * case3.grad(w) / D
        ref.append(w.copy())
    got = opt.run(case3, opt.adam01(lr), max_iter=100, record_iterates=101).iterates
    np.testing.assert_allclose(got, np.array(ref), rtol=1e-12, atol=1e-12)


def test_block_gd_oracle_rate_is_the_worst_block(case3):
    gaps = opt.run(case3, opt.oracle_block_gd(case3), max_iter=60).relative
    k = np.arange(gaps.size)
    fit = rates.exp_rate(k, gaps, v_min=1e-28, v_max=1e-4)
    kl = case3.block_kappas.max()
    assert fit.value == pytest.approx(-2.0 * math.log((kl - 1) / (kl + 1)), rel=0.02)


def test_sign_descent_moves_each_coordinate_by_the_step():
    p = quad.from_blocks([[1.0, 10.0, 100.0]], rotation="identity", w_star=[0, 0, 0],
                         w0=[1.0, -2.0, 0.5])
    w = opt.run(p, opt.sign_descent(0.01), max_iter=40, record_iterates=41).iterates
    np.testing.assert_allclose(w[40], [0.6, -1.6, 0.1], rtol=1e-12)
    geo = opt.run(p, opt.sign_descent(0.01, "geometric", 0.9), max_iter=40,
                  record_iterates=41).iterates
    travel = 0.01 * (1 - 0.9**40) / (1 - 0.9)
    np.testing.assert_allclose(np.abs(geo[40] - p.w0), travel, rtol=1e-12)


def test_sign_of_zero_gradient_does_not_move():
    p = quad.from_blocks([[1.0, 2.0]], rotation="identity", w_star=[0, 0], w0=[0.0, 1.0])
    w = opt.run(p, opt.sign_descent(0.25), max_iter=4, record_iterates=5).iterates
    assert np.all(w[:, 0] == 0.0)
    np.testing.assert_array_equal(w[:, 1], [1.0, 0.75, 0.5, 0.25, 0.0])


def test_normalized_gd_steps_have_the_scheduled_length(case3):
    o = opt.normalized_gd(0.1, "polynomial", 0.5)
    w = opt.run(case3, o, max_iter=20, record_iterates=21).iterates
    lengths = np.linalg.norm(np.diff(w, axis=0), axis=1)
    np.testing.assert_allclose(lengths, 0.1 / np.sqrt(np.arange(1, 21)), rtol=1e-12)


@settings(deadline=None, max_examples=25)
@given(st.lists(st.floats(1.0, 1e4), min_size=2, max_size=6), st.integers(0, 10_000))
def test_gd_iterations_within_the_contraction_bound(lams, seed):
    lam = np.array(lams)
    if lam.max() / lam.min() < 1.5:
        lam[0] = lam.max() * 2
    p = quad.from_blocks([lam], seed=seed)
    lr = 2.0 / (lam.min() + lam.max())
    rho2 = ((lam.max() - lam.min()) / (lam.max() + lam.min())) ** 2
    it = opt.iterations_to_tolerance(p, opt.gd(lr), tol=1e-6, max_iter=10**6)
    assert it is not None
    assert it <= math.ceil(math.log(1e-6) / math.log(rho2)) + 1


# ---------------------------------------------------------------------------------------------
# stopping rules and sweeps
# ---------------------------------------------------------------------------------------------
def test_reached_is_the_first_iteration_below_tol(case3):
    full = opt.run(case3, opt.gd(1e-4), max_iter=5000).relative
    r = opt.run(case3, opt.gd(1e-4), max_iter=5000, tol=1e-3)
    assert r.status == opt.REACHED
    assert r.iterations == int(np.argmax(full <= 1e-3))


def test_divergence_and_budget(case3):
    big = 2.5 / case3.eigenvalues.max()
    assert opt.run(case3, opt.gd(big), max_iter=10_000, tol=1e-6).status == opt.DIVERGED
    r = opt.run(case3, opt.gd(1e-6), max_iter=50, tol=1e-6)
    assert r.status == opt.NOT_REACHED and r.iterations == 50


def test_slack_drops_a_run_stuck_on_a_floor(case3):
    r = opt.run(case3, opt.sign_descent(0.1), max_iter=100_000, tol=1e-12, slack=2.0,
                record=False)
    assert r.status == opt.STALLED and r.iterations < 20_000


def test_pruned_sweep_finds_the_same_best_as_a_full_sweep(case3):
    lrs = opt.lr_grid(1e-6, 1.0, 8)[::-1]
    full = opt.sweep(case3, (opt.gd(x) for x in lrs), prune=False)
    pruned = opt.sweep(case3, (opt.gd(x) for x in lrs), prune=True)
    assert pruned.iterations == full.iterations and pruned.best.lr == full.best.lr
    by_lr = {o.lr: it for o, s, it in full.trials if s == opt.REACHED}
    assert min(by_lr.values()) == full.iterations


def test_tune_refines_around_the_coarse_best(case3):
    lrs = opt.lr_grid(1e-6, 1.0, 2)[::-1]
    coarse = opt.sweep(case3, (opt.gd(x) for x in lrs))
    fine = opt.tune(case3, opt.gd(1.0), lrs, refine=4)
    assert fine.iterations <= coarse.iterations


def test_tune_all_keeps_the_best_template(case3):
    res = opt.tune_all(case3, [opt.heavy_ball(1.0, b) for b in (0.99, 0.9, 0.5)],
                       opt.lr_grid(1e-6, 1.0, 4)[::-1])
    singles = [opt.tune(case3, opt.heavy_ball(1.0, b), opt.lr_grid(1e-6, 1.0, 4)[::-1],
                        prune=True).iterations for b in (0.99, 0.9, 0.5)]
    assert res.iterations == min(x for x in singles if x is not None)


# ---------------------------------------------------------------------------------------------
# input validation: one line naming the parameter and its range
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make,name", [
    (lambda: opt.gd(-1.0), "lr"),
    (lambda: opt.gd(float("nan")), "lr"),
    (lambda: opt.heavy_ball(0.1, 1.0), "beta"),
    (lambda: opt.adam(0.1, beta1=1.0), "beta1"),
    (lambda: opt.adam(0.1, beta2=1.5), "beta2"),
    (lambda: opt.adam(0.1, eps=-1.0), "eps"),
    (lambda: opt.adam(0.1, v0="ones"), "v0"),
    (lambda: opt.adam(0.1, beta2=1.0, eps=0.0), "beta2"),
    (lambda: opt.sign_descent(0.1, "cosine"), "schedule"),
    (lambda: opt.sign_descent(0.1, "geometric", 1.5), "decay"),
    (lambda: opt.block_gd([]), "block_lrs"),
    (lambda: opt.lr_grid(1.0, 0.1), "hi"),
])
def test_bad_hyperparameters(make, name):
    with pytest.raises(ValueError, match=name) as e:
        make()
    assert "\n" not in str(e.value)


def test_bad_run_arguments(case3):
    with pytest.raises(ValueError, match="max_iter"):
        opt.run(case3, opt.gd(0.1), max_iter=-1)
    with pytest.raises(ValueError, match="tol"):
        opt.run(case3, opt.gd(0.1), tol=-1.0)
    with pytest.raises(ValueError, match="block_gd"):
        opt.run(case3, opt.block_gd([1.0, 1.0]), max_iter=1)


@pytest.mark.parametrize("o", [opt.adam(1e-2), opt.gd(0.1), opt.sign_descent(1e-2)])
def test_field_driver_matches_the_quadratic_driver(o):
    """field_iterates (any compiled field's gradient) and run (the compiled quadratic loop) give
    the same iterates: the three drivers share one update rule."""
    from linsim.problems.quadratic import case, quadratic_field

    q = case(3, seed=1)
    r = opt.run(q, o, max_iter=40, tol=0.0)
    w = opt.field_iterates(quadratic_field, q.params("gradient"), q.w0, o, [0, r.iterations])
    np.testing.assert_array_equal(w[0], q.w0)
    np.testing.assert_allclose(w[1], r.w, rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="sorted"):
        opt.field_iterates(quadratic_field, q.params("gradient"), q.w0, o, [3, 1])
