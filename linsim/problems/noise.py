"""Heavy-tailed gradient noise (THEORY.md, "Z20: heavy-tailed gradient noise and clipping").

Three laws, drawn by Numba kernels from a seeded counter-free generator so that every sample
is reproducible from ``(seed, stream)`` alone:

=========== ===================================================================== ==========
law         sample                                                                tails
=========== ===================================================================== ==========
``stable``  symmetric alpha-stable, characteristic function ``exp(-|t|^alpha)``,  both, index
            ``0.2 <= alpha <= 2``
            (Chambers-Mallows-Stuck); ``alpha = 2`` is N(0, 2)                     alpha
``pareto``  centred Pareto: ``U^(-1/alpha) - alpha/(alpha-1)``, mean 0            right only
            (scipy.stats.pareto(alpha, loc=-alpha/(alpha-1))); asymmetric          index alpha
``gauss``   standard normal (Box-Muller)                                          none
=========== ===================================================================== ==========

Only moments of order below ``alpha`` are finite for the first two, so ``alpha < 2`` gives
infinite variance; the Pareto law is the asymmetric worst case of Z20's lower bounds.

The generator is xoshiro256** seeded through splitmix64 from ``(seed, stream)``: stream ``r``
(one simulated run) gives the same numbers whatever the number of other streams, so the
first ``R`` of ``N`` runs are the ``R`` runs of a smaller study, and every method of a study
sees the same noise (common random numbers, :mod:`linsim.stochastic`).

Tail-index estimators: :func:`block_sum_index` (Mohammadi, Mohammadpour and Ogata 2015; it
assumes a *symmetric stable* law) and :func:`hill_index` (Hill 1975; one tail, any law with a
Pareto-type tail). Where each fails is measured in ``tests/test_noise.py`` and summarized in
:func:`block_sum_index` and :func:`hill_index`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..kernels import as_float, as_int, exp_neg

#: Law names and their codes in the Numba kernels.
LAWS: dict[str, int] = {"stable": 0, "pareto": 1, "gauss": 2}
STABLE, PARETO, GAUSS = 0, 1, 2

_U64 = np.uint64
_GOLDEN = _U64(0x9E3779B97F4A7C15)
_SM1 = _U64(0xBF58476D1CE4E5B9)
_SM2 = _U64(0x94D049BB133111EB)
_STREAM_MIX = _U64(0xD1B54A32D192ED03)
_TWO_M52 = 2.0**-52


# --------------------------------------------------------------------------------------------
# the generator: splitmix64 for seeding, xoshiro256** for the stream
# --------------------------------------------------------------------------------------------
@njit(cache=True, inline="always", error_model="numpy")
def _splitmix(z):
    z = z + _GOLDEN
    z = (z ^ (z >> _U64(30))) * _SM1
    z = (z ^ (z >> _U64(27))) * _SM2
    return z ^ (z >> _U64(31))


@njit(cache=True, error_model="numpy")
def seed_state(seed, stream, s):
    """Fill the 4-word xoshiro256** state ``s`` for ``(seed, stream)`` (both uint64)."""
    z = _splitmix(_splitmix(seed) ^ (stream * _STREAM_MIX))
    for i in range(4):
        z = _splitmix(z + _U64(i))
        s[i] = z
    if s[0] == 0 and s[1] == 0 and s[2] == 0 and s[3] == 0:  # the one forbidden state
        s[0] = _GOLDEN


@njit(cache=True, inline="always", error_model="numpy")
def _rotl(x, k):
    return (x << _U64(k)) | (x >> _U64(64 - k))


@njit(cache=True, inline="always", error_model="numpy")
def next_u64(s):
    """Next 64-bit output of xoshiro256** (state ``s`` updated in place)."""
    result = _rotl(s[1] * _U64(5), 7) * _U64(9)
    t = s[1] << _U64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return result


@njit(cache=True, inline="always", error_model="numpy")
def uniform_open(s):
    """A uniform double in the open interval (0, 1): 52 random bits, offset by half a bit.

    The values are ``(j + 1/2) 2^-52``, all exact, from ``2^-53`` to ``1 - 2^-53`` (with 53 bits
    the top value ``1 - 2^-54`` would round to 1).
    """
    return (float(next_u64(s) >> _U64(12)) + 0.5) * _TWO_M52


# --------------------------------------------------------------------------------------------
# branch-free elementary functions: no libm call, so the sample loops vectorize (AVX2)
# --------------------------------------------------------------------------------------------
# A libm log/sin/exp costs 25-35 ns here; Chambers-Mallows-Stuck needs eight of them. These
# polynomial versions are within a few ulps on the ranges the samplers use (tests/test_noise.py)
# and let LLVM vectorize the transform loop: about 20x faster per stable sample.
_SQRT2 = 1.4142135623730951
_HALF_PI = 0.5 * math.pi
_LN2 = 0.6931471805599453
_MANT = 0x000FFFFFFFFFFFFF
_ONE_BITS = 0x3FF0000000000000
_TWO52_BITS = 0x4330000000000000
_TWO52_PLUS_BIAS = 4503599627370496.0 + 1023.0
_LOG_C = tuple(2.0 / (2 * j + 1) for j in range(12))  # log m = sum 2 s^(2j+1)/(2j+1)
_SIN_C = tuple((-1.0) ** j / math.factorial(2 * j + 1) for j in range(12))
_COS_C = tuple((-1.0) ** j / math.factorial(2 * j) for j in range(12))


@njit(cache=True, inline="always", error_model="numpy")
def log_pos(x):
    """``log x`` for a positive normal double (no libm; within 2 ulps).

    ``x = m 2^e`` with ``m`` in [sqrt(1/2), sqrt(2)); ``log m = 2 atanh(s)``, ``s = (m-1)/(m+1)``,
    ``|s| <= 0.172``, by its odd series to ``s^23``.
    """
    bits = as_int(x)
    # the exponent field as a double without an int-to-float conversion (none packed on AVX2)
    e = as_float((bits >> 52) | _TWO52_BITS) - _TWO52_PLUS_BIAS
    m = as_float((bits & _MANT) | _ONE_BITS)
    big = m > _SQRT2
    m = m * 0.5 if big else m
    e = e + 1.0 if big else e
    s = (m - 1.0) / (m + 1.0)
    z = s * s
    q = _LOG_C[11]
    q = q * z + _LOG_C[10]
    q = q * z + _LOG_C[9]
    q = q * z + _LOG_C[8]
    q = q * z + _LOG_C[7]
    q = q * z + _LOG_C[6]
    q = q * z + _LOG_C[5]
    q = q * z + _LOG_C[4]
    q = q * z + _LOG_C[3]
    q = q * z + _LOG_C[2]
    q = q * z + _LOG_C[1]
    q = q * z + _LOG_C[0]
    return e * _LN2 + s * q


@njit(cache=True, inline="always", error_model="numpy")
def sin_half_pi(x):
    """``sin x`` for ``|x| <= pi/2`` (Taylor series to ``x^23``)."""
    z = x * x
    q = _SIN_C[11]
    q = q * z + _SIN_C[10]
    q = q * z + _SIN_C[9]
    q = q * z + _SIN_C[8]
    q = q * z + _SIN_C[7]
    q = q * z + _SIN_C[6]
    q = q * z + _SIN_C[5]
    q = q * z + _SIN_C[4]
    q = q * z + _SIN_C[3]
    q = q * z + _SIN_C[2]
    q = q * z + _SIN_C[1]
    q = q * z + _SIN_C[0]
    return x * q


@njit(cache=True, inline="always", error_model="numpy")
def cos_half_pi(x):
    """``cos x`` for ``|x| <= pi/2`` (Taylor series to ``x^22``)."""
    z = x * x
    q = _COS_C[11]
    q = q * z + _COS_C[10]
    q = q * z + _COS_C[9]
    q = q * z + _COS_C[8]
    q = q * z + _COS_C[7]
    q = q * z + _COS_C[6]
    q = q * z + _COS_C[5]
    q = q * z + _COS_C[4]
    q = q * z + _COS_C[3]
    q = q * z + _COS_C[2]
    q = q * z + _COS_C[1]
    q = q * z + _COS_C[0]
    return q


@njit(cache=True, inline="always", error_model="numpy")
def _exp(x):
    # exp_neg's range reduction holds up to x = 709 (the largest double is e^709.78); the
    # callers keep their arguments below 709 (tests/test_noise.py checks the whole range)
    return exp_neg(min(x, 709.0))


# --------------------------------------------------------------------------------------------
# the three laws: each sample is a function of two uniforms (u, w), drawn in that order
# --------------------------------------------------------------------------------------------
@njit(cache=True, inline="always", error_model="numpy")
def transform(law, alpha, u, w):
    """One sample of law code ``law`` from two independent uniforms ``u, w`` in (0, 1).

    * stable (Chambers-Mallows-Stuck): ``V = pi (u - 1/2)``, ``W = -log w``,
      ``X = sin(alpha V) / cos(V)^(1/alpha) * (cos((1 - alpha) V) / W)^((1 - alpha)/alpha)``;
      ``E e^(itX) = e^(-|t|^alpha)`` (at ``alpha = 1`` it reduces to ``tan V``, Cauchy);
    * pareto: ``u^(-1/alpha) - alpha/(alpha - 1)`` (``w`` unused);
    * gauss: ``sqrt(-2 log u) cos(2 pi w)`` (Box-Muller).
    """
    if law == STABLE:
        # |V| = pi (1/2 - c) with c = min(u, 1 - u) (exact in floating point); every cosine
        # is written as the sine of its distance to pi/2 so that it keeps its relative accuracy
        # where it is small (the far tail, u near 0 or 1)
        c = min(u, 1.0 - u)
        av = math.pi * (0.5 - c)
        a1 = abs(1.0 - alpha)
        cos_v = sin_half_pi(math.pi * c)
        cos_a1v = sin_half_pi(_HALF_PI * (1.0 - a1) + a1 * math.pi * c)
        h = 0.5 * alpha * av  # in [0, pi/2]: sin(alpha V) = 2 sin(h) cos(h)
        cos_h = sin_half_pi(_HALF_PI * (1.0 - 0.5 * alpha) + 0.5 * alpha * math.pi * c)
        lw = log_pos(-log_pos(w))
        ln = ((1.0 - alpha) * (log_pos(cos_a1v) - lw) - log_pos(cos_v)) / alpha
        mag = 2.0 * sin_half_pi(h) * cos_h * _exp(ln)
        return mag if u >= 0.5 else -mag
    if law == PARETO:
        return _exp(-log_pos(u) / alpha) - alpha / (alpha - 1.0)
    h = math.pi * (w - 0.5)  # cos(2 pi w) = -cos(2h) = 2 sin(h)^2 - 1
    sh = sin_half_pi(h)
    return math.sqrt(-2.0 * log_pos(u)) * (2.0 * sh * sh - 1.0)


@njit(cache=True, error_model="numpy")
def fill(law, alpha, s, u, out):
    """Fill ``out`` with samples from the stream ``s``; ``u`` is scratch of size ``2 * out.size``.

    Two passes: the uniforms (sequential, the generator's state), then the transform (no
    dependence between samples: vectorized). Sample ``i`` of a stream uses uniforms ``2i`` and
    ``2i + 1`` whatever the block size, so blocks of any length give the same sequence.
    """
    n = out.size
    for i in range(2 * n):
        u[i] = uniform_open(s)
    for i in range(n):
        out[i] = transform(law, alpha, u[2 * i], u[2 * i + 1])


@njit(cache=True, error_model="numpy")
def _fill(law, alpha, seed, stream, out):
    s = np.empty(4, np.uint64)
    seed_state(seed, stream, s)
    block = 1024
    u = np.empty(2 * block)
    for lo in range(0, out.size, block):
        hi = min(lo + block, out.size)
        fill(law, alpha, s, u[: 2 * (hi - lo)], out[lo:hi])


def check_law(law: str, alpha: float) -> int:
    """Validate a law name and its index; return the law code.

    Raises
    ------
    ValueError
        One line naming the parameter and its valid range.
    """
    if law not in LAWS:
        raise ValueError(f"law must be one of {', '.join(LAWS)}, got {law!r}")
    a = float(alpha)
    if law == "stable" and not (0.2 <= a <= 2.0):
        raise ValueError(f"alpha must be in [0.2, 2] for the stable law, got {alpha!r}")
    if law == "pareto" and not (1.0 < a < math.inf):
        raise ValueError(f"alpha must be in (1, inf) for the centred Pareto law, got {alpha!r}")
    return LAWS[law]


def _u64(value: int, name: str) -> np.uint64:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or not (
            0 <= int(value) < 2**64):
        raise ValueError(f"{name} must be an integer in [0, 2^64), got {value!r}")
    return np.uint64(int(value))


def sample(law: str, alpha: float, n: int, seed: int = 0, stream: int = 0,
           scale: float = 1.0) -> np.ndarray:
    """``n`` reproducible samples of a noise law.

    Parameters
    ----------
    law : {"stable", "pareto", "gauss"}
        Symmetric alpha-stable (Chambers-Mallows-Stuck), centred Pareto, or standard normal.
    alpha : float
        Tail index: in [0.2, 2] for ``stable``, in (1, inf) for ``pareto``; ignored for ``gauss``.
    n : int
        Number of samples, >= 0.
    seed, stream : int
        Integers in [0, 2^64). The same pair gives the same numbers.
    scale : float
        Positive factor applied to every sample.

    Returns
    -------
    ndarray of float64, shape (n,)

    Examples
    --------
    >>> x = sample("stable", 1.5, 4, seed=1)
    >>> bool(np.array_equal(x, sample("stable", 1.5, 4, seed=1)))
    True
    """
    code = check_law(law, alpha)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be an integer >= 0, got {n!r}")
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a finite number > 0, got {scale!r}")
    out = np.empty(int(n))
    _fill(code, float(alpha), _u64(seed, "seed"), _u64(stream, "stream"), out)
    if scale != 1.0:
        out *= scale
    return out


def scipy_law(law: str, alpha: float):
    """The frozen :mod:`scipy.stats` distribution that :func:`sample` draws from."""
    from scipy import stats

    check_law(law, alpha)
    if law == "stable":
        return stats.levy_stable(alpha, 0.0)
    if law == "pareto":
        return stats.pareto(alpha, loc=-alpha / (alpha - 1.0))
    return stats.norm()


# --------------------------------------------------------------------------------------------
# tail-index estimators
# --------------------------------------------------------------------------------------------
def block_sum_index(x, block: int | None = None) -> float:
    """Tail index by block sums (Mohammadi, Mohammadpour and Ogata 2015).

    For i.i.d. *symmetric alpha-stable* ``X``, a sum of ``K1`` of them has the law of
    ``K1^(1/alpha) X``, so ``1/alpha = (mean log|Y| - mean log|X|) / log K1`` with ``Y`` the
    sums over consecutive blocks of ``K1``. Şimşekli et al. (2019) used it on SGD noise.

    Fails where the law is not stable: on the centred Pareto law (asymmetric, only in the
    domain of attraction) ``E log|X|`` is not that of the limit law and the estimate is biased
    by a term that decays only like ``1/log K1`` (measured in ``tests/test_noise.py``). At
    ``alpha = 2`` (Gaussian) it is consistent and returns about 2.

    Parameters
    ----------
    x : array_like
        Samples, at least 4.
    block : int, optional
        Block length ``K1 >= 2``; default ``floor(sqrt(n))``.

    Returns
    -------
    float
        The estimate of alpha.
    """
    x = np.asarray(x, float).ravel()
    n = x.size
    if n < 4:
        raise ValueError(f"x must hold at least 4 samples, got {n}")
    k1 = int(math.isqrt(n)) if block is None else block
    if isinstance(k1, bool) or not (2 <= k1 <= n // 2):
        raise ValueError(f"block must be an integer in [2, {n // 2}], got {block!r}")
    k2 = n // k1
    x = x[: k1 * k2]
    y = x.reshape(k2, k1).sum(axis=1)
    with np.errstate(divide="ignore"):
        lx, ly = np.log(np.abs(x)), np.log(np.abs(y))
    inv = (np.mean(ly[np.isfinite(ly)]) - np.mean(lx[np.isfinite(lx)])) / math.log(k1)
    return float(1.0 / inv) if inv > 0 else math.inf


def hill_index(x, k: int | None = None, tail: str = "upper") -> float:
    """Hill's estimator of the tail index from the ``k`` largest order statistics.

    ``1/alpha = (1/k) sum_{i<=k} log(X_(i) / X_(k+1))`` over the ``k`` largest values of the
    chosen tail. It needs only a Pareto-type tail, so it works on one tail of an asymmetric
    law (the centred Pareto: ``tail="upper"``; its lower tail is bounded, so ``"lower"`` has no
    index to find).

    Fails near ``alpha = 2`` on stable laws: their tail ``P(|X| > x) ~ C x^-alpha`` sets in only
    far beyond the Gaussian-like body, so with any practical ``k`` the estimate lands well above
    alpha (McCulloch 1997; measured in ``tests/test_noise.py``).

    Parameters
    ----------
    x : array_like
        Samples.
    k : int, optional
        Number of upper order statistics, in ``[2, m - 1]`` for the ``m`` positive values of
        the tail; default ``floor(sqrt(m))``.
    tail : {"upper", "lower", "abs"}
        ``x``, ``-x`` or ``|x|``.

    Returns
    -------
    float
        The estimate of alpha.
    """
    x = np.asarray(x, float).ravel()
    if tail not in ("upper", "lower", "abs"):
        raise ValueError(f"tail must be 'upper', 'lower' or 'abs', got {tail!r}")
    t = x if tail == "upper" else (-x if tail == "lower" else np.abs(x))
    t = t[t > 0]
    m = t.size
    if m < 3:
        raise ValueError(f"the {tail} tail needs at least 3 positive values, got {m}")
    k = int(math.isqrt(m)) if k is None else k
    if isinstance(k, bool) or not (2 <= k <= m - 1):
        raise ValueError(f"k must be an integer in [2, {m - 1}], got {k!r}")
    top = -np.partition(-t, k)[: k + 1]
    top.sort()
    top = top[::-1]
    inv = float(np.mean(np.log(top[:k] / top[k])))
    return 1.0 / inv if inv > 0 else math.inf
