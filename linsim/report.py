"""The verification report as one self-contained HTML page (``python -m linsim.verify --html``).

:func:`render` turns the rows of a verification run into the page (a pure function: rows in,
text out); :func:`write` writes it atomically. Each row is a :func:`linsim.verify.verify_claim`
row with two more keys: ``controls`` (the :func:`linsim.verify.verify_controls` result, or None
when the controls were not run) and ``figure`` (:func:`figure_entry`'s dict, or None when the
claim has no figure).

The page needs nothing but itself: figures are PNG data URIs, the style is inline, and a few
lines of plain JavaScript filter the cards (the page reads the same without them). Failing
claims are coloured and sorted first, within their paper and among the papers.
"""

from __future__ import annotations

import base64
import html
import io as _io
import os
import platform
import shlex
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from . import io

#: Resolution of the embedded figures: a 3.2 in panel is 384 px, sharp on screen and in print.
PNG_DPI = 120

#: Per-control outcomes of :func:`linsim.verify.run_control`, in the order the summary shows.
CONTROL_STATUSES: tuple[str, ...] = ("DETECTED", "MISSED", "INVALID", "ERROR")


def figure_entry(figure, quick: bool) -> dict:
    """Draw ``figure`` (a :class:`linsim.claims.Figure`) from fresh runs, as PNG in memory.

    Returns ``{name, caption, claims, png, error, seconds}``; ``png`` holds the bytes, or is
    None with ``error`` the reason when drawing failed (a failed figure is shown as such, it
    does not fail the claim).
    """
    import matplotlib.pyplot as plt

    start = time.perf_counter()
    entry = {"name": figure.name, "caption": figure.caption, "claims": list(figure.claims),
             "png": None, "error": None}
    try:
        fig = figure.make(quick)
        try:
            entry["png"] = _png(fig)
        finally:
            plt.close(fig)
    except Exception as e:  # the page reports it next to the claim
        entry["error"] = f"{type(e).__name__}: {e}"
    entry["seconds"] = time.perf_counter() - start
    return entry


def _png(fig) -> bytes:
    """``fig`` as an opaque PNG of at most 256 colours: line plots look the same, the file is
    about a third of matplotlib's RGBA PNG (the page holds one per claim)."""
    from PIL import Image

    io.wrap_suptitle(fig)
    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=PNG_DPI)
    with Image.open(buf) as im:
        rgb = im.convert("RGB")
    small = rgb.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = _io.BytesIO()
    small.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _git_commit() -> str | None:
    """The checkout's commit (with ``+dirty`` when it has changes), or None outside one."""
    root = Path(__file__).resolve().parent.parent
    try:
        top = subprocess.run(["git", "-C", str(root), "rev-parse", "--show-toplevel", "HEAD"],
                             capture_output=True, text=True, timeout=10)
        if top.returncode != 0:
            return None
        lines = top.stdout.split()
        if len(lines) != 2 or Path(lines[0]).resolve() != root:
            return None  # linsim installed inside some other repository
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True, text=True,
                               timeout=10)
        return lines[1] + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def provenance(argv: list[str], wall: float, quick: bool, prog: str = "python -m linsim.verify"
               ) -> dict:
    """What produced the run: versions, commit, machine, date, command line, wall time."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return {
        "versions": io.versions(),
        "git_commit": _git_commit(),
        "machine": {"host": platform.node(), "platform": platform.platform(),
                    "cpu": io.cpu_name(), "usable_cpus": cpus},
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([prog, *(shlex.quote(a) for a in argv)]),
        "python_executable": sys.executable,
        "quick": quick,
        "wall_seconds": wall,
    }


def summary(rows: list[dict]) -> dict:
    """The counts the summary bar shows: claims PASS/FAIL, each control's outcome, grades."""
    out = {"claims": len(rows),
           "PASS": sum(r["status"] == "PASS" for r in rows),
           "FAIL": sum(r["status"] != "PASS" for r in rows),
           "controls": {s: 0 for s in CONTROL_STATUSES},
           "claims_without_controls": 0,
           "grades": {g: 0 for g in ("proved", "partial", "numeric", "none")},
           "figures_failed": 0}
    for r in rows:
        out["grades"][r["symbolic"]] = out["grades"].get(r["symbolic"], 0) + 1
        ctl = r.get("controls")
        if ctl is not None:
            if not ctl["control"]:
                out["claims_without_controls"] += 1
            for c in ctl["control"]:
                out["controls"][c["status"]] = out["controls"].get(c["status"], 0) + 1
        fig = r.get("figure")
        if fig is not None and fig["png"] is None:
            out["figures_failed"] += 1
    return out


