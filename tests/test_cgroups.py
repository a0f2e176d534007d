"""linux.resources applied, enforced by the kernel, visible inside, and cleaned up."""
import os

import pytest

from conftest import CGROUP_ROOT

V1 = os.path.isdir(os.path.join(CGROUP_ROOT, "memory")) and not os.path.exists(
    os.path.join(CGROUP_ROOT, "cgroup.controllers"))
v1_only = pytest.mark.skipif(not V1, reason="v1 controller files; the v2 lane covers v2")


def resources(**res):
    return lambda config: config["linux"]["resources"].update(res)


def host_cgroup_file(rt, bundle, controller, name):
    cgroups_path = rt.read_config(bundle)["linux"]["cgroupsPath"]
    with open(os.path.join(CGROUP_ROOT, controller, cgroups_path.lstrip("/"), name)) as f:
        return f.read().strip()


@v1_only
def test_limits_are_written_and_visible_inside(rt):
    bundle = rt.bundle(["sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes "
                                    "/sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.shares "
                                    "/sys/fs/cgroup/cpu/cpu.cfs_quota_us; sleep 60"],
                       edit=resources(memory={"limit": 64 << 20, "reservation": 32 << 20, "swappiness": 10},
                                      pids={"limit": 50}, cpu={"shares": 512, "quota": 50000,
                                                               "period": 100000}))
    container_id = rt.create(bundle)
    assert host_cgroup_file(rt, bundle, "memory", "memory.limit_in_bytes") == str(64 << 20)
    assert host_cgroup_file(rt, bundle, "memory", "memory.soft_limit_in_bytes") == str(32 << 20)
    assert host_cgroup_file(rt, bundle, "memory", "memory.swappiness") == "10"
    assert host_cgroup_file(rt, bundle, "pids", "pids.max") == "50"
    assert host_cgroup_file(rt, bundle, "cpu", "cpu.cfs_quota_us") == "50000"
    rt.api.delete(container_id, force=True)
    bundle2 = rt.bundle(["sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes "
                                     "/sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.shares"],
                        edit=resources(memory={"limit": 64 << 20}, pids={"limit": 50}, cpu={"shares": 512}))
    assert rt.run(bundle2).stdout.split() == [str(64 << 20), "50", "512"]


def test_memory_hog_is_oom_killed(rt):
    # The shell itself grows (no helper process the OOM killer could pick instead).
    hog = "x=aaaaaaaa; while true; do x=$x$x; done; echo survived"
    bundle = rt.bundle(["sh", "-c", hog], edit=resources(memory={"limit": 32 << 20}))
    result = rt.run(bundle, check=False, timeout=60)
    assert result.returncode == 137, (result.returncode, result.stdout, result.stderr)
    assert "survived" not in result.stdout


def test_fork_loop_stops_at_the_pids_limit(rt):
    # busybox sh gives up at the first failed fork; it echoes (a builtin) each success.
    script = "n=0; for i in $(seq 40); do sleep 30 & n=$((n+1)); echo $n; done; echo never"
    result = rt.run(rt.bundle(["sh", "-c", script], edit=resources(pids={"limit": 8})), check=False)
    assert result.stdout.split()[-1] == "7", result.stdout  # sh + 7 sleeps = 8 tasks
    assert "never" not in result.stdout
    assert "can't fork" in result.stderr


def test_pids_limit_zero_is_honoured(rt):
    bundle = rt.bundle(["sh", "-c", "true & wait; echo forked"], edit=resources(pids={"limit": 0}))
    result = rt.run(bundle, check=False)
    assert "can't fork" in result.stderr, (result.stdout, result.stderr)


@v1_only
def test_cpu_quota_throttles(rt):
    bundle = rt.bundle(["sh", "-c", "timeout 1 sh -c 'while :; do :; done'; "
                                    "grep nr_throttled /sys/fs/cgroup/cpu/cpu.stat"],
                       edit=resources(cpu={"quota": 10000, "period": 100000}))
    out = rt.run(bundle, check=False, timeout=30).stdout
    assert int(out.split()[-1]) > 0, out


def test_denied_device_cannot_be_opened(rt):
    caps = ["CAP_MKNOD", "CAP_SYSLOG", "CAP_DAC_OVERRIDE"]

    def edit(config, allow):
        config["process"]["capabilities"] = {s: caps for s in ("bounding", "effective", "permitted")}
        config["linux"]["resources"]["devices"] = [{"allow": False, "access": "rwm"}]
        if allow:
            config["linux"]["resources"]["devices"].append(
                {"allow": True, "type": "c", "major": 1, "minor": 11, "access": "r"})
    script = "mknod /kmsg c 1 11 && dd if=/kmsg of=/dev/null bs=1 count=0 2>&1; echo rc=$?"
    denied = rt.run(rt.bundle(["sh", "-c", script], edit=lambda c: edit(c, False))).stdout
    allowed = rt.run(rt.bundle(["sh", "-c", script], edit=lambda c: edit(c, True))).stdout
    assert "Operation not permitted" in denied and "rc=1" in denied
    assert "rc=0" in allowed, allowed


