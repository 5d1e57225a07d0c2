"""A run of ``python -m linsim.flow`` as a library: its configuration, checks and summary.

:class:`FlowConfig` is one run's configuration (problem, model, flows, integrator, outputs),
checked in one place: :data:`OPTIONS` holds every option's parser from text, default and help
(``python -m linsim.flow`` builds its argument parser from it, and ``python -m linsim.sweep``
checks its cells through :meth:`FlowConfig.from_text`, without argv or argparse), and
:func:`check_config` makes the cross-option checks. Both raise :class:`linsim.config.UsageError`
with one line naming the option and its valid range.

:func:`simulate` runs a configuration, :func:`summarize` turns the run into the
``summary.json`` document, with :func:`check_answer`'s checks of its own answer (the closed
forms, K24.gf-rate's verdict in its regime; see :mod:`linsim.flow` for the rules).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from . import io
from .config import Config, Option, UsageError, names, number
from .flows import flow_names, flow_spec
from .integrate import METHODS, get_tableau, resolve_workers
from .io import available_memory
from .rates import time_to_tol

#: The command line's name, recorded in ``summary.json``'s ``command``.
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


#: ``--sign-method`` choices, and what ``auto`` means per problem.
SIGN_METHODS = ("auto", "closed", "sliding", "implicit", "explicit")
SIGN_AUTO = {"onehot": "explicit", "unigram": "sliding"}
SIGN_AVAILABLE = {"onehot": ("explicit", "closed"),
                  "unigram": ("sliding", "implicit", "explicit")}




def _cli_flows(text: str) -> tuple[str, ...]:
    """``--flows``: a comma list of the flows with :attr:`linsim.flows.FlowSpec.cli` (read from
    the table when parsed, so that a registered flow is accepted)."""
    return names("--flows", flow_names(cli=True))(text)


#: Every option of a run, by :class:`FlowConfig` field, in the order of ``--help``.
OPTIONS: dict[str, Option] = {
    "problem": Option(None, "onehot",
                      "onehot: the K24 one-hot model (c^2 weights); unigram: the Y25 model "
                      "f = -sum pi_k log softmax(theta)_k, theta in R^c (default onehot)",
                      choices=("onehot", "unigram")),
    "classes": Option(number("--classes", int, 2), 1000,
                      "number of classes c, an integer >= 2 (default 1000)", "C"),
    "zipf": Option(number("--zipf", float, 0.0), 1.1,
                   "Zipf exponent a >= 0: pi_k proportional to k^-a (default 1.1)", "A"),
    "flows": Option(_cli_flows, ("gradient", "sign"),
                    "comma list of gradient, sign, normalized, adam (the Adam ODE of "
                    "Barakat and Bianchi), rmsprop (its m-free version), sign_eps "
                    "(x' = -g/(|g| + eps), Adam's small-step limit) (default gradient,sign)"),
    "adam_a": Option(number("--adam-a", float, 0.0, 1e6, lo_open=True), 1.0,
                     "adam flow: m' = a (g - m), i.e. 1 - beta1 = a eta; in (0, 1e6] "
                     "(default 1)", "A"),
    "adam_b": Option(number("--adam-b", float, 0.0, 1e6, lo_open=True), 1.0,
                     "adam and rmsprop flows: v' = b (g^2 - v), i.e. 1 - beta2 = b eta; in "
                     "(0, 1e6] (default 1)", "B"),
    "adam_eps": Option(number("--adam-eps", float, 0.0, 1.0), 1e-8,
                       "eps of the adam, rmsprop and sign_eps flows, in [0, 1] (> 0 for "
                       "sign_eps) (default 1e-8)", "EPS"),
    "t_max": Option(number("--t-max", float, 0.0, 1e12, lo_open=True), 1e5,
                    "final time, in (0, 1e12] (default 1e5)"),
    "points": Option(number("--points", int, 2, 100_000), 200,
                     "number of log-spaced output times over 12 decades (default 200)"),
    "groups": Option(number("--groups", int, 1), 5,
                     "number of equal-mass frequency groups, 1..c (default 5)"),
    "mode": Option(None, "full", "full: all c^2 weights; reduced: the exact c margins (default "
                   "full)", choices=("full", "reduced")),
    "method": Option(None, "RK45", "adaptive Runge-Kutta method (default RK45, Dormand-Prince "
                     "5(4))", choices=METHODS[3:]),
    "rtol": Option(number("--rtol", float, *RTOL_RANGE), 1e-8,
                   f"relative tolerance in [{RTOL_RANGE[0]:g}, {RTOL_RANGE[1]:g}] (default "
                   "1e-8); a flow with a closed form (gradient, sign on onehot) whose "
                   "largest relative error exceeds max(100 rtol, 1e-6) x max(1, log(1 + c "
                   "pi_1 t_max)) (the loss's conditioning) is reported as DISAGREES and "
                   "the exit code is 1"),
    "atol": Option(number("--atol", float, 1e-30, 1.0), 1e-10,
                   "absolute tolerance in [1e-30, 1] (default 1e-10)"),
    "sign_method": Option(None, "auto",
                          "how sign flow is integrated: closed (closed form, onehot), sliding "
                          "(event-driven Filippov, unigram), implicit (implicit Euler = l_inf "
                          "trust-region steps, unigram), explicit (the field -sign(g) on the "
                          "Runge-Kutta driver; chatters where g_i = 0); auto: explicit for "
                          "onehot, sliding for unigram (default auto)", choices=SIGN_METHODS),
    "eps": Option(number("--eps", float, 0.0, 1.0, lo_open=True), 1e-10,
                  "report the first time with f - f* <= eps, in (0, 1] (default 1e-10)"),
    "workers": Option(number("--workers", int, 1, 4096), None,
                      "threads for the blocks of classes of the one-hot model, integrated "
                      "independently, an integer in [1, 4096]; the numbers do not depend on "
                      "it (default: every usable CPU)", "N"),
    "frequencies": Option(None, None,
                          "real class frequencies instead of Zipf: the --classes most frequent "
                          "of a .csv/.tsv with a count column, a .npy of counts, or "
                          "wordfreq:LANG (pip install -e '.[real]'); also runs their maximum-"
                          "likelihood Zipf fit and draws both", "PATH|wordfreq:LANG"),
}


def parse_option(name: str, text: str) -> Any:
    """The value of option ``name`` from ``text``, checked as on the command line;
    :class:`UsageError` with the command line's message."""
    return OPTIONS[name].read(name, text)


