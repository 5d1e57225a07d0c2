"""The K24 general linear model: data, loss, gradient, Hessian, flows' right-hand side.

THEORY.md, "Gradient and Hessian of the general linear model" (K24.init-grad-hess,
K24.block-rows) and "The linear-model experiment" (the data). Every derivative is checked
against finite differences or an independent NumPy/SciPy reference, never against itself.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp

from linsim.problems import zipf
from linsim.problems.linear import (
    LinearData,
    LinearModel,
    _uniform_rows,
    gaussian_mixture,
    heavy_tailed_labels,
    heavy_tailed_sizes,
    linear_field,
    linear_summary,
    zipf_counts,
)


def _random_data(seed: int, c: int, n: int, d: int, scale: float = 1.0) -> LinearData:
    rng = np.random.default_rng(seed)
    y = np.sort(np.concatenate([np.arange(c), rng.integers(0, c, n - c)])).astype(np.int64)
    Xa = np.ones((n, d + 1))
    Xa[:, :d] = rng.standard_normal((n, d)) * scale
    return LinearData(Xa, y, c, np.zeros(c, dtype=np.intp), "random")


def _ref_loss(model: LinearModel, W: np.ndarray) -> tuple[float, np.ndarray]:
    """Loss and per-class losses with SciPy's logsumexp (an independent implementation)."""
    Z = model.A.astype(np.float64) @ W.T
    per = logsumexp(Z, axis=1) - Z[np.arange(model.n), model.y]
    cls = np.bincount(model.y, per, minlength=model.c) / model.counts
    return float(per.mean()), cls


# ----------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("m", [2, 3, 5, 7])
def test_heavy_tailed_labels_structure(m):
    d = heavy_tailed_labels(m, seed=3)
    s = heavy_tailed_sizes(m)
    assert (d.classes, d.n, d.d) == (2**m - 1, m * 2**m, (m + 1) * 2**m)
    assert (s["classes"], s["n"], s["d"]) == (d.classes, d.n, d.d)
    counts = d.counts
    for i in range(m):  # group i: 2^i classes of 2^(m-i) samples
        sel = d.groups == i
        assert sel.sum() == 2**i
        assert np.all(counts[sel] == 2 ** (m - i))
        assert counts[sel].sum() == 2**m  # equal mass
    # the construction groups are the equal-mass groups of the frequencies
    assert np.array_equal(zipf.equal_mass_groups(d.pi, m), d.groups)
    assert np.all(d.Xa[:, -1] == 1.0)
    X = d.X
    assert X.min() >= 0.0 and X.max() < 1.0
    assert abs(X.mean() - 0.5) < 0.02 and abs(X.var() - 1 / 12) < 0.01


def test_heavy_tailed_labels_seeded_and_float32_is_rounded_float64():
    a, b = heavy_tailed_labels(4, seed=5), heavy_tailed_labels(4, seed=5)
    assert np.array_equal(a.Xa, b.Xa) and np.array_equal(a.y, b.y)
    assert not np.array_equal(a.Xa, heavy_tailed_labels(4, seed=6).Xa)
    f = heavy_tailed_labels(4, seed=5, dtype=np.float32)
    assert f.Xa.dtype == np.float32
    assert np.array_equal(f.Xa, a.Xa.astype(np.float32))


def test_uniform_rows_do_not_depend_on_the_chunk_size():
    out1, out2 = np.empty((37, 11)), np.empty((37, 11))
    _uniform_rows(np.random.default_rng(1), out1)
    _uniform_rows(np.random.default_rng(1), out2, chunk_bytes=8 * 10 * 3)  # 3 rows per chunk
    assert np.array_equal(out1, out2)


def test_gaussian_mixture_counts_and_seed():
    d = gaussian_mixture(12, 1.2, 500, 7, seed=4)
    counts = d.counts
    assert counts.sum() == 500 and counts.min() >= 1
    assert np.all(np.diff(counts) <= 0)  # Zipf order kept
    pi = zipf.zipf_frequencies(12, 1.2)
    assert np.abs(counts / 500 - pi).max() < 12 / 500
    assert np.array_equal(d.Xa, gaussian_mixture(12, 1.2, 500, 7, seed=4).Xa)
    assert d.n_groups == 5 and set(d.groups) == set(range(5))
    assert np.array_equal(zipf_counts(20, np.full(20, 0.05)), np.ones(20, dtype=np.int64))


