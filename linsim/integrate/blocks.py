"""Decoupled systems integrated block by block: each block with its own steps, blocks in threads.

When ``y' = f(t, y)`` splits into independent blocks (``f``'s block ``b`` reads ``y``'s block
``b`` only), integrating each block by itself is the same mathematics with three practical gains:

* **steps per block**: a slow block is not dragged along at the pace of the fastest one (on the
  K24 one-hot model the rare classes need far fewer steps than the frequent ones);
* **cache**: a block's stages fit in cache, where one integration of a large state streams
  ``s`` state-sized vectors from memory at every stage;
* **threads**: the compiled driver releases the GIL, so blocks run on all cores.

Each block is controlled to ``rtol``/``atol`` by its own error norm, so the whole state is
controlled at least as tightly as by one integration with the RMS norm. The numbers do not
depend on ``workers``: every block is one :func:`~linsim.integrate.solve` call, and its result
goes to its own place.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .driver import IntegrationError, Solution, solve


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def resolve_workers(workers: int | None) -> int:
    """``None`` or ``-1``: every usable CPU (:func:`usable_cpus`); otherwise ``workers >= 1``."""
    if workers is None or workers == -1:
        return usable_cpus()
    if isinstance(workers, bool) or int(workers) != workers or workers < 1:
        raise ValueError(f"workers must be an integer >= 1 (or -1 or None: every CPU), "
                         f"got {workers!r}")
    return int(workers)


def solve_blocks(
    rhs,
    t_span: tuple[float, float],
    y0s: Sequence[np.ndarray],
    params: Sequence[np.ndarray],
    *,
    output,
    n_outputs: Sequence[int],
    workers: int | None = 1,
    progress: bool = False,
    progress_desc: str = "integrate",
    **kwargs,
) -> Solution:
    """Integrate independent blocks ``y_b' = rhs(t, y_b, p_b)``, each with its own steps.

    Parameters
    ----------
    rhs : compiled function
        One right-hand side for every block (:func:`~linsim.integrate.vector_field`); the
        block's parameters ``p_b`` tell it which block it integrates.
    t_span : (float, float)
        Common time span.
    y0s, params : sequences of array_like
        Initial state and parameter vector of each block.
    output : compiled function
        Output function; block ``b`` writes ``n_outputs[b]`` values per output time.
    n_outputs : sequence of int
    workers : int or None
        Threads; ``None`` or ``-1`` for every usable CPU. The result does not depend on it.
    progress : bool
        A tqdm bar on stderr (terminal only) counting finished blocks.
    progress_desc : str
    **kwargs
        Passed to :func:`~linsim.integrate.solve` (``method``, ``rtol``, ``atol``, ``t_eval``,
        ``norm``, ...); events are not supported (a block's event is not the system's).

    Returns
    -------
    Solution
        ``y``: the blocks' outputs side by side, ``(len(t), sum(n_outputs))``; ``y_final``:
        the blocks' final states concatenated. ``naccepted``, ``nrejected`` and ``nfev`` are
        whole-state equivalents, ``sum_b count_b n_b / n`` with ``n_b`` the size of block
        ``b``: what one integration of the whole state at the same cost would count.
        ``blocks`` is the number of blocks and ``block_max_steps`` the most steps one block
        took.

    Raises
    ------
    IntegrationError
        As :func:`~linsim.integrate.solve`, naming the block.
    ValueError
        If the sequences differ in length, are empty, or ``workers`` is invalid.
    """
    if "events" in kwargs:
        raise ValueError("solve_blocks does not locate events; use solve on the whole state")
    n_blocks = len(y0s)
    if n_blocks == 0 or len(params) != n_blocks or len(n_outputs) != n_blocks:
        raise ValueError(f"y0s, params and n_outputs must have one entry per block, got "
                         f"{len(y0s)}, {len(params)} and {len(n_outputs)}")
    workers = min(resolve_workers(workers), n_blocks)
    sols: list[Solution | None] = [None] * n_blocks

    def one(b: int) -> int:
        sols[b] = solve(rhs, t_span, y0s[b], params[b], output=output,
                        n_output=int(n_outputs[b]), **kwargs)
        return b

    bar = None
    if progress and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=n_blocks, desc=progress_desc, unit="block", file=sys.stderr,
                   leave=False, delay=1.0)
    start = time.perf_counter()
    b = 0
    try:
        if workers == 1:
            for b in range(n_blocks):
                one(b)
                if bar is not None:
                    bar.update()
        else:
            with ThreadPoolExecutor(workers) as pool:
                futures = [pool.submit(one, i) for i in range(n_blocks)]
                try:
                    for i, fut in enumerate(futures):
                        b = i  # the block an error comes from
                        fut.result()
                        if bar is not None:
                            bar.update()
                except BaseException:
                    for f in futures:
                        f.cancel()
                    raise
    except IntegrationError as err:
        raise IntegrationError(err.t, f"{err.reason} (block {b} of {n_blocks})",
                               err.stats) from None
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - start

    sizes = np.array([s.y_final.size for s in sols], dtype=float)
    share = sizes / sizes.sum()

    def equiv(attr: str) -> int:
        return int(round(float(np.dot([getattr(s, attr) for s in sols], share))))

    first = sols[0]
    return Solution(
        t=first.t, y=np.concatenate([s.y for s in sols], axis=1), t_final=first.t_final,
        y_final=np.concatenate([s.y_final for s in sols]), status=first.status,
        t_events=np.zeros(0), event_index=np.zeros(0, dtype=np.int64), nfev=equiv("nfev"),
        naccepted=equiv("naccepted"), nrejected=equiv("nrejected"), method=first.method,
        seconds=seconds, message=first.message, blocks=n_blocks,
        block_max_steps=max(s.naccepted for s in sols))
