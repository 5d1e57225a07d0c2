"""``python -m linsim.figures``: regenerate every theorem-illustration figure from fresh runs.

Each figure is written as PNG and PDF (``<out>/<name>.png``, ``.pdf``) in the one linsim style,
with its claim ids in the title and in the file metadata.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import io
from .claims import CLAIMS, FIGURES

PROG = "python -m linsim.figures"


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    p.add_argument("--only", default=None, metavar="ID",
                   help="a claim id or figure name (comma list allowed); default: all figures")
    p.add_argument("--out", type=Path, default=Path("figures"), metavar="DIR",
                   help="output folder (default figures/)")
    p.add_argument("--quick", action="store_true", help="smaller simulations where possible")
    args = p.parse_args(argv)
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
    if args.out.exists() and not args.out.is_dir():
        print(f"{PROG}: error: --out must be a folder, got the file {str(args.out)!r}",
              file=sys.stderr)
        return 2
    import matplotlib.pyplot as plt

    versions = io.versions()
    for name in dict.fromkeys(names):
        fig = FIGURES[name]
        f = fig.make(args.quick)
        paths = io.save_figure(f, args.out / name, {"figure": name, "claims": fig.claims,
                                                    "caption": fig.caption,
                                                    "versions": versions})
        plt.close(f)  # 31 figures would otherwise stay in memory until the end
        print(f"{name}: {', '.join(fig.claims)} -> {', '.join(str(q) for q in paths)}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
