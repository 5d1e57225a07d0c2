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
