"""Shared numeric kernels: the bottom layer that problems, flows and integrators all import.

Every function here is compiled with Numba, branch-free where it can be, and calls no libm
function, so that loops around it vectorize (the pip llvmlite has no SVML: a libm ``exp`` or
``log`` is a scalar call of about 7-30 ns, these are 1-3 ns in a vectorized loop;
``DESIGN.md``, "Numba notes"):

* :func:`sum4`: a sum with four accumulators in a fixed order (reproducible bits, pipelined).
* :func:`exp_neg`, :func:`expm1_pos`, :func:`log1p_pos`: ``e^x`` (``x <= 0``), ``e^x - 1`` and
  ``log(1 + x)`` (``x >= 0``) within 1-2 ulps of libm.
* :data:`as_float`, :data:`as_int`: reinterpret the bits of a double as an int64 and back.

This module imports nothing from :mod:`linsim`; anything of the library may import it.
"""

from __future__ import annotations

import math

from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

_INV_LN2 = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_SHIFT = 6755399441055744.0  # 1.5 * 2^52: adding it rounds to an integer held in the low bits
_SHIFT_BITS = 0x4338000000000000
_C = tuple(1.0 / math.factorial(k) for k in range(14))  # Taylor coefficients of e^r

# fdlibm's minimax coefficients of (log(1+f) - f + f^2/2) / s in powers of s^2, s = f/(2+f)
_LG1, _LG2, _LG3, _LG4 = (6.666666666666735130e-01, 3.999999999940941908e-01,
                          2.857142874366239149e-01, 2.222219843214978396e-01)
_LG5, _LG6, _LG7 = 1.818357216161805012e-01, 1.531383769920937332e-01, 1.479819860511658591e-01
_SQRT2 = 1.4142135623730951
_MANT_BITS = 0x000FFFFFFFFFFFFF
_EXP_BITS = 0x7FF0000000000000
_ONE_BITS = 0x3FF0000000000000
_TWO52_BITS = 0x4330000000000000
_TWO52 = 4503599627370496.0


def _bitcast(to):
    @intrinsic
    def cast(typingctx, x):
        src_ty = types.int64 if to is types.float64 else types.float64
        llty = ir.DoubleType() if to is types.float64 else ir.IntType(64)

        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], llty)

        return to(src_ty), codegen

    return cast


#: Reinterpret the bits of an int64 as a float64 (no conversion; compiled code only).
as_float = _bitcast(types.float64)
#: Reinterpret the bits of a float64 as an int64 (no conversion; compiled code only).
as_int = _bitcast(types.int64)


@njit(cache=True, inline="always")
def taylor_tail(r):
    """``(e^r - 1)/r`` from the degree-13 Taylor polynomial of ``e^r``, for ``|r| <= ln2/2``.

    The terms of degree >= 4 go by Estrin's scheme (pairs, then ``r^2``, ``r^4``), the four
    leading ones by Horner: a dependency chain of 14 operations instead of 26, so a vectorized
    loop is less bound by latency, and the last operations, which set the rounding error, are
    Horner's (an all-Estrin form loses 2 ulps in :func:`expm1_pos`).
    """
    r2 = r * r
    r4 = r2 * r2
    e0 = (_C[5] + _C[6] * r) + (_C[7] + _C[8] * r) * r2
    e1 = (_C[9] + _C[10] * r) + (_C[11] + _C[12] * r) * r2
    high = (e0 + e1 * r4) + _C[13] * (r4 * r4)
    return _C[1] + r * (_C[2] + r * (_C[3] + r * (_C[4] + r * high)))


@njit(cache=True, inline="always")
def exp_neg(x):
    """``e^x`` for ``x <= 0`` without a libm call, so the loops around it vectorize (AVX2).

    Range reduction ``x = k ln2 + r`` (``|r| <= ln2/2``; ``k`` by the 1.5*2^52 shifter, since
    AVX2 has no packed double-to-int64 conversion), a degree-13 Taylor polynomial for ``e^r``
    and ``k`` added to the exponent bits. Within 1 ulp of ``np.exp`` on [-708, 0]; results
    below ``e^-708`` (about 3e-308) are flushed to 0. A libm ``exp`` costs about 7 ns here and
    this about 2.5 ns; the K24 right-hand side makes ``c^2`` of them.
    """
    xc = max(x, -708.0)
    tt = xc * _INV_LN2 + _SHIFT
    kd = tt - _SHIFT
    r = (xc - kd * _LN2_HI) - kd * _LN2_LO
    q = taylor_tail(r) * r + _C[0]
    scale = as_float((as_int(tt) - _SHIFT_BITS + 1023) << 52)
    return q * scale if x >= -708.0 else 0.0


