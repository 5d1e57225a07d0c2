"""Named parameter layouts (issue 16, item 3): one description packs and unpacks a model's
parameter vector, and the compiled readers of the softmax models agree with it."""

from __future__ import annotations

import numpy as np
import pytest

from linsim.flows import HEADER
from linsim.problems import softmax as S
from linsim.problems.layout import ParamLayout
from linsim.problems.softmax import OneHotModel, UnigramModel

LABELS = np.array([0, 0, 1, 1, 2, 2, 2], float)
SEL = np.array([0, 3, 6])


def test_pack_and_unpack_round_trip():
    lay = ParamLayout((("n", 1), ("x", "n"), ("k", 1), ("z", 2)))
    p = lay.pack(n=3, x=[1.0, 2.0, 3.0], k=7, z=[8.0, 9.0])
    np.testing.assert_array_equal(p, [3, 1, 2, 3, 7, 8, 9])
    assert p.dtype == np.float64
    full = np.concatenate([np.full(HEADER, -1.0), p, [99.0]])
    got = lay.unpack(full, HEADER)
    assert got["n"] == 3.0 and got["k"] == 7.0 and got["end"] == HEADER + 7
    np.testing.assert_array_equal(got["x"], [1, 2, 3])
    np.testing.assert_array_equal(got["z"], [8, 9])
    assert np.shares_memory(got["x"], full)  # views, not copies


@pytest.mark.parametrize("bad, match", [
    ({"n": 2, "x": [1.0], "k": 0, "z": [0, 0]}, "'x' needs 2"),
    ({"n": 1, "x": [1.0], "k": 0}, "missing"),
    ({"n": 1, "x": [1.0], "k": 0, "z": [0, 0], "w": 1}, "unknown"),
])
def test_pack_rejects_wrong_values(bad, match):
    lay = ParamLayout((("n", 1), ("x", "n"), ("k", 1), ("z", 2)))
    with pytest.raises(ValueError, match=match):
        lay.pack(**bad)


def test_a_layout_must_name_lengths_defined_before():
    with pytest.raises(ValueError, match="earlier"):
        ParamLayout((("x", "n"), ("n", 1)))
    with pytest.raises(ValueError, match="twice"):
        ParamLayout((("n", 1), ("n", 1)))
    with pytest.raises(ValueError, match="needs"):
        ParamLayout((("n", 1), ("x", "n"))).unpack([5.0, 1.0])


def test_onehot_readers_agree_with_the_layout():
    for mode in ("full", "reduced"):
        m = OneHotModel(7, 1.0, mode)
        p = m.params("gradient", LABELS, SEL)
        got = S.ONEHOT_LAYOUT.unpack(p, HEADER)
        assert got["end"] == p.size
        assert S.onehot_classes(p) == 7 == got["c"]
        np.testing.assert_array_equal(S.onehot_pi(p), m.pi)
        np.testing.assert_array_equal(got["pi"], m.pi)
        G, labels, nsel, sel = S.output_fields(S.onehot_outputs(p), 7)
        assert (G, nsel) == (3, 3) == (got["G"], got["n_sel"])
        np.testing.assert_array_equal(labels, got["labels"])
        np.testing.assert_array_equal(sel, SEL)

        b = m.block_params("gradient", 2, 5, LABELS, SEL)
        got = S.BLOCK_LAYOUT.unpack(b, HEADER)
        assert got["end"] == b.size
        assert (S.onehot_classes(b), S.block_k0(b), S.block_size(b)) == (7, 2, 3)
        np.testing.assert_array_equal(S.block_pi(b), m.pi[2:5])
        G, labels, nsel, sel = S.output_fields(S.block_outputs(b), 3)
        assert (G, nsel) == (3, 1)
        np.testing.assert_array_equal(labels, LABELS[2:5])
        np.testing.assert_array_equal(sel, [1])  # class 3, counted from k0 = 2


def test_unigram_readers_agree_with_the_layout():
    u = UnigramModel(9, 1.0)
    p = u.params("gradient", np.arange(9) % 2, np.array([1, 4]), level=0.5)
    got = S.UNIGRAM_LAYOUT.unpack(p, HEADER)
    assert got["end"] == p.size
    assert S.unigram_level(p) == 0.5 == got["level"]
    assert S.unigram_tail(p) == got["end"] - 9 - 1  # level, then log pi (c entries)
    np.testing.assert_array_equal(S.unigram_log_pi(p), u.log_pi)
    np.testing.assert_array_equal(got["log_pi"], u.log_pi)
    np.testing.assert_array_equal(S.onehot_pi(p), u.pi)
