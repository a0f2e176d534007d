"""Side-by-side benchmark: oci-runtime vs runc (and crun when it runs), in one run, as ratios.

    flock /tmp/ocirt-suite.lock .venv/bin/python benchmarks/lifecycle.py [--iterations 20] [--json FILE]
        [--baseline OTHER-BUILD/bin/oci-runtime]

Every runtime does the same work on the same busybox bundle, in an order that
rotates every iteration (so neither always runs first on a warm cache); each
command is timed from the caller's side (fork + exec + exit: what an engine
pays).  Reported, as medians with min/max and the ratio oci-runtime / runc:

* the split lifecycle as engines drive it: create, state, start, kill, delete
  as separate processes, and their sum per iteration ("split total");
* `exec` of /bin/true into the running container;
* `run` of /bin/true (create + start + wait + delete in one call), with the
  peak RSS of the runtime process (ru_maxrss from wait4); and `run` with an
  engine's seccomp profile (specs/seccomp/default.json, Docker/podman style),
  which every engine but plain `ctr` gives each container;
* containers per second with 1 and 2 concurrent callers, each doing `run`;
* the resident memory (VmRSS) and thread count of the process left waiting in
  a created container;
* the floor: the interpreter's start-up through the launcher's own path (a copy
  of cffi_build/launcher.c built with BOOT = "pass", beside the same python3 and
  site-packages), and each short call's distance from it (target: 1.5 ms);
  ``delete --force`` of a container that does not exist (containerd's clean-up);
* engine rows (benchmarks/engines.py): ctr run --rm, ctr run -d + task exec,
  podman run --rm, docker run --rm, and the runtime calls each engine makes;
* scale rows (benchmarks/scale.py): create/state/delete of one more container
  with 1 and with 500 waiting in the --root, list with 500, and 100 concurrent
  runs from 8 callers (errors, leftovers).

With --baseline, a second oci-runtime build (e.g. main before a change) does
the same work in the same rotation, and its ratio to runc is printed beside the
current one: the fair before/after on a noisy machine.

Needs root, busybox-static and runc.  The busybox bundle is built into
bundles/build/busybox if it is missing.  All cgroups live under
/oci-runtime-bench (absolute cgroupsPath), removed at the end.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import engines  # noqa: E402
import scale  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OCI = os.path.join(os.path.dirname(sys.executable), "oci-runtime")
BUNDLE = os.path.join(REPO, "bundles", "build", "busybox")
CGROUP_PARENT = "oci-runtime-bench"
LIFECYCLE = ("create", "state", "start", "kill", "delete")
SHORT_CALLS = ("state", "start", "kill", "delete", "delete missing")
FLOOR_MARGIN_MS = 1.5  # a short call's target: the floor + this
THREADS_MAX = 2  # concurrency levels: 1 .. THREADS_MAX callers
SCALE_COUNT = 500
# The targets (issue 22), as ratios ours / runc (lower is better; "min X": at least X).
TARGETS = {
    "create": 0.7, "run": 1.0, "exec": 1.0, "run peak RSS": 1.0,
    "containers/s x1": "min 1.0", "containers/s x2": "min 1.0",
    "ctr run --rm": 1.0, "ctr run -d + exec": 1.0, "podman run --rm": 1.0, "docker run --rm": 1.0,
    f"list with {SCALE_COUNT}": 1.0,
}


class Failed(Exception):
    pass


def timed(argv):
    """Run ``argv``; returns its wall time in seconds.

    stdout/stderr go to a file, not a pipe: a created container inherits them and
    would hold a pipe open until it exits."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        elapsed = time.perf_counter() - start
        if result.returncode != 0:
            out.seek(0)
            raise Failed(f"{' '.join(argv)}: exit {result.returncode}: {out.read().decode(errors='replace')}")
    return elapsed


def build_maxrss(workdir):
    """Compile benchmarks/maxrss.c (see there why a helper is needed)."""
    binary = os.path.join(workdir, "maxrss")
    subprocess.run(["cc", "-O2", "-o", binary, os.path.join(REPO, "benchmarks", "maxrss.c")], check=True)
    return binary


def peak_rss(helper, argv):
    """Peak RSS (KiB) of ``argv`` and the children it reaped, forked from the small helper."""
    with tempfile.NamedTemporaryFile("r") as result:
        timed([helper, result.name, *argv])
        return int(result.read())