@njit(cache=True, inline="always")
def log1p_pos(x):
    """``log(1 + x)`` for finite ``x >= 0`` without a libm call, so that loops vectorize (AVX2).

    ``w = 1 + x`` is split as ``2^k m`` with ``m`` in ``[sqrt(2)/2, sqrt(2))`` through its bits
    (the exponent goes to a double through the 2^52 trick: AVX2 has no packed int64-to-double
    conversion), ``log m`` is fdlibm's ``__ieee754_log`` polynomial, and the rounding error of
    ``1 + x`` is added back as ``(x - (w - 1)) / w`` (exact to first order), which keeps tiny
    ``x`` exact: ``w = 1`` gives ``x``. Within 1 ulp of ``math.log1p`` (measured on ``10^6``
    log-uniform points in ``[1e-320, 1e7]``). Loops around it must be compiled with
    ``error_model="numpy"`` (a Python-style division check stops the vectorizer).
    """
    w = 1.0 + x
    err = x - (w - 1.0)
    bits = as_int(w)
    m = as_float((bits & _MANT_BITS) | _ONE_BITS)
    # masking the sign bit first lets LLVM shift logically (AVX2 has no 64-bit arithmetic shift)
    dk = as_float(((bits & _EXP_BITS) >> 52) | _TWO52_BITS) - (_TWO52 + 1023.0)
    big = m > _SQRT2
    m = 0.5 * m if big else m
    dk = dk + 1.0 if big else dk
    f = m - 1.0
    hfsq = 0.5 * f * f
    s = f / (2.0 + f)
    z = s * s
    w2 = z * z
    t1 = w2 * (_LG2 + w2 * (_LG4 + w2 * _LG6))
    t2 = z * (_LG1 + w2 * (_LG3 + w2 * (_LG5 + w2 * _LG7)))
    return dk * _LN2_HI - ((hfsq - (s * (hfsq + (t2 + t1)) + dk * _LN2_LO)) - f) + err / w


@njit(cache=True, inline="always")
def expm1_pos(x):
    """``e^x - 1`` for ``0 <= x <= 709`` without a libm call, so that loops vectorize (AVX2).

    The range reduction and polynomial of :func:`exp_neg`, ``e^x - 1 = 2^k (e^r - 1) + (2^k - 1)``
    with ``e^r - 1 = r (1 + r/2 + ...)``, which keeps full relative accuracy for tiny ``x``
    (``k = 0``). Within 2 ulps of ``math.expm1``.
    """
    tt = x * _INV_LN2 + _SHIFT
    kd = tt - _SHIFT
    r = (x - kd * _LN2_HI) - kd * _LN2_LO
    q = taylor_tail(r)
    scale = as_float((as_int(tt) - _SHIFT_BITS + 1023) << 52)
    return scale * (r * q) + (scale - 1.0)


@njit(cache=True, inline="always")
def sum4(a):
    """Sum of ``a`` with four accumulators: a fixed order (reproducible) that pipelines and
    vectorizes, where one running sum is a chain of dependent adds."""
    s0 = s1 = s2 = s3 = 0.0
    n = a.size
    i = 0
    while i + 4 <= n:
        s0 += a[i]
        s1 += a[i + 1]
        s2 += a[i + 2]
        s3 += a[i + 3]
        i += 4
    while i < n:
        s0 += a[i]
        i += 1
    return (s0 + s1) + (s2 + s3)


@njit(cache=True, inline="always")
def sum_range(x, lo, hi):
    """Sum of ``x[lo:hi]`` by :func:`sum4` (a fixed order: reproducible, and pipelined)."""
    return sum4(x[lo:hi])


__all__ = ["sum4", "sum_range", "exp_neg", "expm1_pos", "log1p_pos", "taylor_tail", "as_float",
           "as_int"]