def _order(rows: list[dict]) -> list[tuple[str, list[dict]]]:
    """Rows grouped by paper (registry order); failing claims first, papers with one first."""
    papers: dict[str, list[dict]] = {}
    for r in rows:
        papers.setdefault(r["paper"], []).append(r)
    groups = [(p, sorted(rs, key=lambda r: r["status"] == "PASS")) for p, rs in papers.items()]
    return sorted(groups, key=lambda g: all(r["status"] == "PASS" for r in g[1]))


# --- formatting -------------------------------------------------------------------------------

def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _num(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _value(v, depth: int = 0) -> str:
    """A detail value, compact: numbers to 6 digits, long lists cut with their length."""
    if isinstance(v, float):
        return _num(v)
    if isinstance(v, (list, tuple)):
        items = [_value(x, depth + 1) for x in v[:12]]
        more = f", ... ({len(v)} items)" if len(v) > 12 else ""
        return "[" + ", ".join(items) + more + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_value(x, depth + 1)}" for k, x in v.items()) + "}"
    return "null" if v is None else str(v)


_RULES = {"rel": "|measured - predicted| &le; tol &middot; |predicted|",
          "abs": "|measured - predicted| &le; tol",
          "max": "measured &le; tol"}


def _badge(text: str, cls: str) -> str:
    return f'<span class="badge {cls}">{_e(text)}</span>'


def _measurement(r: dict) -> str:
    tol = "-" if r["tolerance"] is None else f"{r['compare']} {r['tolerance']:.0e}"
    rule = _RULES.get(r["compare"] or "", "")
    return (
        '<table class="m"><tr><th>measured</th><th>predicted</th><th>tolerance</th></tr>'
        f'<tr><td class="num">{_e(_num(r["measured"]))}</td>'
        f'<td class="num">{_e(_num(r["predicted"]))}</td><td class="num">{_e(tol)}</td></tr>'
        "</table>" + (f'<p class="rule">PASS when {rule}</p>' if rule else ""))


def _certificate(r: dict) -> str:
    cert = r.get("certificate")
    if cert is None:
        return '<p class="muted">no SymPy certificate registered for this claim</p>'
    items = []
    for c in cert["checks"]:
        mark = "ok" if c["passed"] else "FAIL"
        detail = f'<div class="small">{_e(c["detail"])}</div>' if c.get("detail") else ""
        items.append(f'<li class="{"ok" if c["passed"] else "bad"}">'
                     f'{_badge(c["kind"], "kind")} {_badge(mark, "ok" if c["passed"] else "bad")}'
                     f' {_e(c["statement"])}{detail}</li>')
    for step in cert["assumes"]:
        items.append(f'<li class="assumed">{_badge("assumes", "warn")} {_e(step)}</li>')
    return (f'<p>grade {_badge(cert["symbolic"], "grade-" + cert["symbolic"])}: '
            f'{len(cert["checks"])} checks, {len(cert["assumes"])} assumed steps</p>'
            f'<ul class="cert">{"".join(items)}</ul>')


def _controls(r: dict) -> str:
    ctl = r.get("controls")
    if ctl is None:
        return '<p class="muted">controls not run</p>'
    parts = []
    if ctl["control"]:
        body = "".join(
            f'<tr class="c-{_e(c["status"].lower())}"><td>{_badge(c["status"], c["status"])}'
            f'</td><td>{_e(c["kind"])}</td><td class="num">{_e(_num(c["measured"]))}</td>'
            f'<td>{_e(c["mutant"])}'
            + (f'<div class="small">{_e(c["error"])}</div>' if c.get("error") else "")
            + "</td></tr>" for c in ctl["control"])
        parts.append('<div class="scroll"><table class="ctl"><tr><th>outcome</th><th>kind</th>'
                     f'<th>measured</th><th>mutant</th></tr>{body}</table></div>')
    else:
        parts.append(f'<p>{_badge("no controls", "MISSED")} this claim registers no negative '
                     "control, so nothing shows that its check can fail</p>")
    if ctl.get("problems"):
        parts.append('<p class="small">registration lacks: '
                     f'{_e("; ".join(ctl["problems"]))}</p>')
    return "".join(parts)