def test_invalid_input_raises_one_line_errors():
    with pytest.raises(ValueError, match="m must be"):
        heavy_tailed_labels(0)
    with pytest.raises(ValueError, match="dtype"):
        heavy_tailed_labels(3, dtype=np.int32)
    with pytest.raises(ValueError, match="n must be"):
        gaussian_mixture(10, 1.0, 5, 3)
    d = _random_data(0, 4, 20, 3)
    model = LinearModel(d)
    with pytest.raises(ValueError, match="W must have shape"):
        model.loss(np.zeros((4, 3)))
    empty = LinearData(d.Xa[:3], np.zeros(3, dtype=np.int64), 4, d.groups, "empty")
    with pytest.raises(ValueError, match="at least one sample"):
        LinearModel(empty)


# ----------------------------------------------------------------------------------------------
# loss and gradient
# ----------------------------------------------------------------------------------------------
@settings(deadline=None, max_examples=40)
@given(seed=st.integers(0, 10**6), c=st.integers(2, 6), d=st.integers(1, 5),
       scale=st.floats(0.01, 10.0), bias=st.booleans())
def test_loss_matches_scipy_and_gradient_matches_finite_differences(seed, c, d, scale, bias):
    data = _random_data(seed, c, 3 * c + 2, d)
    model = LinearModel(data, bias=bias)
    W = np.random.default_rng(seed + 1).standard_normal(model.shape) * scale
    G = np.empty_like(W)
    L, cls = model.loss_grad(W, G)
    ref, ref_cls = _ref_loss(model, W)
    assert L == pytest.approx(ref, rel=1e-12, abs=1e-14)
    np.testing.assert_allclose(cls, ref_cls, rtol=1e-11, atol=1e-14)
    assert L == pytest.approx(float(model.pi @ cls), rel=1e-13)
    h = 1e-6 * max(1.0, scale)
    fd = np.empty_like(W)
    for idx in np.ndindex(W.shape):
        E = np.zeros_like(W)
        E[idx] = h
        fd[idx] = (_ref_loss(model, W + E)[0] - _ref_loss(model, W - E)[0]) / (2 * h)
    np.testing.assert_allclose(G, fd, atol=1e-7 * max(1.0, np.abs(G).max()) * max(1.0, scale))
    # the rows of the gradient sum to zero (softmax sums to one)
    np.testing.assert_allclose(G.sum(axis=0), 0.0, atol=1e-14 * max(1.0, np.abs(G).max()) * 10)


def test_huge_logits_give_exact_losses_without_overflow():
    """Per-sample losses from 1e-300 to 1e4: compared with 60-digit arithmetic."""
    data = _random_data(2, 3, 9, 2)
    model = LinearModel(data)
    W = np.random.default_rng(3).standard_normal(model.shape) * 3e3
    L, cls = model.loss_grad(W, np.empty_like(W))
    Z = model.A @ W.T
    with mpmath.workdps(60):
        per = []
        for i in range(model.n):
            row = [mpmath.mpf(float(z)) for z in Z[i]]
            top = max(row)
            lse = top + mpmath.log(mpmath.fsum(mpmath.exp(z - top) for z in row))
            per.append(lse - row[int(model.y[i])])
        ref = [float(mpmath.fsum(p for p, yy in zip(per, model.y, strict=True) if yy == k)
                     / int(model.counts[k])) for k in range(model.c)]
    assert np.all(np.isfinite(cls))
    np.testing.assert_allclose(cls, ref, rtol=1e-12)


