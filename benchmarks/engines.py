"""Engine rows: what a whole container costs through containerd, podman and Docker
with each runtime, side by side in one run, and where that time goes call by call.

Used by benchmarks/lifecycle.py (``--engines``, on by default); the engines are
private set-ups started here (tests/enginekit.py, the ones tests/engines/ use):
their own configuration, storage, sockets and cgroup parent, removed at the end.

Rows (each timed from the client's side, as a user types them):

* ``ctr run --rm``      containerd's runc shim: create, start, wait, delete, delete --force
* ``ctr run -d``        the same up to start (a `sleep`), then ``ctr task exec``
* ``ctr task exec``     an exec of /bin/true into it (the row the issue pairs with run -d)
* ``podman run --rm``   conmon: create, start, wait, delete
* ``docker run --rm``   dockerd -> containerd -> shim, as ctr, plus Docker's own work

In each iteration every runtime does every row, the order rotating.  The
per-call pass (``calls`` iterations) runs the same rows once more with each
runtime behind benchmarks/calltimer.c, which logs every call the engine makes
(create, start, state, kill, delete, ...) with its wall time: the median of
each call, and their sum against the row's total, show what the engine spends
in the runtime and what it spends itself.
"""
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests"))
import enginekit  # noqa: E402  (tests/ holds the engines' set-ups)

CGROUP_PARENT = "oci-runtime-bench-engines"
ROWS = ("ctr run --rm", "ctr run -d", "ctr task exec", "ctr run -d + exec", "podman run --rm", "docker run --rm")


class EngineFailed(Exception):
    pass


def _timed(call, *args):
    start = time.perf_counter()
    done = call(*args)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise EngineFailed(f"{' '.join(map(str, args))}: exit {done.returncode}: {done.stderr.strip()[-500:]}")
    return elapsed


def build_calltimer(workdir, name, target):
    """A copy of benchmarks/calltimer.c that runs ``target`` and logs to <workdir>/calls-<name>.log."""
    binary = os.path.join(workdir, f"calltimer-{name}")
    log = os.path.join(workdir, f"calls-{name}.log")
    subprocess.run(["cc", "-O2", f'-DTARGET="{target}"', f'-DLOG="{log}"', "-o", binary,
                    os.path.join(REPO, "benchmarks", "calltimer.c")], check=True)
    return binary, log


class Engines:
    """The three engines, set up once for every runtime in ``binaries`` ({name: path})."""

    def __init__(self, workdir, binaries, rootfs):
        self.base = os.path.join(workdir, "engines")
        os.makedirs(self.base)
        self.binaries = dict(binaries)
        self.notes = {}
        self.ctr = self.podman = self.docker = None
        self.tag = uuid.uuid4().hex[:6]
        if enginekit.HAVE_PODMAN:
            self.podman = enginekit.Podman(os.path.join(self.base, "podman"), self.binaries, rootfs)
        else:
            self.notes["podman"] = "podman/conmon not installed"
        if enginekit.HAVE_CONTAINERD and self.podman:
            self.ctr = enginekit.Containerd(os.path.join(self.base, "containerd"))
            archive = os.path.join(self.base, "image.tar")
            self.podman("save", "--format", "oci-archive", "-o", archive, enginekit.IMAGE).check_returncode()
            self.ctr.import_image(archive)
        else:
            self.notes["ctr"] = "containerd/ctr (or podman, which makes its image) not installed"
        if enginekit.HAVE_DOCKER:
            # short: dockerd's sockets live under it
            # Docker reserves the name "runc": every runtime is added as "b-<name>".
            self.docker = enginekit.Dockerd(f"/tmp/ocirt-bench-docker-{self.tag}",
                                            {f"b-{n}": path for n, path in self.binaries.items()}, rootfs,
                                            CGROUP_PARENT + "-docker")
        else:
            self.notes["docker"] = "Debian's docker.io not installed"

    def rows(self, name, binary, tag, record):
        """Every row once for runtime ``name`` (``binary``: the runtime or its call timer)."""
        if self.ctr:  # record(None, ...) marks a clean-up, whose calls the per-call pass leaves out
            root = os.path.join(self.base, f"ctr-root-{name}")
            common = ("--runc-binary", binary, "--runc-root", root)
            cid = f"{tag}-rm"
            record("ctr run --rm", _timed(self.ctr, "run", "--rm", *common, "--cgroup", f"/{CGROUP_PARENT}/{cid}",
                                          enginekit.IMAGE, cid, "/bin/true"))
            cid = f"{tag}-d"
            started = _timed(self.ctr, "run", "-d", *common, "--cgroup", f"/{CGROUP_PARENT}/{cid}",
                             enginekit.IMAGE, cid, "sleep", "1000")
            record("ctr run -d", started)
            executed = _timed(self.ctr, "task", "exec", "--exec-id", "e1", cid, "/bin/true")
            record("ctr task exec", executed)
            record("ctr run -d + exec", started + executed)
            self.ctr("task", "rm", "-f", cid)  # not timed: the clean-up
            self.ctr("containers", "rm", cid)
            record(None, 0.0)
        if self.podman:
            record("podman run --rm", _timed(self.podman, "--runtime", name, "run", "--rm", "--network", "none",
                                             "--cgroup-parent", f"/{CGROUP_PARENT}", enginekit.IMAGE, "/bin/true"))
        if self.docker:
            record("docker run --rm", _timed(self.docker, "run", "--rm", "--runtime", f"b-{name}", "--network", "none",
                                             enginekit.IMAGE, "/bin/true"))

    def close(self):
        left = []
        for engine in (self.ctr, self.podman):
            if engine is not None:
                engine.close()
        if self.docker is not None:
            left += self.docker.close()
        left += enginekit.remove_empty_cgroups(CGROUP_PARENT)
        return left