def _detail(r: dict) -> str:
    detail = io.to_jsonable(r.get("detail") or {})
    if not detail:
        return ""
    items = "".join(f"<dt>{_e(k)}</dt><dd>{_e(_value(v))}</dd>" for k, v in detail.items())
    return f'<details class="detail"><summary>detail</summary><dl>{items}</dl></details>'


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def _wide(r: dict) -> bool:
    """A figure of three or more panels gets the card's full width, below the text."""
    fig = r.get("figure")
    if fig is None or fig["png"] is None:
        return False
    w, h = _png_size(fig["png"])
    return w > 2.2 * h


def _figure(r: dict) -> str:
    fig = r.get("figure")
    if fig is None:
        return '<p class="muted">no figure for this claim</p>'
    cmd = f"python -m linsim.figures --only {fig['name']}"
    if fig["png"] is None:
        return (f'<p class="bad">figure {_e(fig["name"])} failed: {_e(fig["error"])}</p>')
    data = base64.b64encode(fig["png"]).decode("ascii")
    w, h = _png_size(fig["png"])
    return (f'<figure><img src="data:image/png;base64,{data}" width="{w}" height="{h}" '
            f'alt="{_e(fig["name"])}: '
            f'{_e(fig["caption"])}"><figcaption><b>{_e(fig["name"])}</b> '
            f'({_e(", ".join(fig["claims"]))}): {_e(fig["caption"])} '
            f'<span class="small">drawn in this run; <code>{_e(cmd)}</code></span>'
            "</figcaption></figure>")


def _card(r: dict) -> str:
    fail = r["status"] != "PASS"
    ctl = r.get("controls")
    ctl_badge = ""
    if ctl is not None:
        if not ctl["control"]:
            ctl_badge = _badge("no controls", "MISSED")
        else:
            n_det = sum(c["status"] == "DETECTED" for c in ctl["control"])
            ctl_badge = _badge(f"controls {n_det}/{len(ctl['control'])} detected",
                               "DETECTED" if n_det == len(ctl["control"]) else "MISSED")
    err = f'<p class="bad">error: {_e(r["error"])}</p>' if r.get("error") else ""
    secs = r["seconds"] + (sum(c["seconds"] for c in ctl["control"]) if ctl else 0.0)
    cert = (_badge("certificate: " + r["symbolic"], "grade-" + r["symbolic"])
            if r.get("certificate") is not None else _badge("no certificate", "kind"))
    cls = " ".join(["card", "fail" if fail else "pass", *(["wide"] if _wide(r) else [])])
    return f"""<article class="{cls}" id="{_e(r['id'])}" data-status="{_e(r['status'])}">
<header><h3><a href="#{_e(r['id'])}">{_e(r['id'])}</a></h3>
{_badge(r['status'], r['status'])} {cert}
{_badge('evidence: ' + r['evidence'], 'kind')} {ctl_badge}
<span class="small time">{secs:.2f} s</span></header>
<div class="body"><div class="text">
<p class="statement">{_e(r['statement'])}</p>{err}
{_measurement(r)}
<dl class="src"><dt>prediction from</dt><dd>{_e(r['prediction_source'] or '(not stated)')}</dd>
<dt>tolerance because</dt><dd>{_e(r['tolerance_reason'] or '(not stated)')}</dd>
<dt>simulated</dt><dd>{_e(r.get('simulation') or '')}</dd></dl>
<h4>certificate</h4>{_certificate(r)}
<h4>negative controls</h4>{_controls(r)}
{_detail(r)}
</div><div class="fig">{_figure(r)}</div></div>
</article>"""