def proc_status(pid, *keys):
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in keys:
                values[key] = int(rest.split()[0])
    return values


class Runtime:
    """One runtime binary with its own --root under the work dir."""

    def __init__(self, name, binary, workdir):
        self.name = name
        self.binary = binary
        self.root = os.path.join(workdir, f"root-{name}")

    def argv(self, *args):
        return [self.binary, "--root", self.root, *args]

    def state(self, cid):
        out = subprocess.run(self.argv("state", cid), capture_output=True, stdin=subprocess.DEVNULL)
        if out.returncode != 0:
            raise Failed(f"{self.name} state {cid}: {out.stderr.decode(errors='replace')}")
        return json.loads(out.stdout)

    def wait_stopped(self, cid, timeout=5.0):
        deadline = time.monotonic() + timeout
        while self.state(cid)["status"] != "stopped":
            if time.monotonic() > deadline:
                raise Failed(f"{self.name}: {cid} did not stop")
            time.sleep(0.002)

    def cleanup(self):
        if os.path.isdir(self.root):
            for cid in os.listdir(self.root):
                subprocess.run(self.argv("delete", "--force", cid), capture_output=True)


def ensure_bundle():
    """The busybox bundle, built with bundles/busybox.sh if it is not there yet."""
    if not os.path.exists(os.path.join(BUNDLE, "config.json")):
        subprocess.run(["sh", os.path.join(REPO, "bundles", "busybox.sh"), BUNDLE, OCI],
                       check=True, stdout=subprocess.DEVNULL)
    return BUNDLE


def make_bundles(workdir, source=None, cgroup_parent=CGROUP_PARENT):
    """Configs sharing the source bundle's rootfs: "sleep" (sleep 1000) and one
    "true-wN" (/bin/true) per concurrent caller, each with its own absolute
    cgroupsPath (runc would otherwise use the caller's cgroup)."""
    source = source or ensure_bundle()
    with open(os.path.join(source, "config.json")) as f:
        config = json.load(f)
    config["root"]["path"] = os.path.join(os.path.abspath(source), "rootfs")
    # crun 1.8 refuses ociVersion 1.3.0 ("unknown version specified"); nothing here needs 1.3.
    config["ociVersion"] = "1.0.2"
    bundles = {}
    names = [("sleep", ["sleep", "1000"])] + [(f"true-w{i}", ["true"]) for i in range(THREADS_MAX)]
    names.append(("true-seccomp", ["true"]))
    with open(os.path.join(REPO, "specs", "seccomp", "default.json")) as f:
        engine_profile = json.load(f)  # an engine's default allow list (Docker/podman style)
    for name, args in names:
        path = os.path.join(workdir, f"bundle-{name}")
        os.makedirs(path, exist_ok=True)
        config["process"]["args"] = args
        config["linux"]["cgroupsPath"] = f"/{cgroup_parent}/{name}"
        config["linux"].pop("seccomp", None)
        if name == "true-seccomp":
            config["linux"]["seccomp"] = engine_profile
        with open(os.path.join(path, "config.json"), "w") as f:
            json.dump(config, f)
        bundles[name] = path
    return bundles


def remove_cgroups(parent=CGROUP_PARENT):
    """Runtimes remove only a container's leaf cgroup: the benchmark owns the parent."""
    candidates = [os.path.join("/sys/fs/cgroup", parent)]
    candidates += [os.path.join("/sys/fs/cgroup", entry, parent) for entry in os.listdir("/sys/fs/cgroup")]
    for path in candidates:
        if os.path.isdir(path):
            for leaf in os.listdir(path):
                if os.path.isdir(os.path.join(path, leaf)):
                    os.rmdir(os.path.join(path, leaf))
            os.rmdir(path)