def run_engines(workdir, binaries, rootfs, iterations, calls):
    """({row: {runtime: [seconds]}}, {runtime: {row: {call: [ms]}}}, notes)."""
    samples, per_call = {}, {}
    names = list(binaries)
    timers = {name: build_calltimer(workdir, name, path) for name, path in binaries.items()}
    # The engines know each runtime by name; in the per-call pass the name's binary is its timer.
    engines = Engines(workdir, {**{n: binaries[n] for n in names}, **{f"{n}-timed": timers[n][0] for n in names}},
                      rootfs)
    try:
        for i in range(iterations + calls):
            timed_pass = i >= iterations
            for name in names[i % len(names):] + names[:i % len(names)]:
                if timed_pass:
                    log = timers[name][1]
                    open(log, "w").close()
                    marks = []

                    def record(row, seconds, log=log, marks=marks):  # where each row's calls end in the log
                        with open(log) as f:
                            marks.append((row, sum(1 for _ in f)))
                    engines.rows(f"{name}-timed", timers[name][0], f"c{i}-{name}", record)
                    _split_calls(log, marks, per_call.setdefault(name, {}))
                else:
                    def record(row, seconds, name=name):
                        if row is not None:
                            samples.setdefault(row, {}).setdefault(name, []).append(seconds)
                    engines.rows(name, binaries[name], f"b{i}-{name}", record)
    finally:
        left = engines.close()
    if left:
        raise EngineFailed(f"the engines left cgroups behind: {left}")
    return samples, per_call, engines.notes


def _split_calls(log, marks, into):
    """The log's lines, row by row (``marks``: (row, line count when it ended); None: a
    clean-up, not counted)."""
    with open(log) as f:
        lines = [line.rsplit(" ", 2) for line in f if line.strip()]
    start = 0
    for row, end in marks:
        if row == "ctr run -d + exec":
            continue
        if row is None:
            start = end
            continue
        calls = into.setdefault(row, {})
        seen = {}
        for call, ms, _code in lines[start:end]:
            seen[call] = seen.get(call, 0) + 1
            label = call if seen[call] == 1 else f"{call} #{seen[call]}"
            calls.setdefault(label, []).append(float(ms))
        start = end


def report_calls(per_call, samples, names):
    """Per row: each call's median (ms) per runtime, and the calls' sum against the row."""
    print("\nper call, as the engines made them (median ms; rows timed without the wrapper above):")
    for row in ROWS:
        labels = []
        for name in names:
            for label in per_call.get(name, {}).get(row, {}):
                if label not in labels:
                    labels.append(label)
        if not labels:
            continue
        print(f"  {row}:")
        sums = {}
        for label in labels:
            cells = []
            for name in names:
                values = per_call.get(name, {}).get(row, {}).get(label)
                if values:
                    median = statistics.median(values)
                    sums[name] = sums.get(name, 0.0) + median
                    cells.append(f"{name} {median:6.1f}")
                else:
                    cells.append(f"{name} {'-':>6}")
            print(f"    {label:<16}" + "   ".join(cells))
        totals = "   ".join(
            f"{name} {sums.get(name, 0):6.1f} of {statistics.median(samples[row][name]) * 1000:6.1f}"
            for name in names if row in samples and name in samples[row])
        print(f"    {'runtime calls':<16}{totals}")


def have_any():
    return enginekit.HAVE_CONTAINERD or enginekit.HAVE_PODMAN or enginekit.HAVE_DOCKER


def docker_usable():
    return enginekit.HAVE_DOCKER and shutil.which("runc") is not None