@v1_only
def test_an_empty_cpuset_in_a_pre_created_parent_is_filled_as_runc_does(rt):
    """An engine's pod cgroup made with empty cpuset.cpus/mems (kubelet's, on v1):
    runc fills every level from its parent; joining would otherwise fail with ENOSPC."""
    top = os.path.join(CGROUP_ROOT, "cpuset", rt.cgroup_parent)
    pod = os.path.join(top, "pod")
    os.makedirs(pod)
    try:
        assert open(os.path.join(pod, "cpuset.cpus")).read().strip() == ""
        bundle = rt.bundle(["cat", "/sys/fs/cgroup/cpuset/cpuset.cpus", "/sys/fs/cgroup/cpuset/cpuset.mems"],
                           edit=lambda c: c["linux"].update(cgroupsPath=f"/{rt.cgroup_parent}/pod/box"))
        seen = rt.run(bundle).stdout.split()
        root = [open(os.path.join(CGROUP_ROOT, "cpuset", name)).read().strip()
                for name in ("cpuset.cpus", "cpuset.mems")]
        assert seen == root  # what the container saw
        assert open(os.path.join(pod, "cpuset.cpus")).read().strip() == root[0]  # the host kept runc's fill
    finally:
        for directory in (pod, top):
            if os.path.isdir(directory):
                os.rmdir(directory)


@v1_only
def test_kernel_tcp_limit_is_applied_on_v1(rt):
    """runc 1.1 still writes memory.kmem.tcp.limit_in_bytes on cgroup v1 (the kernel
    here accepts it); memory.kernel stays a warning, as runc ignores it."""
    if not os.path.exists(os.path.join(CGROUP_ROOT, "memory", "memory.kmem.tcp.limit_in_bytes")):
        pytest.skip("this kernel's memory controller has no kmem.tcp files")
    bundle = rt.bundle(["cat", "/sys/fs/cgroup/memory/memory.kmem.tcp.limit_in_bytes"],
                       edit=resources(memory={"limit": 64 << 20, "kernelTCP": 16 << 20}))
    result = rt.run(bundle)
    assert result.stdout.split() == [str(16 << 20)], result.stderr  # what the container saw
    assert "kernelTCP" not in result.stderr


def _device_rule_access(access):
    return resources(devices=[{"allow": False, "access": "rwm"},
                              {"allow": True, "type": "c", "major": 1, "minor": 11, "access": access}])


@v1_only
def test_device_access_strings_are_normalised_as_runc_does(rt):
    """runc drops the letters it does not know and writes r, w, m in order; the
    kernel refuses "c 1:11 rwa" with EINVAL.  What lands in devices.list is runc's."""
    for access, listed in (("rwa", "c 1:11 rw"), ("mwr", "c 1:11 rwm"), ("wm", "c 1:11 wm")):
        bundle = rt.bundle(["sleep", "30"], edit=_device_rule_access(access))
        container_id = rt.create(bundle)
        rules = host_cgroup_file(rt, bundle, "devices", "devices.list").splitlines()
        assert listed in rules, (access, rules)
        rt.api.delete(container_id, force=True)
    script = "mknod /kmsg c 1 11 && dd if=/kmsg of=/dev/null bs=1 count=0 2>&1; echo rc=$?"
    bundle = rt.bundle(["sh", "-c", script], edit=lambda c: (
        _device_rule_access("ra")(c),
        c["process"].update(capabilities={s: ["CAP_MKNOD", "CAP_SYSLOG", "CAP_DAC_OVERRIDE"]
                                          for s in ("bounding", "effective", "permitted")})))
    assert "rc=0" in rt.run(bundle).stdout  # read access: what the container saw


def test_device_access_without_any_known_letter_is_a_config_error(rt):
    bundle = rt.bundle(edit=_device_rule_access("a"))
    result = rt.cmd("create", "-b", str(bundle), rt.new_id())
    assert result.returncode == 1
    assert 'linux.resources.devices[1].access: "a" names none of r (read), w (write), m (mknod)' in result.stderr
    assert "Traceback" not in result.stderr and not (os.path.isdir(rt.root) and os.listdir(rt.root))


