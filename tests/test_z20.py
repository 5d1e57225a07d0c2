"""Tests of :mod:`linsim.stochastic`, :mod:`linsim.experiments.z20` and ``heavytail z20``.

Claims: Z20.sgd-fails, Z20.clip-strongly-convex, Z20.clip-nonconvex, Z20.threshold-tent,
Z20.coordinate (THEORY.md, "Z20"). Rates are *fitted* from simulated runs and compared with
the predicted exponents; the kernel itself is checked against exact identities (SGD with
eta_k = 1/(mu k) averages the noise; clipping with an infinite threshold is SGD; common random
numbers; reproducible streams).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linsim import heavytail
from linsim.experiments import z20
from linsim.problems import noise
from linsim.stochastic import (
    Method,
    Schedule,
    Separable,
    checkpoints,
    rank_clip,
    rank_threshold,
    simulate,
)

ETA = Schedule(4.0, -1.0, 1.0)  # 4/(k+1)


# ---------------------------------------------------------------------------------------------
# the kernel
# ---------------------------------------------------------------------------------------------
def test_sgd_with_step_one_over_k_averages_the_noise_exactly():
    """Z20.sgd-fails: x_K = -(1/(mu K)) sum_j xi_j, with xi the run's own noise stream."""
    mu, K = 2.0, 300
    prob = Separable([mu], [5.0], "stable", 1.5, 1.0)
    st_ = simulate(prob, [Method("sgd", Schedule(1.0 / mu, -1.0))], 5, K, seed=9)
    for r in range(5):
        xi = noise.sample("stable", 1.5, K, seed=9, stream=r)
        for c, k in enumerate(st_.steps):
            x = -xi[:k].sum() / (mu * k)
            assert st_.x_mean[0, r, c] == pytest.approx(x, rel=1e-10, abs=1e-12)
            assert st_.gap[0, r, c] == pytest.approx(mu * x * x / 2, rel=1e-9, abs=1e-15)


def test_runs_do_not_depend_on_how_many_there_are_or_on_chunking():
    prob = Separable([1.0, 3.0], [1.0, -1.0], "pareto", 1.4, [1.0, 0.5])
    m = [Method("gclip", ETA, Schedule(1.0, 0.7)), Method("cclip", ETA, Schedule(1.0, 0.7))]
    a = simulate(prob, m, 10, 200, seed=4, chunk=3)
    b = simulate(prob, m, 4, 200, seed=4, chunk=64)
    assert np.array_equal(a.gap[:, :4], b.gap)
    assert np.array_equal(simulate(prob, m, 10, 200, seed=4).gap, a.gap)
    assert not np.array_equal(simulate(prob, m, 4, 200, seed=5).gap, b.gap)


def test_common_random_numbers_and_limits_of_the_clipping_rules():
    """Identical methods give identical runs (same noise); tau = huge is SGD; in 1-D GClip is
    CClip; ACClip with b1 = b2 = 0 is SGD up to eps."""
    prob = Separable([1.0], [2.0], "stable", 1.3, 1.0)
    ms = [Method("sgd", ETA), Method("gclip", ETA, Schedule(1e300)),
          Method("gclip", ETA, Schedule(1.0, 0.5)), Method("cclip", ETA, Schedule(1.0, 0.5)),
          Method("acclip", ETA, beta1=0.0, beta2=0.0, eps=1e-300, moment=1.0),
          Method("sgd", ETA, label="sgd again")]
    r = simulate(prob, ms, 20, 500, seed=1)
    assert np.array_equal(r.gap[0], r.gap[5])
    np.testing.assert_allclose(r.gap[1], r.gap[0], rtol=1e-12, atol=1e-25)
    np.testing.assert_allclose(r.gap[2], r.gap[3], rtol=1e-12, atol=1e-25)
    np.testing.assert_allclose(r.gap[4], r.gap[0], rtol=1e-9, atol=1e-25)
    assert np.all(r.threshold[0] == math.inf) and np.allclose(r.threshold[2, :, -1], 500**0.5)


