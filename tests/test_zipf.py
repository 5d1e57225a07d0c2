"""Tests of :mod:`linsim.problems.zipf`: the analytic side of the K24 one-hot model.

Claims: K24.gf-closed-form, K24.gf-rate, K24.sf-closed-form (``../shared/THEORY.md``).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from linsim.problems.zipf import (
    equal_mass_groups,
    gf_bounds,
    gf_loss,
    gf_margin,
    gf_time_to_loss,
    group_means,
    sf_loss,
    sf_time_to_loss,
    zipf_frequencies,
)

EPS = float(np.finfo(np.float64).eps)


@functools.lru_cache(maxsize=64)
def _zipf_cached(c: int, a: float) -> np.ndarray:
    return zipf_frequencies(c, a)


# ----------------------------------------------------------------------------------------------
# measured references of THEORY.md (c = 5, a = 1)
# ----------------------------------------------------------------------------------------------


def test_reference_gf_times_to_loss_01():
    """K24.gf-closed-form, K24.gf-rate: GF times for l_k = 0.1, c = 5, a = 1."""
    pi = zipf_frequencies(5, 1.0)
    times = gf_time_to_loss(0.1, pi, 5)
    assert [round(float(x), 1) for x in times] == [23.6, 47.1, 70.7, 94.2, 117.8]
    # ratio pi_1 / pi_k exactly
    np.testing.assert_allclose(times / times[0], np.arange(1, 6), rtol=1e-14)
    # and the forward map hits the level there
    np.testing.assert_allclose(gf_loss(times, pi, 5), 0.1, rtol=1e-14)


def test_reference_sf():
    """K24.sf-closed-form: SF reaches 0.1 at t = 1.819; e^(2t) l = 3.86, 3.997, 4.000."""
    assert round(float(sf_time_to_loss(0.1, 5)), 3) == 1.819
    assert sf_loss(sf_time_to_loss(0.1, 5), 5) == pytest.approx(0.1, rel=1e-14)
    scaled = [float(np.exp(2 * t) * sf_loss(t, 5)) for t in (2.0, 4.0, 8.0)]
    assert round(scaled[0], 2) == 3.86
    assert round(scaled[1], 3) == 3.997
    assert round(scaled[2], 3) == 4.000


# ----------------------------------------------------------------------------------------------
# the margin: implicit equation, ODE, high precision
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("c", [2, 5, 1000, 10**7])
def test_margin_solves_implicit_equation(c):
    """K24.gf-closed-form: expm1(u) + (c-1) u = c pi t to ~1e-13 relative."""
    t = np.concatenate(([0.0], np.logspace(-8, 12, 400)))
    pi = np.array([1.0, 0.3, 1e-4, 1e-12])[:, None]
    u = gf_margin(t, pi, c)
    assert u.shape == (4, t.size)
    assert np.all(np.isfinite(u))
    assert np.all(u[:, 0] == 0.0)  # u(0) = 0 exactly
    s = c * pi * t
    lhs = np.expm1(u) + (c - 1) * u
    pos = s > 0
    rel = np.abs(lhs[pos] - s[pos]) / s[pos]
    assert rel.max() < 1e-13
    # the Lambert-W form would overflow here: e^(f/z) with f/z ~ 1e12
    assert gf_margin(1e12, 1.0, 2) == pytest.approx(math.log(2e12), rel=1e-10)


@pytest.mark.parametrize(
    "c, pi", [(2, 0.7), (5, 1 / (5 * (137 / 60))), (1000, 1e-3), (10**6, 1e-5), (10**7, 1e-9)]
)
def test_margin_matches_ode(c, pi):
    """K24.decouple / K24.gf-closed-form: u' = c pi / (e^u + c - 1), by solve_ivp."""
    t_eval = np.array([0.01, 0.3, 1.0, 10.0, 100.0, 3000.0]) / pi
    sol = solve_ivp(
        lambda _t, u: c * pi / (np.exp(u) + (c - 1)),
        (0.0, t_eval[-1]),
        [0.0],
        method="DOP853",
        t_eval=t_eval,
        rtol=1e-12,
        atol=1e-14,
    )
    assert sol.success
    np.testing.assert_allclose(gf_margin(t_eval, pi, c), sol.y[0], rtol=1e-9)