def build_floor(workdir):
    """The launcher built with BOOT = "pass" in a prefix that mirrors this venv (its
    python3, pyvenv.cfg and site-packages, linked): argv for the floor row."""
    prefix = os.path.join(workdir, "floor")
    version = "%d.%d" % sys.version_info[:2]
    site = sysconfig.get_paths()["purelib"]
    os.makedirs(os.path.join(prefix, "bin"))
    os.makedirs(os.path.join(prefix, "lib", f"python{version}"))
    os.symlink(os.path.join(os.path.dirname(OCI), "python3"), os.path.join(prefix, "bin", "python3"))
    venv_cfg = os.path.join(os.path.dirname(os.path.dirname(OCI)), "pyvenv.cfg")
    if os.path.exists(venv_cfg):
        os.symlink(venv_cfg, os.path.join(prefix, "pyvenv.cfg"))
    os.symlink(site, os.path.join(prefix, "lib", f"python{version}", "site-packages"))
    binary = os.path.join(prefix, "bin", "floor")
    sys.path.insert(0, os.path.join(REPO, "cffi_build"))
    from cflags import launcher_command  # the installed launcher's own flags (setup.py)

    source = os.path.join(REPO, "cffi_build", "launcher.c")
    defines = ['-DFLOOR_BOOT="pass"']
    if subprocess.run(launcher_command(binary, source, defines), stderr=subprocess.DEVNULL).returncode:
        subprocess.run(launcher_command(binary, source, defines, static=False), check=True)
    return [binary]


def lifecycle(rt, bundles, cid, record, maxrss, floor):
    """(the floor, for oci-runtime builds), create, (waiting process), state, start,
    exec, kill, delete, delete --force of a missing container, then run (timed, then
    once more under the maxrss helper for its peak RSS)."""
    if rt.name not in ("runc", "crun"):
        record("floor", timed(floor))
    split = 0.0
    seconds = timed(rt.argv("create", "--bundle", bundles["sleep"], cid))
    record("create", seconds)
    split += seconds
    waiting = proc_status(rt.state(cid)["pid"], "VmRSS", "Threads")
    record("waiting RSS KiB", waiting["VmRSS"])
    record("waiting threads", waiting["Threads"])
    for step, args in (("state", ("state", cid)), ("start", ("start", cid)),
                       ("exec", ("exec", cid, "/bin/true")), ("kill", ("kill", cid, "KILL"))):
        seconds = timed(rt.argv(*args))
        record(step, seconds)
        if step != "exec":
            split += seconds
    rt.wait_stopped(cid)
    seconds = timed(rt.argv("delete", cid))
    record("delete", seconds)
    record("split total", split + seconds)
    record("delete missing", timed(rt.argv("delete", "--force", cid)))
    record("run", timed(rt.argv("run", "--bundle", bundles["true-w0"], cid + "-run")))
    record("run seccomp", timed(rt.argv("run", "--bundle", bundles["true-seccomp"], cid + "-sec")))
    record("run peak RSS", peak_rss(maxrss, rt.argv("run", "--bundle", bundles["true-w0"], cid + "-rss")))