def test_deterministic_gradients_and_the_nonconvex_minimum():
    """B = 0 gives deterministic GD; f* of x^2/2 + 2(cos x - 1) solves x = 2 sin x."""
    prob = Separable([1.0], [3.0], "gauss", 2.0, 0.0, cosine=2.0)
    xs = 1.895494267033981  # x = 2 sin x
    assert prob.f_star == pytest.approx(xs**2 / 2 + 2 * (math.cos(xs) - 1), rel=1e-12)
    r = simulate(prob, [Method("sgd", Schedule(0.1))], 2, 2000, seed=0)
    assert np.array_equal(r.gap[0, 0], r.gap[0, 1])
    assert r.gap[0, 0, -1] < 1e-20 and r.x_mean[0, 0, -1] == pytest.approx(xs, rel=1e-10)
    # the stationarity average is the mean of min(|f'|, f'^2) along the path
    x, acc = 3.0, 0.0
    for _ in range(2000):
        g = x - 2 * math.sin(x)
        acc += min(abs(g), g * g)
        x -= 0.1 * g
    assert r.stationarity[0, 0, -1] == pytest.approx(acc / 2000, rel=1e-10)


@settings(deadline=None, max_examples=25)
@given(g=st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=40), q=st.floats(0, 0.99))
def test_rank_threshold_is_the_floor_qd_plus_1_largest(g, q):
    g = np.array(g)
    c = rank_threshold(g, q)
    j = min(int(math.floor(q * g.size)), g.size - 1)
    assert c == np.sort(np.abs(g))[::-1][j]
    out = np.empty_like(g)
    assert rank_clip(g, q, out) == c
    np.testing.assert_array_equal(out, np.sign(g) * np.minimum(np.abs(g), c))


def test_schedules_and_bad_input():
    np.testing.assert_allclose(Schedule(4.0, -1.0, 1.0).values(3), [2.0, 4 / 3, 1.0])
    np.testing.assert_allclose(Schedule(2.0, 0.5).values(4), 2 * np.sqrt([1, 2, 3, 4]))
    for kw, msg in (({"scale": -1.0}, "scale must be >= 0"), ({"scale": 1.0, "shift": -1.0},
                                                              "shift must be > -1"),
                    ({"scale": math.nan}, "scale must be a finite number")):
        with pytest.raises(ValueError, match=msg):
            Schedule(**kw)
    with pytest.raises(ValueError, match="tau .* is required for gclip"):
        Method("gclip", ETA)
    with pytest.raises(ValueError, match="frac must be in"):
        Method("rankclip", ETA, frac=1.0)
    with pytest.raises(ValueError, match="runs must be an integer >= 1"):
        simulate(Separable([1.0], [0.0]), [Method("sgd", ETA)], 0, 10)
    with pytest.raises(ValueError, match="alpha must be in"):
        Separable([1.0], [0.0], "pareto", 0.9)
    assert list(checkpoints(100, 5)) == [1, 3, 10, 32, 100]


# ---------------------------------------------------------------------------------------------
# fitted rates (small versions of the claims; python -m linsim.verify runs the real sizes)
# ---------------------------------------------------------------------------------------------
@settings(deadline=None, max_examples=4)
@given(alpha=st.floats(1.3, 1.9))
def test_gclip_rate_is_fitted_near_minus_2_alpha_minus_1_over_alpha(alpha):
    """Z20.clip-strongly-convex: slope of log E f fitted from 1000 runs x 5000 steps."""
    r = z20.clip_rate(alpha, runs=1000, steps=5000, resamples=200, seed=3)
    assert r.fit.value == pytest.approx(-2 * (alpha - 1) / alpha, abs=0.05)
    assert r.fit.low < r.fit.value < r.fit.high


