"""``python -m linsim.figures``: regenerate every theorem-illustration figure from fresh runs.

Each figure is written as PNG and PDF (``<out>/<name>.png``, ``.pdf``) in the one linsim style,
with its claim ids in the title and in the file metadata.

Exit codes: 0 success, 1 an output could not be written, 2 invalid input (nothing written),
130/143 interrupted by SIGINT/SIGTERM (the figures already finished are kept, each complete:
its PNG and PDF are written together).
"""

from __future__ import annotations

import sys
from pathlib import Path

from . import io
from .claims import CLAIMS, FIGURES
from .cli import (
    Interrupted,
    Parser,
    UsageError,
    check_out,
    deferred_signals,
    interruptible,
    report_interrupt,
    write_failed,
)

PROG = "python -m linsim.figures"


def markdown(names, out: Path = Path("figures")) -> str:
    """The figure table of the README: picture, command, claim ids and caption, one row each."""
    rows = ["| | |", "|---|---|"]
    for name in names:
        fig = FIGURES[name]
        caption = fig.caption.replace("|", "\\|")
        rows.append(f"| ![]({out.as_posix()}/{name}.png) | `{PROG} --only {name}` — "
                    f"{', '.join(fig.claims)}: {caption} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    p = Parser(prog=PROG, description=__doc__.splitlines()[0])
    p.add_argument("--only", default=None, metavar="ID",
                   help="a claim id or figure name (comma list allowed); default: all figures")
    p.add_argument("--out", type=Path, default=Path("figures"), metavar="DIR",
                   help="output folder (default figures/)")
    p.add_argument("--quick", action="store_true", help="smaller simulations where possible")
    p.add_argument("--markdown", action="store_true",
                   help="print the README's figure table (from the registry) and exit; draws "
                        "nothing")
    try:
        args = p.parse_args(argv)
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    names = list(FIGURES)
    if args.only:
        names = []
        for key in (s.strip() for s in args.only.split(",")):
            if key in FIGURES:
                names.append(key)
            elif key in CLAIMS and CLAIMS[key].figure:
                names.append(CLAIMS[key].figure)
            else:
                print(f"{PROG}: error: --only: unknown claim id or figure {key!r}; known: "
                      f"{', '.join([*CLAIMS, *FIGURES])}", file=sys.stderr)
                return 2
    if args.markdown:
        print(markdown(dict.fromkeys(names), args.out))
        return 0
    try:
        check_out(args.out)
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    done = 0
    try:
        with interruptible():
            import matplotlib.pyplot as plt

            versions = io.versions()
            for name in dict.fromkeys(names):
                fig = FIGURES[name]
                f = fig.make(args.quick)
                try:
                    with deferred_signals():  # the PNG and the PDF of one figure go together
                        paths = io.save_figure(f, args.out / name, {
                            "figure": name, "claims": fig.claims, "caption": fig.caption,
                            "versions": versions})
                except OSError as e:
                    return write_failed(PROG, "--out", e)
                plt.close(f)  # 31 figures would otherwise stay in memory until the end
                done += 1
                print(f"{name}: {', '.join(fig.claims)} -> {', '.join(str(q) for q in paths)}",
                      flush=True)
    except Interrupted as e:
        return report_interrupt(PROG, e, f"{done} figures written, each complete")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