@dataclass
class FlowConfig(Config):
    """One run of ``python -m linsim.flow``: every option of :data:`OPTIONS` as a field.

    Construct it with values (each is checked as its option is: :meth:`validate`), or from
    text with :meth:`from_text`; :meth:`check` then makes the cross-option checks
    (:func:`check_config`), fills in the ``auto`` sign method and the default ``out``, and
    loads ``frequencies``. Every error is a :class:`linsim.config.UsageError` naming the option.
    """

    problem: str = "onehot"
    classes: int = 1000
    zipf: float = 1.1
    flows: tuple[str, ...] = ("gradient", "sign")
    adam_a: float = 1.0
    adam_b: float = 1.0
    adam_eps: float = 1e-8
    t_max: float = 1e5
    points: int = 200
    groups: int = 5
    mode: str = "full"
    method: str = "RK45"
    rtol: float = 1e-8
    atol: float = 1e-10
    sign_method: str = "auto"
    eps: float = 1e-10
    workers: int | None = None
    frequencies: str | None = None
    out: Path | None = None
    argv: list[str] | None = None

    OPTIONS: ClassVar[dict[str, Option]] = OPTIONS

    @classmethod
    def from_text(cls, raw: dict[str, Any], flows: Sequence[str] | None = None,
                  **values: Any) -> FlowConfig:
        """The configuration from ``{option: text}`` (every other option at its default) and
        the flow names (None: the default), checked (:meth:`check`); ``values`` set fields
        directly (``out``)."""
        if flows is not None:
            raw = {**raw, "flows": ",".join(flows)}
        return super().from_text(raw, **values)

    def check(self) -> FlowConfig:
        """The cross-option checks (:func:`check_config`); returns the configuration."""
        check_config(self)
        return self


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


def check_config(args) -> None:
    """Cross-option checks of a :class:`FlowConfig` (or of parsed arguments with the same
    attributes); raise :class:`UsageError` with one line. Fills in ``sign_method`` for
    ``auto``, the default ``out``, and the frequencies (``freq``, ``fit``, ``pi``)."""
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
    load_frequencies(args)
    if args.out is None:
        tag = "" if problem == "onehot" else f"{problem}-"
        args.out = Path(f"linsim-out/flow-{tag}c{c}-z{args.zipf:g}")


def load_frequencies(args) -> None:
    """``--frequencies``: load the counts (one-line UsageError on bad input) and fit their
    Zipf exponent by maximum likelihood over ranks 1..c (:mod:`linsim.problems.frequencies`)."""
    args.freq = args.fit = None
    if getattr(args, "frequencies", None) is None:
        return
    from .problems import frequencies as fq

    try:
        freq = fq.load_frequencies(args.frequencies)
        args.pi = freq.top(args.classes)
    except fq.FrequencyError as e:
        raise UsageError(str(e)) from None
    args.freq, args.fit = freq, fq.zipf_mle(freq, (1, args.classes))
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