def test_margin_and_loss_against_mpmath():
    """A few ulps against a 50-digit root (the exact-real equation with the float inputs)."""
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 50
    rng = np.random.default_rng(20240)
    cs = np.exp(rng.uniform(math.log(2), math.log(1e7), 200)).astype(int)
    pis = np.exp(rng.uniform(math.log(1e-12), 0.0, 200))
    ts = np.exp(rng.uniform(math.log(1e-9), math.log(1e12), 200))
    worst_u = worst_l = 0.0
    for c, pi, t in zip(cs, pis, ts, strict=True):
        c = int(c)
        s = mpmath.mpf(c) * mpmath.mpf(float(pi)) * mpmath.mpf(float(t))
        u_ex = mpmath.findroot(lambda u, s=s, c=c: mpmath.expm1(u) + (c - 1) * u - s,
                               min(s / c, mpmath.log1p(s)))
        l_ex = mpmath.log1p((c - 1) * mpmath.exp(-u_ex))
        u = float(gf_margin(t, pi, c))
        l_val = float(gf_loss(t, pi, c))
        worst_u = max(worst_u, float(abs(u - u_ex) / u_ex))
        worst_l = max(worst_l, float(abs(l_val - l_ex) / l_ex))
    assert worst_u <= 4 * EPS
    assert worst_l <= 16 * EPS


def test_margin_edges():
    """t = 0, pi = 0, t = inf, subnormal and overflowing right-hand sides stay finite/exact."""
    c = 10**7
    u = gf_margin([0.0, np.inf, 1e308, 5e-324], [0.5, 0.5, 1.0, 1.0], c)
    assert u[0] == 0.0
    assert u[1] == np.inf
    assert np.isfinite(u[2]) and u[2] == pytest.approx(math.log(c) + math.log(1e308), rel=1e-14)
    assert u[3] >= 0 and np.isfinite(u[3])
    assert gf_margin(np.inf, 0.0, c) == 0.0
    loss = gf_loss([0.0, np.inf, 1e308], [0.5, 0.5, 1.0], c)
    assert loss[0] == pytest.approx(math.log(c), rel=1e-15)
    assert loss[1] == 0.0
    assert loss[2] == pytest.approx((c - 1) / (c * 1e308), rel=1e-12)
    # scalars in, NumPy scalars out
    assert np.ndim(gf_margin(1.0, 0.5, 3)) == 0
    assert np.ndim(gf_loss(1.0, 0.5, 3)) == 0


# ----------------------------------------------------------------------------------------------
# property tests: bounds, finiteness, monotonicity (K24.gf-rate)
# ----------------------------------------------------------------------------------------------

_times = st.lists(
    st.one_of(st.just(0.0), st.floats(-8.0, 12.0).map(lambda e: 10.0**e)),
    min_size=1,
    max_size=20,
)


@settings(deadline=None, max_examples=60)
@given(
    c=st.integers(2, 10**7),
    a=st.floats(0.0, 3.0),
    k_frac=st.floats(0.0, 1.0),
    t=_times,
)
@example(c=438, a=0.5, k_frac=0.875, t=[1.0, 0.9999999999999994])  # an ulp out of order
def test_gf_loss_within_bounds(c, a, k_frac, t):
    """K24.gf-rate: (1-1/c)/(1+pi t) <= l <= (c-1)/(1+pi t); finite; u monotone in t."""
    pi_all = _zipf_cached(c, round(a, 3))
    k = min(c - 1, int(k_frac * c))  # 0-based class index
    pi = float(pi_all[k])
    t = np.sort(np.asarray(t, dtype=np.float64))
    u = gf_margin(t, pi, c)
    loss = gf_loss(t, pi, c)
    lower, upper = gf_bounds(t, pi, c)
    assert np.all(np.isfinite(u)) and np.all(np.isfinite(loss))
    assert np.all(u >= 0)
    # monotone up to rounding: times an ulp apart can give margins (losses) an ulp out of order
    assert np.all(np.diff(u) >= -4 * np.spacing(u[1:]))
    assert np.all(np.diff(loss) <= 4 * np.spacing(loss[:-1]))
    assert np.all(loss >= lower * (1 - 1e-12))
    assert np.all(loss <= upper * (1 + 1e-12))


@settings(deadline=None, max_examples=60)
@given(c=st.integers(2, 10**7), level_frac=st.floats(1e-12, 1.0), pi=st.floats(1e-12, 1.0))
def test_time_to_loss_inverts_loss(c, level_frac, pi):
    """gf_time_to_loss and sf_time_to_loss are exact inverses of gf_loss and sf_loss."""
    level = level_frac * math.log(c)
    t_gf = gf_time_to_loss(level, pi, c)
    t_sf = sf_time_to_loss(level, c)
    assert np.isfinite(t_gf) and t_gf >= 0
    assert gf_loss(t_gf, pi, c) == pytest.approx(level, rel=1e-11, abs=1e-300)
    assert sf_loss(t_sf, c) == pytest.approx(level, rel=1e-11, abs=1e-300)


def test_time_to_loss_edges():
    c = 7
    assert gf_time_to_loss(math.log(c), 0.3, c) == 0.0
    assert sf_time_to_loss(math.log(c), c) == 0.0
    assert gf_time_to_loss(0.0, 0.3, c) == np.inf
    assert sf_time_to_loss(0.0, c) == np.inf


