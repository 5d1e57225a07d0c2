"""What every ``python -m linsim.*`` command line shares: one-line errors with exit code 2,
output folders, signals, and the memory check.

Each command builds its parser with :class:`Parser`, whose errors raise :class:`UsageError`
(one line naming the option); its ``main`` prints ``PROG: error: ...`` and returns 2. The
checked numbers and comma lists (:func:`number`, :func:`names`) and the run configurations
live in :mod:`linsim.config`, below the command lines; they are re-exported here.
:func:`check_out` is the one check of an output folder; :func:`interruptible` and
:func:`deferred_signals` make SIGINT and SIGTERM leave complete outputs or none;
:func:`compile_note` says when the first run will compile the Numba kernels.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from .config import UsageError, names, number, range_text
from .io import available_memory

#: Re-exported from the layers below (linsim.config, linsim.io).
__all__ = ["UsageError", "available_memory", "names", "number", "range_text"]


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors raise :class:`UsageError` instead of exiting."""

    def error(self, message):  # one line, exit code 2 (argparse prints usage too)
        head, sep, rest = message.partition(": ")
        if head.startswith("argument ") and rest.startswith(head[len("argument "):].split("/")[0]):
            message = rest  # our own message already names the option
        raise UsageError(message)


# ----------------------------------------------------------------------------------------------
# output folders
# ----------------------------------------------------------------------------------------------


def _reason(e: OSError) -> str:
    return e.strerror or type(e).__name__


def check_out(path: str | os.PathLike, option: str = "--out") -> Path:
    """Check that ``path`` is a folder this process can write in, or can create; write nothing.

    An existing ``path`` must be a folder where a file can be created; a missing one needs its
    nearest existing ancestor to be a folder where a folder can be created. Both are probed by
    creating and removing a temporary entry, so permissions, read-only file systems and
    pseudo file systems such as ``/proc`` are all caught (``os.access`` says yes to root).

    Raises
    ------
    UsageError
        One line naming ``option``, the path and the reason.
    """
    path = Path(path)
    shown = str(path)
    if path.exists():
        if not path.is_dir():
            raise UsageError(f"{option} must be a folder, got the file {shown!r}")
        try:
            fd, tmp = tempfile.mkstemp(prefix=".linsim-probe-", dir=path)
            os.close(fd)
            os.unlink(tmp)
        except OSError as e:
            raise UsageError(f"{option}: cannot write in {shown!r}: {_reason(e)}") from None
        return path
    parent = path.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"{option}: cannot create {shown!r}: {str(parent)!r} is not a folder")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".linsim-probe-", dir=parent))
    except OSError as e:
        raise UsageError(f"{option}: cannot create {shown!r}: {_reason(e)} (in "
                         f"{str(parent)!r})") from None
    return path


def write_failed(prog: str, option: str, e: OSError) -> int:
    """Report an output that could not be written after the run (disk full, folder removed):
    one line, exit code 1."""
    where = f" {e.filename!r}" if e.filename else ""
    print(f"{prog}: error: {option}: cannot write{where}: {_reason(e)}", file=sys.stderr)
    return 1


# ----------------------------------------------------------------------------------------------
# signals: complete outputs or none
# ----------------------------------------------------------------------------------------------

#: The signals a command line turns into :class:`Interrupted`.
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; ``signum`` says which. Exit code ``128 + signum``."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _raise(signum, frame):
    raise Interrupted(signum)


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise :class:`Interrupted` in the main thread, so
    ``finally`` blocks run (temporary files are removed, workers stopped); the previous
    handlers come back afterwards. Outside the main thread it does nothing."""
    if not _main_thread():
        yield
        return
    old = {s: signal.signal(s, _raise) for s in SIGNALS}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold SIGINT and SIGTERM while the block runs (it writes a set of files that belong
    together), then raise :class:`Interrupted` for the first one that arrived."""
    if not _main_thread():
        yield
        return
    got: list[int] = []
    old = {s: signal.signal(s, lambda signum, frame: got.append(signum)) for s in SIGNALS}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    if got:
        raise Interrupted(got[0])


def report_interrupt(prog: str, e: Interrupted, what: str) -> int:
    """Report an interruption (``what`` says what is kept); return ``128 + signum``."""
    print(f"{prog}: interrupted ({signal.Signals(e.signum).name}); {what}", file=sys.stderr)
    return e.exit_code


