"""Plain NumPy + SciPy version of linsim's main job, the baseline of ``benchmarks/flow_bench.py``.

The K24 one-hot softmax model in full mode (THEORY.md, "K24: the continuous-time model"): inputs
``e_k``, weights ``W`` (c x c, ``W(0) = 0``), ``L(W) = sum_k pi_k l_k(W)`` with
``l_k = -log softmax(W e_k)_k``. The state is ``W`` flattened column by column, as in linsim:
``y[k*c:(k+1)*c]`` holds column ``k`` (the logits of input ``k``), so ``y.reshape(c, c)`` is a
``(c, c)`` array whose *row* ``k`` is column ``k`` of ``W``, and every softmax runs along a row.

Written the way a competent NumPy user would write it, not as a strawman:

* the right-hand side is vectorized over the whole ``(c, c)`` array (one ``np.exp`` call of
  ``c^2`` entries per evaluation), in place in one fresh output array per call (``solve_ivp``
  keeps what ``fun`` returns, so a reused buffer would be unsafe);
* the softmax is stabilized by the row maximum, and the sum of the *other* exponentials,
  ``rest = sum_{j != argmax} exp(w_j - max)``, is kept apart. ``1 - p_max = rest / (1 + rest)``
  and ``l_k = (max - w_k) + log1p(rest)`` are then exact to rounding even when they are tiny.
  The textbook ``softmax(w) - e_k`` is not enough here: under sign flow ``p_k`` rounds to 1
  once ``t > ~22`` (``c = 1000``), the diagonal gradient becomes 0, ``sign(0) = 0`` freezes the
  diagonal and the losses leave the closed form by orders of magnitude. linsim's kernel uses
  the same split;
* sign flow takes the sign of the unweighted ``softmax - e_k`` (``pi_k > 0`` does not change
  it). Weighting first is not only a wasted multiply: in the subnormal range (``t`` in about
  [369, 374]) ``pi_k * p_j`` underflows to 0 class by class, each a small discontinuity of
  the right-hand side, and ``solve_ivp`` then spends about ten times the evaluations there;
* integration by ``scipy.integrate.solve_ivp(method="RK45", t_eval=t)``: the states at the
  200 output times come back in ``sol.y`` (``c^2 x 200`` float64, 1.6 GB at ``c = 1000``; that
  is what ``solve_ivp`` does, and it is what a typical user writes). ``dense_output=True``
  would instead keep a ``c^2 x 4`` interpolant for every step (about 100 steps: more memory);
* per-class losses from ``sol.y``, one vectorized ``(c, c)`` pass per output time.

Run by hand (slow: tens of seconds at ``c = 1000``)::

    python benchmarks/scipy_baseline.py --classes 300
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from scipy.integrate import solve_ivp

FLOWS = ("gradient", "sign", "normalized")


def zipf_pi(classes: int, zipf: float) -> np.ndarray:
    """``pi_k = k^-a / sum_j j^-a`` (the same formula and summation order as linsim)."""
    k = np.arange(1, classes + 1, dtype=np.float64)
    w = np.exp(-zipf * np.log(k)) if zipf != 0.0 else np.ones(classes)
    return w / np.sum(w[::-1])


def output_times(t_max: float, points: int, decades: float = 12.0) -> np.ndarray:
    """``points`` log-spaced times over ``decades`` decades ending at ``t_max``."""
    return np.logspace(math.log10(t_max) - decades, math.log10(t_max), points)


class OneHotSoftmax:
    """The full one-hot model in NumPy: losses, gradient and the flows' right-hand sides."""

    def __init__(self, pi):
        self.pi = np.ascontiguousarray(pi, dtype=np.float64)
        self.c = self.pi.size
        self.rows = np.arange(self.c)

    def _exp_parts(self, W, E):
        """``E <- exp(W - rowmax)`` with the row's max entry set to 0; returns max, argmax, rest."""
        rows = self.rows
        im = W.argmax(axis=1)
        m = W[rows, im]
        np.subtract(W, m[:, None], out=E)
        np.exp(E, out=E)
        E[rows, im] = 0.0
        rest = E.sum(axis=1)
        return m, im, rest

    def losses(self, W, work=None) -> np.ndarray:
        """Per-class losses ``l_k = (max - w_kk) + log1p(rest)`` of the ``(c, c)`` array ``W``."""
        E = np.empty_like(W) if work is None else work
        m, _, rest = self._exp_parts(W, E)
        return (m - W[self.rows, self.rows]) + np.log1p(rest)

    def gradient(self, W, G, weights=None):
        """``G <- pi_k (softmax(row k of W) - e_k)`` row by row, in place in ``G``.

        ``weights`` replaces ``pi`` (sign flow passes ones: the sign does not depend on it).
        """
        rows = self.rows
        pi = self.pi if weights is None else weights
        _, im, rest = self._exp_parts(W, G)
        inv = pi / (1.0 + rest)
        G *= inv[:, None]  # pi_k p_j for every j other than the argmax
        G[rows, im] = inv  # pi_k p_max
        diag = G[rows, rows]
        # diagonal: pi_k (p_k - 1); where the diagonal is the max, -pi_k (1 - p_max) exactly
        G[rows, rows] = np.where(im == rows, -rest * inv, diag - pi)
        return G

    def rhs(self, flow: str):
        """``fun(t, y)`` for ``solve_ivp``: the velocity of ``flow`` at the flattened state."""
        if flow not in FLOWS:
            raise ValueError(f"flow must be one of {FLOWS}, got {flow!r}")
        c = self.c
        weights = np.ones(c) if flow == "sign" else self.pi

        def fun(t, y):
            G = np.empty((c, c))
            self.gradient(y.reshape(c, c), G, weights)
            if flow == "sign":
                np.sign(G, out=G)
            elif flow == "normalized":
                norm = np.linalg.norm(G)
                if norm > 0.0:
                    G /= norm
            np.negative(G, out=G)
            return G.reshape(-1)

        return fun


