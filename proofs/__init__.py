"""SymPy proof certificates, one module per paper (``proofs.k24``, ...).

A certificate records, claim by claim, what was *proved symbolically*, what was only *checked
numerically*, and which steps of the claim it *assumes* without deriving them. Its grade
(:attr:`Certificate.symbolic`) never claims more than was done:

- ``"proved"``: every check symbolic and passed, and nothing assumed, so the checks derive the
  claim's statement from the model (the final statement reduced to an identity or a
  sign-settled inequality);
- ``"partial"``: some checks are symbolic, and the certificate lists the steps it assumes (or
  some of its checks are only numeric);
- ``"numeric"``: every check is numeric;
- ``"none"``: a check failed, or there is no check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import sympy as sp

Kind = Literal["symbolic", "numeric"]


@dataclass(frozen=True)
class Check:
    """One verified statement.

    Parameters
    ----------
    statement : str
        What was checked, in one line (e.g. ``"u(t) from e^u+(c-1)u=1+c*pi*t solves the ODE"``).
    kind : {"symbolic", "numeric"}
        ``"symbolic"`` when SymPy reduced the statement to an identity; ``"numeric"`` when it
        was only checked on a dense grid of values.
    passed : bool
        Whether the statement held.
    detail : str
        How it was checked (the residual, the grid, the SymPy call).
    """

    statement: str
    kind: Kind
    passed: bool
    detail: str = ""


@dataclass
class Certificate:
    """The checks behind one claim id of THEORY.md."""

    claim: str
    checks: list[Check] = field(default_factory=list)
    #: Steps of the claim that the checks do not derive (each one line); a certificate with any
    #: is at most ``"partial"``.
    assumes: list[str] = field(default_factory=list)

    def assume(self, step: str) -> None:
        """Record a step of the claim that this certificate takes as given."""
        self.assumes.append(step)

    def add(self, statement: str, kind: Kind, passed: bool, detail: str = "") -> None:
        """Append one :class:`Check`."""
        self.checks.append(Check(statement, kind, bool(passed), detail))

    @property
    def passed(self) -> bool:
        """True when every check passed (and there is at least one)."""
        return bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def symbolic(self) -> str:
        """The grade: "proved", "partial", "numeric" or "none" (see the module docstring)."""
        if not self.passed:
            return "none"
        kinds = {c.kind for c in self.checks}
        if kinds == {"numeric"}:
            return "numeric"
        if kinds == {"symbolic"} and not self.assumes:
            return "proved"
        return "partial"

    def to_dict(self) -> dict:
        """A JSON-ready view."""
        return {
            "claim": self.claim,
            "symbolic": self.symbolic,
            "passed": self.passed,
            "checks": [c.__dict__ for c in self.checks],
            "assumes": list(self.assumes),
        }


def report(certs: dict[str, Certificate]) -> str:
    """A plain-text table: claim, symbolic status, then each check."""
    lines = [f"{'claim':<22} {'status':<9} passed", "-" * 78]
    for claim, cert in certs.items():
        lines.append(f"{claim:<22} {cert.symbolic:<9} {cert.passed}")
        for chk in cert.checks:
            mark = "ok  " if chk.passed else "FAIL"
            lines.append(f"    {chk.kind:<9} {mark} {chk.statement}")
        for step in cert.assumes:
            lines.append(f"    assumes        {step}")
    return "\n".join(lines)


def main(certificates: Callable[[], dict[str, Certificate]]) -> int:
    """``python -m proofs.<paper>``: compute the module's certificates and print
    :func:`report`; exit code 1 if any failed."""
    import time

    start = time.perf_counter()
    certs = certificates()
    print(report(certs))
    print(f"\n{len(certs)} certificates in {time.perf_counter() - start:.1f} s")
    return 0 if all(c.passed for c in certs.values()) else 1


def zero(expr: sp.Expr) -> tuple[bool, sp.Expr]:
    """Simplify ``expr``; return whether it is identically 0 and the simplified form."""
    r = sp.simplify(expr)
    return r == 0, r


def nonneg_from_zero(h: sp.Expr, var: sp.Symbol, depth: int = 2) -> tuple[bool, str]:
    """Prove h(var) >= 0 for var >= 0 from h(0) = 0 and h' >= 0, all decided by SymPy.

    When SymPy's assumptions cannot settle h' >= 0 directly, the same argument is applied to h'
    (up to ``depth`` derivatives).
    """
    h0 = sp.simplify(h.subs(var, 0))
    dh = sp.factor(sp.together(sp.diff(h, var)))
    if h0 != 0:
        return False, f"h(0)={h0} != 0"
    if dh.is_nonnegative is True:
        return True, f"h(0)=0, h'={dh} >= 0"
    if depth > 1:
        ok, sub = nonneg_from_zero(dh, var, depth - 1)
        return ok, f"h(0)=0, h'={dh} >= 0 since [{sub}]"
    return False, f"h(0)=0, h'={dh}: sign not settled"
