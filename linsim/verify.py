"""``python -m linsim.verify``: check every claim of THEORY.md by simulation and by SymPy.

For each claim: run its SymPy certificate (``proofs.<paper>``), run its simulation, fit the rate
from the simulated trajectory, and compare with the prediction. One row per claim: id,
statement, symbolic status (proved, numeric, none), measured, predicted, PASS or FAIL.

Exit codes: 0 all claims pass, 1 some claim fails, 2 invalid input (an unknown id).
"""

from __future__ import annotations

import argparse
import sys
import time

from . import io
from .claims import CLAIMS, Claim

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
        "simulation": claim.simulate,
        "error": error,
        "seconds": time.perf_counter() - start,
    }


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


def markdown(rows: list[dict]) -> str:
    """The report as a Markdown table (the README's claims table is made with ``--markdown``)."""
    out = ["| claim | statement | symbolic | measured | predicted | tolerance | status |",
           "|---|---|---|---|---|---|---|"]
    for r in rows:
        tol = "-" if r["tolerance"] is None else f"{r['compare']} {r['tolerance']:.0e}"
        stmt = r["statement"].replace("|", "\\|")
        out.append(f"| {r['id']} | {stmt} | {r['symbolic']} | {_fmt(r['measured'])} | "
                   f"{_fmt(r['predicted'])} | {tol} | {r['status']} |")
    return "\n".join(out)


def main(argv: list[str] | None = None, registry: dict[str, Claim] | None = None) -> int:
    """Run the command line; return the exit code."""
    registry = CLAIMS if registry is None else registry
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    p.add_argument("--claims", default=None, metavar="ID,...",
                   help="comma list of claim ids (default: all)")
    p.add_argument("--quick", action="store_true",
                   help="smaller simulations (under a minute on 2 cores)")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of the table")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    p.add_argument("--list", action="store_true", help="list the claim ids and exit")
    args = p.parse_args(argv)
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
    rows = [verify_claim(registry[i], args.quick) for i in ids]
    if args.json:
        sys.stdout.write(io.dumps(rows))
    elif args.markdown:
        print(markdown(rows))
    else:
        print(table(rows))
    return 1 if any(r["status"] == "FAIL" for r in rows) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