def test_stack_equals_single_models_and_float32_agrees():
    data = heavy_tailed_labels(4, seed=1)
    model = LinearModel(data)
    rng = np.random.default_rng(0)
    Ws = rng.standard_normal((3, *model.shape)) * 0.05
    Gs = np.empty_like(Ws)
    Ls, cls = model.loss_grad(Ws, Gs)
    for j in range(3):
        g = model.grad(Ws[j])
        assert Ls[j] == pytest.approx(model.loss(Ws[j]), rel=1e-14)
        np.testing.assert_allclose(Gs[j], g, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(cls[j], model.class_losses(Ws[j]), rtol=1e-13)
    m32 = LinearModel(heavy_tailed_labels(4, seed=1, dtype=np.float32))
    G32 = np.empty_like(Ws)
    L32, _ = m32.loss_grad(Ws, G32)
    assert G32.dtype == np.float64
    np.testing.assert_allclose(L32, Ls, rtol=1e-5)
    np.testing.assert_allclose(G32, Gs, atol=1e-5 * np.abs(Gs).max())


def test_gram_and_losses_from_logits():
    # K = A A^T, and the softmax half of loss_grad on given logits: same losses, and residuals
    # R whose R_b^T A is model b's gradient
    model = LinearModel(heavy_tailed_labels(3, seed=4))
    K = model.gram
    np.testing.assert_allclose(K, model.A @ model.A.T, rtol=1e-14)
    assert K is model.gram and K.shape == (model.n, model.n)
    rng = np.random.default_rng(1)
    Ws = rng.standard_normal((2, *model.shape)) * 0.3
    Gs = np.empty_like(Ws)
    L, cls = model.loss_grad(Ws, Gs)
    Z = np.concatenate([model.logits(W) for W in Ws], axis=1)
    R = np.empty_like(Z)
    L2, cls2 = model.loss_logits(Z, R, 2)
    np.testing.assert_array_equal(L2, L)
    np.testing.assert_array_equal(cls2, cls)
    for b in range(2):
        np.testing.assert_allclose(R[:, b * model.c : (b + 1) * model.c].T @ model.A, Gs[b],
                                   rtol=1e-12, atol=1e-16)
    with pytest.raises(ValueError, match="Z and R must have shape"):
        model.loss_logits(Z, R, 3)


# ----------------------------------------------------------------------------------------------
# Hessian: HVPs, dense blocks, traces (K24.block-rows, K24.init-grad-hess)
# ----------------------------------------------------------------------------------------------
@settings(deadline=None, max_examples=30)
@given(seed=st.integers(0, 10**6), c=st.integers(2, 5), d=st.integers(1, 4),
       scale=st.floats(0.01, 5.0))
def test_hvp_matches_finite_differences_and_the_dense_hessian(seed, c, d, scale):
    data = _random_data(seed, c, 2 * c + 3, d)
    model = LinearModel(data)
    rng = np.random.default_rng(seed)
    W = rng.standard_normal(model.shape) * scale
    V = rng.standard_normal(model.shape)
    Hv = model.hvp(W, V)
    h = 1e-6
    fd = (model.grad(W + h * V) - model.grad(W - h * V)) / (2 * h)
    np.testing.assert_allclose(Hv, fd, atol=1e-6 * max(1.0, np.abs(Hv).max()))
    H = model.hessian(W)
    np.testing.assert_allclose(H, H.T, atol=1e-15 * np.abs(H).max() * 10)
    np.testing.assert_allclose(H @ V.ravel(), Hv.ravel(), atol=1e-13 * np.abs(Hv).max() + 1e-16)
    assert np.linalg.eigvalsh(H).min() >= -1e-12 * np.abs(H).max()  # convex
    # blocks and traces from their own formulas agree with the dense Hessian
    D = model.D
    H4 = H.reshape(c, D, c, D)
    T = model.block_traces(W, full=True)
    np.testing.assert_allclose(T, np.einsum("kaja->kj", H4), atol=1e-14 * np.abs(T).max() + 1e-17)
    np.testing.assert_allclose(model.block_traces(W), np.diag(T), rtol=1e-12, atol=1e-300)
    k, j = int(rng.integers(c)), int(rng.integers(c))
    np.testing.assert_allclose(model.hessian_block(W, k, j), H4[k, :, j, :],
                               atol=1e-14 * np.abs(H).max())


@settings(deadline=None, max_examples=60)
@given(seed=st.integers(0, 10**6), c=st.integers(2, 8), d=st.integers(1, 5),
       log_scale=st.floats(-1.0, 2.0), n=st.integers(1, 6))
def test_block_rows_sum_to_zero(seed, c, d, log_scale, n):
    """K24.block-rows: H_kk = -sum_{j != k} H_kj for one sample (n = 1) and for batches, also
    when probabilities saturate (logits up to ~100); and H (1 (x) v) = 0 for every v."""
    rng = np.random.default_rng(seed)
    Xa = np.concatenate([rng.standard_normal((n, d)), np.ones((n, 1))], axis=1)
    y = rng.integers(0, c, n).astype(np.int64)
    model = LinearModel(LinearData(Xa, y, c, np.zeros(c, dtype=np.intp), "s"), allow_empty=True)
    W = rng.standard_normal(model.shape) * 10.0**log_scale / math.sqrt(d + 1)
    H4 = model.hessian(W).reshape(c, model.D, c, model.D)
    big = np.abs(H4).max()
    assert np.abs(H4.sum(axis=2)).max() <= 1e-14 * big
    v = rng.standard_normal(model.D)
    Hv = model.hvp(W, np.tile(v, (c, 1)))
    scale = np.abs(model.hvp(W, rng.standard_normal(model.shape))).max()
    assert np.abs(Hv).max() <= 1e-13 * max(scale, 1e-300) + 1e-300


@settings(deadline=None, max_examples=25)
@given(seed=st.integers(0, 10**6), c=st.integers(2, 7), d=st.integers(1, 5))
def test_init_gradient_and_diagonal_blocks(seed, c, d):
    """K24.init-grad-hess at W = 0: gradient xbar/c - pi_k xbar^k (from class means computed
    here with NumPy) and every diagonal block (1/c)(1 - 1/c) Hbar."""
    data = _random_data(seed, c, 4 * c + 1, d)
    model = LinearModel(data)
    W = model.zeros()
    A = data.Xa
    xbar = A.mean(axis=0)
    means = np.stack([A[data.y == k].mean(axis=0) for k in range(c)])
    pi = np.bincount(data.y, minlength=c) / data.n
    np.testing.assert_allclose(model.grad(W), xbar / c - pi[:, None] * means, atol=1e-15 * 20)
    Hbar = A.T @ A / data.n
    for k in range(c):
        np.testing.assert_allclose(model.hessian_block(W, k, k), (1 / c) * (1 - 1 / c) * Hbar,
                                   rtol=1e-13, atol=1e-16)
    traces = model.block_traces(W)
    np.testing.assert_allclose(traces, traces[0], rtol=1e-14)


def test_curvature_keeps_relative_accuracy_when_confidently_wrong():
    """A sample whose arg-max is not its label, with p_max = 1 - 1e-12: p (1 - p) is exact."""
    Xa = np.array([[1.0, 1.0]])
    model = LinearModel(LinearData(Xa, np.array([0]), 2, np.zeros(2, dtype=np.intp), "s"),
                        allow_empty=True)
    u = 12 * math.log(10) / 2  # logits (-u, u): p_1 = 1/(1 + e^-2u) = 1 - 1e-12 approximately
    W = np.array([[-u / 2, -u / 2], [u / 2, u / 2]])
    q = 1.0 / (1.0 + math.exp(2 * u))  # 1 - p_1 = p_0
    tr = model.block_traces(W)
    exact = q * (1 - q) * 2.0  # ||a||^2 = 2
    np.testing.assert_allclose(tr, [exact, exact], rtol=1e-13)


# ----------------------------------------------------------------------------------------------
# flows' right-hand side
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("flow", ["gradient", "sign", "normalized"])
def test_linear_field_is_the_flow_of_the_gradient(flow):
    data = heavy_tailed_labels(2, seed=0)
    model = LinearModel(data)
    W = np.random.default_rng(1).standard_normal(model.shape) * 0.3
    p = model.flow_params(flow)
    dy = np.empty(model.size)
    linear_field(0.0, W.ravel().copy(), p, dy)
    g = model.grad(W).ravel()
    expect = {"gradient": -g, "sign": -np.sign(g), "normalized": -g / np.linalg.norm(g)}[flow]
    np.testing.assert_allclose(dy, expect, rtol=1e-12, atol=1e-15)
    out = np.empty(1 + model.c)
    linear_summary(0.0, W.ravel().copy(), p, out)
    L, cls = model.loss_grad(W)
    assert out[0] == pytest.approx(L, rel=1e-13)
    np.testing.assert_allclose(out[1:], cls, rtol=1e-13)


def test_flow_params_refuse_large_problems():
    n, D = 1700, 3001  # n D > 5e6: the data would not fit the parameter vector sensibly
    y = np.arange(n, dtype=np.int64) % 3
    data = LinearData(np.ones((n, D), dtype=np.float32), y, 3, np.zeros(3, dtype=np.intp), "big")
    with pytest.raises(ValueError, match="too large"):
        LinearModel(data).flow_params("gradient")


def test_heavy_tailed_means_structure_and_controls():
    """K24.assignment's data: heavy-tailed class frequencies, x = mu_y + noise with unit
    ||mu_k||; the uniform-frequency and no-mean variants are its negative controls."""
    from linsim.problems.linear import heavy_tailed_means

    d = heavy_tailed_means(5, d=16, noise=0.5, seed=1)
    assert (d.classes, d.n, d.d) == (31, 160, 16)
    assert np.array_equal(d.counts, 2 ** (5 - d.groups))
    assert np.all(d.Xa[:, -1] == 1.0)
    # class means near mu_k (unit norm); the noise has norm about 0.5
    means = np.array([d.X[d.y == k].mean(0) for k in range(d.classes)])
    assert abs(np.linalg.norm(means[0]) - 1.0) < 0.2  # 32 samples: noise / sqrt(32)
    u = heavy_tailed_means(5, d=16, seed=1, frequencies="uniform")
    assert u.counts.max() - u.counts.min() <= 1 and u.n == 160
    z = heavy_tailed_means(5, d=16, noise=0.5, seed=1, centred=True)
    assert np.linalg.norm(z.X.mean(0)) < 0.1
    assert np.array_equal(heavy_tailed_means(5, d=16, seed=1).Xa,
                          heavy_tailed_means(5, d=16, seed=1).Xa)
    with pytest.raises(ValueError, match="frequencies"):
        heavy_tailed_means(5, frequencies="zipf")
    with pytest.raises(ValueError, match="noise"):
        heavy_tailed_means(5, noise=-1.0)
