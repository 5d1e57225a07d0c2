"""Real class frequencies: loading counts, the maximum-likelihood Zipf fit, --frequencies."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linsim.problems.frequencies import (
    Frequencies,
    FrequencyError,
    load_frequencies,
    parse_ranks,
    zipf_mle,
)

DATA = Path(__file__).parent / "data" / "word_counts.tsv"


def test_shipped_counts_file():
    f = load_frequencies(str(DATA))
    assert f.size == 1000
    assert f.counts[0] == 5_370_000 and np.all(np.diff(f.counts) <= 0)
    pi = f.top(100)
    assert pi.sum() == pytest.approx(1.0) and pi.size == 100
    with pytest.raises(FrequencyError, match="--frequencies"):
        f.top(2000)


@pytest.mark.parametrize("name,text", [
    ("a.csv", "word,count\nx,5\ny,30\nz,2\n"),
    ("b.csv", "x,5\ny,30\nz,2\n"),
    ("c.txt", "x 5\ny 30\n\nz 2\n"),
    ("d.tsv", "freq\tword\n5\tx\n30\ty\n2\tz\n"),
])
def test_table_formats(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    np.testing.assert_array_equal(load_frequencies(str(p)).counts, [30.0, 5.0, 2.0])


def test_npy(tmp_path):
    p = tmp_path / "c.npy"
    np.save(p, np.array([1, 9, 3, 0]))
    np.testing.assert_array_equal(load_frequencies(str(p)).counts, [9.0, 3.0, 1.0])


@pytest.mark.parametrize("text,why", [
    ("", "empty"), ("word,count\n", "empty"), ("a,1\nb,-2\n", ">= 0"),
    ("a,1\nb,lots\n", "not a number"), ("a,7\n", "at least 2"), ("a,0\nb,3\n", "at least 2"),
])
def test_bad_files_raise_one_line_naming_the_option(tmp_path, text, why):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(FrequencyError, match=why) as e:
        load_frequencies(str(p))
    assert str(e.value).startswith("--frequencies") and "\n" not in str(e.value)


@settings(deadline=None, max_examples=30)
@given(alpha=st.floats(0.2, 3.0), n=st.integers(20, 5000), r1=st.integers(1, 10))
def test_mle_recovers_the_exponent_of_exact_zipf_proportions(alpha, n, r1):
    """At the expected proportions k^-a the likelihood equation holds exactly at a."""
    counts = np.arange(1, n + 1, dtype=float) ** -alpha
    fit = zipf_mle(Frequencies(counts, "zipf"), (r1, n))
    assert fit["alpha"] == pytest.approx(alpha, abs=1e-8)


def test_mle_on_sampled_counts_within_its_standard_error():
    rng = np.random.default_rng(0)
    n, a = 2000, 1.1
    p = np.arange(1, n + 1, dtype=float) ** -a
    counts = np.sort(rng.multinomial(200_000, p / p.sum()))[::-1].astype(float)
    fit = zipf_mle(counts, (1, 200))
    assert fit["stderr"] is not None and abs(fit["alpha"] - a) < 5 * fit["stderr"]


def test_parse_ranks():
    assert parse_ranks("10:1e4") == (10, 10000)
    for bad in ("3:1", "x", "0:5"):
        with pytest.raises(ValueError, match="--fit-ranks"):
            parse_ranks(bad)


def test_wordfreq_english():
    pytest.importorskip("wordfreq")
    f = load_frequencies("wordfreq:en")
    assert f.size > 100_000
    fit = zipf_mle(f, (1, 50_000))
    assert 0.8 < fit["alpha"] < 1.3
    with pytest.raises(FrequencyError, match="--frequencies"):
        load_frequencies("wordfreq:xx-nonexistent")


def _run(mod, *args):
    return subprocess.run([sys.executable, "-m", mod, *args], capture_output=True, text=True,
                          timeout=600)


def test_flow_with_frequencies_runs_and_draws_real_beside_fit(tmp_path):
    out = _run("linsim.flow", "--frequencies", str(DATA), "--classes", "300", "--mode",
               "reduced", "--t-max", "1e4", "--points", "30", "--quiet", "--json", "--out",
               str(tmp_path))
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    fit = doc["frequencies"]["zipf_fit"]
    assert fit["ranks"] == [1, 300] and doc["zipf"] == fit["alpha"]
    assert (tmp_path / "group_losses.png").is_file()


@pytest.mark.parametrize("args", [
    ["--frequencies", "/nonexistent.csv"], ["--frequencies", str(DATA), "--classes", "5000"],
])
def test_flow_bad_frequencies_exit_2(args, tmp_path):
    out = _run("linsim.flow", *args, "--mode", "reduced", "--out", str(tmp_path))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "--frequencies" in lines[0]


def test_kb25_with_frequencies(tmp_path):
    out = _run("linsim.kb25", "--frequencies", str(DATA), "--d", "1e2:1e3", "--eps", "0.1",
               "--json", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["real"]["d"][-1] == 1000 and doc["real"]["fit"]["ranks"] == [1, 1000]
    assert (tmp_path / "kb25_real.png").is_file()
