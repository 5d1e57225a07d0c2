"""``python -m linsim.verify``: check every claim of THEORY.md by simulation and by SymPy.

For each claim: run its SymPy certificate (``proofs.<paper>``), run its simulation, fit the rate
from the simulated trajectory, and compare with the prediction. One row per claim: id,
statement, certificate grade (proved, partial, numeric, none), measured, predicted, PASS or FAIL,
with where the prediction and the tolerance come from.

``--controls`` runs every claim's negative controls instead: the same check on mutants that
make the claim false; each must FAIL (``DETECTED``), else it is ``MISSED``.

``--html PATH`` also writes the run as one self-contained HTML page (:mod:`linsim.report`):
every claim with its certificate, its negative controls and its figure drawn in this run, and
the provenance. It adds to what the command prints (the table, ``--json`` or ``--markdown``).

Exit codes: 0 all claims pass (all controls detected), 1 some claim fails (some control
missed), 2 invalid input (an unknown id, an ``--html`` path that is a folder). With ``--html``
and without ``--controls`` the exit code is the claims'; the page reports the controls.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from . import io
from .claims import CLAIMS, FIGURES, Claim, Control, Figure, Measurement
from .cli import Parser, UsageError, check_out

PROG = "python -m linsim.verify"


def verify_claim(claim: Claim, quick: bool = False) -> dict:
    """Run one claim's certificate and simulation; return its report row."""
    start = time.perf_counter()
    cert = claim.certificate()
    try:
        m = claim.check(quick)
        passed, error = m.passed, None
    except Exception as e:  # a failed simulation is a FAIL of that claim, with the reason
        m, passed, error = None, False, f"{type(e).__name__}: {e}"
    if cert is not None and not cert.passed:
        passed = False
    return {
        "id": claim.id,
        "paper": claim.paper,
        "statement": claim.statement,
        "status": "PASS" if passed else "FAIL",
        "symbolic": "none" if cert is None else cert.symbolic,
        "measured": None if m is None else m.measured,
        "predicted": None if m is None else m.predicted,
        "tolerance": None if m is None else m.tolerance,
        "compare": None if m is None else m.compare,
        "detail": {} if m is None else m.detail,
        "certificate": None if cert is None else cert.to_dict(),
        "prediction_source": claim.prediction_source,
        "tolerance_reason": claim.tolerance_reason,
        "evidence": claim.evidence,
        "simulation": claim.simulate,
        "error": error,
        "seconds": time.perf_counter() - start,
    }


def _rule(m: Measurement) -> tuple:
    return (m.predicted, m.tolerance, m.compare)


def run_control(claim: Claim, control: Control, quick: bool = False,
                reference: Measurement | None = None) -> dict:
    """Run one negative control; ``status`` is ``DETECTED`` when the check FAILs on the mutant.

    A ``"simulation"`` or ``"data"`` mutant must keep the claim's pass rule (prediction,
    tolerance, comparison) of ``reference``, the unmutated check's measurement; one that moves
    it is ``INVALID``. A mutant whose check raises is ``ERROR``: a crash is not a detection.
    """
    start = time.perf_counter()
    row = {"mutant": control.mutant, "kind": control.kind, "status": "ERROR",
           "measured": None, "error": None}
    try:
        m = control.check(quick)
    except Exception as e:
        row["error"] = f"{type(e).__name__}: {e}"
    else:
        row["measured"] = m.measured
        if (control.kind != "prediction" and reference is not None
                and _rule(m) != _rule(reference)):
            row["status"] = "INVALID"
            row["error"] = (f"the mutant moved the pass rule {_rule(reference)} to {_rule(m)}; "
                            "a simulation or data mutant may change only the measurement")
        else:
            row["status"] = "MISSED" if m.passed else "DETECTED"
    row["seconds"] = time.perf_counter() - start
    return row


_RUN = object()


