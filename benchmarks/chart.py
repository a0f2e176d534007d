"""The benchmark's ratios to runc as an SVG bar chart, written beside its JSON.

    python benchmarks/chart.py RESULT.json [OUT.svg]     (default: RESULT.svg)

One bar per measurement: oci-runtime's median divided by runc's, from the same
run (benchmarks/lifecycle.py), on a logarithmic axis centred on 1.0 (runc's
time): left of the line is faster or smaller than runc, right is slower or
bigger.  For containers/s, higher is better, so its bar shows runc/ours to
keep "right = worse".  A baseline build in the same run gets a thinner bar of
its own.  Plain SVG text: no plotting library, nothing to install.
"""
import json
import math
import os
import sys
from xml.sax.saxutils import escape

HIGHER_IS_BETTER = ("containers/s x1", "containers/s x2")
ROW, LEFT, WIDTH, SPAN = 26, 190, 420, 2.0  # the axis covers 1/SPAN^2 .. SPAN^2


def _x(ratio):
    """Position of ``ratio`` on the log axis (1.0 in the middle)."""
    clamped = min(max(ratio, SPAN ** -2), SPAN ** 2)
    return LEFT + WIDTH / 2 + math.log(clamped, SPAN) / 2 * (WIDTH / 2)


def _worse_is_right(name, ratio):
    return 1 / ratio if name in HIGHER_IS_BETTER and ratio else ratio


def svg(result):
    ratios = {k: v for k, v in result["ratios"].items() if not isinstance(v, dict)}
    baseline = result["ratios"].get("baseline") or {}
    names = list(ratios)
    height = 70 + ROW * len(names) + 40
    meta = result.get("meta", {})
    title = (f"oci-runtime / runc, medians of {meta.get('iterations', '?')} paired runs, "
             f"{meta.get('date', '')[:10]}, {meta.get('cpus', '?')} CPUs")
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{LEFT + WIDTH + 90}" height="{height}" '
           'font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="10" y="20" font-size="14" font-weight="bold">{escape(title)}</text>',
           '<text x="10" y="38" fill="#555">left of 1.0: better than runc; right: worse (containers/s '
           'shown as runc/ours)</text>']
    top = 55
    for tick in (0.25, 0.5, 1.0, 2.0, 4.0):
        x = _x(tick)
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + ROW * len(names)}" '
                   f'stroke="{"#000" if tick == 1.0 else "#ddd"}"/>')
        out.append(f'<text x="{x:.1f}" y="{top + ROW * len(names) + 15}" text-anchor="middle">{tick:g}</text>')
    for i, name in enumerate(names):
        y = top + i * ROW
        shown = _worse_is_right(name, ratios[name])
        colour = "#2a7" if shown <= 1.0 else "#d54"
        x0, x1 = sorted((_x(1.0), _x(shown)))
        out.append(f'<text x="{LEFT - 8}" y="{y + 16}" text-anchor="end">{escape(name)}</text>')
        out.append(f'<rect x="{x0:.1f}" y="{y + 4}" width="{max(x1 - x0, 1):.1f}" height="14" fill="{colour}"/>')
        out.append(f'<text x="{LEFT + WIDTH + 6}" y="{y + 16}">{ratios[name]:.2f}</text>')
        if name in baseline:
            b = _worse_is_right(name, baseline[name])
            bx0, bx1 = sorted((_x(1.0), _x(b)))
            out.append(f'<rect x="{bx0:.1f}" y="{y + 19}" width="{max(bx1 - bx0, 1):.1f}" height="3" '
                       'fill="#888"><title>baseline build</title></rect>')
    if baseline:
        out.append(f'<text x="10" y="{height - 8}" fill="#555">thin grey bars: the baseline build in the same '
                   'run</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write(json_path, svg_path=None):
    with open(json_path) as f:
        result = json.load(f)
    svg_path = svg_path or os.path.splitext(json_path)[0] + ".svg"
    with open(svg_path, "w") as f:
        f.write(svg(result))
    return svg_path


if __name__ == "__main__":
    print(f"wrote {write(*sys.argv[1:3])}")
