"""Regression guard: `run` of /bin/true must stay within 2x runc's time, measured
side by side on this machine in this run (a loose bound that catches an
accidental heavy import or a sleep on the hot path; the real targets are
reported by benchmarks/lifecycle.py, not asserted).  Skips without runc."""
import importlib.util
import os
import shutil
import statistics
import uuid

import pytest

from conftest import REPO

RUNC = shutil.which("runc") or ("/usr/sbin/runc" if os.path.exists("/usr/sbin/runc") else None)
PAIRS = 12
BOUND = 2.0


def _benchmark_module():
    spec = importlib.util.spec_from_file_location("lifecycle_bench", os.path.join(REPO, "benchmarks", "lifecycle.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: runs real containers")
@pytest.mark.skipif(RUNC is None, reason="runc is not installed: nothing to compare against")
def test_run_is_within_twice_runc(busybox_template, tmp_path):
    bench = _benchmark_module()
    parent = f"oci-runtime-guard-{uuid.uuid4().hex[:8]}"
    bundles = bench.make_bundles(str(tmp_path), source=str(busybox_template), cgroup_parent=parent)
    runtimes = [bench.Runtime("oci-runtime", bench.OCI, str(tmp_path)), bench.Runtime("runc", RUNC, str(tmp_path))]
    times = {rt.name: [] for rt in runtimes}
    try:
        for i in range(PAIRS + 1):
            for rt in (runtimes if i % 2 == 0 else runtimes[::-1]):
                seconds = bench.timed(rt.argv("run", "--bundle", bundles["true-w0"], f"guard{i}"))
                if i:  # the first pair warms the page cache
                    times[rt.name].append(seconds)
    finally:
        for rt in runtimes:
            rt.cleanup()
        bench.remove_cgroups(parent)
    ours, theirs = statistics.median(times["oci-runtime"]), statistics.median(times["runc"])
    print(f"run median: oci-runtime {ours * 1000:.1f} ms, runc {theirs * 1000:.1f} ms, ratio {ours / theirs:.2f}")
    assert ours <= BOUND * theirs, (
        f"`run` median {ours * 1000:.1f} ms is {ours / theirs:.2f}x runc's {theirs * 1000:.1f} ms "
        f"(bound {BOUND}x); profile with benchmarks/lifecycle.py and docs/performance.md")