# ----------------------------------------------------------------------------------------------
# limits
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("c", [2, 5, 1000, 10**7])
@pytest.mark.parametrize("pi", [1.0, 1e-3, 1e-9])
def test_gf_rate_limit(c, pi):
    """K24.gf-rate: pi t l(t) -> 1 - 1/c (checked at pi t = 1e12)."""
    t = 1e12 / pi
    assert pi * t * gf_loss(t, pi, c) == pytest.approx(1 - 1 / c, rel=1e-6)
    lower, upper = gf_bounds(t, pi, c)
    assert gf_loss(t, pi, c) / lower == pytest.approx(1.0, rel=1e-6)
    assert upper / lower == pytest.approx(c, rel=1e-14)


@pytest.mark.parametrize("c", [2, 5, 1000, 10**7])
def test_sf_rate_limit(c):
    """K24.sf-closed-form: e^(2t) l -> c - 1 (exponent 2, not c)."""
    t = 0.5 * math.log((c - 1) * 1e8)  # (c-1) e^(-2t) = 1e-8
    assert math.exp(2 * t) * sf_loss(t, c) == pytest.approx(c - 1, rel=1e-6)
    # the exponent is 2: the log-slope of l between two late times
    t1, t2 = t, t + 1.0
    slope = (math.log(sf_loss(t2, c)) - math.log(sf_loss(t1, c))) / (t2 - t1)
    assert slope == pytest.approx(-2.0, rel=1e-6)
    # independent of the class: sf_loss takes no pi; and it is accurate when tiny
    assert sf_loss(400.0, c) == pytest.approx((c - 1) * math.exp(-800.0), rel=1e-12)
    assert sf_loss(np.inf, c) == 0.0
    assert sf_loss(0.0, c) == pytest.approx(math.log(c), rel=1e-15)


# ----------------------------------------------------------------------------------------------
# Zipf frequencies and groups
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("c, a", [(c, a) for c in (2, 5, 1000) for a in (0.0, 0.5, 1.0, 1.1, 3.0)]
                         + [(10**7, 0.0), (10**7, 1.1)])
def test_zipf_frequencies(c, a):
    pi = zipf_frequencies(c, a)
    assert pi.shape == (c,) and pi.dtype == np.float64
    assert math.fsum(pi) == pytest.approx(1.0, abs=1e-13)
    assert np.all(pi > 0) and np.all(np.diff(pi) <= 0)
    k = np.array([1, 2, c])
    np.testing.assert_allclose(pi[0] / pi[k - 1], k**a, rtol=1e-12)
    if a == 0.0:
        assert np.all(pi == pi[0])


def test_zipf_frequencies_reference_c5():
    pi = zipf_frequencies(5, 1)
    np.testing.assert_allclose(pi, 1 / np.arange(1, 6) / (137 / 60), rtol=1e-15)
    assert np.array_equal(pi, zipf_frequencies(5.0, 1.0))  # integral float accepted


@pytest.mark.parametrize("a, c, groups", [(0.0, 1000, 10), (1.1, 1000, 10), (0.0, 7, 3),
                                          (1.1, 1000, 1), (1.0, 50, 50)])
def test_equal_mass_groups(a, c, groups):
    pi = zipf_frequencies(c, a)
    labels = equal_mass_groups(pi, groups)
    assert labels.shape == (c,)
    assert labels[0] == 0 and labels[-1] == groups - 1
    assert np.all(np.diff(labels) >= 0) and np.all(np.diff(labels) <= 1)
    mass = np.bincount(labels, weights=pi, minlength=groups)
    assert np.all(np.bincount(labels, minlength=groups) > 0)
    # each group's mass is 1/G up to about one class (the heaviest class at a group edge)
    if groups < c:
        assert np.max(np.abs(mass - 1 / groups)) <= pi[0]
    if a == 0.0 and c % groups == 0:
        np.testing.assert_allclose(mass, 1 / groups, rtol=1e-12)


def test_equal_mass_groups_midpoint_rule():
    pi = np.array([0.4, 0.3, 0.2, 0.1])
    # midpoints 0.2, 0.55, 0.8, 0.95 -> floor(2 m) = 0, 1, 1, 1
    assert equal_mass_groups(pi, 2).tolist() == [0, 1, 1, 1]
    # unnormalized masses give the same labels
    assert equal_mass_groups(10 * pi, 2).tolist() == [0, 1, 1, 1]


