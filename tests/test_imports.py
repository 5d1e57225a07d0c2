"""The CLI's fixed cost: what ``python -m linsim.flow`` imports and compiles (issue 17).

A run imports matplotlib only to draw its figure, never SymPy or the sweep, claim and
verification machinery, and no SciPy beyond what Numba itself loads (``scipy.linalg``, for its
BLAS check); it compiles (or loads from Numba's cache) only the vector fields it uses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_SCRIPT = """
import json, runpy, sys
sys.argv = ["linsim.flow", *{argv!r}]
try:
    runpy.run_module("linsim.flow", run_name="__main__")
except SystemExit as e:
    assert not e.code, e.code
from linsim.problems import softmax
from linsim.integrate import driver
fields = {{name: len(getattr(softmax, name).signatures) for name in (
    "onehot_field", "onehot_block_field", "onehot_block_losses", "onehot_summary",
    "margin_field", "margin_block_field", "margin_summary", "unigram_field")}}
fields["identity_output"] = len(driver.identity_output.signatures)
print(json.dumps({{"modules": sorted(sys.modules), "fields": fields}}))
"""


def _run(argv: list[str]) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-c", _SCRIPT.format(argv=argv)], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_fixed_cost_imports_and_compiles_only_what_it_uses(tmp_path):
    out = _run(["--classes", "8", "--no-plot", "--quiet", "--out", str(tmp_path / "o")])
    mods = set(out["modules"])
    roots = {m.split(".")[0] for m in mods}
    assert not roots & {"matplotlib", "sympy", "dask", "tqdm"}, sorted(roots)
    assert not {"linsim.sweep", "linsim.plotting", "linsim.claims", "linsim.verify",
                "linsim.figures", "linsim.integrate.sliding", "linsim.integrate.implicit",
                "linsim.experiments.y25", "linsim.experiments.adam", "proofs"} & mods
    scipy = {".".join(m.split(".")[:2]) for m in mods if m.startswith("scipy.")}
    assert scipy <= {"scipy.linalg", "scipy.version", "scipy.__config__", "scipy._lib",
                     "scipy._cyutility", "scipy._distributor_init",
                     "scipy._distributor_init_local"}, sorted(scipy)
    fields = out["fields"]
    # the blocks of classes: one field and its output function, each for the one signature
    assert fields["onehot_block_field"] == fields["onehot_block_losses"] == 1
    unused = {k: v for k, v in fields.items() if k not in ("onehot_block_field",
                                                           "onehot_block_losses")}
    assert not any(unused.values()), unused


def test_figure_loads_matplotlib(tmp_path):
    """The control of the test above: the same run with its figure does import matplotlib."""
    out = _run(["--classes", "8", "--quiet", "--out", str(tmp_path / "o")])
    assert "matplotlib" in out["modules"]
    assert (tmp_path / "o" / "group_losses.png").exists()
