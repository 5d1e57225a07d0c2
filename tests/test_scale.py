"""LM-size vocabularies: the reduced mode against the full mode at moderate c, and the reduced
mode at GPT-2's vocabulary (c = 50257).

Claims: K24.decouple (the c margins carry the c^2 weights exactly), K24.gf-closed-form,
K24.sf-closed-form (THEORY.md). ``benchmarks/lm_vocab.py`` runs the same checks at c = 2047
(full mode) and c = 10^6 (reduced mode) by hand.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from linsim.experiments.k24 import COMPARE_FLOOR, closed_group_means, run_onehot
from linsim.problems import zipf
from linsim.problems.softmax import OneHotModel

FLOWS = ("gradient", "sign", "normalized")
TIGHT = {"method": "DOP853", "rtol": 1e-12, "atol": 1e-14}


@functools.cache
def _run(c: int, mode: str):
    return run_onehot(OneHotModel(c, 1.05, mode), FLOWS, t_max=1e4, points=40, groups=5,
                      **TIGHT)


@pytest.mark.parametrize("c", [200, 500])
@pytest.mark.parametrize("flow", FLOWS)
def test_reduced_matches_full_moderate_c(c, flow):
    """Per-class losses of the c margins equal those of the c^2 weights, at every output time,
    for classes from the most to the least frequent (to the integration tolerance)."""
    full, red = _run(c, "full").traces[flow], _run(c, "reduced").traces[flow]
    a, b = full.losses, red.losses
    assert a.shape == b.shape == (40, c)
    m = b > COMPARE_FLOOR
    assert m.sum() >= 0.8 * m.size  # most values are compared, not only the early ones
    assert m[-1, -1] or flow != "gradient"  # the rarest class at t_max, under gradient flow
    gap = np.abs(a[m] - b[m]) / b[m]
    assert gap.max() <= 1e-7, gap.max()
    # below the floor both are negligible (the full sign/normalized flow freezes once its
    # gradient underflows, near margin 708; the reduced margins keep growing)
    assert np.all(a[~m] < 1e-240)
    np.testing.assert_allclose(full.groups, red.groups, rtol=1e-7, atol=1e-250)
    np.testing.assert_allclose(full.overall, red.overall, rtol=1e-7, atol=1e-250)
    # and the runs are not trivial: losses fall by many orders of magnitude over the run
    assert b[0, 0] > 0.99 * np.log(c) and b[-1, 0] < 1e-2


def test_reduced_mode_gpt2_vocabulary():
    """c = 50257 (GPT-2), a = 1.05: the reduced mode matches the closed forms per class,
    gradient flow leaves the rare groups behind, sign flow moves every group together."""
    c = 50257
    run = run_onehot(OneHotModel(c, 1.05, "reduced"), ("gradient", "sign"), t_max=1e6,
                     points=40, groups=5, rtol=1e-10, atol=1e-12)
    sel = run.class_index  # a log-spaced subset of the classes, the first and the last in it
    assert sel[0] == 0 and sel[-1] == c - 1 and sel.size > 5000
    for flow in ("gradient", "sign"):
        assert run.max_rel_err(flow) < 1e-6
        tr = run.traces[flow]
        ref = closed_group_means(run.model, flow, run.t, run.labels, 5)
        m = ref > COMPARE_FLOOR
        np.testing.assert_allclose(tr.groups[m], ref[m], rtol=1e-6)
    gf = run.traces["gradient"].groups[-1]
    assert np.all(np.diff(gf) > 0)  # rarer group, larger loss
    assert gf[-1] > 100 * gf[0]
    # K24.gf-rate at the end: pi_k t l_k within the bounds (1-1/c, c-1) x pi t / (1 + pi t)
    pi_t = run.pi[sel] * run.t[-1]
    ratio = pi_t * run.traces["gradient"].losses[-1]
    assert np.all(ratio >= (1 - 1 / c) * pi_t / (1 + pi_t) * (1 - 1e-6))
    assert np.all(ratio <= (c - 1) * pi_t / (1 + pi_t) * (1 + 1e-6))
    sf = run.traces["sign"]
    i = int(np.searchsorted(run.t, 5.0))  # at t ~ 5 every class has the same loss
    np.testing.assert_allclose(sf.losses[i], zipf.sf_loss(run.t[i], c), rtol=1e-9)
    assert run.rates("sign")[0]["measured"] == pytest.approx(2.0, abs=1e-6)


def test_group_ranks_and_lm_vocab_figure():
    from linsim.plotting.scale import group_ranks, lm_vocab_groups

    assert group_ranks(np.array([0, 0, 1, 1, 1, 2])) == [(1, 2), (3, 5), (6, 6)]
    run = run_onehot(OneHotModel(300, 1.05, "reduced"), ("gradient", "sign"), t_max=1e6,
                     points=30, groups=4)
    fig = lm_vocab_groups(run)
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["gradient flow", "sign flow"]
    labels = [t.get_text() for t in axes[-1].get_legend().get_texts()]
    ranks = group_ranks(run.labels)
    assert labels[0] == f"tokens {ranks[0][0]}-{ranks[0][1]}" or ranks[0][0] == ranks[0][1]
    assert labels[-2] == f"tokens {ranks[-1][0]}-300" and labels[-1] == "closed form"
    assert ranks[0][0] == 1 and ranks[-1][1] == 300
    # solid group curves are the simulated group means
    np.testing.assert_array_equal(axes[0].get_lines()[3].get_ydata(),
                                  run.traces["gradient"].groups[:, 3])
    assert "c = 300" in fig._suptitle.get_text()


# ------------------------------------------------------------------ the fast kernels at scale


def test_libm_free_log1p_and_expm1():
    """log1p_pos and expm1_pos (vectorizable, no libm) agree with libm to 2 ulps."""
    import math

    from numba import njit

    from linsim.problems.softmax import expm1_pos, log1p_pos

    @njit(error_model="numpy")
    def both(x, a, b):
        for i in range(x.size):
            a[i] = log1p_pos(x[i])
            b[i] = expm1_pos(min(x[i], 709.0))

    rng = np.random.default_rng(11)
    x = np.concatenate([10 ** rng.uniform(-320, 2.85, 200_000), rng.uniform(0, 3, 100_000),
                        [0.0, 5e-324, 1e-300, 0.5, 1.0, 2.0, 709.0]])
    a, b = np.empty_like(x), np.empty_like(x)
    both(x, a, b)
    ref_a = np.array([math.log1p(v) for v in x])
    ref_b = np.array([math.expm1(min(v, 709.0)) for v in x])
    assert a[-7] == 0.0 and b[-7] == 0.0 and a[-6] == 5e-324  # x = 0 and the least x
    for got, ref in ((a, ref_a), (b, ref_b)):
        m = ref > 0
        ulps = np.abs(got[m] - ref[m]) / np.spacing(ref[m])
        assert ulps.max() <= 2.0, ulps.max()


@pytest.mark.parametrize("c,groups,shuffle", [(2, 1, False), (7, 3, True), (1537, 4, False),
                                              (3000, 5, True)])
def test_margin_summary_matches_libm(c, groups, shuffle):
    """The blocked, vectorized reduced-mode output agrees with per-class libm losses and
    :func:`summarize`, labels contiguous or not, c not a multiple of the block; negative
    margins take the libm path itself (same bits)."""
    import math

    from linsim.experiments.k24 import recorded_classes
    from linsim.problems.softmax import margin_summary, summarize

    model = OneHotModel(c, 1.1, "reduced")
    labels = zipf.equal_mass_groups(model.pi, groups)
    if shuffle:
        labels = np.random.default_rng(c).permutation(labels)
    sel = recorded_classes(c, 40)
    p = model.params("gradient", labels, sel)
    rng = np.random.default_rng(c + 1)
    for u in (np.zeros(c), np.abs(rng.standard_normal(c)) * 20, np.linspace(0.0, 700.0, c)):
        out, ref = np.empty(1 + groups + sel.size), np.empty(1 + groups + sel.size)
        margin_summary(0.0, u, p, out)
        summarize(np.array([math.log1p((c - 1.0) * math.exp(-v)) for v in u]), p, ref)
        np.testing.assert_allclose(out, ref, rtol=1e-14, atol=0)
    u[c // 2] = -1.0
    margin_summary(0.0, u, p, out)
    summarize(np.array([math.log1p((c - 1.0) * math.exp(-v)) for v in u]), p, ref)
    assert out.tobytes() == ref.tobytes()


@pytest.mark.parametrize("c", [2, 1000, 50257])
def test_gf_sweep_matches_zipf(c):
    """The compiled closed-form sweep: overall and group sums of K24.gf-closed-form as
    zipf.gf_loss gives them (1e-13), and the derivative as a central difference."""
    import math

    from linsim.experiments.k24 import _gf_sweep, gf_overall

    pi = zipf.zipf_frequencies(c, 1.1)
    labels = zipf.equal_mass_groups(pi, min(5, c))
    lab = labels.astype(np.int64)
    for t in (0.0, 1e-9, 0.3, 1e3, 1e7, 1e12, 1e299, 1e305):
        ref = zipf.gf_loss(t, pi, c)
        sums = np.zeros(labels.max() + 1)
        overall, deriv = _gf_sweep(t, pi, float(c), lab, sums)
        assert overall == pytest.approx(math.fsum(pi * ref), rel=1e-13)
        for g in range(sums.size):
            m = labels == g
            assert sums[g] == pytest.approx(math.fsum(pi[m] * ref[m]), rel=1e-13)
        if 0.1 < t < 1e290:  # (a central difference loses digits at tiny t)
            h = 1e-5 * t
            fd = (gf_overall(pi, c, t + h)[0] - gf_overall(pi, c, t - h)[0]) / (2 * h)
            assert deriv == pytest.approx(fd, rel=1e-5)


def test_closed_group_means_and_nf_root():
    """closed_group_means (compiled) equals the NumPy closed form; gf_time_at_overall finds the
    time of a given overall loss as brentq does on zipf.gf_loss."""
    from scipy.optimize import brentq

    from linsim.experiments.k24 import gf_time_at_overall

    c = 2000
    model = OneHotModel(c, 1.05, "reduced")
    labels = zipf.equal_mass_groups(model.pi, 5)
    t = np.logspace(-6, 8, 30)
    got = closed_group_means(model, "gradient", t, labels, 5)
    ref = zipf.group_means(zipf.gf_loss(t[:, None], model.pi[None, :], c), model.pi, labels, 5)
    np.testing.assert_allclose(got, ref, rtol=1e-13)
    got = closed_group_means(model, "sign", t, labels, 5)
    ref = zipf.group_means(model.closed_form("sign", t), model.pi, labels, 5)
    np.testing.assert_allclose(got, ref, rtol=1e-14)
    for level in (7.5, 3.0, 0.1, 1e-4, 1e-9):
        def f(s, level=level):
            return float(model.pi @ zipf.gf_loss(s, model.pi, c)) - level

        hi = 1.0
        while f(hi) > 0:
            hi *= 4.0
        want = brentq(f, 0.0, hi, xtol=1e-300, rtol=1e-15)
        for guess in (1.0, 1e-8, 1e12, want * 1.01):
            assert gf_time_at_overall(model.pi, c, level, guess) == pytest.approx(want,
                                                                                  rel=1e-13)
    with pytest.raises(ValueError, match="level"):
        gf_time_at_overall(model.pi, c, 10.0)
