"""Named parameter layouts: one description of a model's parameter vector that packs and unpacks it.

A compiled right-hand side reads its model's data from the flat float vector ``p`` (the flow's
header first, :data:`linsim.flows.HEADER` entries). A :class:`ParamLayout` names the fields that
follow the header, in order; a field is a scalar or an array whose length is a fixed number or
the value of an earlier scalar field (``("pi", "c")``: ``c`` entries). :meth:`ParamLayout.pack`
builds the vector's model part from named values (checking the lengths), and
:meth:`ParamLayout.unpack` reads it back by name (views into ``p``).

The compiled kernels cannot take a Python object, so each model writes its few readers (for
example ``onehot_pi(p)`` in :mod:`linsim.problems.softmax`) next to its layout, as small inline
functions; the tests check every reader against :meth:`~ParamLayout.unpack` of a packed vector,
so the offsets are written once and checked, not repeated by hand in each kernel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ParamLayout:
    """The fields of a parameter vector after the flow header.

    Parameters
    ----------
    fields : tuple of (str, int or str)
        ``(name, length)`` in order: ``length`` 1 for a scalar, an int for a fixed-length array,
        or the name of an earlier scalar field whose value is the array's length.
    """

    fields: tuple[tuple[str, int | str], ...]

    def __post_init__(self):
        seen: set[str] = set()
        for name, length in self.fields:
            if name in seen:
                raise ValueError(f"field {name!r} appears twice")
            if isinstance(length, str) and length not in seen:
                raise ValueError(f"field {name!r}: its length {length!r} must be an earlier "
                                 f"field")
            seen.add(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.fields)

    def extend(self, *fields: tuple[str, int | str]) -> ParamLayout:
        """This layout with ``fields`` appended."""
        return ParamLayout(self.fields + tuple(fields))

    def pack(self, **values) -> np.ndarray:
        """The model part of the vector (float64) from one value per field, in layout order.

        Raises ValueError when a field is missing or unknown, or an array has the wrong length.
        """
        unknown = set(values) - set(self.names)
        missing = [n for n in self.names if n not in values]
        if unknown or missing:
            raise ValueError(f"pack: missing {missing}, unknown {sorted(unknown)}")
        scalars: dict[str, float] = {}
        parts = []
        for name, length in self.fields:
            v = np.asarray(values[name], dtype=np.float64).ravel()
            want = scalars[length] if isinstance(length, str) else length
            if v.size != want:
                raise ValueError(f"pack: field {name!r} needs {want:g} entries, got {v.size}")
            if length == 1:
                scalars[name] = float(v[0])
            parts.append(v)
        return np.concatenate(parts) if parts else np.zeros(0)

    def unpack(self, p, at: int = 0) -> dict:
        """The fields of ``p`` starting at index ``at`` (after the header): scalars as floats,
        arrays as views; ``"end"``: the index after the last field."""
        p = np.asarray(p)
        out: dict = {}
        i = at
        for name, length in self.fields:
            n = int(out[length]) if isinstance(length, str) else length
            if length == 1:
                out[name] = float(p[i])
            else:
                out[name] = p[i : i + n]
            i += n
        if i > p.size:
            raise ValueError(f"unpack: the layout needs {i} entries, p has {p.size}")
        out["end"] = i
        return out


__all__ = ["ParamLayout"]
