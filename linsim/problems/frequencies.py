"""Real class frequencies: load counts, and fit a Zipf exponent by maximum likelihood.

Sources (the ``--frequencies`` option of ``python -m linsim.flow`` and ``python -m linsim.kb25``):

- ``PATH.csv`` / ``PATH.tsv`` / ``PATH.txt``: a table with a count column. With a header, the
  column named ``count``, ``counts``, ``freq``, ``frequency`` or ``n`` (any case) is used, else
  the last column; without a header (first row numeric in its last column), the last column.
  Delimiter: tab for ``.tsv``, else comma (or whitespace when a line has no comma).
- ``PATH.npy``: a one-dimensional array of counts.
- ``wordfreq:LANG``: the word frequencies of the ``wordfreq`` package (``pip install -e
  '.[real]'``), e.g. ``wordfreq:en`` (about 320,000 English words).

Counts are sorted non-increasing (most frequent class first) and zeros dropped. Bad input (no
such file, empty, non-numeric or negative counts, fewer than 2 classes) raises
:class:`FrequencyError` with one line that names ``--frequencies``.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import optimize

__all__ = ["FrequencyError", "Frequencies", "load_frequencies", "zipf_mle"]

COUNT_NAMES = ("count", "counts", "freq", "frequency", "n")


class FrequencyError(ValueError):
    """Invalid ``--frequencies`` input (one line)."""


@dataclass(frozen=True)
class Frequencies:
    """Non-increasing positive counts (or weights) and where they came from."""

    counts: np.ndarray
    source: str

    @property
    def size(self) -> int:
        return self.counts.size

    def top(self, classes: int) -> np.ndarray:
        """The frequencies of the ``classes`` most frequent classes, normalized to sum 1."""
        if classes > self.size:
            raise FrequencyError(f"--frequencies {self.source} has {self.size} classes, fewer "
                                 f"than the {classes} asked for")
        c = self.counts[:classes]
        return c / np.sum(c[::-1])


def _fail(source: str, why: str) -> FrequencyError:
    return FrequencyError(f"--frequencies {source}: {why}")


def _check(values: np.ndarray, source: str) -> Frequencies:
    if values.size == 0:
        raise _fail(source, "no counts (empty)")
    if not np.all(np.isfinite(values)):
        raise _fail(source, "counts must be finite numbers")
    if np.any(values < 0):
        raise _fail(source, f"counts must be >= 0, got {float(values[values < 0][0])!r}")
    values = values[values > 0]
    if values.size < 2:
        raise _fail(source, f"need at least 2 classes with a count > 0, got {values.size}")
    return Frequencies(np.sort(values)[::-1].astype(np.float64), source)


def _table(text: str, source: str, tsv: bool) -> np.ndarray:
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise _fail(source, "no counts (empty)")
    if tsv:
        rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter="\t"))
    elif any("," in ln for ln in lines):
        rows = list(csv.reader(io.StringIO("\n".join(lines))))
    else:
        rows = [ln.split() for ln in lines]
    col = -1
    try:
        float(rows[0][-1])
    except (ValueError, IndexError):
        head = [h.strip().lower() for h in rows[0]]
        col = next((head.index(n) for n in COUNT_NAMES if n in head), -1)
        rows = rows[1:]
    out = np.empty(len(rows))
    for i, r in enumerate(rows):
        try:
            out[i] = float(r[col])
        except (ValueError, IndexError):
            raise _fail(source, f"line {i + 1}: count {(r[col] if r else '')!r} is not a "
                                f"number") from None
    return out


def load_frequencies(spec: str) -> Frequencies:
    """Load ``spec`` (a path or ``wordfreq:LANG``; see the module docstring)."""
    if spec.startswith("wordfreq:"):
        lang = spec.split(":", 1)[1]
        try:
            import wordfreq
        except ImportError:
            raise _fail(spec, "needs the wordfreq package: pip install -e '.[real]'") from None
        try:
            freq = wordfreq.get_frequency_dict(lang, wordlist="best")
        except (LookupError, ValueError, OSError) as e:
            raise _fail(spec, f"no wordfreq list for language {lang!r} ({e})") from None
        return _check(np.fromiter(freq.values(), dtype=np.float64, count=len(freq)), spec)
    path = Path(spec)
    if not path.is_file():
        raise _fail(spec, "no such file (give a .csv/.tsv/.txt table with a count column, a "
                          ".npy of counts, or wordfreq:LANG)")
    if path.suffix.lower() == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as e:
            raise _fail(spec, f"not a readable .npy file ({e})") from None
        if arr.dtype.kind not in "iuf" or arr.ndim != 1:
            raise _fail(spec, f"must hold a one-dimensional numeric array, got {arr.dtype} "
                              f"with shape {arr.shape}")
        return _check(arr.astype(np.float64), spec)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise _fail(spec, f"cannot read it as text ({e})") from None
    return _check(_table(text, spec, path.suffix.lower() == ".tsv"), spec)


def _mean_log_rank(a: float, logk: np.ndarray) -> float:
    """``E_a[log k]`` under ``P(k) ~ k^-a`` on the ranks ``k`` (``logk = log k``)."""
    w = -a * logk
    w = np.exp(w - w.max())
    return float(np.dot(w, logk) / np.sum(w))


def zipf_mle(freq: Frequencies | np.ndarray, ranks: tuple[int, int] | None = None) -> dict:
    """Maximum-likelihood Zipf exponent over the ranks ``[r1, r2]`` (1-based, inclusive).

    The model: a token's rank ``k`` in ``[r1, r2]`` has probability ``k^-a / sum_j j^-a``; the
    counts ``n_k`` are the observations. The log-likelihood ``-a sum n_k log k - N log Z(a)``
    is concave, and its maximizer solves ``E_a[log k] = sum n_k log k / N`` (the left side
    decreases in ``a``). Counts given as proportions give the same ``a``. The standard error
    ``1/sqrt(N Var_a(log k))`` is reported when the counts are integers (real observations).

    Returns ``{"alpha", "stderr", "ranks": [r1, r2], "tokens"}``.
    """
    counts = freq.counts if isinstance(freq, Frequencies) else np.asarray(freq, float)
    r1, r2 = (1, counts.size) if ranks is None else (int(ranks[0]), int(ranks[1]))
    r2 = min(r2, counts.size)
    if not 1 <= r1 < r2:
        raise ValueError(f"ranks must satisfy 1 <= r1 < r2 <= {counts.size}, got {ranks}")
    n = counts[r1 - 1:r2]
    logk = np.log(np.arange(r1, r2 + 1, dtype=np.float64))
    target = float(np.dot(n, logk) / np.sum(n))
    f = lambda a: _mean_log_rank(a, logk) - target  # noqa: E731
    lo, hi = -1.0, 1.0
    while f(hi) > 0:
        hi *= 2
        if hi > 1e4:
            break
    while f(lo) < 0 and lo > -1e4:
        lo *= 2
    a = optimize.brentq(f, lo, hi, xtol=1e-13)
    N = float(np.sum(n))
    stderr = None
    if np.all(n == np.round(n)):
        w = np.exp(-a * logk - np.max(-a * logk))
        w /= w.sum()
        var = float(np.dot(w, logk**2) - np.dot(w, logk) ** 2)
        stderr = 1 / math.sqrt(N * var) if var > 0 else None
    return {"alpha": float(a), "stderr": stderr, "ranks": [r1, r2], "tokens": N}


def parse_ranks(text: str, option: str = "--fit-ranks") -> tuple[int, int]:
    """``"A:B"`` -> ``(A, B)`` with ``1 <= A < B``; raise ValueError naming ``option``."""
    try:
        a, b = (int(float(s)) for s in text.split(":"))
    except (ValueError, OverflowError):  # OverflowError: int(float("inf"))
        raise ValueError(f"{option} must be A:B with integers 1 <= A < B, got {text!r}") from None
    if not 1 <= a < b:
        raise ValueError(f"{option} must be A:B with integers 1 <= A < B, got {text!r}")
    return a, b