def throughput(rt, bundles, callers, per_caller, tag):
    """Containers per second: ``callers`` threads each doing ``per_caller`` runs."""
    errors = []

    def caller(k):
        try:
            for n in range(per_caller):
                timed(rt.argv("run", "--bundle", bundles[f"true-w{k}"], f"{tag}-w{k}-{n}"))
        except Failed as exc:
            errors.append(exc)

    threads = [threading.Thread(target=caller, args=(k,)) for k in range(callers)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return callers * per_caller / elapsed


def usable_crun(path, bundles, workdir):
    """(path, None) if crun can run a container here, else (None, why not)."""
    if not path or not os.path.exists(path):
        return None, "crun is not installed (apt-get install -y crun)"
    rt = Runtime("crun-probe", path, workdir)
    try:
        timed(rt.argv("run", "--bundle", bundles["true-w0"], "probe"))
        return path, None
    except Failed as exc:
        return None, f"crun cannot run the bundle here: {str(exc).strip()[:300]}"
    finally:
        rt.cleanup()


def version(binary):
    out = subprocess.run([binary, "--version"], capture_output=True, text=True)
    return out.stdout.splitlines()[0] if out.stdout else "?"


def summarize(samples, runtimes):
    """{metric: {runtime: {median, min, max, n}}} and ratios (ours / runc) of the medians."""
    summary, ratios = {}, {}
    for metric, per_runtime in samples.items():
        summary[metric] = {}
        for name in runtimes:
            values = per_runtime.get(name) or []
            if values:
                summary[metric][name] = {"median": statistics.median(values), "min": min(values),
                                         "max": max(values), "n": len(values)}
        ours, theirs = summary[metric].get("oci-runtime"), summary[metric].get("runc")
        if ours and theirs and theirs["median"]:
            ratios[metric] = ours["median"] / theirs["median"]
        base = summary[metric].get("baseline")
        if base and theirs and theirs["median"]:
            ratios.setdefault("baseline", {})[metric] = base["median"] / theirs["median"]
    return summary, ratios


def _unit(metric):
    if metric.startswith("containers/s"):
        return "c/s", 1
    if "RSS" in metric:
        return "KiB", 1
    if "threads" in metric:
        return "", 1
    return "ms", 1000


def report(summary, ratios, runtimes, iterations):
    names = list(runtimes)
    header = (f"{'metric':<18}" + "".join(f"{n + ' median':>20}" for n in names)
              + f"{'ratio':>8}  min..max (oci-runtime | runc)")
    print(f"median of {iterations} paired iterations, order rotating; ratio = oci-runtime / runc")
    print(header)
    for metric, per_runtime in summary.items():
        unit, scale = _unit(metric)
        cells = "".join(f"{per_runtime[n]['median'] * scale:>16.1f} {unit:<3}" if n in per_runtime else f"{'-':>20}"
                        for n in names)
        ratio = f"{ratios[metric]:>8.2f}" if metric in ratios else f"{'':>8}"
        if "baseline" in ratios:
            before = ratios["baseline"].get(metric)
            ratio += f"  (baseline {before:.2f})" if before is not None else ""
        spread = " | ".join(f"{per_runtime[n]['min'] * scale:.1f}..{per_runtime[n]['max'] * scale:.1f}"
                            for n in ("oci-runtime", "runc") if n in per_runtime)
        print(f"{metric:<18}{cells}{ratio}  {spread}")


def floor_distances(summary):
    """Each short call's median minus the floor's (oci-runtime's own rows), in ms."""
    floor = summary.get("floor", {}).get("oci-runtime")
    if not floor:
        return {}
    result = {}
    for call in SHORT_CALLS:
        ours = summary.get(call, {}).get("oci-runtime")
        if ours:
            ms = (ours["median"] - floor["median"]) * 1000
            result[f"{call} over the floor"] = {"target": f"<= {FLOOR_MARGIN_MS} ms", "ms": ms,
                                                "met": ms <= FLOOR_MARGIN_MS}
    return result


def check_targets(ratios):
    results = {}
    for metric, target in TARGETS.items():
        if metric not in ratios:
            continue
        if isinstance(target, str):  # "min X": higher is better
            bound = float(target.split()[1])
            results[metric] = {"target": f">= {bound}", "ratio": ratios[metric], "met": ratios[metric] >= bound}
        else:
            results[metric] = {"target": f"<= {target}", "ratio": ratios[metric], "met": ratios[metric] <= target}
    return results


def run_benchmark(iterations, runc, crun, per_caller, rounds, baseline=None, engine_iterations=0, calls=0,
                  scale_count=0):
    samples, extra = {}, {}
    with tempfile.TemporaryDirectory(prefix="oci-bench-") as workdir:
        bundles = make_bundles(workdir)
        maxrss = build_maxrss(workdir)
        floor = build_floor(workdir)
        crun_path, crun_note = usable_crun(crun, bundles, workdir) if crun else (None, "disabled (--crun '')")
        binaries = {"oci-runtime": OCI, "runc": runc}
        if baseline:  # another build of oci-runtime (e.g. main before a change), same work
            binaries["baseline"] = baseline
        if crun_path:
            binaries["crun"] = crun_path
        runtimes = {name: Runtime(name, path, workdir) for name, path in binaries.items()}
        names = list(runtimes)
        with engines.enginekit.seccomp_cache_as_found():  # the runtime's cache, as the benchmark found it
            try:
                for i in range(iterations):
                    for name in names[i % len(names):] + names[:i % len(names)]:
                        lifecycle(runtimes[name], bundles, f"b{i}",
                                  lambda metric, value, n=name:
                                      samples.setdefault(metric, {}).setdefault(n, []).append(value),
                                  maxrss, floor)
                for callers in range(1, THREADS_MAX + 1):
                    for r in range(rounds):
                        for name in names[r % len(names):] + names[:r % len(names)]:
                            rate = throughput(runtimes[name], bundles, callers, per_caller, f"t{callers}-{r}")
                            samples.setdefault(f"containers/s x{callers}", {}).setdefault(name, []).append(rate)
                if scale_count:
                    scaled, extra["concurrency"] = scale.run_scale(workdir, runtimes, bundles["sleep"], timed,
                                                                   count=scale_count)
                    samples.update(scaled)
                if engine_iterations or calls:
                    engine_samples, extra["per_call"], extra["engine_notes"] = engines.run_engines(
                        workdir, binaries, os.path.join(ensure_bundle(), "rootfs"), engine_iterations, calls)
                    samples.update(engine_samples)
            finally:
                for rt in runtimes.values():
                    rt.cleanup()
                remove_cgroups()
    meta = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": platform.node(), "kernel": platform.release(), "cpus": os.cpu_count(),
        "python": sys.version.split()[0], "iterations": iterations,
        "throughput": {"runs_per_caller": per_caller, "rounds": rounds},
        "runtimes": {name: {"path": path, "version": version(path)} for name, path in binaries.items()},
        "crun": crun_note or "included",
    }
    return samples, names, meta, extra


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=20, help="paired lifecycle iterations (default 20)")
    parser.add_argument("--runc", default=shutil.which("runc") or "/usr/sbin/runc")
    parser.add_argument("--crun", default=shutil.which("crun") or "", help="'' to leave crun out")
    parser.add_argument("--per-caller", type=int, default=10, help="runs per caller per throughput round")
    parser.add_argument("--rounds", type=int, default=5, help="throughput rounds per concurrency level")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--baseline", metavar="PATH",
                        help="another oci-runtime build to run in the same rotation (before/after a change)")
    parser.add_argument("--engine-iterations", type=int, default=20,
                        help="paired iterations of the engine rows (default 20; 0 leaves them out)")
    parser.add_argument("--calls", type=int, default=5,
                        help="iterations of the per-call pass under the engines (default 5; 0 leaves it out)")
    parser.add_argument("--scale", type=int, default=SCALE_COUNT, metavar="N",
                        help=f"containers in one --root for the scale rows (default {SCALE_COUNT}; 0 leaves "
                             "them and the concurrent runs out)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("the benchmark runs real containers: run it as root")
    if args.scale and args.scale != SCALE_COUNT:
        TARGETS[f"list with {args.scale}"] = TARGETS.pop(f"list with {SCALE_COUNT}")
    samples, names, meta, extra = run_benchmark(args.iterations, args.runc, args.crun, args.per_caller,
                                                args.rounds, args.baseline, args.engine_iterations, args.calls,
                                                args.scale)
    meta["engine_iterations"], meta["calls"], meta["scale"] = args.engine_iterations, args.calls, args.scale
    summary, ratios = summarize(samples, names)
    targets = check_targets(ratios)
    floor = floor_distances(summary)
    targets.update(floor)
    report(summary, ratios, names, args.iterations)
    if meta["crun"] != "included":
        print(f"crun: {meta['crun']}")
    for engine, why in (extra.get("engine_notes") or {}).items():
        print(f"{engine}: left out: {why}")
    if floor:
        print("over the floor (median ms, target <= %.1f): " % FLOOR_MARGIN_MS
              + ", ".join(f"{m.split(' over')[0]} {t['ms']:+.1f}" for m, t in floor.items()))
    if extra.get("per_call"):
        engines.report_calls(extra["per_call"], samples, names)
    if "concurrency" in extra:
        scale.report(samples, extra["concurrency"], names, args.scale)
    print("targets: " + ", ".join(f"{m} {t['ratio']:.2f} ({t['target']}: {'met' if t['met'] else 'NOT met'})"
                                  for m, t in targets.items() if "ratio" in t))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "summary": summary, "ratios": ratios, "targets": targets,
                       "samples": samples, **extra}, f, indent=2)
            f.write("\n")
        import chart

        print(f"wrote {args.json} and {chart.write(args.json)}")


if __name__ == "__main__":
    try:
        main()
    except (Failed, engines.EngineFailed) as exc:
        raise SystemExit(f"benchmark failed: {exc}") from None
