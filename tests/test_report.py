"""python -m linsim.verify --html: the page, its numbers, and how a real browser renders it.

The browser tests render the page in headless Chromium (Debian's ``chromium``; ``.ci/run``
installs it) and read back the rendered DOM and a screenshot. They skip only when no Chromium
executable can be found.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import types
from html.parser import HTMLParser
from pathlib import Path

import pytest

from linsim import report, verify
from linsim.claims import Claim, Control, Figure, Measurement
from proofs import Certificate

# --- a toy registry: two papers, one failing claim, a shared figure, a claim with nothing -------

_PROOFS = "toy_proofs_for_report"


def _toy_cert() -> Certificate:
    cert = Certificate("T1.ok")
    cert.add("x = 2 solves x - 2 = 0", "symbolic", True, "sympy.solve")
    cert.assume("the toy model is the model")
    return cert


def _toy_figure(quick: bool):
    from linsim.plotting import new_figure

    fig, (ax,) = new_figure(1, width=2.0, height=1.6)
    ax.plot([0, 1, 2], [0, 1, 4] if quick else [0, 2, 4], color="C3")
    ax.set_title("T1: a toy figure")
    return fig


def _broken_figure(quick: bool):
    raise RuntimeError("no data")


def _check(x: float):
    return lambda quick: Measurement(x, 2.0, 0.01, "rel", {"what": "x", "grid": list(range(30))})


def _registry() -> tuple[dict[str, Claim], dict[str, Figure]]:
    claims = [
        Claim("T1.ok", "T1", "x is 2 <script>alert(1)</script>", "toy arithmetic", _check(2.0),
              proof=f"{_PROOFS}:cert", figure="toy", prediction_source="THEORY.md, toy",
              tolerance_reason="exact arithmetic",
              controls=(Control("x moved to 3", _check(3.0), "simulation"),)),
        Claim("T1.plain", "T1", "a claim with no figure, no proof, no controls", "nothing",
              _check(2.0)),
        # the mutated claim: its check measures 2.5 where 2 is predicted
        Claim("T2.bad", "T2", "x is 2 (mutated to 2.5)", "toy arithmetic", _check(2.5),
              figure="toy", prediction_source="THEORY.md, toy",
              tolerance_reason="exact arithmetic",
              controls=(Control("x moved to 3", _check(3.0), "simulation"),
                        Control("x left at 2", _check(2.0), "data"))),
    ]
    figures = [Figure("toy", ("T1.ok", "T2.bad"), "a line", _toy_figure)]
    return {c.id: c for c in claims}, {f.name: f for f in figures}


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(sys.modules, _PROOFS, types.SimpleNamespace(cert=_toy_cert))
    return _registry()


def _run(argv: list[str], registry, figures, capsys) -> tuple[int, str, str]:
    code = verify.main(argv, registry=registry, figures=figures)
    out = capsys.readouterr()
    return code, out.out, out.err


# --- the page as text ---------------------------------------------------------------------------

class _Dom(HTMLParser):
    """Element ids, cards (in document order), images, in-page links, and a few attributes."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.ids: dict[str, dict] = {}
        self.cards: list[dict] = []
        self.imgs: list[dict] = []
        self.links: list[str] = []
        self.body: dict = {}
        self.text: dict[str, str] = {}
        self._open: str | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids[a["id"]] = a
            self._open = a["id"]
        if tag == "article" and "card" in a.get("class", "").split():
            self.cards.append(a)
        if tag == "img":
            self.imgs.append(a)
        if tag == "a" and a.get("href", "").startswith("#"):
            self.links.append(a["href"][1:])
        if tag == "body":
            self.body = a

    def handle_data(self, data):
        if self._open is not None:
            self.text[self._open] = self.text.get(self._open, "") + data

    def handle_endtag(self, tag):
        self._open = None

    def count(self, id_: str) -> int:
        return int(self.text[id_].strip())


