"""Z24.js: Lanczos with full re-orthogonalization, stochastic Lanczos quadrature, the KDE on
log10 lambda and the Jensen-Shannon distance, validated against exact eigendecompositions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linsim import spectra
from linsim.experiments import z24 as E
from linsim.problems import quadratic as quad

LOG2 = math.log(2.0)


def _block(d: int, kappa: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    lam = quad.parametric_spectrum(d, kappa)
    return quad.from_blocks([lam], seed=seed).block_matrix(0), lam


def test_lanczos_with_full_steps_recovers_the_spectrum():
    H, lam = _block(60, 1e4)
    a, b = spectra.lanczos(H, np.ones(60), 60)
    T = np.diag(a) + np.diag(b, 1) + np.diag(b, -1)
    np.testing.assert_allclose(np.linalg.eigvalsh(T), lam, rtol=1e-9, atol=1e-9 * lam.max())


def test_lanczos_keeps_orthogonality_past_convergence():
    # without re-orthogonalization, converged extreme Ritz values come back as ghost copies
    H, lam = _block(200, 1e4, seed=1)
    a, b = spectra.lanczos(H, np.random.default_rng(0).standard_normal(200), 150)
    theta, _ = spectra.gauss_quadrature(a, b)
    top = theta[theta > 0.999 * lam.max()]
    assert top.size == 1  # the largest eigenvalue appears once
    assert theta.max() == pytest.approx(lam.max(), rel=1e-12)


def test_lanczos_stops_on_an_invariant_subspace():
    Q = quad.haar_orthogonal(4, np.random.default_rng(2))
    H = Q @ np.diag([1.0, 1.0, 3.0, 3.0]) @ Q.T  # two distinct eigenvalues: Krylov dim 2
    a, b = spectra.lanczos(H, np.ones(4), 10)
    assert a.size == 2
    theta, w = spectra.gauss_quadrature(a, b)
    np.testing.assert_allclose(theta, [1.0, 3.0], rtol=1e-12)
    assert w.sum() == pytest.approx(1.0)


def test_slq_weights_sum_to_one_and_nodes_are_exact_with_full_steps():
    H, lam = _block(12, 100.0)
    x, w = spectra.slq(H, n_vec=7, steps=12)
    assert w.sum() == pytest.approx(1.0, rel=1e-12)
    assert x.size == 7 * 12
    np.testing.assert_allclose(np.sort(np.unique(np.round(x, 8))), np.round(lam, 8))


def test_slq_density_error_decays_like_inverse_sqrt_n_vec():
    res = E.slq_convergence(d=40, n_vecs=(4, 16, 64, 256), steps=40, repeats=3)
    slope = np.polyfit(np.log(res["n_vec"]), np.log(res["l1"]), 1)[0]
    assert slope == pytest.approx(-0.5, abs=0.12)  # Monte Carlo: n_vec^-1/2


def test_slq_with_few_steps_approximates_a_large_block():
    H, lam = _block(300, 1e3, seed=3)
    grid = spectra.log10_grid(1.0, 1e3, points=801)
    exact = spectra.kde_log10(lam, np.full(lam.size, 1 / lam.size), grid)
    x, w = spectra.slq(H, n_vec=40, steps=30)
    est = spectra.kde_log10(x, w, grid)
    assert np.trapezoid(np.abs(est - exact), grid) < 0.15
    assert spectra.js_divergence(est, exact, grid) < 0.01


def test_kde_is_a_normalized_density_on_log10_axis():
    grid = spectra.log10_grid(1.0, 1e4)
    d = spectra.kde_log10([1.0, 100.0], [0.25, 0.75], grid, bandwidth=0.1)
    assert np.trapezoid(d, grid) == pytest.approx(1.0)
    assert grid[np.argmax(d)] == pytest.approx(2.0, abs=0.01)
    # the mass near log10 = 0 is the weight of lambda = 1
    assert np.trapezoid(d[grid < 1.0], grid[grid < 1.0]) == pytest.approx(0.25, abs=1e-6)


@settings(deadline=None, max_examples=30)
@given(st.lists(st.floats(-2, 4), min_size=1, max_size=5),
       st.lists(st.floats(-2, 4), min_size=1, max_size=5), st.floats(0.05, 0.5))
def test_js_is_symmetric_and_bounded(xa, xb, bw):
    grid = np.linspace(-4, 6, 1501)
    p = spectra.kde_log10(10.0 ** np.array(xa), np.ones(len(xa)), grid, bw)
    q = spectra.kde_log10(10.0 ** np.array(xb), np.ones(len(xb)), grid, bw)
    js = spectra.js_divergence(p, q, grid)
    assert 0.0 <= js <= LOG2
    assert js == pytest.approx(spectra.js_divergence(q, p, grid), abs=1e-12)
    assert spectra.js_divergence(p, p, grid) == pytest.approx(0.0, abs=1e-12)


def test_js_limits():
    grid = np.linspace(-2, 8, 4001)
    p = spectra.kde_log10([1.0], [1.0], grid, 0.1)
    far = spectra.kde_log10([1e5], [1.0], grid, 0.1)
    assert spectra.js_divergence(p, far, grid) == pytest.approx(LOG2, rel=1e-6)


def test_js_of_half_overlap_closed_form():
    # p = all mass at A, q = half at A and half at B (far apart): m = 3/4 at A, 1/4 at B
    grid = np.linspace(-2, 8, 8001)
    p = spectra.kde_log10([1.0], [1.0], grid, 0.05)
    q = spectra.kde_log10([1.0, 1e5], [0.5, 0.5], grid, 0.05)
    m_a, m_b = 0.75, 0.25
    exact = 0.5 * (1.0 * math.log(1.0 / m_a)) + 0.5 * (0.5 * math.log(0.5 / m_a)
                                                       + 0.5 * math.log(0.5 / m_b))
    assert spectra.js_divergence(p, q, grid) == pytest.approx(exact, rel=1e-6)


@pytest.fixture(scope="module")
def js_all():
    return E.js_run(cases=(1, 2, 3, 4), n_vec=50, steps=30)


def test_case3_blocks_are_maximally_apart_case4_close(js_all):
    assert js_all.slq[3].mean_js == pytest.approx(LOG2, rel=1e-3)
    assert js_all.slq[4].mean_js < 0.2 * LOG2
    assert js_all.slq[1].mean_js > 5 * js_all.slq[2].mean_js  # the parametric families too
    for c in js_all.cases:
        js = js_all.slq[c].js
        assert np.allclose(js, js.T) and np.all(np.diag(js) == 0)
        assert np.all((js >= 0) & (js <= LOG2))


def test_slq_js_matches_exact_eigendecomposition(js_all):
    for c in js_all.cases:
        assert js_all.slq[c].mean_js == pytest.approx(js_all.exact[c].mean_js, abs=0.02), c
    for c in (3, 4):  # 3x3 blocks: Ritz values are the eigenvalues, only the weights are noisy
        for ns, ne in zip(js_all.slq[c].nodes, js_all.exact[c].nodes, strict=True):
            np.testing.assert_allclose(np.unique(np.round(ns, 6)), np.round(ne, 6))


@pytest.mark.parametrize("call,name", [
    (lambda: spectra.kde_log10([-1.0], [1.0], np.linspace(0, 1, 5)), "positive"),
    (lambda: spectra.kde_log10([1.0], [1.0], np.linspace(0, 1, 5), bandwidth=0), "bandwidth"),
    (lambda: spectra.slq(np.eye(3), n_vec=0), "n_vec"),
    (lambda: spectra.slq(np.eye(3), dist="cauchy"), "dist"),
    (lambda: spectra.lanczos(np.ones((2, 3)), np.ones(2), 2), "square"),
    (lambda: spectra.lanczos(np.eye(3), np.zeros(3), 2), "nonzero"),
    (lambda: spectra.lanczos(np.eye(3), np.ones(3), 0), "steps"),
    (lambda: spectra.block_spectra([np.eye(2)], method="fast"), "method"),
])
def test_bad_spectra_arguments(call, name):
    with pytest.raises(ValueError, match=name):
        call()
