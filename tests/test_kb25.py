"""KB25: the linear bigram model, its reductions, T_eps searches, claims, certificates, CLI."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from linsim.experiments import kb25 as K
from linsim.problems import bigram

# ------------------------------------------------------------------------------- the model


def test_loss_is_the_squared_error_of_the_sampled_pairs():
    """L(W) from the frequencies equals (1/2n) ||XW - Y||^2 of the pairs they come from."""
    rng = np.random.default_rng(0)
    d, n = 6, 500
    i = rng.integers(0, d, n)
    j = rng.integers(0, d, n)
    counts = np.zeros((d, d))
    np.add.at(counts, (i, j), 1)
    model = bigram.BigramModel.from_counts(counts)
    W = rng.normal(size=(d, d))
    X, Y = np.eye(d)[i], np.eye(d)[j]
    assert model.loss(W) == pytest.approx(np.sum((X @ W - Y) ** 2) / (2 * n), rel=1e-12)
    # gradient: finite differences of the loss
    h = 1e-6
    E = np.zeros((d, d))
    E[2, 3] = h
    fd = (model.loss(W + E) - model.loss(W - E)) / (2 * h)
    assert model.grad(W)[2, 3] == pytest.approx(fd, rel=1e-6)
    assert model.loss(model.C) + model.gap(W) == pytest.approx(model.loss(W), rel=1e-12)


def test_full_model_matches_both_reductions():
    model = bigram.BigramModel.zipf(40, 1.0, seed=3)
    pi, q = model.pi, np.sort(model.C[0])[::-1]
    T = 30
    full = bigram.run_full(model, "gd", np.full(T, 1 / pi[0]))
    red = bigram.gd_relative_error(np.arange(T + 1), pi, pi, 1 / pi[0])
    np.testing.assert_allclose(full, red, rtol=1e-12)
    steps = np.full(T, 0.8 * q[0] / T)
    np.testing.assert_allclose(bigram.run_full(model, "sign", steps, average=True),
                               bigram.sign_relative_error(q, steps, average=True), rtol=1e-12)


def test_rows_with_other_exponents_break_the_reduction():
    cond = np.linspace(0.5, 1.5, 40)
    model = bigram.BigramModel.zipf(40, 1.0, cond_alpha=cond, seed=3)
    pi = model.pi
    full = bigram.run_full(model, "gd", np.full(20, 1 / pi[0]))
    red = bigram.gd_relative_error(np.arange(21), pi, pi, 1 / pi[0])
    assert np.max(np.abs(full / red - 1)) > 1e-3


def test_bad_model_input():
    with pytest.raises(ValueError, match="pi must"):
        bigram.BigramModel(np.array([1.0]), np.ones((1, 1)))
    with pytest.raises(ValueError, match="method"):
        bigram.run_full(bigram.BigramModel.zipf(3, 1.0), "adam", [0.1])


# ------------------------------------------------------------------------ fast evaluators


@settings(deadline=None, max_examples=30)
@given(s=st.floats(0.3, 3.0), a=st.integers(1, 5000), n=st.integers(0, 20000))
def test_power_sum_matches_direct_summation(s, a, n):
    b = a + n
    direct = math.fsum(np.arange(a, b + 1, dtype=float) ** -s)
    assert bigram.power_sum(s, a, b) == pytest.approx(direct, rel=1e-13)


@settings(deadline=None, max_examples=25)
@given(alpha=st.floats(0.3, 2.5), d=st.integers(2, 4000), T=st.integers(1, 300),
       scale=st.floats(0.05, 3.0), output=st.sampled_from(["average", "last"]))
def test_grouped_sign_sums_equal_the_coordinatewise_reduction(alpha, d, T, scale, output):
    eta = scale / T
    c = np.arange(1, d + 1, dtype=float) ** -alpha
    direct = bigram.sign_relative_error(c, np.full(T, eta), average=output == "average")[-1]
    assert bigram.sd_power_error(alpha, d, T, eta, output) == pytest.approx(direct, rel=1e-9,
                                                                             abs=1e-14)


@settings(deadline=None, max_examples=25)
@given(alpha=st.floats(0.3, 2.5), d=st.integers(2, 5000), T=st.integers(1, 25))
def test_halving_matches_iteration_and_its_proved_bound(alpha, d, T):
    c = np.arange(1, d + 1, dtype=float) ** -alpha
    direct = bigram.sign_relative_error(c, bigram.halving_steps(T, 1.0))[-1]
    fast = bigram.sd_halving_error(alpha, d, T)
    assert fast == pytest.approx(direct, rel=1e-9, abs=1e-15)
    L0 = bigram.power_sum(2 * alpha, 1, d)
    assert direct <= d * 4.0**-T / L0 * (1 + 1e-12)


@settings(deadline=None, max_examples=15)
@given(alpha=st.floats(0.4, 2.0), d=st.integers(10, 20000), eps=st.floats(0.005, 0.3))
def test_gd_time_lies_in_the_proved_bracket(alpha, d, eps):
    t = K.gd_times(alpha, [d], eps)[0]
    x = np.arange(1, d + 1, dtype=float) ** -alpha
    assert bigram.gd_relative_error(t, x, x, 1.0)[0] == pytest.approx(eps, rel=1e-9)
    lo, hi = K.gd_bracket(alpha, d, eps)
    assert lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)


@settings(deadline=None, max_examples=10)
@given(alpha=st.floats(0.6, 1.6), d=st.integers(100, 100000))
def test_sign_descent_time_is_the_first_tuned_horizon(alpha, d):
    eps = 0.05
    r = K.sd_time(alpha, d, eps)
    assert r["r"] <= eps
    if r["T"] > 1:
        assert K.sd_tuned_error(alpha, d, r["T"] - 1)[0] > eps


def test_gd_beyond_the_array_size_matches_the_array():
    for alpha in (1.5, 2.0):
        d = 1_500_000
        assert K.gd_time_large(alpha, d, 0.01) == pytest.approx(K.gd_times(alpha, [d], 0.01)[0],
                                                                rel=1e-10)


def test_zipf1_time_against_the_exact_gd_time():
    for d in (100, 10_000):
        t, p = K.gd_times(1.0, [d], 0.01)[0], K.zipf1_time(d, 0.01)
        assert abs(t / p - 1) < 1.0 / d


# ------------------------------------------------------------------ certificates, claims


def test_certificates_pass_and_fail_on_a_wrong_statement():
    from proofs import kb25 as P

    good = P.certificates()
    assert all(c.passed and c.symbolic == "partial" for c in good.values())
    assert P.kb25_reduce(equal_rows=False).symbolic == "none"
    assert P.kb25_gd_integral(sign=-1).symbolic == "none"
    assert P.kb25_gd_regimes(coef=sp.Rational(1, 2)).symbolic == "none"
    assert P.kb25_sd_sqrt(floor=sp.Rational(1, 2)).symbolic == "none"


@pytest.mark.slow
@pytest.mark.parametrize("cid", ["KB25.reduce", "KB25.gd-zipf", "KB25.gd-regimes",
                                 "KB25.sd-sqrt", "KB25.crossover"])
def test_claim_passes_quick_and_its_controls_fail(cid):
    from linsim.claims import CLAIMS

    claim = CLAIMS[cid]
    assert not claim.problems()
    m = claim.check(True)
    assert m.passed, m.detail
    for ctl in claim.controls:
        mm = ctl.check(True)
        assert not mm.passed, ctl.mutant
        if ctl.kind != "prediction":
            assert (mm.predicted, mm.tolerance, mm.compare) == (m.predicted, m.tolerance,
                                                                m.compare)


# -------------------------------------------------------------------------------- the CLI


def _cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "linsim.kb25", *args], capture_output=True,
                          text=True, timeout=timeout)


def test_cli_json_table_and_figure(tmp_path):
    out = _cli("--alpha", "1,1.5", "--d", "1e2:1e4", "--eps", "0.1", "--json", "--out",
               str(tmp_path))
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    rows = {(r["alpha"], r["method"]): r for r in doc["rows"]}
    assert rows[(1.0, "gd")]["d"] == [100, 316, 1000, 3162, 10000]
    assert rows[(1.0, "sign")]["slope_predicted"] == 0.5
    assert (tmp_path / "kb25_scaling.png").is_file() and (tmp_path / "kb25_scaling.pdf").is_file()


@pytest.mark.parametrize("args,option", [
    (["--alpha", "0"], "--alpha"), (["--alpha", "x"], "--alpha"), (["--d", "5:3"], "--d"),
    (["--eps", "2"], "--eps"), (["--methods", "adam"], "--methods"),
    (["--frequencies", "/nonexistent.tsv"], "--frequencies"), (["--fit-ranks", "3:1"],
                                                               "--fit-ranks"),
])
def test_cli_bad_input_one_line_exit_2(args, option):
    out = _cli(*args, "--no-plot")
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and option in lines[0]


def test_sweep_runs_the_bigram_problem(tmp_path):
    from linsim import sweep

    code = sweep.main(["--problem", "bigram", "--alpha", "1,1.5", "--d", "100,1000",
                       "--flows", "gd,sign,halving", "--workers", "1", "--quiet", "--json",
                       "--out", str(tmp_path)])
    assert code == 0
    assert (tmp_path / "results.csv").is_file()
    assert sweep.main(["--problem", "bigram", "--flows", "adam", "--out",
                       str(tmp_path / "x")]) == 2


def test_flows_are_the_small_step_limits():
    model = bigram.BigramModel.zipf(30, 1.0, seed=1)
    pi, q = model.pi, np.sort(model.C[0])[::-1]
    t = 2.0 / pi[0]
    for eta in (1e-1 / pi[0], 1e-2 / pi[0]):
        n = int(round(t / eta))
        gd = bigram.gd_relative_error(n, pi, pi, eta)[0]
        gf = bigram.gf_relative_error(t, pi, pi)[0]
        assert abs(gd / gf - 1) < 2 * eta * pi[0]  # (1 - x)^(2n) against e^(-2nx): O(eta)
    s = 0.5 * q[0]
    for n in (100, 1000):
        sd = bigram.sign_relative_error(q, np.full(n, s / n))[-1]
        sf = bigram.sf_relative_error(s, q)[0]
        h = s / n  # each coordinate within one step of the flow: |e_sd^2 - e_sf^2| <= 2ch + h^2
        assert abs(sd - sf) <= q.size * (2 * q[0] * h + h * h) / np.sum(q * q)
    assert bigram.sf_relative_error(q[0], q)[0] == 0.0