def judge_gf_rate(r: dict, run, integ: float) -> None:
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
                    f"is {fmt(err)}, above max(100 rtol, 1e-6) x max(1, log(1 + c pi_1 t_max)) "
                    f"= {thr:.3g} (rtol {args.rtol:g})")
        for r in fs["rates"]:
            if r.get("claim") != "K24.gf-rate" or "class" not in r:
                continue
            judge_gf_rate(r, run, thr)
            for what, key in (("", "verdict"), (" bounds", "bounds_verdict")):
                if r.get(key) == "FAIL":
                    problems.append(
                        f"FAIL: {name} flow {r['name']}{what}: measured {fmt(r['measured'])}, "
                        + (f"bounds [{r['bounds'][0]:.6g}, {r['bounds'][1]:.6g}]" if what else
                           f"predicted {fmt(r['predicted'])} within {r['tolerance']:.3g}")
                        + f" (pi_k t = {r['pi_t']:.4g})")
    return problems


def summarize(run, args, seconds: float) -> dict:
    """The ``summary.json`` document."""
    problem = getattr(args, "problem", "onehot")
    eps = getattr(args, "eps", 1e-10)
    fparams = run.settings.get("flow_params", {})
    argv = getattr(args, "argv", None)
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
            "steps": tr.stats["naccepted"],
            "rejected": tr.stats["nrejected"],
            "rhs_evals": tr.stats["nfev"],
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
        "command": " ".join([PROG, *(sys.argv[1:] if argv is None else argv)]),
    }


class NoSolution:
    """Work record of a trajectory taken from a closed form (nothing integrated)."""

    stats = {"naccepted": 0, "nrejected": 0, "nfev": 0, "status": 0, "seconds": 0.0}


def closed_sign_trace(run, model) -> None:
    """``--sign-method closed``: the sign-flow trace from K24.sf-closed-form."""
    from .experiments.k24 import FlowTrace, closed_group_means
    from .problems import zipf

    t, sel = run.t, run.class_index
    G = run.settings["groups"]
    losses = model.closed_form("sign", t, sel)
    overall = zipf.sf_loss(t, model.classes)  # every class has the same loss
    groups = closed_group_means(model, "sign", t, run.labels, G)
    run.traces["sign"] = FlowTrace(flow="sign", overall=overall, groups=groups, losses=losses,
                                   solution=NoSolution(), closed=losses, closed_groups=groups)


def simulate(args, progress: bool = True):
    """The simulation of a checked :class:`FlowConfig` (or parsed arguments): a
    :class:`~linsim.experiments.k24.OneHotRun` or a Y25 unigram run."""
    if args.problem == "unigram":
        from .experiments.y25 import run_unigram
        from .problems.softmax import UnigramModel

        model = (UnigramModel(args.classes, args.zipf) if getattr(args, "freq", None) is None
                 else UnigramModel.from_frequencies(args.pi))
        return run_unigram(model, args.flows, t_max=args.t_max,
                           points=args.points, groups=args.groups, method=args.method,
                           rtol=args.rtol, atol=args.atol, eps=args.eps,
                           sign_method=args.sign_method, progress=progress,
                           flow_params=flow_params(args))
    from .problems.softmax import OneHotModel

    if getattr(args, "freq", None) is None:
        return _run_onehot(args, OneHotModel(args.classes, args.zipf, args.mode), progress)
    run = _run_onehot(args, OneHotModel.from_frequencies(args.pi, args.mode), progress)
    # --frequencies: the same run on the Zipf law fitted to them, for the figure
    run.fit_run = _run_onehot(args, OneHotModel(args.classes, args.fit["alpha"], args.mode),
                              progress)
    return run


def _run_onehot(args, model, progress: bool):
    """One K24 one-hot run of ``model`` with the settings of ``args``."""
    from .experiments.k24 import run_onehot

    closed = args.sign_method == "closed" and "sign" in args.flows
    flows = tuple(f for f in args.flows if not (closed and f == "sign"))
    run = run_onehot(model, flows, t_max=args.t_max, points=args.points, groups=args.groups,
                     method=args.method, rtol=args.rtol, atol=args.atol,
                     progress=progress, flow_params=flow_params(args),
                     workers=args.workers)
    if closed:
        closed_sign_trace(run, model)
        run.traces = {f: run.traces[f] for f in args.flows}
    return run


def fmt(v) -> str:
    """A number in messages and tables (``-`` for None)."""
    return "-" if v is None else f"{v:.6g}"
