"""pause/resume, ps, events and update against real cgroups."""
import json
import os
import subprocess
import time

from conftest import wait_for, CGROUP_ROOT, RUNTIME

COUNTER = "i=0; while true; do i=$((i+1)); echo $i > /count; sleep 0.02; done"


def read_count(bundle):
    try:
        return int((bundle / "rootfs" / "count").read_text() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def running(rt, args, **kw):
    bundle = rt.bundle(args, **kw)
    container_id = rt.create(bundle)
    rt.cmd("start", container_id, check=True)
    return bundle, container_id


def test_pause_stops_the_container_and_resume_continues(rt):
    bundle, container_id = running(rt, ["sh", "-c", COUNTER])
    time.sleep(0.3)
    rt.cmd("pause", container_id, check=True)
    assert rt.state(container_id)["status"] == "paused"
    frozen_at = read_count(bundle)
    time.sleep(0.4)
    assert read_count(bundle) == frozen_at
    again = rt.cmd("pause", container_id)
    assert again.returncode == 1 and "container not running" in again.stderr
    rt.cmd("resume", container_id, check=True)
    assert rt.state(container_id)["status"] == "running"
    assert wait_for(lambda: read_count(bundle) > frozen_at)  # counting again (polled: 2 busy cores)
    not_paused = rt.cmd("resume", container_id)
    assert not_paused.returncode == 1 and "container not paused" in not_paused.stderr


def test_delete_force_of_a_paused_container(rt):
    _, container_id = running(rt, ["sleep", "60"])
    rt.cmd("pause", container_id, check=True)
    rt.cmd("delete", "--force", container_id, check=True)
    assert not os.path.exists(rt.state_dir(container_id))


def test_ps_lists_the_container_processes(rt):
    bundle, container_id = running(rt, ["sh", "-c", "sleep 60 & sleep 61 & : > /started; wait"])
    deadline = time.monotonic() + 5
    while not (bundle / "rootfs" / "started").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    pids = json.loads(rt.cmd("ps", "--format", "json", container_id, check=True).stdout)
    assert len(pids) == 3 and rt.state(container_id)["pid"] in pids
    table = rt.cmd("ps", container_id, check=True).stdout.splitlines()
    assert "PID" in table[0]
    assert len(table) == 4 and any("sleep 61" in line for line in table)


def test_events_stats(rt):
    bundle, container_id = running(rt, ["sh", "-c", "sleep 60 & sleep 60 & : > /started; wait"],
                                   edit=lambda c: c["linux"]["resources"].update(
                                       memory={"limit": 64 << 20}, pids={"limit": 20}))
    deadline = time.monotonic() + 5
    while not (bundle / "rootfs" / "started").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    line = json.loads(rt.cmd("events", "--stats", container_id, check=True).stdout)
    assert line["type"] == "stats" and line["id"] == container_id
    data = line["data"]
    # runc's types.Stats: its sections and JSON names, zero "omitempty" fields left out
    assert sorted(data) == ["blkio", "cpu", "cpuset", "hugetlb", "intel_rdt", "memory", "network_interfaces", "pids"]
    assert data["pids"] == {"current": 3, "limit": 20}
    assert data["memory"]["usage"]["limit"] == 64 << 20
    assert data["memory"]["usage"]["usage"] > 0 and "failcnt" in data["memory"]["usage"]
    assert data["memory"]["raw"] and set(data["memory"]) >= {"usage", "swap", "kernel", "kernelTCP", "raw"}
    usage = data["cpu"]["usage"]
    assert usage["total"] > 0 and {"kernel", "user"} <= set(usage) and "usage_in_kernelmode" not in usage
    assert set(data["cpu"]["throttling"]) <= {"periods", "throttledPeriods", "throttledTime"}
    v2 = os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers"))
    # runc reads no cpuset file on cgroup v2: cpus and mems are left out there
    assert data["cpuset"].get("cpus") == (None if v2 else list(range(os.cpu_count())))
    assert data["intel_rdt"] == {} and data["network_interfaces"] is None
    if os.path.isdir("/sys/kernel/mm/hugepages/hugepages-2048kB"):
        assert "failcnt" in data["hugetlb"].get("2MB", {"failcnt": 0})


def test_events_stream_reports_oom(rt):
    hog = "sleep 0.5; x=$(head -c 200000000 /dev/zero | tr '\\0' a); sleep 60"
    _, container_id = running(rt, ["sh", "-c", f"({hog}) & sleep 60"],
                              edit=lambda c: c["linux"]["resources"].update(memory={"limit": 32 << 20}))
    events = subprocess.Popen([RUNTIME, "--root", rt.root, "events", "--interval", "100ms", container_id],
                              stdout=subprocess.PIPE, text=True)
    try:
        seen = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = events.stdout.readline()
            if not line:
                break
            seen.append(json.loads(line)["type"])
            if "oom" in seen:
                break
        assert "stats" in seen and "oom" in seen, seen
    finally:
        events.kill()
        events.wait()


def test_update_changes_limits(rt):
    bundle, container_id = running(rt, ["sleep", "60"],
                                   edit=lambda c: c["linux"]["resources"].update(
                                       memory={"limit": 64 << 20}, pids={"limit": 20}))
    rt.cmd("update", "--memory", "128m", "--pids-limit", "30", container_id, check=True)
    path = rt.read_config(bundle)["linux"]["cgroupsPath"].lstrip("/")
    if os.path.isdir(os.path.join(CGROUP_ROOT, "memory")):
        assert open(os.path.join(CGROUP_ROOT, "memory", path, "memory.limit_in_bytes")).read().strip() == str(128 << 20)
        assert open(os.path.join(CGROUP_ROOT, "pids", path, "pids.max")).read().strip() == "30"
    result = rt.cmd("update", "--resources", "-", container_id, input=json.dumps({"pids": {"limit": 40}}))
    assert result.returncode == 0, result.stderr
    stats = json.loads(rt.cmd("events", "--stats", container_id, check=True).stdout)["data"]
    assert stats["pids"]["limit"] == 40 and stats["memory"]["usage"]["limit"] == 128 << 20
    bad = rt.cmd("update", "--memory", "lots", container_id)
    assert bad.returncode == 1 and "invalid size" in bad.stderr
    # go-units' forms (1.5g = 1.5 * 2^30); kernel memory is checked, then ignored with runc's warning
    fractional = rt.cmd("update", "--memory", "1.5g", "--kernel-memory", "64MiB", container_id)
    assert fractional.returncode == 0, fractional.stderr
    assert "Kernel memory settings are ignored" in fractional.stderr
    stats = json.loads(rt.cmd("events", "--stats", container_id, check=True).stdout)["data"]
    assert stats["memory"]["usage"]["limit"] == 1610612736
    bad_json = rt.cmd("update", "-r", "-", container_id, input='{"memory": {"limit": "64m"}}')
    assert bad_json.returncode == 1 and "linux.resources.memory.limit" in bad_json.stderr