def test_html_page_has_every_claim_failing_first_and_the_json_counts(toy, tmp_path, capsys):
    registry, figures = toy
    page = tmp_path / "out" / "report.html"
    code, out, err = _run(["--html", str(page), "--json"], registry, figures, capsys)
    assert code == 1, "a FAIL exits 1 with --html as without it"
    rows = json.loads(out)  # --json still prints the claims' rows, unchanged
    assert [r["id"] for r in rows] == list(registry)
    assert all("figure" not in r and "controls" not in r for r in rows)
    assert [p.name for p in page.parent.iterdir()] == ["report.html"]  # no temporary left over
    text = page.read_text()
    dom = _Dom(text)
    assert [c["id"] for c in dom.cards] == ["T2.bad", "T1.ok", "T1.plain"]
    assert "fail" in dom.cards[0]["class"].split()
    assert dom.count("n-pass") == sum(r["status"] == "PASS" for r in rows) == 2
    assert dom.count("n-fail") == sum(r["status"] == "FAIL" for r in rows) == 1
    assert dom.count("n-detected") == 2 and dom.count("n-missed") == 1
    assert dom.count("n-no-controls") == 1
    assert "<script>alert(1)" not in text and "&lt;script&gt;alert(1)" in text
    assert "no controls" in text and "the toy model is the model" in text  # an assumed step
    assert len(dom.imgs) == 2 and all(i["src"].startswith("data:image/png;base64,") for i in
                                      dom.imgs)
    assert "http://" not in text.replace("http://www.w3.org", "") and "https://" not in text
    data = json.loads(text.split('id="linsim-data">')[1].split("</script>")[0])
    assert data["summary"]["FAIL"] == 1 and data["provenance"]["command"].endswith(
        f"--html {page} --json")
    for key in ("numpy", "numba", "scipy", "sympy", "python", "linsim"):
        assert key in data["provenance"]["versions"]


def test_html_with_markdown_writes_both_and_controls_keeps_its_exit_code(toy, tmp_path, capsys):
    registry, figures = toy
    page = tmp_path / "r.html"
    code, out, _ = _run(["--claims", "T1.ok", "--html", str(page), "--markdown"], registry,
                        figures, capsys)
    assert code == 0 and out.startswith("| claim |") and page.exists()
    code, out, _ = _run(["--claims", "T2.bad", "--controls", "--json", "--html", str(page)],
                        registry, figures, capsys)
    assert code == 1 and json.loads(out)[0]["status"] == "MISSED"  # as --controls alone
    assert [c["id"] for c in _Dom(page.read_text()).cards] == ["T2.bad"]


def test_html_to_a_folder_is_refused_before_any_work(toy, tmp_path, capsys):
    registry, figures = toy
    code, out, err = _run(["--html", str(tmp_path)], registry, figures, capsys)
    assert code == 2 and not out
    assert err.count("\n") == 1 and "--html" in err


def test_render_shows_a_failed_figure_and_is_pure(toy):
    registry, _ = toy
    claim = registry["T1.ok"]
    row = verify.verify_claim(claim)
    row["controls"] = verify.verify_controls(claim)
    row["figure"] = report.figure_entry(Figure("broken", ("T1.ok",), "none", _broken_figure),
                                        True)
    prov = {"command": "x", "versions": {}, "wall_seconds": 0.0}
    page = report.render([row], prov)
    assert page == report.render([row], prov)
    assert "figure broken failed: RuntimeError: no data" in page and "<img" not in page
    assert _Dom(page).count("n-figures-failed") == 1


# --- in a real browser --------------------------------------------------------------------------

def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if path := shutil.which(name):
            return path
    return None


# Appended to a copy of the page: record, once everything has loaded, what the browser made of
# the images, the width, and the page's own filter.
_PROBE = """<script>
window.addEventListener('load', function () {
  var b = document.body, imgs = Array.from(document.images);
  b.setAttribute('data-images', imgs.length);
  b.setAttribute('data-decoded', imgs.filter(function (i) {
    return i.complete && i.naturalWidth > 0; }).length);
  b.setAttribute('data-overflow', document.documentElement.scrollWidth - window.innerWidth);
  var f = document.getElementById('only-fail');
  f.checked = true; f.dispatchEvent(new Event('change'));
  b.setAttribute('data-shown-failing',
                 document.querySelectorAll('article.card:not([hidden])').length);
  f.checked = false; f.dispatchEvent(new Event('change'));
  b.setAttribute('data-probed', '1');
});
</script>"""


def _browser(page: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    exe = _chromium()
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
           "--virtual-time-budget=10000", *args, page.resolve().as_uri()]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out


