"""Scale rows: many containers in one --root, and many callers at once.

Used by benchmarks/lifecycle.py (``--scale``, on by default):

* With 1 container waiting in each runtime's --root, then with ``count`` (500)
  created and waiting: ``create``, ``state`` and ``delete`` of one more container
  (both printed: a runtime whose per-container work grows with the root's size
  shows it here), and ``list`` with ``count``.
* ``runs`` (100) concurrent ``run``s of /bin/true from ``callers`` (8) threads: the
  time, containers/s, every error, and what is left afterwards (state dirs,
  cgroups, processes): there must be none.

Every container has its own absolute cgroupsPath under the benchmark's parent
(runc warns about, and oci-runtime refuses, a cgroup that has processes).
"""
import json
import os
import statistics
import threading
import time


def _bundles(workdir, source_config, name, count, args, cgroup_parent):
    """``count`` bundles (config.json only, the rootfs shared) with their own cgroupsPath."""
    paths = []
    config = dict(source_config, process=dict(source_config["process"], args=args))
    for n in range(count):
        path = os.path.join(workdir, f"scale-{name}-{n}")
        os.makedirs(path)
        config["linux"] = dict(source_config["linux"], cgroupsPath=f"/{cgroup_parent}/{name}-{n}")
        with open(os.path.join(path, "config.json"), "w") as f:
            json.dump(config, f)
        paths.append(path)
    return paths


def _one_more(rt, bundle, cid, timed, record, size):
    record(f"create with {size}", timed(rt.argv("create", "--bundle", bundle, cid)))
    record(f"state with {size}", timed(rt.argv("state", cid)))
    record(f"delete with {size}", timed(rt.argv("delete", "--force", cid)))


def run_scale(workdir, runtimes, sleep_bundle, timed, count=500, repeats=10, runs=100, callers=8,
              cgroup_parent="oci-runtime-bench"):
    """{metric: {runtime: [values]}} and {runtime: {"errors": [...], "left": [...]}} for the
    concurrency check.  ``runtimes``: {name: lifecycle.Runtime}; ``timed(argv)`` -> seconds."""
    with open(os.path.join(sleep_bundle, "config.json")) as f:
        source = json.load(f)
    samples = {}
    names = list(runtimes)
    bundles = {name: _bundles(workdir, source, f"s-{name}", count + repeats + 1, ["sleep", "1000"], cgroup_parent)
               for name in names}

    def record_for(name):
        return lambda metric, value: samples.setdefault(metric, {}).setdefault(name, []).append(value)

    try:
        for name in names:  # one container waiting in each root
            timed(runtimes[name].argv("create", "--bundle", bundles[name][0], f"scale-{name}-0"))
        for r in range(repeats):
            for name in names[r % len(names):] + names[:r % len(names)]:
                _one_more(runtimes[name], bundles[name][count + 1 + r], f"one-{name}-{r}", timed,
                          record_for(name), 1)
        for name in names:  # fill every root to ``count``
            for n in range(1, count):
                timed(runtimes[name].argv("create", "--bundle", bundles[name][n], f"scale-{name}-{n}"))
        for r in range(repeats):
            for name in names[r % len(names):] + names[:r % len(names)]:
                record_for(name)(f"list with {count}", timed(runtimes[name].argv("list")))
                _one_more(runtimes[name], bundles[name][count + 1 + r], f"more-{name}-{r}", timed,
                          record_for(name), count)
    finally:
        for name in names:
            runtimes[name].cleanup()
    concurrency = {}
    for name in names[::-1]:  # the order reversed from above: neither always runs first
        run_bundles = _bundles(workdir, source, f"r-{name}", runs, ["true"], cgroup_parent)
        concurrency[name] = _concurrent_runs(runtimes[name], run_bundles, callers, timed, cgroup_parent,
                                             f"r-{name}-")
        samples.setdefault(f"{runs} runs from {callers} callers", {})[name] = [concurrency[name]["seconds"]]
    return samples, concurrency


def _concurrent_runs(rt, bundles, callers, timed, cgroup_parent, cgroup_prefix):
    """``len(bundles)`` runs of /bin/true from ``callers`` threads; errors and leftovers
    (state dirs in the root, cgroups named ``cgroup_prefix``... under the parent)."""
    pending = list(enumerate(bundles))
    lock = threading.Lock()
    errors = []

    def caller():
        while True:
            with lock:
                if not pending:
                    return
                n, bundle = pending.pop()
            try:
                timed(rt.argv("run", "--bundle", bundle, f"conc-{n}"))
            except Exception as exc:  # noqa: BLE001 - every failure is reported, none stops the others
                errors.append(str(exc)[:300])

    threads = [threading.Thread(target=caller) for _ in range(callers)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    left = sorted(os.listdir(rt.root)) if os.path.isdir(rt.root) else []
    for hierarchy in os.listdir("/sys/fs/cgroup"):
        parent = os.path.join("/sys/fs/cgroup", hierarchy, cgroup_parent)
        if os.path.isdir(parent):
            left += [os.path.join(hierarchy, cgroup_parent, d) for d in os.listdir(parent)
                     if d.startswith(cgroup_prefix)]
    return {"seconds": seconds, "per_second": len(bundles) / seconds, "errors": errors, "left": left}


def report(samples, concurrency, names, count):
    print(f"\nscale: one more container with 1 and with {count} waiting in the same --root (median ms)")
    for op in ("create", "state", "delete"):
        cells = []
        for name in names:
            small = samples.get(f"{op} with 1", {}).get(name)
            big = samples.get(f"{op} with {count}", {}).get(name)
            if small and big:
                cells.append(f"{name} {statistics.median(small) * 1000:6.1f} -> {statistics.median(big) * 1000:6.1f}")
        print(f"  {op:<8}" + "   ".join(cells))
    lists = {n: statistics.median(samples[f"list with {count}"][n]) for n in names
             if n in samples.get(f"list with {count}", {})}
    print("  list    " + "   ".join(f"{n} {v * 1000:6.1f}" for n, v in lists.items()))
    for name, result in concurrency.items():
        print(f"concurrent: {name}: {result['per_second']:.1f} containers/s ({result['seconds']:.1f} s), "
              f"errors {len(result['errors'])}, left {len(result['left'])}"
              + (f": {result['errors'][:2]} {result['left'][:5]}" if result["errors"] or result["left"] else ""))
