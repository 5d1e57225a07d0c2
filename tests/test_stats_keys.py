"""Solution.stats' deprecated keys (``steps``, ``rejected``, ``rhs_evals``; issue 16, item 5) are
kept for callers outside linsim, but linsim itself reads only the SciPy-style names
(``naccepted``, ``nrejected``, ``nfev``): with the old keys removed from every solution, the
main job, the unigram model's sliding sign flow and a sweep cell still run and report the same
work counts under their summary.json names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from linsim import flow, sweep
from linsim.integrate.driver import DEPRECATED_STATS, IntegrationError, Solution


@pytest.fixture
def strict_stats(monkeypatch):
    """Solutions and integration errors without the deprecated keys."""
    full = Solution.stats.fget

    def stats(self):
        out = full(self)
        for old in DEPRECATED_STATS.values():
            del out[old]
        return out

    monkeypatch.setattr(Solution, "stats", property(stats))
    init = IntegrationError.__init__

    def error_init(self, t, reason, st):
        init(self, t, reason, st)
        for old in DEPRECATED_STATS.values():
            self.stats.pop(old, None)

    monkeypatch.setattr(IntegrationError, "__init__", error_init)


def _summary(tmp_path: Path, argv: list[str]) -> dict:
    out = tmp_path / "o"
    assert flow.main([*argv, "--t-max", "100", "--no-plot", "--quiet", "--out", str(out)]) == 0
    return json.loads((out / "summary.json").read_text())


@pytest.mark.parametrize("argv", [
    ["--classes", "20"],
    ["--problem", "unigram", "--classes", "20", "--flows", "sign,gradient"],
])
def test_the_command_line_reads_only_the_new_names(tmp_path, strict_stats, argv):
    s = _summary(tmp_path, argv)
    for name, f in s["flows"].items():
        assert f["rhs_evals"] > 0 and f["steps"] > 0 and f["rejected"] >= 0, name
        assert f["rhs_evals"] >= f["steps"] + f["rejected"], name


def test_a_failed_sweep_cell_records_the_work_under_the_summary_names(strict_stats, monkeypatch):
    def fail(params, flow_name):
        raise IntegrationError(3.0, "step size underflow", {"naccepted": 7, "nrejected": 2,
                                                            "nfev": 55})

    runner = sweep.PROBLEMS["onehot"]
    monkeypatch.setitem(sweep.PROBLEMS, "onehot", runner.__class__(
        **{**runner.__dict__, "run": fail}))
    cell = sweep.Cell("onehot", {"classes": 10}, "gradient")
    rec = sweep.run_cell(cell)
    assert rec["status"] == "failed" and "step size underflow" in rec["error"]
    r = rec["result"]
    assert (r["steps"], r["rejected"], r["rhs_evals"]) == (7, 2, 55)
