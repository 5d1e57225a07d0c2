"""The house rules of the layers (DESIGN.md, issue 16), read from the source with ``ast``.

* Layers only look down: :mod:`linsim.integrate` imports nothing from ``linsim.problems``,
  ``linsim.flows`` or ``linsim.experiments``; :mod:`linsim.kernels` (the bottom layer) imports
  nothing of linsim.
* No module imports another module's private (``_name``) names, and no module of
  ``linsim/integrate`` reads a private attribute of another module.
* No function in ``linsim/`` takes more than 12 parameters.
* The library imports no command line (:data:`CLI_MODULES`): run configurations are checked
  below them (:mod:`linsim.config`).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINSIM = ROOT / "linsim"
INTEGRATE = LINSIM / "integrate"
MAX_PARAMS = 12
#: Upward layers that linsim/integrate must not import.
ABOVE_INTEGRATE = ("linsim.problems", "linsim.flows", "linsim.experiments")


def _modules(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(path: Path, node: ast.ImportFrom) -> str:
    """The absolute module of ``from X import ...`` in ``path``."""
    if node.level == 0:
        return node.module or ""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(path: Path, source: str | None = None):
    """``(lineno, module, names, enclosing function)`` of every import in ``path``."""
    tree = ast.parse(path.read_text() if source is None else source)
    found = []

    def visit(node, func):
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) \
                else func
            if isinstance(child, ast.Import):
                for a in child.names:
                    found.append((child.lineno, a.name, [], func))
            elif isinstance(child, ast.ImportFrom):
                found.append((child.lineno, _resolve(path, child), [a.name for a in child.names],
                              func))
            visit(child, inner)

    visit(tree, None)
    return found


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _upward(path: Path, source: str | None = None) -> list[str]:
    bad = []
    for lineno, module, names, _ in _imports(path, source):
        targets = [module] + [f"{module}.{n}" for n in names]
        if any(t == up or t.startswith(up + ".") for t in targets for up in ABOVE_INTEGRATE):
            bad.append(f"{path.relative_to(ROOT)}:{lineno} imports {module} {names}")
        # no lazy import either (the compatibility shims for moved names are gone)
        if module == "importlib":
            bad.append(f"{path.relative_to(ROOT)}:{lineno} imports importlib")
    return bad


def _module_getattr(source: str) -> list[str]:
    """Module-level ``__getattr__`` (a shim that resolves moved names) in ``source``."""
    return [f"__getattr__ (line {node.lineno})" for node in ast.parse(source).body
            if isinstance(node, ast.FunctionDef) and node.name == "__getattr__"]


def _too_many_parameters(source: str) -> list[str]:
    bad = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            a = node.args
            count = (len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs)
                     + (a.vararg is not None) + (a.kwarg is not None))
            if count > MAX_PARAMS:
                bad.append(f"{node.name} (line {node.lineno}): {count} parameters")
    return bad


def test_integrate_imports_nothing_above_it():
    bad = [b for path in _modules(INTEGRATE) for b in _upward(path)]
    assert not bad, "\n".join(bad)


def test_importing_integrate_loads_no_upper_layer():
    """At run time too: a fresh ``import linsim.integrate`` (and its submodules) loads no
    problem, flow or experiment module."""
    code = ("import sys, linsim.integrate, linsim.integrate.sliding, linsim.integrate.implicit\n"
            "print(' '.join(m for m in sys.modules if m.startswith(('linsim.problems', "
            "'linsim.flows', 'linsim.experiments'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=600, check=True).stdout.strip()
    assert out == ""


def test_integrate_has_no_shims_for_moved_names():
    """The problem kernels that left linsim/integrate are imported from linsim.problems.filippov
    by every caller: no module of linsim/integrate resolves them (or anything) lazily."""
    bad = [f"{p.relative_to(ROOT)}: {b}" for p in _modules(INTEGRATE)
           for b in _module_getattr(p.read_text())]
    assert not bad, "\n".join(bad)
    from linsim.integrate import implicit, sliding

    for module, name in ((sliding, "QuadraticSign"), (sliding, "UnigramSign"),
                         (sliding, "kink_events"), (implicit, "tr_quadratic"),
                         (implicit, "tr_unigram")):
        assert not hasattr(module, name), f"{module.__name__}.{name}"


#: The command-line layer: modules run as ``python -m linsim.<name>`` and their shared helpers.
CLI_MODULES = ("linsim.cli", "linsim.flow", "linsim.z24", "linsim.heavytail", "linsim.experiment",
               "linsim.kb25", "linsim.sweep", "linsim.verify", "linsim.figures")


def _imports_cli(path: Path, source: str | None = None) -> list[str]:
    bad = []
    for lineno, module, names, _ in _imports(path, source):
        targets = [module] + [f"{module}.{n}" for n in names]
        if any(t == c or t.startswith(c + ".") for t in targets for c in CLI_MODULES):
            bad.append(f"{path.relative_to(ROOT)}:{lineno} imports {module} {names}")
    return bad


def test_the_library_imports_no_command_line():
    """Run configurations are checked in the library (linsim.config): no module below the
    command lines imports one of them or their helpers (linsim.cli)."""
    library = [p for p in _modules(LINSIM) if _module_name(p) not in CLI_MODULES]
    bad = [b for p in library for b in _imports_cli(p)]
    assert not bad, "\n".join(bad)
    fake = LINSIM / "experiments" / "not_a_module.py"
    assert len(_imports_cli(fake, "from ..cli import UsageError\nfrom .. import flow\n")) == 2


def test_kernels_are_the_bottom_layer():
    for lineno, module, names, _ in _imports(LINSIM / "kernels.py"):
        assert not module.startswith("linsim"), f"kernels.py:{lineno} imports {module} {names}"


def test_no_private_names_cross_modules():
    found = set()
    for path in _modules(LINSIM):
        rel = str(path.relative_to(ROOT))
        for _, module, names, _ in _imports(path):
            for n in names:
                if _private(n):
                    found.add((rel, module, n))
    assert not found, f"private imports across modules: {sorted(found)}"


def test_integrate_reads_no_private_attribute_of_another_module():
    bad = []
    for path in _modules(INTEGRATE):
        tree = ast.parse(path.read_text())
        modules = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module is None:
                modules.update(a.asname or a.name for a in node.names)  # from . import driver
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in modules and _private(node.attr)):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value.id}.{node.attr}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("path", _modules(LINSIM), ids=lambda p: str(p.relative_to(LINSIM)))
def test_functions_take_at_most_12_parameters(path):
    bad = _too_many_parameters(path.read_text())
    assert not bad, "\n".join(bad)


def test_the_rule_checks_can_fail():
    """The checkers flag what they are meant to flag (a check that cannot fail proves nothing)."""
    fake = INTEGRATE / "not_a_module.py"
    source = ("from ..problems.softmax import _as_int\n"
              "from .. import flows\n"
              "import linsim.experiments.k24\n"
              "def f(a, b, c, d, e, f, g, h, i, j, k, l, m):\n"
              "    import importlib\n")
    bad = _upward(fake, source)
    assert len(bad) == 4, bad
    assert [(m, n) for _, m, n, _ in _imports(fake, source)][0] == (
        "linsim.problems.softmax", ["_as_int"])
    assert _too_many_parameters(source) == ["f (line 4): 13 parameters"]
    assert _module_getattr("def __getattr__(name):\n    pass\n") == ["__getattr__ (line 1)"]
    assert not _module_getattr("class A:\n    def __getattr__(self, name):\n        pass\n")
    assert not _too_many_parameters("def g(a, b, *, c, **kw):\n    pass\n")


# --------------------------------------------------------------------------- the contracts


def test_library_problems_meet_their_protocols():
    """The protocols of :mod:`linsim.problems` describe the library's own problems."""
    import numpy as np

    from linsim.problems import BlockProblem, Problem, SlidingProblem
    from linsim.problems.filippov import QuadraticSign, UnigramSign
    from linsim.problems.quadratic import case3
    from linsim.problems.softmax import OneHotModel, UnigramModel

    quad = QuadraticSign(np.diag([1.0, 2.0]), [0.5, -0.5])
    uni = UnigramSign(UnigramModel(5, 1.0))
    for problem in (quad, uni):
        assert isinstance(problem, SlidingProblem)
        assert problem.params("sign", 0.0).size == problem.mode_at + 2 * problem.n
    assert isinstance(OneHotModel(4, 1.0), BlockProblem)
    for problem in (OneHotModel(4, 1.0), UnigramModel(5, 1.0), case3()):
        assert isinstance(problem, Problem)
    assert not isinstance(object(), Problem)
    assert not isinstance(UnigramModel(5, 1.0), SlidingProblem)  # no sliding kernels


_SLIDE_CACHE_SCRIPT = """
import numpy as np
from linsim.integrate import sliding
from linsim.problems.filippov import QuadraticSign
sliding.sign_flow(QuadraticSign(np.diag([1.0, 3.0]), [0.0, 0.0]), [1.0, -2.0], (0.0, 4.0))
st = sliding._slide.stats
print(sum(st.cache_hits.values()), sum(st.cache_misses.values()))
"""


@pytest.mark.slow
def test_sliding_loop_is_cached_on_disk():
    """The compiled segment loop (grouped named arguments, first-class functions) loads from
    the disk cache in a fresh process, like the driver (DESIGN.md, numba issue 6251)."""
    def run() -> str:
        return subprocess.run([sys.executable, "-c", _SLIDE_CACHE_SCRIPT], capture_output=True,
                              text=True, cwd=ROOT, timeout=900, check=True).stdout.split()

    run()  # fills the cache if this checkout has not yet
    assert run() == ["1", "0"]