def _summary_bar(s: dict) -> str:
    ctl = s["controls"]
    extra = "".join(f'<span class="stat {k}"><b id="n-{k.lower()}">{ctl[k]}</b> {k}</span>'
                    for k in ("INVALID", "ERROR") if ctl[k])
    figs = (f'<span class="stat FAIL"><b id="n-figures-failed">{s["figures_failed"]}</b> '
            "figures failed</span>" if s["figures_failed"] else "")
    grades = ", ".join(f"{n} {g}" for g, n in s["grades"].items() if n)
    return f"""<section class="summary" id="summary">
<div class="stats">
<span class="stat PASS"><b id="n-pass">{s['PASS']}</b> PASS</span>
<span class="stat FAIL{' zero' if not s['FAIL'] else ''}"><b id="n-fail">{s['FAIL']}</b> FAIL</span>
<span class="sep">controls</span>
<span class="stat DETECTED"><b id="n-detected">{ctl['DETECTED']}</b> DETECTED</span>
<span class="stat MISSED{' zero' if not ctl['MISSED'] else ''}"><b id="n-missed">\
{ctl['MISSED']}</b> MISSED</span>{extra}
<span class="stat none"><b id="n-no-controls">{s['claims_without_controls']}</b> claims \
without controls</span>{figs}
</div>
<p class="small">{s['claims']} claims; certificates: {_e(grades)}</p>
</section>"""


def _toc(groups: list[tuple[str, list[dict]]]) -> str:
    items = []
    for paper, rs in groups:
        links = " ".join(f'<a class="{"fail" if r["status"] != "PASS" else "pass"}" '
                         f'href="#{_e(r["id"])}">{_e(r["id"])}</a>' for r in rs)
        items.append(f'<li><a href="#paper-{_e(paper)}"><b>{_e(paper)}</b></a> {links}</li>')
    return f'<nav class="toc"><ul>{"".join(items)}</ul></nav>'


def _provenance(prov: dict, rows: list[dict]) -> str:
    v = prov.get("versions", {})
    m = prov.get("machine", {})
    facts = [("command", prov.get("command")), ("date (UTC)", prov.get("date")),
             ("git commit", prov.get("git_commit") or "not in a git checkout"),
             ("quick", prov.get("quick")),
             ("wall time", f"{prov.get('wall_seconds', 0.0):.1f} s"),
             *((name, v[name]) for name in v),
             ("machine", f"{m.get('host', '')}: {m.get('platform', '')}"),
             ("cpu", f"{m.get('cpu', '')} ({m.get('usable_cpus', '?')} usable)"),
             ("python executable", prov.get("python_executable"))]
    dl = "".join(f"<dt>{_e(k)}</dt><dd>{_e(x)}</dd>" for k, x in facts)
    trows = []
    for r in rows:
        ctl = r.get("controls")
        fig = r.get("figure")
        c_s = "-" if ctl is None else f"{sum(c['seconds'] for c in ctl['control']):.2f}"
        f_s = "-" if fig is None or fig.get("drawn_for") != r["id"] else f"{fig['seconds']:.2f}"
        trows.append(f'<tr><td><a href="#{_e(r["id"])}">{_e(r["id"])}</a></td>'
                     f'<td class="num">{r["seconds"]:.2f}</td><td class="num">{c_s}</td>'
                     f'<td class="num">{f_s}</td></tr>')
    return f"""<section class="prov" id="provenance"><h2>Provenance</h2><dl>{dl}</dl>
<details><summary>wall time per claim (s)</summary><div class="scroll"><table class="times">
<tr><th>claim</th><th>certificate + check</th><th>controls</th><th>figure</th></tr>
{''.join(trows)}</table></div>
<p class="small">A figure shared by several claims is drawn once, with the first of them.</p>
</details></section>"""