def verify_controls(claim: Claim, quick: bool = False, reference=_RUN) -> dict:
    """Run every negative control of ``claim``; return ``{id, control: [...], status}``.

    ``reference`` is the unmutated check's :class:`Measurement` (None when it raised); by
    default the check is run here to get it.
    """
    if reference is _RUN:
        try:
            reference = claim.check(quick)
        except Exception:
            reference = None
    rows = [run_control(claim, c, quick, reference) for c in claim.controls]
    ok = bool(rows) and all(r["status"] == "DETECTED" for r in rows)
    missing = claim.problems()
    return {"id": claim.id, "paper": claim.paper, "control": rows,
            "status": "DETECTED" if ok and not missing else "MISSED", "problems": missing}


def _reference(row: dict) -> Measurement | None:
    """The unmutated check's pass rule and measurement, from its :func:`verify_claim` row."""
    if row["error"] is not None:
        return None
    return Measurement(row["measured"], row["predicted"], row["tolerance"], row["compare"],
                       row["detail"])


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.6g}"


def table(rows: list[dict]) -> str:
    """The human-readable report."""
    out = [f"{'claim':<20} {'symbolic':<9} {'measured':>13} {'predicted':>11} {'tol':>8} "
           f"{'':4} statement"]
    for r in rows:
        tol = "-" if r["tolerance"] is None else f"{r['compare']} {r['tolerance']:.0e}"
        out.append(f"{r['id']:<20} {r['symbolic']:<9} {_fmt(r['measured']):>13} "
                   f"{_fmt(r['predicted']):>11} {tol:>8} {r['status']:4} {r['statement']}")
        if r["error"]:
            out.append(f"{'':20} error: {r['error']}")
    n_fail = sum(r["status"] == "FAIL" for r in rows)
    out.append(f"\n{len(rows) - n_fail} passed, {n_fail} failed")
    return "\n".join(out)


def controls_table(rows: list[dict]) -> str:
    """The human-readable report of ``--controls``."""
    out = [f"{'claim':<22} {'status':<9} {'measured':>13}  mutant"]
    for r in rows:
        for c in r["control"]:
            out.append(f"{r['id']:<22} {c['status']:<9} {_fmt(c['measured']):>13}  "
                       f"[{c['kind']}] {c['mutant']}")
            if c["error"]:
                out.append(f"{'':22} {c['error']}")
        if not r["control"] or r["problems"]:
            out.append(f"{r['id']:<22} {'MISSED':<9} {'-':>13}  "
                       f"{'; '.join(r['problems']) or 'no controls'}")
    n_missed = sum(r["status"] != "DETECTED" for r in rows)
    out.append(f"\n{len(rows) - n_missed} claims with every control detected, {n_missed} with "
               "a control missed")
    return "\n".join(out)


def controls_markdown(rows: list[dict]) -> str:
    """The negative controls as a Markdown table, one row per mutant."""
    out = ["| claim | mutant | changes | measured | status |", "|---|---|---|---|---|"]
    for r in rows:
        for c in r["control"]:
            mutant = c["mutant"].replace("|", "\\|")
            out.append(f"| {r['id']} | {mutant} | {c['kind']} | {_fmt(c['measured'])} | "
                       f"{c['status']} |")
        if not r["control"] or r["problems"]:
            out.append(f"| {r['id']} | {'; '.join(r['problems']) or 'no controls'} | - | - | "
                       "MISSED |")
    return "\n".join(out)


