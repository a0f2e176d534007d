"""Side-by-side lifecycle benchmark: oci-runtime vs runc, in one run, as ratios.

    .venv/bin/python benchmarks/lifecycle.py [--iterations N] [--runc PATH]

For each iteration both runtimes (alternating which goes first) go through
create, state, start, kill, delete on the same busybox bundle, then a
foreground `run` of `true`; each command is timed from the caller's side
(fork+exec+exit, what an engine pays).  Also reported: the resident memory
(VmRSS) of the process left waiting in a created container.
Prints medians per step and the ratio oci-runtime / runc (lower is better).
Needs root, busybox-static and runc.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OCI = os.path.join(os.path.dirname(sys.executable), "oci-runtime")
STEPS = ("create", "state", "start", "kill", "delete", "run")


def timed(argv):
    # stderr to a file, not a pipe: a created container inherits it and would
    # keep the pipe open until it exits.
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        elapsed = time.perf_counter() - start
        if result.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{argv} failed: {err.read().decode()}")
    return elapsed


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_stopped(binary, root, cid):
    for _ in range(500):
        out = subprocess.run([binary, "--root", root, "state", cid], capture_output=True,
                             stdin=subprocess.DEVNULL)
        if json.loads(out.stdout)["status"] == "stopped":
            return
        time.sleep(0.002)


def one_cycle(name, binary, bundle, root, cid, timings, memory):
    base = [binary, "--root", root]
    timings[name]["create"].append(timed(base + ["create", "--bundle", bundle, cid]))
    state = json.loads(subprocess.run(base + ["state", cid], capture_output=True).stdout)
    # (state's own stdout is a pipe, but state does not leave anything running.)
    memory[name].append(rss_kib(state["pid"]))
    timings[name]["state"].append(timed(base + ["state", cid]))
    timings[name]["start"].append(timed(base + ["start", cid]))
    timings[name]["kill"].append(timed(base + ["kill", cid, "KILL"]))
    wait_stopped(binary, root, cid)
    timings[name]["delete"].append(timed(base + ["delete", cid]))
    run_bundle = bundle + "-true"
    timings[name]["run"].append(timed(base + ["run", "--bundle", run_bundle, cid + "-run"]))


def make_bundles(workdir):
    bundle = os.path.join(workdir, "bundle")
    subprocess.run(["sh", os.path.join(REPO, "bundles", "busybox.sh"), bundle, OCI],
                   check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(bundle, "config.json")) as f:
        config = json.load(f)
    config["root"]["path"] = os.path.join(bundle, "rootfs")
    config["linux"]["cgroupsPath"] = "/oci-runtime-bench/c"
    for args, path in ((["sleep", "1000"], bundle), (["true"], bundle + "-true")):
        os.makedirs(path, exist_ok=True)
        config["process"]["args"] = args
        with open(os.path.join(path, "config.json"), "w") as f:
            json.dump(config, f)
    return bundle


def remove_bench_cgroups():
    """runc removes only a container's leaf cgroup: the benchmark owns the parent."""
    for entry in os.listdir("/sys/fs/cgroup"):
        for path in (os.path.join("/sys/fs/cgroup", entry, "oci-runtime-bench"),
                     os.path.join("/sys/fs/cgroup", "oci-runtime-bench")):
            if os.path.isdir(path):
                for leaf in os.listdir(path):
                    if os.path.isdir(os.path.join(path, leaf)):
                        os.rmdir(os.path.join(path, leaf))
                os.rmdir(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--runc", default=shutil.which("runc") or "runc")
    args = parser.parse_args()
    runtimes = {"oci-runtime": OCI, "runc": args.runc}
    timings = {n: {s: [] for s in STEPS} for n in runtimes}
    memory = {n: [] for n in runtimes}
    with tempfile.TemporaryDirectory(prefix="oci-bench-") as workdir:
        bundle = make_bundles(workdir)
        roots = {n: os.path.join(workdir, f"root-{n}") for n in runtimes}
        try:
            for i in range(args.iterations):
                order = list(runtimes) if i % 2 == 0 else list(reversed(list(runtimes)))
                for name in order:
                    one_cycle(name, runtimes[name], bundle, roots[name], f"bench{i}", timings, memory)
        finally:
            for name, root in roots.items():
                for cid in os.listdir(root) if os.path.isdir(root) else ():
                    subprocess.run([runtimes[name], "--root", root, "delete", "--force", cid],
                                   capture_output=True)
            remove_bench_cgroups()
    print(f"{'step':<8} {'oci-runtime ms':>15} {'runc ms':>10} {'ratio':>7}   (median of {args.iterations})")
    for step in STEPS:
        ours = statistics.median(timings["oci-runtime"][step]) * 1000
        theirs = statistics.median(timings["runc"][step]) * 1000
        print(f"{step:<8} {ours:>15.1f} {theirs:>10.1f} {ours / theirs:>7.2f}")
    ours, theirs = statistics.median(memory["oci-runtime"]), statistics.median(memory["runc"])
    print(f"{'init RSS':<8} {ours:>13.0f}Ki {theirs:>8.0f}Ki {ours / theirs:>7.2f}")


if __name__ == "__main__":
    main()
