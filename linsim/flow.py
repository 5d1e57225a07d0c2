"""``python -m linsim.flow``: gradient, sign and normalized flow on the Zipf softmax models.

The main job of linsim::

    python -m linsim.flow --classes 1000 --zipf 1.1
    python -m linsim.flow --problem unigram --classes 1000 --zipf 1 --flows sign,normalized,gradient

integrates each flow on the K24 one-hot model (THEORY.md, "K24: the continuous-time model"),
compares the per-class losses with the closed forms (K24.gf-closed-form, K24.sf-closed-form),
measures the rates from the simulated trajectories (K24.gf-rate, K24.sf-closed-form,
K24.nf-reparam), and writes ``summary.json``, ``trajectories.npz``, ``per_class.csv`` and a
figure (PNG and PDF) into ``--out``.

``--problem unigram`` runs the Y25 unigram model instead (THEORY.md, "The unigram model (Y25)"):
its sign flow slides on the surfaces ``g_i = 0``, so it is integrated as a Filippov system
(``--sign-method``: event-driven ``sliding``, ``implicit`` Euler, or the chattering
``explicit`` field; ``auto`` picks ``explicit`` for the one-hot model, whose gradient entries
never vanish, and ``sliding`` for the unigram model). The per-class values are the excess
``expm1(d_k) - d_k`` (``d_k = log p_k - log pi_k``), whose pi-weighted mean is ``f - f*``. Every
flow reports the first time with ``f - f* <= --eps`` (``time_to_tol``; for the one-hot model,
``f* = 0``, interpolated between output times).

``--flows adam,rmsprop,sign_eps`` adds the Adam ODE of Barakat and Bianchi (``--adam-a``,
``--adam-b``: ``1 - beta1 = a eta``, ``1 - beta2 = b eta``; ``--adam-eps``), its m-free RMSProp
version and Adam's small-step limit ``x' = -g/(|g| + eps)`` (THEORY.md, "Continuous-time models
of adaptive methods"; :mod:`linsim.experiments.adam`). Their moments travel in the state
(:mod:`linsim.flows`); on the one-hot model they report the fitted exponential rate against
:func:`linsim.experiments.adam.asymptotic_rate` (adam.k24-rate) and the spread across classes
(adam.k24-classes).

Checks of its own answer (the one-hot model): where a flow has a closed form (gradient and sign
flow), a largest relative error of the per-class losses above :func:`disagreement_threshold`,
``max(100 rtol, 1e-6) x max(1, log(1 + c pi_1 t_max))``, prints ``DISAGREES`` with the numbers,
sets ``disagrees`` in ``summary.json`` and exits 1. The asymptote of K24.gf-rate
(``pi_k t l_k -> 1 - 1/c``, slope -1) gets a verdict only in its regime,
where the next term of the closed form's expansion, ``eps = log(1 + c pi_k t)/(pi_k t)``, is at
most :data:`ASYMPTOTIC_EPS` (then it must lie within ``2 eps`` plus that threshold); before
that the rate is printed as ``pre-asymptotic`` with ``pi_k t``, beside the bounds
``(1 - 1/c)/(1 + pi_k t) <= l_k <= (c - 1)/(1 + pi_k t)`` that hold at every t.

Exit codes: 0 success, 1 the integration failed or disagrees with a closed form or a verdict is
FAIL (the reason is printed), 2 invalid input (nothing written), 130/143 interrupted by
SIGINT/SIGTERM (nothing written: the output files are written together or not at all).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

from . import io
from .cli import (
    Interrupted,
    Parser,
    UsageError,
    available_memory,
    check_out,
    compile_progress,
    deferred_signals,
    interruptible,
    names,
    number,
    report_interrupt,
    write_failed,
)
from .flows import flow_names, flow_spec
from .integrate import METHODS, IntegrationError, get_tableau, resolve_workers
from .rates import time_to_tol

PROG = "python -m linsim.flow"
#: Largest output array (points x recorded classes) accepted, in float64 entries.
MAX_OUTPUT_ENTRIES = 200_000_000
#: ``--rtol`` range: below 1e-13 the error estimate drowns in float64 rounding; above 1e-4 the
#: disagreement threshold (100 rtol times a conditioning of up to ~20) passes errors of 10%
#: and more, so the closed-form check would mean nothing (rtol 0.5 gave errors of 1e73).
RTOL_RANGE = (1e-13, 1e-4)
#: K24.gf-rate's asymptote gets a verdict where ``log(1 + c pi_k t)/(pi_k t)``, the size of
#: the next term of the closed form's expansion in ``1/(pi_k t)``, is at most this.
ASYMPTOTIC_EPS = 0.1


def disagreement_threshold(rtol: float, kappa: float = 1.0) -> float:
    """Largest relative error of a per-class loss against its closed form that is not reported
    as DISAGREES: ``max(100 rtol, 1e-6) x max(1, kappa)``.

    The error model: the adaptive driver keeps each step's error within ``rtol`` of the state,
    and the global error of the state stays within about a hundred of those; no tighter than
    1e-6. A loss ``l = log(1 + (c-1) e^-u)`` turns a relative error of the margin ``u`` into
    ``(1 - e^-l) u / l <= u`` times as much relative error; ``kappa`` is the largest margin,
    ``log(1 + c pi_1 t_max)`` (see :func:`closed_form_kappa`).
    """
    return max(100.0 * rtol, 1e-6) * max(1.0, kappa)


def closed_form_kappa(run) -> float:
    """The largest margin of a one-hot run, ``log(1 + c pi_1 t_max)`` (K24.gf-closed-form gives
    ``u <= log(1 + c pi_k t)``; sign flow's ``2t`` margins are never compared that far)."""
    return math.log1p(run.model.classes * float(np.max(run.pi)) * float(run.t[-1]))


def flow_params(args) -> dict[str, tuple[float, ...]]:
    """The parameters of every flow with parameters in ``args.flows`` (see
    :data:`linsim.flows.SPECS`), from ``--adam-a``, ``--adam-b`` and ``--adam-eps``."""
    values = {"a": args.adam_a, "b": args.adam_b, "eps": args.adam_eps}
    return {f: tuple(values[n] for n in flow_spec(f).params) for f in args.flows
            if flow_spec(f).params}


#: ``--sign-method`` choices, and what ``auto`` means per problem.
SIGN_METHODS = ("auto", "closed", "sliding", "implicit", "explicit")
SIGN_AUTO = {"onehot": "explicit", "unigram": "sliding"}
SIGN_AVAILABLE = {"onehot": ("explicit", "closed"),
                  "unigram": ("sliding", "implicit", "explicit")}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used for ``--help``)."""
    p = Parser(
        prog=PROG,
        description="Gradient, sign and normalized flow (and the Adam and RMSProp ODEs) on "
                    "the K24 one-hot softmax model with Zipf classes, checked against the "
                    "closed forms (claims K24.*, adam.k24-*), or on the Y25 unigram model "
                    "(claims Y25.*), where sign flow is a Filippov system.",
        epilog="Example: python -m linsim.flow --classes 1000 --zipf 1.1",
    )
    p.add_argument("--problem", choices=("onehot", "unigram"), default="onehot",
                   help="onehot: the K24 one-hot model (c^2 weights); unigram: the Y25 model "
                        "f = -sum pi_k log softmax(theta)_k, theta in R^c (default onehot)")
    p.add_argument("--classes", type=number("--classes", int, 2), default=1000, metavar="C",
                   help="number of classes c, an integer >= 2 (default 1000)")
    p.add_argument("--zipf", type=number("--zipf", float, 0.0), default=1.1, metavar="A",
                   help="Zipf exponent a >= 0: pi_k proportional to k^-a (default 1.1)")
    p.add_argument("--flows", type=names("--flows", flow_names(cli=True)),
                   default=("gradient", "sign"),
                   help="comma list of gradient, sign, normalized, adam (the Adam ODE of "
                        "Barakat and Bianchi), rmsprop (its m-free version), sign_eps "
                        "(x' = -g/(|g| + eps), Adam's small-step limit) (default gradient,sign)")
    p.add_argument("--adam-a", type=number("--adam-a", float, 0.0, 1e6, lo_open=True),
                   default=1.0, metavar="A",
                   help="adam flow: m' = a (g - m), i.e. 1 - beta1 = a eta; in (0, 1e6] "
                        "(default 1)")
    p.add_argument("--adam-b", type=number("--adam-b", float, 0.0, 1e6, lo_open=True),
                   default=1.0, metavar="B",
                   help="adam and rmsprop flows: v' = b (g^2 - v), i.e. 1 - beta2 = b eta; in "
                        "(0, 1e6] (default 1)")
    p.add_argument("--adam-eps", type=number("--adam-eps", float, 0.0, 1.0), default=1e-8,
                   metavar="EPS",
                   help="eps of the adam, rmsprop and sign_eps flows, in [0, 1] (> 0 for "
                        "sign_eps) (default 1e-8)")
    p.add_argument("--t-max", type=number("--t-max", float, 0.0, 1e12, lo_open=True),
                   default=1e5, help="final time, in (0, 1e12] (default 1e5)")
    p.add_argument("--points", type=number("--points", int, 2, 100_000), default=200,
                   help="number of log-spaced output times over 12 decades (default 200)")
    p.add_argument("--groups", type=number("--groups", int, 1), default=5,
                   help="number of equal-mass frequency groups, 1..c (default 5)")
    p.add_argument("--mode", choices=("full", "reduced"), default="full",
                   help="full: all c^2 weights; reduced: the exact c margins (default full)")
    p.add_argument("--method", choices=METHODS[3:], default="RK45",
                   help="adaptive Runge-Kutta method (default RK45, Dormand-Prince 5(4))")
    p.add_argument("--rtol", type=number("--rtol", float, *RTOL_RANGE), default=1e-8,
                   help=f"relative tolerance in [{RTOL_RANGE[0]:g}, {RTOL_RANGE[1]:g}] (default "
                        "1e-8); a flow with a closed form (gradient, sign on onehot) whose "
                        "largest relative error exceeds max(100 rtol, 1e-6) x max(1, log(1 + c "
                        "pi_1 t_max)) (the loss's conditioning) is reported as DISAGREES and "
                        "the exit code is 1")
    p.add_argument("--atol", type=number("--atol", float, 1e-30, 1.0),
                   default=1e-10, help="absolute tolerance in [1e-30, 1] (default 1e-10)")
    p.add_argument("--sign-method", choices=SIGN_METHODS, default="auto",
                   help="how sign flow is integrated: closed (closed form, onehot), sliding "
                        "(event-driven Filippov, unigram), implicit (implicit Euler = l_inf "
                        "trust-region steps, unigram), explicit (the field -sign(g) on the "
                        "Runge-Kutta driver; chatters where g_i = 0); auto: explicit for "
                        "onehot, sliding for unigram (default auto)")
    p.add_argument("--eps", type=number("--eps", float, 0.0, 1.0, lo_open=True), default=1e-10,
                   help="report the first time with f - f* <= eps, in (0, 1] (default 1e-10)")
    p.add_argument("--workers", type=number("--workers", int, 1, 4096), default=None,
                   metavar="N",
                   help="threads for the blocks of classes of the one-hot model, integrated "
                        "independently, an integer in [1, 4096]; the numbers do not depend on "
                        "it (default: every usable CPU)")
    p.add_argument("--frequencies", default=None, metavar="PATH|wordfreq:LANG",
                   help="real class frequencies instead of Zipf: the --classes most frequent "
                        "of a .csv/.tsv with a count column, a .npy of counts, or "
                        "wordfreq:LANG (pip install -e '.[real]'); also runs their maximum-"
                        "likelihood Zipf fit and draws both")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="output folder (default linsim-out/flow-c{C}-z{A})")
    p.add_argument("--json", action="store_true",
                   help="print the summary JSON on stdout instead of the tables")
    p.add_argument("--no-plot", action="store_true", help="do not write the figure")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bar and no compile note")
    return p


def check_args(args) -> None:
    """Cross-option checks; raise :class:`UsageError` with one line."""
    c = args.classes
    problem = getattr(args, "problem", "onehot")
    method = getattr(args, "sign_method", "auto")
    if method == "auto":
        args.sign_method = SIGN_AUTO[problem]
    elif method not in SIGN_AVAILABLE[problem]:
        raise UsageError(f"--sign-method must be one of auto, "
                         f"{', '.join(SIGN_AVAILABLE[problem])} for --problem {problem}, got "
                         f"{method!r}")
    if problem == "unigram" and args.mode != "full":
        raise UsageError(f"--mode must be full for --problem unigram (reduced is the one-hot "
                         f"model's margin ODE), got {args.mode!r}")
    if "sign_eps" in args.flows and not args.adam_eps > 0:
        raise UsageError(f"--adam-eps must be in (0, 1] for --flows sign_eps, got "
                         f"{args.adam_eps:g}")
    if args.groups > c:
        raise UsageError(f"--groups must be an integer in [1, {c}] (at most --classes), "
                         f"got {args.groups}")
    from .experiments.k24 import recorded_classes

    if args.points * recorded_classes(c).size > MAX_OUTPUT_ENTRIES:
        raise UsageError(f"--points x recorded classes must be <= {MAX_OUTPUT_ENTRIES:.0e}; "
                         f"lower --points")
    if args.mode == "full" and problem == "onehot":
        # coordinatewise flows run in column blocks and keep about three copies of the final
        # state; a flow that divides by ||g|| integrates the whole state at once
        vectors = get_tableau(args.method).state_vectors
        need = max(8 * c * c * flow_spec(f).states * (3 if flow_spec(f).coordinatewise else vectors)
                   for f in args.flows)
        avail = available_memory()
        if need > 0.8 * avail:
            raise UsageError(
                f"--mode full needs about {need / 2**30:.1f} GiB for c = {c} "
                f"({avail / 2**30:.1f} GiB available); use --mode reduced")
    _load_frequencies(args)
    if args.out is None:
        tag = "" if problem == "onehot" else f"{problem}-"
        args.out = Path(f"linsim-out/flow-{tag}c{c}-z{args.zipf:g}")


def _load_frequencies(args) -> None:
    """``--frequencies``: load the counts (one-line UsageError on bad input) and fit their
    Zipf exponent by maximum likelihood over ranks 1..c (:mod:`linsim.problems.frequencies`)."""
    args.freq = args.fit = None
    if getattr(args, "frequencies", None) is None:
        return
    from .problems.frequencies import FrequencyError, load_frequencies, zipf_mle

    try:
        freq = load_frequencies(args.frequencies)
        args.pi = freq.top(args.classes)
    except FrequencyError as e:
        raise UsageError(str(e)) from None
    args.freq, args.fit = freq, zipf_mle(freq, (1, args.classes))
    args.zipf = args.fit["alpha"]  # the Zipf run beside the real one, and the --out name


def stiffness_note(args) -> str | None:
    """One line when a flow with memory will need many steps, else None.

    The moments relax at rates ``a`` and ``b`` for the whole run, so an explicit method takes
    at least about ``t_max max(a, b) / 3.3`` steps (the stability limit of RK45 and DOP853).
    """
    rate = max([args.adam_a] * ("adam" in args.flows)
               + [args.adam_b] * bool({"adam", "rmsprop"} & set(args.flows)), default=0.0)
    steps = args.t_max * rate / 3.3
    if steps < 1e4:
        return None
    return (f"the moments of the adam/rmsprop flows relax at rate {rate:g}: at least "
            f"{steps:.2g} steps to --t-max {args.t_max:g} (lower --t-max, --adam-a/--adam-b"
            + (", or use --mode reduced, exact for these flows)" if args.problem == "onehot"
               and args.mode == "full" else ")"))


CLAIMS_BY_PROBLEM = {
    "onehot": ["K24.decouple", "K24.gf-closed-form", "K24.gf-rate", "K24.sf-closed-form",
               "K24.nf-reparam"],
    "unigram": ["Y25.sf-vs-nf", "Y25.sf-extinction"],
}


def _judge_gf_rate(r: dict, run, integ: float) -> None:
    """Add the regime and, where the theory predicts the number at this t, a verdict to a
    K24.gf-rate entry of :meth:`linsim.experiments.k24.OneHotRun.rates` (in place).

    ``pi_t_l_*`` is measured at ``t_max``, the slope over ``[t_max/100, t_max]``; the regime is
    read at ``pi_k t`` of that time (the window's start for the slope, its worst point).
    ``integ`` is the integrator's share of the tolerance (:func:`disagreement_threshold`).
    """
    c = run.model.classes
    k = int(r["class"]) - 1
    slope = r["name"].startswith("loglog_slope")
    s = float(run.pi[k] * run.t[-1] / (100.0 if slope else 1.0))
    eps = math.log1p(c * s) / s
    m = r["measured"]
    ok = m is not None and math.isfinite(m)
    r["pi_t"] = s
    r["asymptotic_eps"] = eps
    r["regime"] = "asymptotic" if eps <= ASYMPTOTIC_EPS else "pre-asymptotic"
    r["tolerance"] = 2.0 * eps + integ
    if slope:
        r["regime_rule"] = (f"verdict when log(1 + c pi_k t)/(pi_k t) <= {ASYMPTOTIC_EPS:g} at "
                            f"the window's start t_max/100; then |slope + 1| <= 2 eps + the "
                            f"closed-form threshold")
        dev = abs(m - r["predicted"]) if ok else math.inf
    else:
        r["regime_rule"] = (f"verdict when log(1 + c pi_k t)/(pi_k t) <= {ASYMPTOTIC_EPS:g}; "
                            f"then |measured/(1 - 1/c) - 1| <= 2 eps + the closed-form threshold")
        dev = abs(m / r["predicted"] - 1.0) if ok else math.inf
        # K24.gf-rate's bounds hold at every t: (1-1/c)/(1+pi_k t) <= l_k <= (c-1)/(1+pi_k t)
        lo, hi = (1.0 - 1.0 / c) * s / (1.0 + s), (c - 1.0) * s / (1.0 + s)
        r["bounds"] = [lo, hi]
        r["bounds_verdict"] = ("PASS" if ok and lo * (1 - integ) <= m <= hi * (1 + integ)
                               else "FAIL")
    r["deviation"] = dev
    r["verdict"] = (None if r["regime"] != "asymptotic"
                    else "PASS" if dev <= r["tolerance"] else "FAIL")


def check_answer(run, args, flows: dict) -> list[str]:
    """Compare each flow of a one-hot run with its closed form and judge K24.gf-rate (entries of
    ``flows`` are annotated in place); return one line per problem found (empty: all good)."""
    problems = []
    thr = disagreement_threshold(args.rtol, closed_form_kappa(run))
    for name, fs in flows.items():
        tr = run.traces[name]
        fs["closed_form_threshold"], fs["disagrees"] = None, False  # one schema for every flow
        if getattr(tr, "closed", None) is not None:
            err = fs["max_rel_err"]
            fs["closed_form_threshold"] = thr
            fs["disagrees"] = not (err is not None and err <= thr)  # NaN disagrees too
            if fs["disagrees"]:
                problems.append(
                    f"DISAGREES: {name} flow's largest relative error against its closed form "
                    f"is {_g(err)}, above max(100 rtol, 1e-6) x max(1, log(1 + c pi_1 t_max)) "
                    f"= {thr:.3g} (rtol {args.rtol:g})")
        for r in fs["rates"]:
            if r.get("claim") != "K24.gf-rate" or "class" not in r:
                continue
            _judge_gf_rate(r, run, thr)
            for what, key in (("", "verdict"), (" bounds", "bounds_verdict")):
                if r.get(key) == "FAIL":
                    problems.append(
                        f"FAIL: {name} flow {r['name']}{what}: measured {_g(r['measured'])}, "
                        + (f"bounds [{r['bounds'][0]:.6g}, {r['bounds'][1]:.6g}]" if what else
                           f"predicted {_g(r['predicted'])} within {r['tolerance']:.3g}")
                        + f" (pi_k t = {r['pi_t']:.4g})")
    return problems


def summarize(run, args, seconds: float) -> dict:
    """The ``summary.json`` document."""
    problem = getattr(args, "problem", "onehot")
    eps = getattr(args, "eps", 1e-10)
    fparams = run.settings.get("flow_params", {})
    flows = {}
    for name, tr in run.traces.items():
        rates = [dict(r) for r in run.rates(name)]  # Rate records (or dicts): annotated below
        if problem == "unigram":
            t_tol, how = run.time_to_tol(name), "event"
        else:
            t_tol, how = time_to_tol(run.t, tr.overall, eps), "interpolated"
        flows[name] = {
            "params": dict(zip(flow_spec(name).params, fparams.get(name, ()), strict=True)),
            "max_rel_err": run.max_rel_err(name),
            "rate": {k: rates[0][k] if rates else None for k in ("name", "measured", "predicted")},
            "rates": rates,
            "steps": tr.stats["steps"],
            "rejected": tr.stats["rejected"],
            "rhs_evals": tr.stats["rhs_evals"],
            "seconds": tr.stats["seconds"],
            "final_overall_loss": float(tr.overall[-1]),
            "time_to_tol": t_tol,
            "time_to_tol_method": how,
        }
        if name == "sign":
            flows[name]["sign_method"] = args.sign_method
            if "events" in tr.stats:
                flows[name]["events"] = tr.stats["events"]
    problems = check_answer(run, args, flows) if problem == "onehot" else []
    return {
        "claims": CLAIMS_BY_PROBLEM[problem] + sorted(
            {r["claim"] for f in flows.values() for r in f["rates"] if r["claim"]}
            - set(CLAIMS_BY_PROBLEM[problem])),
        "problem": problem,
        "eps": eps,
        "sign_method": getattr(args, "sign_method", SIGN_AUTO["onehot"]),
        "classes": args.classes,
        "zipf": args.zipf,
        "mode": args.mode,
        "t_max": args.t_max,
        "points": args.points,
        "groups": args.groups,
        "method": run.settings["method"],
        "rtol": args.rtol,
        "atol": args.atol,
        "recorded_classes": int(run.class_index.size),
        "workers": resolve_workers(getattr(args, "workers", None)),
        "flows": flows,
        "disagrees": sorted(n for n, f in flows.items() if f.get("disagrees")),
        "problems": problems,
        "seconds": seconds,
        "versions": io.versions(),
        "command": " ".join([PROG, *getattr(args, "argv", sys.argv[1:])]),
    }


def write_outputs(run, summary: dict, out: Path, plot: bool) -> list[Path]:
    """Write every output file atomically; return their paths."""
    arrays = {"t": run.t, "pi": run.pi, "class_index": run.class_index, "labels": run.labels,
              "meta": np.array(io.dumps({k: summary[k] for k in (
                  "classes", "zipf", "mode", "t_max", "points", "groups", "method", "rtol",
                  "atol", "versions")}))}
    cols = {"class": run.class_index + 1, "pi": run.pi[run.class_index],
            "group": run.labels[run.class_index] + 1}
    for name, tr in run.traces.items():
        arrays[f"loss_{name}"] = tr.losses
        arrays[f"overall_{name}"] = tr.overall
        arrays[f"groups_{name}"] = tr.groups
        cols[f"loss_{name}"] = tr.losses[-1]
        if tr.closed is not None:
            arrays[f"closed_{name}"] = tr.closed
            cols[f"closed_{name}"] = tr.closed[-1]
    paths = [io.write_json(out / "summary.json", summary),
             io.write_npz(out / "trajectories.npz", arrays),
             io.write_csv(out / "per_class.csv", cols)]
    if plot and getattr(run, "fit_run", None) is not None:  # --frequencies: real vs Zipf fit
        from .plotting.kb25 import k24_real_groups

        fig = k24_real_groups(run, run.fit_run, summary["frequencies"]["zipf_fit"],
                              summary["frequencies"]["source"])
        paths += io.save_figure(fig, out / "group_losses", {
            "claims": summary["claims"], "classes": summary["classes"],
            "frequencies": summary["frequencies"], "versions": summary["versions"]})
    elif plot:
        if summary.get("problem", "onehot") == "unigram":
            from .plotting.y25 import y25_group_gaps as draw
        else:
            from .plotting.k24 import k24_group_losses as draw

        fig = draw(run)
        paths += io.save_figure(fig, out / "group_losses", {
            "claims": summary["claims"], "classes": summary["classes"], "zipf": summary["zipf"],
            "mode": summary["mode"], "versions": summary["versions"]})
    return paths


def _g(v) -> str:
    return "-" if v is None else f"{v:.6g}"


def _regime(r: dict) -> str:
    """The regime and verdict of a judged rate (see :func:`_judge_gf_rate`), or nothing."""
    if "regime" not in r:
        return ""
    where = "at t_max/100, " if r["name"].startswith("loglog_slope") else ""
    text = f"; {where}pi_k t = {r['pi_t']:.4g}: "
    if r["verdict"] is None:
        text += (f"pre-asymptotic, no verdict (the limit applies once log(1 + c pi_k t)/(pi_k t)"
                 f" <= {ASYMPTOTIC_EPS:g}; here {r['asymptotic_eps']:.3g})")
    else:
        op = "<=" if r["verdict"] == "PASS" else ">"
        text += (f"asymptotic, {r['verdict']} (|deviation| {r['deviation']:.2g} {op} "
                 f"{r['tolerance']:.2g})")
    if "bounds" in r:
        text += (f"; all-t bounds [{r['bounds'][0]:.3g}, {r['bounds'][1]:.3g}]: "
                 f"{r['bounds_verdict']}")
    return text


def _tables(run, summary: dict) -> str:
    lines = []
    t = run.t
    G = summary["groups"]
    decades = [10.0**k for k in range(math.ceil(math.log10(t[0])), math.floor(
        math.log10(t[-1])) + 1)]
    idx = [int(np.argmin(np.abs(np.log(t) - math.log(d)))) for d in decades]
    c, a = summary["classes"], summary["zipf"]
    if summary.get("problem", "onehot") == "unigram":
        lines.append(f"Y25 unigram model: c = {c}, zipf a = {a:g}, {summary['method']} "
                     f"rtol={summary['rtol']:g} atol={summary['atol']:g}, sign flow: "
                     f"{summary['sign_method']}; values: f - f* (overall) and the per-class "
                     f"excess")
    else:
        lines.append(f"K24 one-hot softmax model: c = {c}, zipf a = {a:g}, {summary['mode']} "
                     f"mode, {summary['method']} rtol={summary['rtol']:g} "
                     f"atol={summary['atol']:g}")
    for name, tr in run.traces.items():
        fs = summary["flows"][name]
        lines.append("")
        lines.append(f"== {name} flow ==")
        head = f"{'t':>9} " + " ".join(f"{'group ' + str(g + 1):>11}" for g in range(G))
        lines.append(head + f" {'overall':>11}")
        for i in idx:
            row = " ".join(f"{v:11.4e}" for v in tr.groups[i])
            lines.append(f"{t[i]:9.3g} {row} {tr.overall[i]:11.4e}")
        for r in fs["rates"]:
            lines.append(f"  {r['name']:<30} measured {_g(r['measured']):<12} predicted "
                         f"{_g(r['predicted']):<10}" + (f" [{r['claim']}]" if r["claim"] else "")
                         + _regime(r))
        err = fs["max_rel_err"]
        lines.append("  max rel. error vs closed form: "
                     + ("(no closed form)" if err is None and not fs.get("closed_form_threshold")
                        else f"{_g(err)} (threshold {fs['closed_form_threshold']:g}: "
                        + ("DISAGREES)" if fs["disagrees"] else "agrees)")
                        if fs.get("closed_form_threshold") else f"{err:.3e}"))
        tt = fs.get("time_to_tol")
        lines.append(f"  time to f - f* <= {summary.get('eps', 1e-10):g}: "
                     + ("not reached" if tt is None else f"{tt:.10g}")
                     + f" ({fs.get('time_to_tol_method', '')})")
        ev = f", {fs['events']} events" if "events" in fs else ""
        lines.append(f"  steps {fs['steps']} (+{fs['rejected']} rejected), rhs evals "
                     f"{fs['rhs_evals']}{ev}, {fs['seconds']:.2f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        args.argv = list(sys.argv[1:] if argv is None else argv)  # what "command" records
        check_args(args)
        check_out(args.out)  # here, not in check_args: the sweep checks its own --out
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    note = stiffness_note(args)
    if note:
        print(f"{PROG}: note: {note}", file=sys.stderr)
    try:
        with interruptible():
            compile_progress(PROG, "the driver is compiled; now the flows' kernels and the run")
            start = time.perf_counter()
            try:
                run = _run(args)
            except IntegrationError as e:
                print(f"{PROG}: {e}", file=sys.stderr)
                return 1
            compile_progress(PROG, "compiled and cached; the run is done")
            summary = summarize(run, args, time.perf_counter() - start)
            if getattr(args, "freq", None) is not None:
                summary["frequencies"] = {"source": args.freq.source,
                                          "available": args.freq.size, "zipf_fit": args.fit}
            try:
                with deferred_signals():  # every output file, or none
                    paths = write_outputs(run, summary, args.out, plot=not args.no_plot)
            except OSError as e:
                return write_failed(PROG, "--out", e)
    except Interrupted as e:
        return report_interrupt(PROG, e, f"nothing written to {str(args.out)!r}")
    if args.json:
        sys.stdout.write(io.dumps(summary))
    else:
        print(_tables(run, summary))
        print("")
        print("wrote " + ", ".join(str(p) for p in paths))
    for line in summary.get("problems", []):
        print(f"{PROG}: {line}", file=sys.stderr)
    return 1 if summary.get("problems") else 0


def _run(args):
    """The simulation of ``args.problem``."""
    if args.problem == "unigram":
        from .experiments.y25 import run_unigram
        from .problems.softmax import UnigramModel

        model = (UnigramModel(args.classes, args.zipf) if getattr(args, "freq", None) is None
                 else UnigramModel.from_frequencies(args.pi))
        return run_unigram(model, args.flows, t_max=args.t_max,
                           points=args.points, groups=args.groups, method=args.method,
                           rtol=args.rtol, atol=args.atol, eps=args.eps,
                           sign_method=args.sign_method, progress=not args.quiet,
                           flow_params=flow_params(args))
    from .problems.softmax import OneHotModel

    if getattr(args, "freq", None) is None:
        return _run_onehot(args, OneHotModel(args.classes, args.zipf, args.mode))
    run = _run_onehot(args, OneHotModel.from_frequencies(args.pi, args.mode))
    # --frequencies: the same run on the Zipf law fitted to them, for the figure
    run.fit_run = _run_onehot(args, OneHotModel(args.classes, args.fit["alpha"], args.mode))
    return run


def _run_onehot(args, model):
    """One K24 one-hot run of ``model`` with the settings of ``args``."""
    from .experiments.k24 import run_onehot

    closed = args.sign_method == "closed" and "sign" in args.flows
    flows = tuple(f for f in args.flows if not (closed and f == "sign"))
    run = run_onehot(model, flows, t_max=args.t_max, points=args.points, groups=args.groups,
                     method=args.method, rtol=args.rtol, atol=args.atol,
                     progress=not args.quiet, flow_params=flow_params(args),
                     workers=args.workers)
    if closed:
        _closed_sign_trace(run, model)
        run.traces = {f: run.traces[f] for f in args.flows}
    return run


class _NoSolution:
    """Work record of a trajectory taken from a closed form (nothing integrated)."""

    stats = {"steps": 0, "rejected": 0, "rhs_evals": 0, "status": 0, "seconds": 0.0}


def _closed_sign_trace(run, model) -> None:
    """``--sign-method closed``: the sign-flow trace from K24.sf-closed-form."""
    from .experiments.k24 import FlowTrace, closed_group_means
    from .problems import zipf

    t, sel = run.t, run.class_index
    G = run.settings["groups"]
    losses = model.closed_form("sign", t, sel)
    overall = zipf.sf_loss(t, model.classes)  # every class has the same loss
    groups = closed_group_means(model, "sign", t, run.labels, G)
    run.traces["sign"] = FlowTrace(flow="sign", overall=overall, groups=groups, losses=losses,
                                   solution=_NoSolution(), closed=losses, closed_groups=groups)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
