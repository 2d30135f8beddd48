"""The site's page frame: one inline stylesheet, one small inline script that makes every
`table.sortable` sortable by clicking its headers, and the navigation. Nothing is loaded from anywhere,
so every page works from file:// with no server and no network.

Sorting can also be asked for in the address, `page.html?sort=TABLE_ID:COLUMN:asc|desc` (COLUMN counts
from 0): the page then clicks that header itself, so a headless browser test exercises the same handler
a reader does, and a sorted view can be linked.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1b1b1b;background:#fff}
header{background:#1f3b57;color:#fff;padding:.6em 1.2em}header a{color:#fff;margin-right:1.2em}
main{padding:1em 1.5em;max-width:1400px}
table{border-collapse:collapse;margin:.8em 0;font-size:13px}
th,td{border:1px solid #ccd;padding:.25em .5em;text-align:left;vertical-align:top}
thead th{background:#eef2f7;position:sticky;top:0}
table.sortable th{cursor:pointer;user-select:none}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
tbody tr:nth-child(even){background:#f8f9fb}
pre{background:#f4f4f4;padding:.6em;overflow-x:auto}code{background:#f4f4f4;padding:0 .2em}
img{max-width:100%;border:1px solid #ddd}.figs figure{display:inline-block;margin:.5em;max-width:640px}
.charts{display:flex;flex-wrap:wrap;gap:.5em}
svg.chart .title{font-size:13px;font-weight:600}svg.chart .tick{font-size:11px;fill:#333}
svg.chart .frame{fill:none;stroke:#999}
.note{color:#555}
"""

SCRIPT = """
(function(){
function key(cell){
  var s=(cell?cell.textContent:'').trim().replace(/\\u2212/g,'-');
  var m=s.match(/^[-+]?(\\d+\\.?\\d*|\\.\\d+)(e[-+]?\\d+)?/i);
  return m?{n:parseFloat(m[0]),s:s}:{n:null,s:s};
}
function sortTable(table,col,dir){
  var body=table.tBodies[0];if(!body)return;
  var rows=Array.prototype.slice.call(body.rows);
  rows.sort(function(a,b){
    var x=key(a.cells[col]),y=key(b.cells[col]);
    if(x.n!==null&&y.n!==null)return dir*(x.n-y.n);
    if(x.n!==null)return -1;if(y.n!==null)return 1;   // numbers first, blanks and text last
    return dir*x.s.localeCompare(y.s);
  });
  rows.forEach(function(r){body.appendChild(r);});
  var heads=table.tHead?table.tHead.rows[0].cells:[];
  for(var i=0;i<heads.length;i++)heads[i].removeAttribute('aria-sort');
  if(heads[col])heads[col].setAttribute('aria-sort',dir>0?'ascending':'descending');
}
document.querySelectorAll('table.sortable').forEach(function(table){
  var heads=table.tHead?table.tHead.rows[0].cells:[];
  Array.prototype.forEach.call(heads,function(th,col){
    th.addEventListener('click',function(){
      sortTable(table,col,th.getAttribute('aria-sort')==='ascending'?-1:1);
    });
  });
});
// ?sort=ID:COL:asc|desc clicks the header as a reader would (once ascending, twice descending).
var q=/[?&]sort=([^&:]+):(\\d+):(asc|desc)/.exec(location.search);
var t=q&&document.getElementById(decodeURIComponent(q[1]));
var th=t&&t.tHead&&t.tHead.rows[0].cells[parseInt(q[2],10)];
if(th){th.click();if(q[3]==='desc')th.click();}
})();
"""


def page(title: str, body: str, root: str = "") -> str:
    """A whole HTML page. `root` is the relative path from the page to the site's top ("" or "../")."""
    nav = "".join(f'<a href="{root}{href}">{label}</a>' for href, label in (
        ("index.html", "Overview"), ("leaderboards.html", "Leaderboards"), ("runs.html", "Runs"),
        ("figures.html", "Figures")))
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{html.escape(title)} · initbench</title><style>{CSS}</style></head>\n"
            f"<body><header><strong>initbench results</strong> &nbsp; {nav}</header>\n"
            f"<main><h1>{html.escape(title)}</h1>\n{body}\n</main>\n<script>{SCRIPT}</script></body></html>\n")


def table(table_id: str, headers: Sequence[str], rows: Sequence[Sequence[str]], raw: bool = False) -> str:
    """A sortable table. Cells are escaped unless `raw` (then they are trusted HTML, e.g. links)."""
    def cell(c: str) -> str:
        return c if raw else html.escape(c)

    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell(c)}</td>" for c in row) + "</tr>" for row in rows)
    return (f'<table class="sortable" id="{html.escape(table_id)}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")