_CSS = """
:root{--fail:#b3261e;--fail-bg:#fdecea;--pass:#1e7b34;--pass-bg:#e8f5ea;--warn:#8a5a00;
--warn-bg:#fff4db;--muted:#666;--line:#ddd}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:1400px;padding:0 1rem 2rem;color:#1b1b1b;background:#fafafa}
h1{font-size:1.5rem;margin:1rem 0 .25rem}h2{margin:1.5rem 0 .5rem;font-size:1.25rem}
h3{margin:0;font-size:1.05rem;display:inline}h4{margin:.8rem 0 .2rem;font-size:.9rem;
text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
a{color:#0b57d0}code{font-size:.85em}
.small{font-size:.82rem;color:var(--muted)}.muted{color:var(--muted)}
.summary{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid var(--line);
padding:.5rem 0;margin:0 0 .5rem}
.stats{display:flex;flex-wrap:wrap;gap:.4rem .8rem;align-items:baseline}
.stat b{font-size:1.3rem}.stat.PASS b,.stat.DETECTED b{color:var(--pass)}
.stat.FAIL b,.stat.MISSED b,.stat.INVALID b,.stat.ERROR b{color:var(--fail)}
.stat.zero b{color:var(--muted)}.sep{color:var(--muted);margin-left:.6rem}
.filter{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;margin:.4rem 0}
.filter input[type=search]{flex:1 1 14rem;max-width:28rem;padding:.3rem .5rem;font:inherit}
.toc ul{list-style:none;padding:0;margin:.3rem 0}.toc li{margin:.15rem 0;line-height:1.7}
.toc a{margin-right:.35rem;white-space:nowrap}.toc a.fail{color:var(--fail);font-weight:bold}
.card{background:#fff;border:1px solid var(--line);border-left:6px solid var(--pass);
border-radius:6px;padding:.7rem 1rem;margin:.8rem 0}
.card.fail{border-color:var(--fail);border-left-width:10px;background:var(--fail-bg)}
.card header{display:flex;flex-wrap:wrap;gap:.3rem .5rem;align-items:center}
.card .time{margin-left:auto}
.body{display:grid;grid-template-columns:minmax(0,5fr) minmax(0,6fr);gap:1rem}
.card.wide .body{grid-template-columns:minmax(0,1fr)}
.statement{font-size:1.02rem;margin:.5rem 0}
.badge{display:inline-block;border-radius:3px;padding:0 .4rem;font-size:.78rem;
font-weight:600;border:1px solid currentColor;white-space:nowrap}
.badge.PASS,.badge.DETECTED,.badge.ok,.badge.grade-proved{color:var(--pass);
background:var(--pass-bg)}
.badge.FAIL,.badge.MISSED,.badge.INVALID,.badge.ERROR,.badge.bad,.badge.grade-none{
color:var(--fail);background:var(--fail-bg)}
.badge.warn,.badge.grade-partial,.badge.grade-numeric{color:var(--warn);background:var(--warn-bg)}
.badge.kind{color:#444;background:#f1f1f1}
.card.fail .badge.FAIL{background:var(--fail);color:#fff;font-size:.9rem}
table{border-collapse:collapse}td,th{padding:.15rem .6rem .15rem 0;text-align:left;
vertical-align:top}th{font-size:.8rem;color:var(--muted);font-weight:600}
td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
table.m td.num{font-size:1.05rem}.rule{margin:.1rem 0;font-size:.8rem;color:var(--muted)}
dl.src{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.15rem .7rem;
margin:.6rem 0}dl.src dt{color:var(--muted);font-size:.85rem}dl.src dd{margin:0}
ul.cert{margin:.2rem 0;padding-left:1.1rem}ul.cert li{margin:.2rem 0}
li.bad{color:var(--fail)}
.scroll{overflow-x:auto}table.ctl tr.c-missed td,table.ctl tr.c-invalid td,
table.ctl tr.c-error td{color:var(--fail)}
details.detail dl{display:grid;grid-template-columns:max-content minmax(0,1fr);
gap:.1rem .7rem;font-size:.85rem}details.detail dd{margin:0;font-family:monospace}
dd,p,li,figcaption{overflow-wrap:anywhere}td{overflow-wrap:break-word}
figure{margin:0}figure img{max-width:100%;height:auto;display:block;margin:0 auto;
background:#fff}figcaption{font-size:.85rem;margin-top:.3rem}
.prov dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.1rem .8rem}
.prov dd{margin:0;font-family:monospace;font-size:.85rem}
.bad{color:var(--fail)}
@media (max-width:900px){.body{grid-template-columns:minmax(0,1fr)}
.summary{position:static}body{padding:0 .5rem 1rem}.card{padding:.6rem}}
@media print{body{background:#fff;max-width:none;font-size:11pt}.filter{display:none}
.summary{position:static}.card,.card[hidden]{display:block!important;break-inside:avoid}
.card{border-width:1px 1px 1px 6px}.card.fail{background:#fff;border-left-width:12px}
.body{grid-template-columns:minmax(0,1fr) minmax(0,1fr)}
.card.wide .body{grid-template-columns:minmax(0,1fr)}
a{color:inherit;text-decoration:none}figure img{max-height:9cm;width:auto}}
"""

