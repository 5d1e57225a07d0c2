"""Softmax cross-entropy models, compiled with Numba, around one stable softmax kernel.

The K24 one-hot model (THEORY.md, "K24: the continuous-time model"): inputs ``e_k``, weights
``W`` (c x c), ``L(W) = sum_k pi_k l_k(W)`` with ``l_k = -log softmax(W e_k)_k``. The state
vector holds ``W`` column by column: column ``k`` (the logits of input ``k``) is
``y[k*c:(k+1)*c]``, contiguous, so each class's softmax is one pass over contiguous memory.

Two modes:

* **full**: all ``c^2`` weights, any flow of :mod:`linsim.flows`. It assumes nothing and is the
  mode that verifies K24.decouple and the closed forms.
* **reduced**: the exact margin ODE ``u_k' = c pi_k / (e^u_k + c - 1)`` (K24.decouple) and its
  sign- and normalized-flow analogues; ``c`` states, so it scales to ``10^6`` classes.

The Y25 unigram model (THEORY.md, "The unigram model (Y25)"): one logit vector ``theta`` in
``R^c``, ``f(theta) = -sum_k pi_k log softmax(theta)_k`` (:class:`UnigramModel`), computed with
the same softmax kernel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from .. import flows
from ..flows import (
    ADAM,
    HEADER,
    NORMALIZED,
    RMSPROP,
    SIGN,
    SIGN_EPS,
    apply_flow,
    finish,
    kink_values,
    pack,
    transform,
)
from ..integrate import vector_field
from ..kernels import (
    exp_neg,
    expm1_pos,  # noqa: F401  (moved to linsim.kernels; callers import it here)
    log1p_pos,
    sum_range,
)
from . import zipf
from .layout import ParamLayout

#: Classes per chunk of the reduced-mode Adam/RMSProp field (:func:`_margin_coordinatewise`).
_COORD_CHUNK = 256


@njit(cache=True, inline="always")
def add_by_group(sums, labels, w, total):
    """``sums[labels[i]] += w[i]`` for one block of classes, whose sum ``total`` is known: one
    add when the block has a single label (the usual case: equal-mass groups are contiguous),
    class by class otherwise."""
    g0 = labels[0]
    mixed = 0
    for i in range(labels.size):
        mixed += labels[i] != g0
    if mixed == 0:
        sums[int(g0)] += total
    else:
        for i in range(labels.size):
            sums[int(labels[i])] += w[i]


@njit(cache=True, inline="always")
def _argmax(w):
    m = w[0]
    im = 0
    for j in range(1, w.size):
        if w[j] > m:
            m = w[j]
            im = j
    return m, im


@njit(cache=True)
def softmax_column(w, k, weight, g):
    """One column's loss and weighted gradient: the single softmax kernel of linsim.

    ``g`` receives ``weight * (softmax(w) - e_k)``; returns ``l_k = -log softmax(w)_k``, exact to
    rounding even when it is tiny, with no overflow for entries of any finite size (the shift by
    the column maximum keeps every exponent <= 0). The exponentials go through ``g`` before they
    are summed: an exp inside a floating-point reduction does not vectorize.
    """
    n = w.size
    m, im = _argmax(w)
    for j in range(n):
        g[j] = exp_neg(w[j] - m)
    # sum of exp(w_j - m) over j != argmax: keeps 1 - p_max, and tiny losses, exact
    rest = sum_range(g, 0, im) + sum_range(g, im + 1, n)
    inv = weight / (1.0 + rest)
    for j in range(n):
        g[j] *= inv
    if k == im:
        g[k] = -rest * inv
    else:
        g[k] -= weight  # p_k <= 1/2 here: no cancellation
    return (m - w[k]) + math.log1p(rest)


@njit(cache=True)
def onehot_loss_grad(y, pi, grad, losses):
    """Per-class losses and the full gradient of the one-hot model (columns contiguous)."""
    c = pi.size
    for k in range(c):
        losses[k] = softmax_column(y[k * c : (k + 1) * c], k, pi[k], grad[k * c : (k + 1) * c])


@njit(cache=True, inline="always")
def _column_velocities(t, y, p, dy, c, k0, pi):
    """Gradient and flow velocity of the columns ``k0, k0 + 1, ...`` held in ``y`` (one per
    entry of ``pi``): the loop shared by the whole-state and the block fields."""
    sumsq = 0.0
    for j in range(pi.size):
        col = dy[j * c : (j + 1) * c]
        softmax_column(y[j * c : (j + 1) * c], k0 + j, pi[j], col)
        sumsq += transform(p, col)  # while the column is in cache
    finish(t, p, y, dy, sumsq)


# --------------------------------------------------------------------------------------------
# parameter layouts (after the flow header) and their compiled readers

#: Which classes' losses an output function reports: the number of groups, each class's group,
#: and the selected classes (:func:`summarize`).
_OUTPUT_FIELDS = (("G", 1), ("labels", "c"), ("n_sel", 1), ("selected", "n_sel"))
#: :meth:`OneHotModel.params`.
ONEHOT_LAYOUT = ParamLayout((("c", 1), ("pi", "c"), *_OUTPUT_FIELDS))
#: :meth:`OneHotModel.block_params`: classes ``k0 .. k0 + n - 1``; ``labels`` are the
#: block's, ``selected`` counted from ``k0``.
BLOCK_LAYOUT = ParamLayout((("c", 1), ("k0", 1), ("n", 1), ("pi", "n"), ("G", 1),
                            ("labels", "n"), ("n_sel", 1), ("selected", "n_sel")))
#: :meth:`UnigramModel.params`: the one-hot layout, the event's ``level`` and ``log pi``.
UNIGRAM_LAYOUT = ONEHOT_LAYOUT.extend(("level", 1), ("log_pi", "c"))


@njit(cache=True, inline="always")
def onehot_classes(p):
    """``c`` of :data:`ONEHOT_LAYOUT` (and of the unigram and block layouts)."""
    return int(p[HEADER])


@njit(cache=True, inline="always")
def onehot_pi(p):
    """``pi`` of :data:`ONEHOT_LAYOUT` (and :data:`UNIGRAM_LAYOUT`)."""
    return p[HEADER + 1 : HEADER + 1 + int(p[HEADER])]


@njit(cache=True, inline="always")
def onehot_outputs(p):
    """The output fields of :data:`ONEHOT_LAYOUT` on (``G`` first), read by
    :func:`output_fields`."""
    return p[HEADER + 1 + int(p[HEADER]) :]


@njit(cache=True, inline="always")
def block_k0(p):
    """``k0`` of :data:`BLOCK_LAYOUT`."""
    return int(p[HEADER + 1])


@njit(cache=True, inline="always")
def block_size(p):
    """``n`` of :data:`BLOCK_LAYOUT`."""
    return int(p[HEADER + 2])


@njit(cache=True, inline="always")
def block_pi(p):
    """``pi`` of :data:`BLOCK_LAYOUT` (the block's classes)."""
    return p[HEADER + 3 : HEADER + 3 + int(p[HEADER + 2])]


@njit(cache=True, inline="always")
def block_outputs(p):
    """The output fields of :data:`BLOCK_LAYOUT` on (``G`` first)."""
    return p[HEADER + 3 + int(p[HEADER + 2]) :]


@njit(cache=True, inline="always")
def output_fields(q, n):
    """``(G, labels, n_sel, selected)`` of output fields ``q`` (from :func:`onehot_outputs` or
    :func:`block_outputs`) for ``n`` classes."""
    nsel = int(q[1 + n])
    return int(q[0]), q[1 : 1 + n], nsel, q[2 + n : 2 + n + nsel]


@vector_field
def onehot_field(t, y, p, dy):
    """Full mode: ``p = [flow header, c, pi_1..pi_c]``; gradient, then the flow's transform."""
    _column_velocities(t, y, p, dy, onehot_classes(p), 0, onehot_pi(p))


@vector_field
def onehot_block_field(t, y, p, dy):
    """Full mode, columns ``k0 .. k0 + n - 1`` only (:meth:`OneHotModel.block_params`).

    The one-hot loss is a sum over columns of terms that each read one column, so under a
    coordinatewise flow the columns evolve independently (:meth:`OneHotModel.blocks`).
    """
    _column_velocities(t, y, p, dy, onehot_classes(p), block_k0(p), block_pi(p))


@njit(cache=True, inline="always")
def _column_losses(y, c, k0, losses):
    """``losses[j] = l_(k0+j)`` of the columns held in ``y``."""
    scratch = np.empty(c)
    for j in range(losses.size):
        losses[j] = softmax_column(y[j * c : (j + 1) * c], k0 + j, 1.0, scratch)


@vector_field
def onehot_block_losses(t, y, p, out):
    """Output function of :func:`onehot_block_field`: the block's per-class losses ``l_k``."""
    _column_losses(y, onehot_classes(p), block_k0(p), out[: block_size(p)])


@njit(cache=True)
def summarize(losses, p, out):
    """Reduce per-class losses to ``[overall, group means, selected classes]`` in ``out``.

    The reduction spec follows the problem parameters in ``p`` (see :meth:`OneHotModel.params`):
    ``G, labels (c), n_sel, selected (n_sel)``. Group means are ``pi``-weighted.
    """
    c = losses.size
    pi = onehot_pi(p)
    G, labels, nsel, sel = output_fields(onehot_outputs(p), c)
    weight = np.zeros(G)
    overall = 0.0
    out[: 1 + G] = 0.0
    for k in range(c):
        g = int(labels[k])
        overall += pi[k] * losses[k]
        out[1 + g] += pi[k] * losses[k]
        weight[g] += pi[k]
    out[0] = overall
    for g in range(G):
        out[1 + g] /= weight[g]
    for i in range(nsel):
        out[1 + G + i] = losses[int(sel[i])]


@vector_field
def onehot_summary(t, y, p, out):
    """Output function (full mode): overall, group and selected per-class losses."""
    c = onehot_classes(p)
    losses = np.empty(c)
    _column_losses(y, c, 0, losses)
    summarize(losses, p, out)


@njit(cache=True, inline="always")
def _exp_minus(u):
    """``e^-u`` through :func:`exp_neg` (margins are >= 0 along every flow from 0); a
    negative margin takes the reciprocal, as a select that keeps the loop vectorizable."""
    e = exp_neg(-abs(u))
    return e if u >= 0.0 else 1.0 / e


@njit(cache=True, inline="always")
def _margin_coordinatewise(t, u, p, du, cf, pi):
    """Reduced mode of the coordinatewise flows sign_eps, adam and rmsprop.

    In column ``k`` the diagonal weight has gradient ``g_k = -pi_k q_k`` and each of the
    ``c - 1`` others ``-g_k/(c-1)``; a coordinatewise flow keeps the others equal (K24.decouple
    holds for it too), and their moments are those of the diagonal divided by ``c - 1`` (``m``)
    and ``(c-1)^2`` (``v``). So the margin moves at ``V(eps) + V((c-1) eps)``, with ``V(e)``
    the diagonal's speed at ``eps = e``: ``g/(|g| + e)`` for sign_eps and
    ``-mhat/(e + sqrt(vhat))`` for adam/rmsprop, whose state is ``[u, m, v]``/``[u, v]`` with
    the diagonal's moments (bias correction as in :mod:`linsim.flows`). ``cf`` is ``c``; the
    margins held in ``u`` are those of the ``n = len(pi)`` classes of ``pi``.
    """
    code = int(p[0])
    c = pi.size
    if code == SIGN_EPS:
        eps, e2 = p[1], (cf - 1.0) * p[1]
        for k in range(c):
            eu = _exp_minus(u[k])
            s = pi[k] * (cf - 1.0) * eu / (1.0 + (cf - 1.0) * eu)  # pi_k q_k = -g_k
            du[k] = s / (s + eps) + s / (s + e2)
        return
    if code == ADAM:
        a, b, eps = p[1], p[2], p[3]
        vo = 2 * c
    else:
        a, b, eps = 0.0, p[1], p[2]
        vo = c
    e2 = (cf - 1.0) * eps
    adam = code == ADAM
    start, ia, ib = flows.bias_factors(t, a, b, adam)
    # in chunks, one output stream per loop: a loop that reads and writes three slices of the
    # state each needs more runtime overlap checks than LLVM makes, and stays scalar (4x slower)
    gb = np.empty(_COORD_CHUNK)
    for k0 in range(0, c, _COORD_CHUNK):
        L = min(_COORD_CHUNK, c - k0)
        for i in range(L):
            eu = _exp_minus(u[k0 + i])
            gb[i] = -pi[k0 + i] * (cf - 1.0) * eu / (1.0 + (cf - 1.0) * eu)
        uv = u[vo + k0 : vo + k0 + L]
        dv = du[vo + k0 : vo + k0 + L]
        for i in range(L):
            dv[i] = b * (gb[i] * gb[i] - uv[i])
        um = u[c + k0 : c + k0 + L]
        if adam:
            dm = du[c + k0 : c + k0 + L]
            for i in range(L):
                dm[i] = a * (gb[i] - um[i])
        dx = du[k0 : k0 + L]
        for i in range(L):
            mh, r = flows.moment_estimates(gb[i], um[i], uv[i], ia, ib, start, adam)
            dx[i] = flows.moment_velocity(mh, r, eps) + flows.moment_velocity(mh, r, e2)


@njit(cache=True, inline="always")
def _margin_velocities(t, u, p, du, cf, pi):
    """The reduced-mode field of :func:`margin_field` for the classes of ``pi`` (``cf = c``)."""
    code = int(p[0])
    c = pi.size
    if code == SIGN:
        for k in range(c):
            # the reduced gradient of column k: diagonal g_d = -pi q, each of the c - 1
            # off-diagonal entries g_o = pi q/(c-1) (q = 1 - p_k); the margin a - b moves at
            # -sign(g_d) + sign(g_o). Not the constant 2 of K24.sf-closed-form: the signs come
            # from the gradient, and a gradient that underflows (sign(0) = 0) stops the margin,
            # as it stops the full model's column.
            eu = _exp_minus(u[k])
            q = (cf - 1.0) * eu / (1.0 + (cf - 1.0) * eu)
            g_d = -pi[k] * q
            g_o = pi[k] * q / (cf - 1.0)
            du[k] = -flows.sign(g_d) + flows.sign(g_o)
        return
    if code == SIGN_EPS or code == ADAM or code == RMSPROP:
        _margin_coordinatewise(t, u, p, du, cf, pi)
        return
    if code != NORMALIZED:
        for k in range(c):
            # c pi q/(c-1) with q = (c-1)/(e^u + c - 1), written for u of any size
            eu = _exp_minus(u[k])
            du[k] = pi[k] * cf * eu / (1.0 + (cf - 1.0) * eu)
        return
    # normalized: q_k / q_min-margin, so that the ratio survives when every q_k underflows
    umin = u[0]
    for k in range(1, c):
        umin = min(umin, u[k])
    norm2 = 0.0
    for k in range(c):
        qs = pi[k] * math.exp(umin - u[k]) / (1.0 + (cf - 1.0) * math.exp(-u[k]))
        du[k] = qs
        norm2 += qs * qs
    inv = 1.0 / math.sqrt(norm2 * (cf - 1.0) / cf)
    for k in range(c):
        du[k] *= inv


@vector_field
def margin_field(t, u, p, du):
    """Reduced mode: the margins ``u_k = a_k - b_k`` under the flow coded in ``p[0]``.

    Gradient flow ``u' = c pi / (e^u + c - 1)``; sign flow ``u' = -sign(g_d) + sign(g_o)`` with
    the reduced gradient entries ``g_d = -pi q`` (diagonal) and ``g_o = pi q/(c-1)`` (each
    off-diagonal entry), ``q = (c-1)/(e^u + c - 1)``: the diagonal entry moves at ``-sign(g_d)``,
    the others at ``-sign(g_o)`` (K24.sf-closed-form is what the signs give, not built in);
    normalized flow: the gradient-flow speed divided by
    the norm of the full ``c^2`` gradient, ``||g||^2 = c/(c-1) sum_k (pi_k q_k)^2`` with
    ``q_k = 1 - p_k = (c-1)/(e^u_k + c - 1)``; sign_eps, adam, rmsprop: see
    :func:`_margin_coordinatewise`.
    """
    _margin_velocities(t, u, p, du, float(onehot_classes(p)), onehot_pi(p))


@vector_field
def margin_block_field(t, u, p, du):
    """Reduced mode, classes ``k0 .. k0 + n - 1`` only (:meth:`OneHotModel.block_params`).

    Under a coordinatewise flow each margin evolves by itself; the normalized flow couples
    them through ``||g||`` and runs as one block of every class.
    """
    _margin_velocities(t, u, p, du, float(onehot_classes(p)), block_pi(p))


#: States per column block of the full mode (:meth:`OneHotModel.blocks`): 128 KB per
#: vector, so that the ~14 vectors of an RK45 step stay in the 1 MB L2 of a core pair.
_BLOCK_STATES = 1 << 14
#: Classes per block of the reduced mode (:meth:`OneHotModel.blocks`).
_REDUCED_BLOCK = 1 << 16
#: Classes per block of :func:`margin_summary` (the block's losses stay in L1).
_MARGIN_BLOCK = 512


@njit(cache=True, inline="always")
def margin_loss(u, cm1):
    """``l = log(1 + (c-1) e^-u)`` for a margin ``u >= 0`` (``cm1 = c - 1``), vectorizable.

    Within 2 ulps of ``math.log1p((c - 1) * math.exp(-u))``; 0 where ``e^-u`` is below ``e^-708``
    (:func:`exp_neg`), where the libm form still gives subnormal losses below ``1e-300``.
    """
    return log1p_pos(cm1 * exp_neg(-u))


@njit(cache=True, inline="always")
def _class_loss(u, cm1, libm):
    """:func:`margin_loss`, or with ``libm`` the libm form (any margin, negative included)."""
    return math.log1p(cm1 * math.exp(-u)) if libm else margin_loss(u, cm1)


@njit(cache=True, error_model="numpy")  # a Python-style division check stops the vectorizer
def _margin_sums(u, pi, labels, cm1, sums, weight):
    """Add the pi-weighted losses ``pi_k l_k`` of the margins ``u`` (one per entry of ``pi``;
    a flow's moments are not margins) to their groups' ``sums``
    (and ``pi_k`` to ``weight``); return their total.

    One pass over blocks of :data:`_MARGIN_BLOCK` classes: a block's weighted losses
    (:func:`margin_loss`, vectorized) are summed with four accumulators and added to their
    groups by :func:`add_by_group`. Margins that are negative or NaN anywhere send the whole
    call to the libm form, class by class; the second value returned says so.
    """
    c = u.size
    wl = np.empty(_MARGIN_BLOCK)
    overall = 0.0
    bad = 0
    for i0 in range(0, c, _MARGIN_BLOCK):
        n = min(_MARGIN_BLOCK, c - i0)
        ub = u[i0 : i0 + n]
        pb = pi[i0 : i0 + n]
        lb = labels[i0 : i0 + n]
        for i in range(n):
            wl[i] = pb[i] * margin_loss(ub[i], cm1)
        for i in range(n):  # apart: in the loop above this count costs a fifth of the time
            bad += not (ub[i] >= 0.0)
        s = sum_range(wl, 0, n)
        overall += s
        add_by_group(sums, lb, wl[:n], s)
        add_by_group(weight, lb, pb, sum_range(pb, 0, n))
    if bad > 0:
        sums[:] = 0.0
        weight[:] = 0.0
        overall = 0.0
        for k in range(c):
            g = int(labels[k])
            wk = pi[k] * _class_loss(u[k], cm1, True)
            overall += wk
            sums[g] += wk
            weight[g] += pi[k]
    return overall, bad > 0


@njit(cache=True, inline="always")
def _summary_of_margins(u, cm1, pi, tail, out, means):
    """``out = [sum_k pi_k l_k, G group sums (or pi-weighted means), selected losses]`` for the
    margins of the classes of ``pi``; ``tail``: the output fields (:func:`output_fields`)."""
    n = pi.size
    G, labels, nsel, sel = output_fields(tail, n)
    sums = np.zeros(G)
    weight = np.zeros(G)
    out[0], libm = _margin_sums(u[:n], pi, labels, cm1, sums, weight)
    for g in range(G):
        out[1 + g] = sums[g] / weight[g] if means else sums[g]
    for i in range(nsel):
        out[1 + G + i] = _class_loss(u[int(sel[i])], cm1, libm)


@vector_field
def margin_summary(t, u, p, out):
    """Output function (reduced mode): ``l_k = log(1 + (c-1) e^-u_k)``, summarized.

    The layout of ``out`` and ``p`` is that of :func:`summarize`; the sums are
    :func:`_margin_sums` (no per-class loss array), the selected classes' losses are computed
    again (same bits).
    """
    _summary_of_margins(u, onehot_classes(p) - 1.0, onehot_pi(p), onehot_outputs(p), out, True)


@vector_field
def margin_block_summary(t, u, p, out):
    """Output function of :func:`margin_block_field`: ``[sum_k pi_k l_k, the G groups' sums,
    the losses of the block's selected classes]`` (the caller divides by the group weights)."""
    _summary_of_margins(u, onehot_classes(p) - 1.0, block_pi(p), block_outputs(p), out, False)


@dataclass(frozen=True)
class OneHotModel:
    """The K24 one-hot softmax model with Zipf class frequencies.

    Parameters
    ----------
    classes : int
        Number of classes ``c >= 2``.
    zipf : float
        Zipf exponent ``a >= 0``; ``pi_k`` is proportional to ``k^-a``.
    mode : {"full", "reduced"}
        Integrate all ``c^2`` weights, or the ``c`` exact margins.
    """

    classes: int
    zipf: float
    mode: str = "full"

    def __post_init__(self):
        if self.mode not in ("full", "reduced"):
            raise ValueError(f"mode must be 'full' or 'reduced', got {self.mode!r}")
        object.__setattr__(self, "pi", zipf.zipf_frequencies(self.classes, self.zipf))
        object.__setattr__(self, "classes", int(self.classes))  # 5.0 was validated as 5

    @classmethod
    def from_frequencies(cls, pi, mode: str = "full") -> OneHotModel:
        """The model for given class frequencies ``pi`` (positive; sorted non-increasing and
        normalized here); ``zipf`` is NaN."""
        pi = np.sort(np.asarray(pi, dtype=np.float64).ravel())[::-1]
        if pi.size < 2 or not np.all(np.isfinite(pi) & (pi > 0)):
            raise ValueError("pi must hold at least 2 finite numbers > 0")
        if mode not in ("full", "reduced"):
            raise ValueError(f"mode must be 'full' or 'reduced', got {mode!r}")
        obj = object.__new__(cls)
        object.__setattr__(obj, "classes", int(pi.size))
        object.__setattr__(obj, "zipf", float("nan"))
        object.__setattr__(obj, "mode", mode)
        object.__setattr__(obj, "pi", pi / np.sum(pi[::-1]))
        return obj

    @property
    def state_size(self) -> int:
        """Number of integrated states."""
        return self.classes**2 if self.mode == "full" else self.classes

    def y0(self) -> np.ndarray:
        """``W(0) = 0`` (full) or ``u(0) = 0`` (reduced)."""
        return np.zeros(self.state_size)

    def params(self, flow: str, labels=None, selected=None, flow_params=()) -> np.ndarray:
        """The parameter vector for ``flow``: ``[flow header, c, pi, G, labels, n_sel, selected]``.

        ``labels`` (group of each class, default all 0) and ``selected`` (classes whose own loss
        is recorded, default all) drive the output function :attr:`summary_output`;
        ``flow_params`` are the flow's own (:data:`linsim.flows.SPECS`).
        """
        labels, selected, G = self._outputs(flow, labels, selected)
        return pack(flow, ONEHOT_LAYOUT.pack(c=self.classes, pi=self.pi, G=G, labels=labels,
                                             n_sel=selected.size, selected=selected),
                    flow_params)

    def _outputs(self, flow: str, labels, selected) -> tuple[np.ndarray, np.ndarray, int]:
        """Check ``flow`` for the mode; ``labels`` and ``selected`` with their defaults, and
        the number of groups."""
        if self.mode == "reduced" and not flows.flow_spec(flow).reduced:
            reduced = flows.flow_names(reduced=True)
            raise ValueError(f"flow must be one of {', '.join(reduced)} in reduced mode "
                             f"(the margin ODE exists for those), got {flow!r}")
        c = self.classes
        labels = np.zeros(c) if labels is None else np.asarray(labels, float)
        selected = np.arange(c) if selected is None else np.asarray(selected)
        return labels, selected, int(labels.max()) + 1

    @property
    def field(self):
        """The compiled right-hand side."""
        return onehot_field if self.mode == "full" else margin_field

    @property
    def summary_output(self):
        """The compiled output function: ``[overall, G group means, selected class losses]``."""
        return onehot_summary if self.mode == "full" else margin_summary

    def memory_bytes(self, stages: int) -> int:
        """Memory the integration needs with ``stages`` state-sized work vectors."""
        return 8 * self.state_size * stages

    def blocks(self, flow: str, size: int | None = None) -> list[tuple[int, int]]:
        """Independent blocks of classes ``[(k0, k1), ...]`` under ``flow``.

        Column ``k`` of ``W`` (full mode), or margin ``u_k`` (reduced mode), enters the loss
        only through ``l_k``, so under a coordinatewise flow
        (:attr:`linsim.flows.FlowSpec.coordinatewise`) the classes evolve independently and a
        block of them can be integrated with its own steps
        (:func:`linsim.integrate.solve_blocks`, :attr:`block_field`). Flows that divide by
        ``||g||`` couple every class: one block. ``size`` classes per block; default: about
        ``2^14`` states per block (full mode) or ``2^16`` classes (reduced mode), which keeps a
        Runge-Kutta step's vectors in cache.
        """
        spec = flows.flow_spec(flow)
        c = self.classes
        if not spec.coordinatewise:
            return [(0, c)]
        if size is None:
            size = (max(1, _BLOCK_STATES // (c * spec.states)) if self.mode == "full"
                    else _REDUCED_BLOCK)
        if int(size) != size or size < 1:
            raise ValueError(f"size must be an integer >= 1, got {size!r}")
        size = int(size)
        return [(k0, min(k0 + size, c)) for k0 in range(0, c, size)]

    def block_params(self, flow: str, k0: int, k1: int, labels=None, selected=None,
                     flow_params=()) -> np.ndarray:
        """Parameters of :attr:`block_field` and :attr:`block_output` for classes
        ``k0 .. k1 - 1``: ``[flow header, c, k0, n, pi_k0 .. pi_(k1-1), G, labels (n),
        n_sel, selected (n_sel, counted from k0)]``.

        ``labels`` and ``selected`` are those of the whole model (:meth:`params`); the block
        keeps its share.
        """
        labels, selected, G = self._outputs(flow, labels, selected)
        mine = selected[(selected >= k0) & (selected < k1)] - k0
        return pack(flow, BLOCK_LAYOUT.pack(c=self.classes, k0=k0, n=k1 - k0, pi=self.pi[k0:k1],
                                            G=G, labels=labels[k0:k1], n_sel=mine.size,
                                            selected=mine), flow_params)

    @property
    def block_field(self):
        """The compiled right-hand side of one block (:meth:`block_params`)."""
        return onehot_block_field if self.mode == "full" else margin_block_field

    @property
    def block_output(self):
        """The compiled output function of one block: its per-class losses (full mode), or
        ``[sum pi_k l_k, group sums, selected losses]`` (reduced mode,
        :func:`margin_block_summary`)."""
        return onehot_block_losses if self.mode == "full" else margin_block_summary

    def closed_form(self, flow: str, t, index=None) -> np.ndarray | None:
        """Per-class losses ``(len(t), len(index))`` in closed form, or None where none is known.

        Gradient flow: K24.gf-closed-form; sign flow: K24.sf-closed-form. ``index`` selects
        classes (default: all).
        """
        t = np.asarray(t, float)[:, None]
        pi = self.pi if index is None else self.pi[index]
        if flow == "gradient":
            return zipf.gf_loss(t, pi[None, :], self.classes)
        if flow == "sign":
            return np.repeat(zipf.sf_loss(t, self.classes), pi.size, axis=1)
        return None


# --------------------------------------------------------------------------------------------
# The Y25 unigram model (THEORY.md, "The unigram model (Y25)")
#
# f(theta) = -sum_k pi_k log softmax(theta)_k, theta in R^c; gradient softmax(theta) - pi;
# Hessian diag(p) - p p^T; minimizers log pi + s 1, f* = -sum_k pi_k log pi_k.
#
# Parameter vector (after the flow header): [c, pi (c), G, labels (c), n_sel, selected (n_sel),
# level, log pi (c)]. The first part is the layout :func:`summarize` reads; ``level`` is the
# tolerance of the event f - f* = level; sliding mode data may follow (linsim.integrate.sliding).


@njit(cache=True, inline="always")
def unigram_tail(p):
    """Index of ``level`` in a unigram parameter vector (:data:`UNIGRAM_LAYOUT`); ``log pi``
    starts right after it."""
    c = int(p[HEADER])
    nsel = int(p[HEADER + 2 + 2 * c])
    return HEADER + 3 + 2 * c + nsel


@njit(cache=True, inline="always")
def unigram_level(p):
    """``level`` of :data:`UNIGRAM_LAYOUT`."""
    return p[unigram_tail(p)]


@njit(cache=True, inline="always")
def unigram_log_pi(p):
    """``log pi`` of :data:`UNIGRAM_LAYOUT`."""
    at = unigram_tail(p) + 1
    return p[at : at + int(p[HEADER])]


@njit(cache=True)
def unigram_grad(theta, pi, g):
    """``g = softmax(theta) - pi`` through the one softmax kernel; returns ``LSE(theta)``.

    The kernel is called with the target at the arg-max, where it returns ``p_max - 1`` and
    ``-log p_max`` without cancellation; ``LSE = max + (-log p_max)``.
    """
    m, im = _argmax(theta)
    lmax = softmax_column(theta, im, 1.0, g)
    g[im] += 1.0
    for j in range(theta.size):
        g[j] -= pi[j]
    return m + lmax


@njit(cache=True)
def unigram_excess(theta, logpi, lse, e):
    """Per-class excess ``e_k = expm1(d_k) - d_k >= 0`` with ``d_k = log p_k - log pi_k``.

    ``sum_k pi_k e_k = f - f*`` (the Kullback-Leibler divergence ``KL(pi || p)``) because
    ``sum_k pi_k e^(d_k) = sum_k p_k = 1``; written this way every term is non-negative and the
    gap keeps its relative accuracy down to ``1e-300`` instead of cancelling at ``1e-16``.
    """
    for k in range(theta.size):
        d = theta[k] - lse - logpi[k]
        e[k] = math.expm1(d) - d


@njit(cache=True)
def unigram_gap(theta, pi, logpi, lse, above=1e-2):
    """``f - f*`` at ``theta`` (``lse = LSE(theta)``).

    The difference ``LSE - sum pi_k (theta_k - log pi_k)`` (one cheap pass, absolute error
    about ``1e-15 |theta|``) where it exceeds ``above``; below, the non-negative sum of
    :func:`unigram_excess`, accurate relative to itself (libm ``expm1`` per class, several
    times dearer).
    """
    fast = lse
    for k in range(theta.size):
        fast -= pi[k] * (theta[k] - logpi[k])
    if fast > above:
        return fast
    acc = 0.0
    for k in range(theta.size):
        d = theta[k] - lse - logpi[k]
        acc += pi[k] * (math.expm1(d) - d)
    return acc


@njit(cache=True, inline="always")
def unigram_level_event(theta, pi, logpi, lse, level):
    """``f - f* - level``; 1 when ``level <= 0`` (no event: ``f - f* >= 0``). The accurate gap
    is only computed within a factor 10 of ``level``, where the crossing is located."""
    if not level > 0.0:
        return 1.0
    return unigram_gap(theta, pi, logpi, lse, min(1e-2, 10.0 * level + 1e-12)) - level


@vector_field
def unigram_field(t, y, p, dy):
    """The unigram model under the flow coded in ``p[0]`` (any flow of :mod:`linsim.flows`)."""
    c = onehot_classes(p)
    unigram_grad(y[:c], onehot_pi(p), dy[:c])
    apply_flow(t, p, y, dy)


@vector_field
def unigram_summary(t, y, p, out):
    """Output function: ``[f - f*, group means, selected classes]`` of the per-class excess
    :func:`unigram_excess` (pi-weighted group means, so the overall entry is ``f - f*``)."""
    c = onehot_classes(p)
    pi = onehot_pi(p)
    x = y[:c]  # the position (flows with memory carry moments after it)
    g = np.empty(c)
    e = np.empty(c)
    lse = unigram_grad(x, pi, g)
    unigram_excess(x, unigram_log_pi(p), lse, e)
    summarize(e, p, out)
    out[0] = unigram_gap(x, pi, unigram_log_pi(p), lse)


@vector_field
def unigram_gap_event(t, y, p, out):
    """Event: ``f - f* - level`` (``level`` from the parameter vector; no event if it is 0)."""
    c = onehot_classes(p)
    pi = onehot_pi(p)
    g = np.empty(c)
    lse = unigram_grad(y[:c], pi, g)
    out[0] = unigram_level_event(y[:c], pi, unigram_log_pi(p), lse, unigram_level(p))


#: Normalized flow on the unigram model has reached the minimizer once ``f - f*`` is below this
#: fraction of ``level``: its field ``-g/||g||`` is discontinuous there, so integration stops
#: (the flow is at rest after; integrating on would chatter at the tolerance's scale).
UNIGRAM_REST = 1e-4


@vector_field
def unigram_rest_events(t, y, p, out):
    """Events: ``f - f* - level`` and ``f - f* - UNIGRAM_REST * level`` (at the minimizer)."""
    c = onehot_classes(p)
    pi = onehot_pi(p)
    g = np.empty(c)
    lse = unigram_grad(y[:c], pi, g)
    level = unigram_level(p)
    out[0] = unigram_level_event(y[:c], pi, unigram_log_pi(p), lse, level)
    out[1] = unigram_level_event(y[:c], pi, unigram_log_pi(p), lse, UNIGRAM_REST * level)


@vector_field
def unigram_kink_events(t, y, p, out):
    """Events: the kinks of a clipped flow (:func:`linsim.flows.kink_values`), then
    ``f - f* - level`` last."""
    c = onehot_classes(p)
    pi = onehot_pi(p)
    g = np.empty(c)
    lse = unigram_grad(y[:c], pi, g)
    kink_values(p, g, out)
    out[out.size - 1] = unigram_level_event(y[:c], pi, unigram_log_pi(p), lse, unigram_level(p))


@dataclass(frozen=True)
class UnigramModel:
    """The Y25 unigram model ``f(theta) = -sum_k pi_k log softmax(theta)_k``, ``theta`` in R^c.

    Parameters
    ----------
    classes : int
        Number of classes ``c >= 2``.
    zipf : float
        Zipf exponent ``a >= 0``; ``pi_k`` is proportional to ``k^-a``.

    Notes
    -----
    Gradient ``softmax(theta) - pi``, Hessian ``diag(p) - p p^T``; the minimizers are
    ``log pi + s 1`` and ``f* = -sum_k pi_k log pi_k``. Unlike the one-hot model it has a
    minimizer, so sign flow reaches a sliding regime. :meth:`from_frequencies` builds the model
    for any positive ``pi``.
    """

    classes: int
    zipf: float
    mode: str = "full"

    def __post_init__(self):
        if self.mode != "full":
            raise ValueError(f"mode must be 'full' for the unigram model, got {self.mode!r}")
        if not hasattr(self, "pi"):
            object.__setattr__(self, "pi", zipf.zipf_frequencies(self.classes, self.zipf))
        object.__setattr__(self, "classes", int(self.classes))  # 5.0 was validated as 5

    @classmethod
    def from_frequencies(cls, pi) -> UnigramModel:
        """The model for given class frequencies ``pi`` (positive; normalized here)."""
        pi = np.asarray(pi, dtype=np.float64).ravel()
        if pi.size < 2 or not np.all(np.isfinite(pi) & (pi > 0)):
            raise ValueError("pi must hold at least 2 finite numbers > 0")
        obj = object.__new__(cls)
        object.__setattr__(obj, "classes", int(pi.size))
        object.__setattr__(obj, "zipf", float("nan"))
        object.__setattr__(obj, "mode", "full")
        object.__setattr__(obj, "pi", pi / np.sum(pi[np.argsort(pi)]))
        return obj

    @property
    def state_size(self) -> int:
        return self.classes

    @property
    def log_pi(self) -> np.ndarray:
        return np.log(self.pi)

    @property
    def f_star(self) -> float:
        """``f* = -sum pi_k log pi_k`` (the entropy of ``pi``)."""
        return float(-np.sum(self.pi * self.log_pi))

    def minimizer(self, shift: float = 0.0) -> np.ndarray:
        """``log pi + shift * 1`` (every minimizer is of this form)."""
        return self.log_pi + shift

    def y0(self) -> np.ndarray:
        """``theta(0) = 0`` (uniform prediction)."""
        return np.zeros(self.classes)

    def params(self, flow: str, labels=None, selected=None, level: float = 0.0,
               flow_params=()) -> np.ndarray:
        """``[flow header, c, pi, G, labels, n_sel, selected, level, log pi]``.

        ``labels``/``selected`` drive :func:`unigram_summary` (as for :class:`OneHotModel`);
        ``level`` is the tolerance of :func:`unigram_gap_event`.
        """
        c = self.classes
        labels = np.zeros(c) if labels is None else np.asarray(labels, float)
        selected = np.arange(c) if selected is None else np.asarray(selected)
        G = int(labels.max()) + 1
        return pack(flow, UNIGRAM_LAYOUT.pack(c=c, pi=self.pi, G=G, labels=labels,
                                              n_sel=selected.size, selected=selected,
                                              level=level, log_pi=self.log_pi), flow_params)

    def loss(self, theta) -> float:
        """``f(theta)``."""
        theta = np.asarray(theta, float)
        m = theta.max()
        return float(m + np.log(np.sum(np.exp(theta - m))) - self.pi @ theta)

    def grad(self, theta) -> np.ndarray:
        """``softmax(theta) - pi``."""
        g = np.empty(self.classes)
        unigram_grad(np.ascontiguousarray(theta, dtype=np.float64), self.pi, g)
        return g

    def gap(self, theta) -> float:
        """``f(theta) - f*``, accurate to rounding relative to itself."""
        theta = np.ascontiguousarray(theta, dtype=np.float64)
        g = np.empty(self.classes)
        lse = unigram_grad(theta, self.pi, g)
        return float(unigram_gap(theta, self.pi, self.log_pi, lse))

    def hess_vec(self, theta, v) -> np.ndarray:
        """``H v = p * v - p (p . v)`` with ``p = softmax(theta)``."""
        p = self.grad(theta) + self.pi
        v = np.asarray(v, float)
        return p * v - p * (p @ v)

    @property
    def field(self):
        """The compiled right-hand side (any flow)."""
        return unigram_field

    @property
    def summary_output(self):
        """The compiled output function: ``[f - f*, G group means, selected class excesses]``."""
        return unigram_summary