def markdown(rows: list[dict]) -> str:
    """The report as a Markdown table (the README's claims table is made with ``--markdown``)."""
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    out = ["| claim | statement | symbolic | evidence | measured | predicted | tolerance | "
           "status | prediction from | tolerance because |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        tol = "-" if r["tolerance"] is None else f"{r['compare']} {r['tolerance']:.0e}"
        out.append(f"| {r['id']} | {cell(r['statement'])} | {r['symbolic']} | {r['evidence']} | "
                   f"{_fmt(r['measured'])} | {_fmt(r['predicted'])} | {tol} | {r['status']} | "
                   f"{cell(r['prediction_source'])} | {cell(r['tolerance_reason'])} |")
    return "\n".join(out)


def main(argv: list[str] | None = None, registry: dict[str, Claim] | None = None,
         figures: dict[str, Figure] | None = None) -> int:
    """Run the command line; return the exit code.

    ``registry`` and ``figures`` replace :data:`~linsim.claims.CLAIMS` and
    :data:`~linsim.claims.FIGURES` (tests run toy claims through them).
    """
    registry = CLAIMS if registry is None else registry
    figures = FIGURES if figures is None else figures
    p = Parser(prog=PROG, description=__doc__.splitlines()[0])
    p.add_argument("--claims", default=None, metavar="ID,...",
                   help="comma list of claim ids (default: all)")
    p.add_argument("--quick", action="store_true",
                   help="smaller simulations (under a minute on 2 cores)")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of the table")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    p.add_argument("--controls", action="store_true",
                   help="run each claim's negative controls (mutants that must FAIL) instead")
    p.add_argument("--html", default=None, metavar="PATH",
                   help="also write the run (claims, certificates, controls, figures, "
                        "provenance) as one self-contained HTML page")
    p.add_argument("--list", action="store_true", help="list the claim ids and exit")
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = p.parse_args(argv)
    except UsageError as e:  # one line, exit code 2
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    if args.list:
        for c in registry.values():
            print(f"{c.id:<20} {c.statement}")
        return 0
    if args.claims is None:
        ids = list(registry)
    else:
        ids = [s.strip() for s in args.claims.split(",") if s.strip()]
        unknown = [i for i in ids if i not in registry]
        if unknown or not ids:
            print(f"{PROG}: error: --claims: unknown claim id {', '.join(unknown) or '(none)'};"
                  f" known: {', '.join(registry)}", file=sys.stderr)
            return 2
    if args.html is not None and (not args.html or os.path.isdir(args.html)):
        print(f"{PROG}: error: --html: a file path to write the page to, got "
              f"{args.html!r}" + (" (a folder)" if args.html else ""), file=sys.stderr)
        return 2
    if args.html is not None:
        try:  # the page's folder must be writable (or creatable) before any work
            check_out(os.path.dirname(os.path.abspath(args.html)), "--html")
        except UsageError as e:
            print(f"{PROG}: error: {e}", file=sys.stderr)
            return 2
        return _html_run(args, ids, registry, figures, argv)
    if args.controls:
        rows = [verify_controls(registry[i], args.quick) for i in ids]
        return _print_controls(rows, args)
    rows = [verify_claim(registry[i], args.quick) for i in ids]
    return _print_claims(rows, args)


def _print_controls(rows: list[dict], args: argparse.Namespace) -> int:
    if args.json:
        sys.stdout.write(io.dumps(rows))
    elif args.markdown:
        print(controls_markdown(rows))
    else:
        print(controls_table(rows))
    return 1 if any(r["status"] != "DETECTED" for r in rows) else 0


def _print_claims(rows: list[dict], args: argparse.Namespace) -> int:
    if args.json:
        sys.stdout.write(io.dumps(rows))
    elif args.markdown:
        print(markdown(rows))
    else:
        print(table(rows))
    return 1 if any(r["status"] == "FAIL" for r in rows) else 0


def _html_run(args: argparse.Namespace, ids: list[str], registry: dict[str, Claim],
              figures: dict[str, Figure], argv: list[str]) -> int:
    """Claims, their controls and their figures, claim by claim (so each claim's cached
    simulations serve its controls and its figure); write the page, then print as usual."""
    from . import report

    start = time.perf_counter()
    rows, drawn = [], {}
    for i in ids:
        claim = registry[i]
        row = verify_claim(claim, args.quick)
        row["controls"] = verify_controls(claim, args.quick, _reference(row))
        fig = figures.get(claim.figure) if claim.figure else None
        if fig is not None and fig.name not in drawn:
            drawn[fig.name] = report.figure_entry(fig, args.quick) | {"drawn_for": claim.id}
        row["figure"] = None if fig is None else drawn[fig.name]
        rows.append(row)
    prov = report.provenance(argv, time.perf_counter() - start, args.quick, PROG)
    report.write(args.html, report.render(rows, prov))
    print(f"{PROG}: wrote {args.html}", file=sys.stderr)
    if args.controls:
        return _print_controls([r["controls"] for r in rows], args)
    plain = [{k: v for k, v in r.items() if k not in ("controls", "figure")} for r in rows]
    return _print_claims(plain, args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