def _rendered(page: Path, tmp_path: Path, width: int) -> _Dom:
    probe = tmp_path / f"probe-{width}.html"
    probe.write_text(page.read_text().replace("</body>", _PROBE + "</body>"))
    dom = _Dom(_browser(probe, tmp_path, f"--window-size={width},900", "--dump-dom").stdout)
    assert dom.body.get("data-probed") == "1", "the page did not finish loading"
    return dom


def _check_in_browser(page: Path, rows: list[dict], controls: list[dict], tmp_path: Path):
    """Everything the issue asks of the rendered page, for any run."""
    dom = _rendered(page, tmp_path, 1280)
    ids = [r["id"] for r in rows]
    assert sorted(c["id"] for c in dom.cards) == sorted(ids), "one card per claim"
    failing = [r["id"] for r in rows if r["status"] == "FAIL"]
    assert [c["id"] for c in dom.cards[:len(failing)]] == sorted(
        failing, key=lambda i: [c["id"] for c in dom.cards].index(i)), "failing cards first"
    assert int(dom.body["data-shown-failing"]) == len(failing), "the failing-only filter"
    assert int(dom.body["data-images"]) >= 1
    assert dom.body["data-decoded"] == dom.body["data-images"], "a broken image"
    assert all(i in dom.ids for i in ids), "a claim without its anchor"
    assert all(target in dom.ids for target in dom.links), "a link to no element"
    n = {s: sum(r["status"] == s for r in rows) for s in ("PASS", "FAIL")}
    assert (dom.count("n-pass"), dom.count("n-fail")) == (n["PASS"], n["FAIL"])
    ctl = [c["status"] for r in controls for c in r["control"]]
    assert dom.count("n-detected") == ctl.count("DETECTED")
    assert dom.count("n-missed") == ctl.count("MISSED")
    assert dom.count("n-no-controls") == sum(not r["control"] for r in controls)
    narrow = _rendered(page, tmp_path, 380)
    assert int(narrow.body["data-overflow"]) <= 0, "the page scrolls sideways on a phone"

    from PIL import Image

    shot = tmp_path / "shot.png"
    _browser(page, tmp_path, "--window-size=1280,1600", f"--screenshot={shot}")
    with Image.open(shot) as im:
        rgb = im.convert("RGB")
        colors = rgb.getcolors(maxcolors=1 << 20)
        assert colors is None or len(colors) > 1, "a blank screenshot"
        if failing:  # the failing card's red border is on the first screen
            red = sum(n for n, (r, g, b) in colors or [] if r > 150 and g < 70 and b < 60)
            assert red > 1000, "no failing colour on the first screen"


@pytest.mark.skipif(_chromium() is None, reason="no Chromium executable (.ci/run installs it)")
def test_report_renders_in_chromium_with_the_failing_card_first(toy, tmp_path, capsys):
    registry, figures = toy
    page = tmp_path / "report.html"
    code, out, _ = _run(["--html", str(page), "--json"], registry, figures, capsys)
    rows = json.loads(out)
    assert code == 1
    _, out, _ = _run(["--controls", "--json"], registry, figures, capsys)
    _check_in_browser(page, rows, json.loads(out), tmp_path)
    assert _Dom(page.read_text()).cards[0]["id"] == "T2.bad"
    pdf = tmp_path / "report.pdf"  # the print stylesheet, through the browser's own printing
    _browser(page, tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}")
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 20_000


@pytest.mark.slow
@pytest.mark.skipif(_chromium() is None, reason="no Chromium executable (.ci/run installs it)")
def test_real_quick_claims_render_in_chromium(tmp_path):
    """Two real claims through the command line, their figures drawn in the run."""
    page = tmp_path / "report.html"
    ids = "K24.sf-closed-form,K24.nf-reparam"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    out = subprocess.run([sys.executable, "-m", "linsim.verify", "--quick", "--claims", ids,
                          "--html", str(page), "--json"], capture_output=True, text=True,
                         timeout=600, env=env)
    assert out.returncode in (0, 1), out.stderr
    rows = json.loads(out.stdout)
    assert [r["id"] for r in rows] == ids.split(",")
    data = json.loads(page.read_text().split('id="linsim-data">')[1].split("</script>")[0])
    controls = [r["controls"] for r in data["rows"]]
    assert all(r["figure"]["error"] is None for r in data["rows"])
    _check_in_browser(page, rows, controls, tmp_path)