def run(pi, flows=("gradient", "sign"), *, t_max: float = 1e5, points: int = 200,
        rtol: float = 1e-8, atol: float = 1e-10) -> dict:
    """Integrate each flow with ``solve_ivp(RK45)`` and record per-class losses at ``t``.

    Returns ``{"t": t, flow: {"losses" (points x c), "overall", "nfev", "steps",
    "integrate_s", "losses_s", "seconds"}}``.
    """
    model = OneHotSoftmax(pi)
    c = model.c
    t = output_times(t_max, points)
    result: dict = {"t": t}
    for flow in flows:
        start = time.perf_counter()
        sol = solve_ivp(model.rhs(flow), (0.0, t_max), np.zeros(c * c), method="RK45",
                        t_eval=t, rtol=rtol, atol=atol)
        mid = time.perf_counter()
        if not sol.success:
            raise RuntimeError(f"solve_ivp failed for {flow} flow: {sol.message}")
        losses = np.empty((sol.t.size, c))
        work = np.empty((c, c))
        for i in range(sol.t.size):
            losses[i] = model.losses(sol.y[:, i].reshape(c, c), work)
        overall = losses @ model.pi
        end = time.perf_counter()
        result[flow] = {
            "losses": losses,
            "overall": overall,
            "nfev": int(sol.nfev),
            # RK45 uses 6 evaluations per attempted step after the 2 of the starting step
            "steps_attempted": (int(sol.nfev) - 2) // 6,
            "integrate_s": mid - start,
            "losses_s": end - mid,
            "seconds": end - start,
        }
        del sol
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--classes", type=int, default=1000)
    ap.add_argument("--zipf", type=float, default=1.1)
    ap.add_argument("--t-max", type=float, default=1e5)
    ap.add_argument("--points", type=int, default=200)
    ap.add_argument("--rtol", type=float, default=1e-8)
    ap.add_argument("--atol", type=float, default=1e-10)
    args = ap.parse_args(argv)
    res = run(zipf_pi(args.classes, args.zipf), t_max=args.t_max, points=args.points,
              rtol=args.rtol, atol=args.atol)
    for flow in ("gradient", "sign"):
        r = res[flow]
        print(f"{flow:>8}: {r['seconds']:.2f} s (solve_ivp {r['integrate_s']:.2f} s, losses "
              f"{r['losses_s']:.2f} s), nfev {r['nfev']}, final overall loss "
              f"{r['overall'][-1]:.6e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