@settings(deadline=None, max_examples=3)
@given(alpha=st.floats(1.2, 1.8))
def test_sgd_median_converges_while_the_mean_grows(alpha):
    """Z20.sgd-fails: median slope -2(alpha-1)/alpha (exact law); mean over R grows."""
    r = z20.sgd_fails(alpha, runs=2**14, steps=40, seed=2)
    assert r.median_slope.value == pytest.approx(-2 * (alpha - 1) / alpha, abs=0.08)
    assert r.mean_slope.value > 0.1
    assert abs(r.clip_mean_slope.value) < 0.1  # GClip on the same noise: no growth


def test_nonconvex_rate_small():
    r = z20.clip_nonconvex(1.5, horizons=(300, 1000, 3000), runs=300, resamples=100)
    assert r.fit.value == pytest.approx(-0.4, abs=0.07)


def test_threshold_tent_small():
    """Z20.threshold-tent: bias floor at p = 0, faster at 1/alpha than at 0.2 and 1."""
    r = z20.threshold_tent(1.5, ps=(0.0, 0.2, 2 / 3, 1.0), runs=300, steps=10_000,
                           resamples=50)
    e = r.measured
    assert abs(e[0]) < 0.02
    assert e[2] > e[1] + 0.2 and e[2] > e[3]
    assert r.symmetric_fit.value == pytest.approx(-1.0, abs=0.1)


def test_coordinate_small():
    """Z20.coordinate: GClip's constant grows like d^(2/alpha-1); CClip's stays flat."""
    r = z20.coordinate(1.5, dims=(1, 4, 16), runs=100, steps=600)
    assert r.slopes["GClip"].value == pytest.approx(1 / 3, abs=0.1)
    assert abs(r.slopes["CClip"].value) < 0.06


def test_bootstrap_covers_a_known_slope():
    rng = np.random.default_rng(0)
    k = np.unique(np.round(np.logspace(0, 4, 40)))
    per_run = k[None, :] ** -0.7 * rng.lognormal(0, 0.3, (500, 1)) * rng.lognormal(0, 0.05,
                                                                                  (500, k.size))
    ci = z20.bootstrap_slope(k, per_run, 10, 1e4, resamples=300)
    assert ci.low < -0.7 < ci.high and ci.high - ci.low < 0.05


# ---------------------------------------------------------------------------------------------
# the command line
# ---------------------------------------------------------------------------------------------
def test_cli_help_and_bad_input(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        heavytail.main(["--help"])
    assert e.value.code == 0
    out = tmp_path / "o"
    for argv, needle in ((["z20", "--runs", "0"], "--runs must be an integer in [1, 1e+07]"),
                         (["z20", "--alpha", "2.5"], "--alpha must be a comma list"),
                         (["z20", "--study", "nope"], "--study must be 'all'"),
                         (["z20", "--study", "sgd-fails", "--runs", "100"], "runs must be >= 512"),
                         (["z20", "--steps", "1e9"], "--steps must be an integer")):
        assert heavytail.main([*argv, "--out", str(out), "--quiet"]) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and needle in err[0], err
        assert not out.exists()


def test_cli_writes_reproducible_outputs(tmp_path, capsys):
    out = tmp_path / "a"
    argv = ["z20", "--study", "coordinate,clip-rate", "--alpha", "1.6", "--runs", "60",
            "--steps", "300", "--seed", "5", "--quiet", "--json", "--out", str(out)]
    assert heavytail.main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["studies"]) == {"coordinate", "clip-rate"}
    assert doc["studies"]["clip-rate"][0]["alpha"] == 1.6
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    assert {"summary.json", "arrays.npz", "z20_coordinate.png", "z20_clip_rate.pdf"} <= set(first)
    assert heavytail.main(argv) == 0  # same seed, same bytes (figures included)
    capsys.readouterr()
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first
    assert heavytail.main([*argv[:-2], "--out", str(tmp_path / "b"), "--no-plot"]) == 0
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["arrays.npz", "summary.json"]