# ----------------------------------------------------------------------------------------------
# the first run compiles the kernels
# ----------------------------------------------------------------------------------------------

#: About how long the first run after installation compiles, on two cores (measured: 30 to 60
#: s of CPU for the main job, more on a busy machine).
COLD_COMPILE_SECONDS = 45
#: The commands whose start this module announces when the cache is cold (see
#: :func:`_announce_at_import`).
COMPILING_COMMANDS = {f"linsim.{name}": f"python -m linsim.{name}"
                      for name in ("flow", "sweep", "z24", "heavytail", "experiment")}
#: ``time.perf_counter()`` when the compile note was printed, or None (warm cache, --quiet).
cold_since: float | None = None


def kernels_cached() -> bool | None:
    """Whether Numba's on-disk cache holds the adaptive Runge-Kutta driver that every flow runs
    on (``linsim.integrate.driver.drive``); None when that cannot be told.

    Reads the cache index where Numba would (``NUMBA_CACHE_DIR``, the package's
    ``__pycache__``, or the user-wide cache) and checks that it was written by this Numba for
    the current source file, all without importing :mod:`linsim.integrate`, whose import
    already compiles the driver.
    """
    try:
        import pickle

        import numba
        from numba.core.caching import CacheImpl

        src = str(Path(__file__).resolve().parent / "integrate" / "driver.py")
        for cls in CacheImpl._locator_classes:
            loc = cls.from_function(kernels_cached, src)  # any function: only its file counts
            if loc is not None:
                break
        else:
            return None
        tag = f"py{sys.version_info.major}{sys.version_info.minor}"
        source_stamp = loc.get_source_stamp()  # what Numba compares (a hash or mtime and size)
        for index in Path(loc.get_cache_path()).glob(f"driver.*drive-*.{tag}.nbi"):
            with open(index, "rb") as f:
                version = pickle.load(f)
                data = f.read()
            if version != numba.__version__:
                continue
            stamp, overloads = pickle.loads(data)
            if stamp == source_stamp and overloads:
                return True
        return False
    except Exception:  # another Numba layout: say nothing rather than guess
        return None


def compile_note(prog: str, quiet: bool = False) -> bool:
    """Print one line on stderr, unless ``quiet``, when the kernels are about to be compiled
    (a cold cache: the first run after installation). Return whether the cache was cold."""
    global cold_since
    cold = kernels_cached() is False
    if cold and not quiet:
        print(f"{prog}: compiling the Numba kernels once for this install (about "
              f"{COLD_COMPILE_SECONDS} s on 2 cores; later runs load them from the cache)...",
              file=sys.stderr, flush=True)
        cold_since = time.perf_counter()
    return cold


def compile_progress(prog: str, what: str) -> None:
    """After a compile note, one line of progress (``what`` was compiled, seconds so far)."""
    if cold_since is not None:
        print(f"{prog}: {what} ({time.perf_counter() - cold_since:.0f} s)", file=sys.stderr,
              flush=True)


def _announce_at_import() -> None:
    """``python -m linsim.flow`` (and the other :data:`COMPILING_COMMANDS`, whose run
    configurations import their experiments to build the parser) imports this module before
    :mod:`linsim.integrate`, whose import compiles the driver on a cold cache: say so first.

    Only when this process runs one of :data:`COMPILING_COMMANDS` as ``__main__``; silent with
    ``--quiet``, ``-h`` or ``--help`` (the help still waits for the import). While the import
    compiles, SIGINT and SIGTERM end the process with one line (nothing has been written; Numba
    writes each cache file atomically) until ``main`` installs :func:`interruptible`.
    """
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    prog = COMPILING_COMMANDS.get(getattr(spec, "name", None))
    if prog is None:
        return
    cold = compile_note(prog, quiet=bool({"--quiet", "-h", "--help"} & set(sys.argv[1:])))
    if cold and _main_thread():
        def stop(signum, frame):
            print(f"{prog}: interrupted ({signal.Signals(signum).name}) while compiling; nothing "
                  f"written", file=sys.stderr, flush=True)
            os._exit(128 + signum)

        for s in SIGNALS:
            signal.signal(s, stop)


_announce_at_import()