# A few lines of plain JavaScript: filter the cards by text and by verdict, and open the folded
# details for printing. Without it the page shows every card.
_JS = """
(function(){var q=document.getElementById('q'),f=document.getElementById('only-fail'),
n=document.getElementById('shown');
function apply(){var s=q.value.toLowerCase(),k=0;
document.querySelectorAll('article.card').forEach(function(c){
var show=(!f.checked||c.classList.contains('fail'))&&
(!s||c.textContent.toLowerCase().indexOf(s)>=0);c.hidden=!show;if(show)k++;});
document.querySelectorAll('section.paper').forEach(function(p){
p.hidden=!p.querySelector('article.card:not([hidden])');});n.textContent=k;}
q.addEventListener('input',apply);f.addEventListener('change',apply);
window.addEventListener('beforeprint',function(){
document.querySelectorAll('details:not([open])').forEach(function(d){
d.open=true;d.dataset.printed='1';});});
window.addEventListener('afterprint',function(){
document.querySelectorAll('details[data-printed]').forEach(function(d){
d.open=false;delete d.dataset.printed;});});})();
"""


def render(rows: list[dict], prov: dict, title: str = "linsim verification report") -> str:
    """The report page for ``rows`` (see the module docstring) and ``prov``
    (:func:`provenance`): one self-contained HTML document."""
    s = summary(rows)
    groups = _order(rows)
    sections = []
    for paper, rs in groups:
        n_fail = sum(r["status"] != "PASS" for r in rs)
        counts = f"{len(rs) - n_fail} PASS" + (f", {n_fail} FAIL" if n_fail else "")
        sections.append(f'<section class="paper" id="paper-{_e(paper)}"><h2>{_e(paper)} '
                        f'<span class="small">{counts}</span></h2>'
                        + "\n".join(_card(r) for r in rs) + "</section>")
    verdict = ("every claim PASS" if not s["FAIL"] else
               f"{s['FAIL']} of {s['claims']} claims FAIL")
    data = {"summary": s, "provenance": prov,
            "rows": [{k: v for k, v in r.items() if k != "figure"}
                     | {"figure": None if r.get("figure") is None else
                        {k: v for k, v in r["figure"].items() if k != "png"}} for r in rows]}
    # no "<" inside the script element, so no text in the data can end or confuse it
    blob = io.dumps(data).replace("<", "\\u003c").replace(">", "\\u003e")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}: {_e(verdict)}</title>
<style>{_CSS}</style></head>
<body>
<h1>{_e(title)}</h1>
<p class="small">{_e(prov.get('command', ''))} &middot; {_e(prov.get('date', ''))} &middot;
linsim {_e(prov.get('versions', {}).get('linsim', '?'))}
{'&middot; commit ' + _e(prov['git_commit'][:12]) if prov.get('git_commit') else ''}
&middot; <a href="#provenance">provenance</a></p>
{_summary_bar(s)}
<div class="filter"><input type="search" id="q" placeholder="filter: id, paper, text"
aria-label="filter claims"><label><input type="checkbox" id="only-fail"> failing only</label>
<span class="small"><span id="shown">{len(rows)}</span> shown</span></div>
{_toc(groups)}
<main>
{chr(10).join(sections)}
</main>
{_provenance(prov, rows)}
<script type="application/json" id="linsim-data">{blob}</script>
<script>{_JS}</script>
</body></html>
"""


def write(path: str | os.PathLike, text: str) -> Path:
    """Atomically write the page ``text`` to ``path``."""
    data = text.encode("utf-8")
    return io.atomic_write(path, lambda f: f.write(data))
