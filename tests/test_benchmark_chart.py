"""benchmarks/chart.py: the benchmark's ratios as an SVG beside its JSON (no root)."""
import json
import os
import sys
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "benchmarks"))

import chart  # noqa: E402

NS = "{http://www.w3.org/2000/svg}"


def test_one_bar_per_ratio_worse_to_the_right(tmp_path):
    result = {"meta": {"iterations": 20, "date": "2026-12-07T00:00:00Z", "cpus": 2},
              "ratios": {"create": 0.5, "state": 2.0, "containers/s x1": 0.5,
                         "baseline": {"create": 1.0}}}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(result))
    svg_path = chart.write(str(path))
    assert svg_path == str(tmp_path / "r.svg")
    root = ET.parse(svg_path).getroot()
    labels = [t.text for t in root.iter(NS + "text")]
    assert {"create", "state", "containers/s x1", "0.50", "2.00"} <= set(labels)
    bars = [r for r in root.iter(NS + "rect") if r.get("height") == "14"]
    assert len(bars) == 3
    middle = chart._x(1.0)
    create, state, throughput = bars
    assert float(create.get("x")) + float(create.get("width")) <= middle + 0.1  # faster: left of 1.0
    assert float(state.get("x")) >= middle - 0.1  # slower: right of it
    assert float(throughput.get("x")) >= middle - 0.1  # half runc's containers/s is worse: right
    assert create.get("fill") != state.get("fill")
    assert [r for r in root.iter(NS + "rect") if r.get("height") == "3"]  # the baseline's thin bar


def test_the_committed_results_have_their_chart():
    results = os.path.join(os.path.dirname(HERE), "benchmarks", "results", "current.json")
    assert os.path.exists(results[:-len(".json")] + ".svg"), "run benchmarks/chart.py on current.json"