@pytest.mark.parametrize("res, phrase", [
    ({"network": {"classID": 42}}, "linux.resources.network.classID"),
    ({"cpu": {"cpus": "999"}}, "linux.resources.cpu.cpus"),
    ({"memory": {"limit": 64 << 20, "swap": 32 << 20}}, "linux.resources.memory.swap"),
])
def test_values_the_host_cannot_apply_are_errors(rt, res, phrase):
    bundle = rt.bundle(edit=resources(**res))
    result = rt.cmd("create", "-b", str(bundle), rt.new_id())
    assert result.returncode == 1 and phrase in result.stderr, result.stderr
    assert not os.path.isdir(rt.root) or os.listdir(rt.root) == []


V2 = os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers"))


@pytest.mark.skipif(not V2, reason="pure cgroup v2 host only (make test-v2 runs this in a VM)")
def test_v2_limits_are_written_and_visible_inside(rt):
    res = resources(memory={"limit": 64 << 20, "reservation": 32 << 20}, pids={"limit": 50},
                    cpu={"shares": 1024, "quota": 50000, "period": 100000})
    bundle = rt.bundle(["sh", "-c", "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max "
                                    "/sys/fs/cgroup/cpu.weight; cat /proc/self/cgroup; sleep 60"], edit=res)
    container_id = rt.create(bundle)
    host_dir = os.path.join(CGROUP_ROOT, rt.read_config(bundle)["linux"]["cgroupsPath"].lstrip("/"))
    read = lambda name: open(os.path.join(host_dir, name)).read().strip()  # noqa: E731
    assert read("memory.max") == str(64 << 20)
    assert read("memory.low") == str(32 << 20)
    assert read("pids.max") == "50"
    assert read("cpu.max") == "50000 100000"
    assert read("cpu.weight") == "39"  # runc's formula for 1024 shares
    rt.api.start(container_id)
    rt.api.delete(container_id, force=True)
    bundle2 = rt.bundle(["sh", "-c", "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max; "
                                     "cat /proc/self/cgroup"], edit=res)
    assert rt.run(bundle2).stdout.split() == [str(64 << 20), "50", "0::/"]


def test_joining_a_busy_cgroup_is_refused(rt):
    first = rt.bundle(["sleep", "60"])
    first_id = rt.create(first)
    path = rt.read_config(first)["linux"]["cgroupsPath"]
    second = rt.bundle(["true"], edit=lambda c: c["linux"].update(cgroupsPath=path))
    result = rt.cmd("create", "-b", str(second), rt.new_id())
    assert result.returncode == 1 and "already has processes" in result.stderr
    assert "container's cgroup is not empty: 1 process(es) found" in result.stderr  # runc's phrase
    assert rt.state(first_id)["status"] == "created"  # the first container is untouched


@v1_only
def test_joining_a_frozen_cgroup_is_refused_with_runcs_phrase(rt):
    bundle = rt.bundle(["true"])
    path = rt.read_config(bundle)["linux"]["cgroupsPath"].lstrip("/")
    frozen = os.path.join(CGROUP_ROOT, "freezer", path)
    os.makedirs(frozen)
    try:
        with open(os.path.join(frozen, "freezer.state"), "w") as f:
            f.write("FROZEN")
        result = rt.cmd("create", "-b", str(bundle), rt.new_id())
        assert result.returncode == 1, result.stderr
        assert "linux.cgroupsPath: container's cgroup unexpectedly frozen" in result.stderr
        assert not os.path.isdir(rt.root) or os.listdir(rt.root) == []
    finally:
        with open(os.path.join(frozen, "freezer.state"), "w") as f:
            f.write("THAWED")
        os.rmdir(frozen)
        os.rmdir(os.path.dirname(frozen))


def test_hugepage_limits(rt):
    size = "2MB"
    bundle = rt.bundle(["sleep", "60"], edit=resources(hugepageLimits=[{"pageSize": size, "limit": 4 << 21}]))
    rt.create(bundle)
    relative = rt.read_config(bundle)["linux"]["cgroupsPath"].lstrip("/")
    candidates = [os.path.join(CGROUP_ROOT, "hugetlb", relative, f"hugetlb.{size}.limit_in_bytes"),
                  os.path.join(CGROUP_ROOT, "unified", relative, f"hugetlb.{size}.max"),
                  os.path.join(CGROUP_ROOT, relative, f"hugetlb.{size}.max")]
    written = [open(p).read().strip() for p in candidates if os.path.exists(p)]
    assert written == [str(4 << 21)]


def test_check_before_update_refuses_a_limit_below_usage(rt):
    bundle = rt.bundle(["sleep", "60"], edit=resources(memory={"limit": 64 << 20, "checkBeforeUpdate": True}))
    container_id = rt.create(bundle)
    result = rt.cmd("update", "--memory", "4096", container_id)
    assert result.returncode == 1 and "checkBeforeUpdate" in result.stderr
