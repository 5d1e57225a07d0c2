"""Writing results: atomically, reproducibly (same inputs, same bytes), with versions recorded."""

from __future__ import annotations

import functools
import io
import json
import os
import platform
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np


def available_memory() -> int:
    """Bytes of memory available now (``MemAvailable``), or the physical memory."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def cpu_name() -> str:
    """The processor's model name (``/proc/cpuinfo``), or what :mod:`platform` knows."""
    import platform

    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def versions() -> dict[str, str]:
    """Versions of linsim and of the libraries that determine its numbers."""
    return dict(_versions())


@functools.cache
def _versions() -> dict[str, str]:  # package metadata is read once: 3 ms a package
    from importlib.metadata import PackageNotFoundError, version

    from . import __version__

    out = {"linsim": __version__, "python": platform.python_version()}
    for name in ("numpy", "scipy", "numba", "llvmlite", "sympy", "matplotlib"):
        try:
            out[name] = version(name)  # no import: sympy and matplotlib take a second
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def atomic_write(path: str | os.PathLike, write: Callable[[io.IOBase], None],
                 binary: bool = True) -> Path:
    """Write ``path`` through ``write(fileobj)`` into a temporary file, then rename it in place.

    A reader never sees a half-written file, and a failure leaves any previous file untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"newline": ""})) as f:
            write(f)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual file mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def to_jsonable(obj):
    """Convert NumPy scalars and arrays (recursively) for :mod:`json`; NaN/inf become None."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if np.isfinite(v) else None
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def dumps(obj) -> str:
    """Deterministic JSON text (sorted keys, NaN as null)."""
    return json.dumps(to_jsonable(obj), indent=2, sort_keys=True, allow_nan=False) + "\n"


def without_timing(obj: object) -> object:
    """``obj`` (nested dicts and lists) without its ``seconds`` entries: files that depend on
    the seed, not the clock (same seed, same bytes)."""
    if isinstance(obj, dict):
        return {k: without_timing(v) for k, v in obj.items() if k != "seconds"}
    if isinstance(obj, (list, tuple)):
        return [without_timing(v) for v in obj]
    return obj


def write_json(path, obj) -> Path:
    """Atomically write ``obj`` as JSON."""
    text = dumps(obj).encode()
    return atomic_write(path, lambda f: f.write(text))


def write_npz(path, arrays: dict[str, np.ndarray]) -> Path:
    """Atomically write an ``.npz`` that :func:`numpy.load` reads, byte-for-byte reproducible.

    ``numpy.savez`` stamps each member with the current time; here every member gets a fixed
    timestamp and the members are written in sorted order.
    """

    def write(f):
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as z:
            for name in sorted(arrays):
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.asanyarray(arrays[name]), allow_pickle=False)
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                z.writestr(info, buf.getvalue())

    return atomic_write(path, write)


def write_csv(path, columns: dict[str, np.ndarray], fmt: dict[str, str] | None = None) -> Path:
    """Atomically write columns as CSV (header row, ``repr``-exact floats) for pandas/NumPy."""
    fmt = fmt or {}
    names = list(columns)
    cols = [np.asarray(columns[n]) for n in names]
    nrow = len(cols[0]) if cols else 0

    def cell(v, name):
        if name in fmt:
            return format(v, fmt[name])
        if isinstance(v, (float, np.floating)):
            return repr(float(v))
        return str(v)

    def write(f):
        f.write(",".join(names) + "\n")
        for i in range(nrow):
            f.write(",".join(cell(c[i], n) for c, n in zip(cols, names, strict=True)) + "\n")

    return atomic_write(path, write, binary=False)


PNG_DPI = 150


def wrap_suptitle(fig) -> None:
    """Fold a figure title that is wider than the figure onto several lines (in place).

    Titles carry the claim ids and the setting, and are often longer than a narrow figure;
    matplotlib would cut them at both edges.
    """
    import textwrap

    title = getattr(fig, "_suptitle", None)  # the Text that Figure.suptitle made, if any
    if title is None or "\n" in title.get_text():
        return
    # an average glyph of this sans-serif is about 0.55 em wide; keep a margin
    chars = int(fig.get_figwidth() * 72 / (0.58 * title.get_fontsize()))
    if len(title.get_text()) > chars:
        title.set_text(textwrap.fill(title.get_text(), chars))


def _layout_once(fig, dpi: float):
    """Run ``fig``'s layout engine once, at ``dpi``, and switch it off; return the engine.

    ``savefig`` under a layout engine draws the figure twice (a layout pass, then the real
    draw) and does so again for every format. After this, each format is drawn once, and PNG
    and PDF share the same layout (the one the PNG always had). Give the returned engine
    back with :func:`_restore_layout`.
    """
    import matplotlib as mpl

    wrap_suptitle(fig)
    engine = fig.get_layout_engine()
    if engine is None:
        return None
    old = fig.dpi
    fig.dpi = dpi  # what savefig(dpi=...) sets while it lays out the figure
    try:
        engine.execute(fig)
    finally:
        fig.dpi = old
    # None (not "none", whose placeholder engine still makes savefig draw twice)
    with mpl.rc_context({"figure.autolayout": False, "figure.constrained_layout.use": False}):
        fig.set_layout_engine(None)
    return engine


def _restore_layout(fig, engine) -> None:
    if engine is not None:
        fig.set_layout_engine(engine)


def save_figure(fig, stem: str | os.PathLike, metadata: dict | None = None) -> list[Path]:
    """Atomically save ``fig`` as ``stem.png`` and ``stem.pdf`` with reproducible bytes.

    ``metadata`` (for example the claim id and the parameters) is stored in both files.
    The layout (constrained or tight) is computed once, at the PNG resolution, for both files.
    """
    stem = Path(stem)
    desc = json.dumps(to_jsonable(metadata or {}), sort_keys=True)
    out = []
    engine = _layout_once(fig, PNG_DPI)
    try:
        for ext, meta in (
            ("png", {"Software": "linsim", "Description": desc}),
            ("pdf", {"Creator": "linsim", "Producer": "linsim", "CreationDate": None,
                     "Subject": desc}),
        ):
            buf = io.BytesIO()
            fig.savefig(buf, format=ext, metadata=meta, dpi=PNG_DPI if ext == "png" else None)
            data = buf.getvalue()
            out.append(atomic_write(stem.with_suffix("." + ext), lambda f, d=data: f.write(d)))
    finally:
        _restore_layout(fig, engine)
    return out