@pytest.mark.parametrize("c, groups", [(100, 10), (20, 20), (1000, 16), (5, 4)])
def test_equal_mass_groups_fallback_heavy_head(c, groups):
    """a = 3: pi_1 ~ 0.83 would swallow several groups; every group stays non-empty."""
    pi = zipf_frequencies(c, 3.0)
    labels = equal_mass_groups(pi, groups)
    assert labels[0] == 0 and labels[-1] == groups - 1
    assert np.all(np.diff(labels) >= 0) and np.all(np.diff(labels) <= 1)
    assert np.all(np.bincount(labels, minlength=groups) > 0)
    assert np.sum(labels == 0) == 1  # the heavy class forms a group of its own


def test_group_means():
    c, groups = 1000, 8
    pi = zipf_frequencies(c, 1.1)
    labels = equal_mass_groups(pi, groups)
    values = np.vstack([np.ones(c), np.arange(c, dtype=float), gf_loss(100.0, pi, c)])
    means = group_means(values, pi, labels, groups)
    assert means.shape == (3, groups)
    np.testing.assert_allclose(means[0], 1.0, rtol=1e-14)
    for g in range(groups):
        m = labels == g
        expect = np.sum(pi[m] * values[:, m], axis=-1) / np.sum(pi[m])
        np.testing.assert_allclose(means[:, g], expect, rtol=1e-13)
    # overall mass-weighted mean of the group means is the overall loss
    mass = np.bincount(labels, weights=pi, minlength=groups)
    assert np.sum(mass * means[2]) == pytest.approx(np.sum(pi * values[2]), rel=1e-13)
    # rare groups learn slower (K24.gf-rate): group losses increase along the groups
    assert np.all(np.diff(means[2]) > 0)
    # unsorted labels and an empty group
    lab = np.array([2, 0, 2, 0])
    out = group_means(np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.1, 0.2, 0.3, 0.4]), lab, 4)
    np.testing.assert_allclose(out[[0, 2]], [(0.4 + 1.6) / 0.6, (0.1 + 0.9) / 0.4])
    assert np.isnan(out[1]) and np.isnan(out[3])


# ----------------------------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------------------------


def _assert_one_line(excinfo, name):
    msg = str(excinfo.value)
    assert "\n" not in msg
    assert msg.startswith(name)


@pytest.mark.parametrize("bad", [1, 0, -3, 2.5, True, "3", None, float("nan"), 3 + 0j])
def test_bad_classes(bad):
    calls = [
        lambda: zipf_frequencies(bad, 1.0),
        lambda: gf_margin(1.0, 0.5, bad),
        lambda: gf_loss(1.0, 0.5, bad),
        lambda: gf_bounds(1.0, 0.5, bad),
        lambda: sf_loss(1.0, bad),
        lambda: gf_time_to_loss(0.1, 0.5, bad),
        lambda: sf_time_to_loss(0.1, bad),
    ]
    for call in calls:
        with pytest.raises(ValueError) as excinfo:
            call()
        _assert_one_line(excinfo, "classes")
        assert ">= 2" in str(excinfo.value)


def test_bad_classes_message():
    with pytest.raises(ValueError, match=r"^classes must be an integer >= 2, got 1$"):
        zipf_frequencies(1, 1.0)


@pytest.mark.parametrize("bad", [-1, -1e-300, float("nan"), float("inf"), float("-inf"), "1",
                                 True])
def test_bad_zipf(bad):
    with pytest.raises(ValueError) as excinfo:
        zipf_frequencies(10, bad)
    _assert_one_line(excinfo, "zipf")
    assert ">= 0" in str(excinfo.value)


@pytest.mark.parametrize("bad", [0, 11, -1, 2.5, True])
def test_bad_groups(bad):
    pi = zipf_frequencies(10, 1.0)
    with pytest.raises(ValueError) as excinfo:
        equal_mass_groups(pi, bad)
    _assert_one_line(excinfo, "groups")
    assert "[1, 10]" in str(excinfo.value)


def test_bad_arrays():
    cases = [
        ("t", lambda: gf_margin(-1.0, 0.5, 3)),
        ("t", lambda: gf_loss([1.0, np.nan], 0.5, 3)),
        ("t", lambda: sf_loss(-0.5, 3)),
        ("pi", lambda: gf_margin(1.0, 1.5, 3)),
        ("pi", lambda: gf_bounds(1.0, -0.1, 3)),
        ("level", lambda: gf_time_to_loss(math.log(3) + 1e-9, 0.5, 3)),
        ("level", lambda: sf_time_to_loss(-0.1, 3)),
        ("pi", lambda: equal_mass_groups(np.array([0.5, -0.1]), 1)),
        ("pi", lambda: equal_mass_groups(np.zeros(3), 1)),
        ("labels", lambda: group_means(np.ones(3), np.ones(3), np.array([0, 1, 3]), 3)),
    ]
    for name, call in cases:
        with pytest.raises(ValueError) as excinfo:
            call()
        _assert_one_line(excinfo, name)
