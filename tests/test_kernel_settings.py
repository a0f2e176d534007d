"""sysctl, devices, personality, scheduler, I/O priority, time namespace, loopback."""
import json
import os

import pytest


def create_fails(rt, bundle, *phrases):
    result = rt.cmd("create", "-b", str(bundle), rt.new_id())
    assert result.returncode == 1, result.stderr
    for phrase in phrases:
        assert phrase in result.stderr, result.stderr
    assert not os.path.isdir(rt.root) or os.listdir(rt.root) == []


def without(kind):
    def edit(config):
        config["linux"]["namespaces"] = [ns for ns in config["linux"]["namespaces"] if ns["type"] != kind]
    return edit


def test_namespaced_sysctls_apply_inside_only(rt):
    host_forward = open("/proc/sys/net/ipv4/ip_forward").read()
    host_shmmni = open("/proc/sys/kernel/shmmni").read()
    bundle = rt.bundle(["sh", "-c", "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni"],
                       edit=lambda c: c["linux"].update(sysctl={"net.ipv4.ip_forward": "1",
                                                                "kernel.shmmni": "1234"}))
    assert rt.run(bundle).stdout.split() == ["1", "1234"]
    assert open("/proc/sys/net/ipv4/ip_forward").read() == host_forward
    assert open("/proc/sys/kernel/shmmni").read() == host_shmmni


@pytest.mark.parametrize("key, drop, phrase", [
    ("net.ipv4.ip_forward", "network", "needs its own network namespace"),
    ("kernel.shmmax", "ipc", "needs its own ipc namespace"),
    ("vm.swappiness", None, "is not in a separate kernel namespace"),
])
def test_host_affecting_sysctls_are_refused(rt, key, drop, phrase):
    def edit(config):
        if drop:
            without(drop)(config)
        config["linux"]["sysctl"] = {key: "1"}
    create_fails(rt, rt.bundle(edit=edit), f"linux.sysctl.{key}", phrase)


def _joining(namespaces_by_type):
    def edit(config):
        config["linux"]["namespaces"] = [
            {"type": ns["type"], "path": namespaces_by_type[ns["type"]]} if ns["type"] in namespaces_by_type else ns
            for ns in config["linux"]["namespaces"]]
    return edit


def test_hostname_and_sysctls_apply_in_joined_namespaces(rt):
    """Joined by path (runtime-tools linux_ns_path): hostname and namespaced sysctls are set
    in the joined namespaces, which the first container then sees too."""
    holder = rt.create(rt.bundle(["sleep", "30"]))
    rt.api.start(holder)
    pid = rt.api.state(holder).pid
    joined = {"uts": f"/proc/{pid}/ns/uts", "network": f"/proc/{pid}/ns/net", "ipc": f"/proc/{pid}/ns/ipc"}
    host_name = open("/proc/sys/kernel/hostname").read()

    def edit(config):
        _joining(joined)(config)
        config["hostname"] = "joined-host"
        config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shmmni": "2345"}
    script = "hostname; cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni"
    assert rt.run(rt.bundle(["sh", "-c", script], edit=edit)).stdout.split() == ["joined-host", "1", "2345"]
    seen = rt.cmd("exec", holder, "sh", "-c", script, check=True).stdout.split()
    assert seen == ["joined-host", "1", "2345"]
    assert open("/proc/sys/kernel/hostname").read() == host_name
    rt.api.delete(holder, force=True)


@pytest.mark.parametrize("field, kind, proc_name, phrase", [
    ("hostname", "uts", "uts", "private UTS namespace"),
    ("sysctl", "network", "net", "needs its own network namespace"),
    ("sysctl", "ipc", "ipc", "needs its own ipc namespace"),
])
def test_the_runtimes_own_namespace_joined_by_path_is_not_private(rt, field, kind, proc_name, phrase):
    """Joining the host's namespace by path and then setting a hostname or a sysctl in it
    would change the host: refused before anything is made."""
    host_name = open("/proc/sys/kernel/hostname").read()
    host_forward = open("/proc/sys/net/ipv4/ip_forward").read()

    def edit(config):
        _joining({kind: f"/proc/{os.getpid()}/ns/{proc_name}"})(config)
        if field == "hostname":
            config["hostname"] = "not-the-host"
        else:
            config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"} if kind == "network" else {"kernel.shmmni": "99"}
    create_fails(rt, rt.bundle(edit=edit), phrase)
    assert open("/proc/sys/kernel/hostname").read() == host_name
    assert open("/proc/sys/net/ipv4/ip_forward").read() == host_forward


def test_loopback_is_up_in_a_new_network_namespace(rt):
    bundle = rt.bundle(["cat", "/sys/class/net/lo/flags"])
    assert int(rt.run(bundle).stdout, 16) & 0x1


def test_devices_are_created_with_mode_and_owner(rt):
    devices = [{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 0o600,
                "uid": 1000, "gid": 1000},
               {"path": "/dev/sub/fifo", "type": "p", "fileMode": 0o644}]
    bundle = rt.bundle(["sh", "-c", "ls -ln /dev/mynull /dev/sub/fifo; echo x > /dev/mynull && echo ok"],
                       edit=lambda c: c["linux"].update(devices=devices), user={"uid": 1000, "gid": 1000})
    lines = rt.run(bundle).stdout.splitlines()
    null_line = next(line for line in lines if line.endswith("/dev/mynull"))
    assert null_line.split()[0] == "crw-------" and null_line.split()[2:6] == ["1000", "1000", "1,", "3"]
    assert next(line for line in lines if line.endswith("/dev/sub/fifo")).startswith("prw-r--r--")
    assert lines[-1] == "ok"


def test_duplicate_devices_are_an_error(rt):
    device = {"path": "/dev/x", "type": "c", "major": 1, "minor": 3}
    create_fails(rt, rt.bundle(edit=lambda c: c["linux"].update(devices=[device, device])),
                 "linux.devices[1].path", "duplicate device")


def test_personality_linux32(rt):
    bundle = rt.bundle(["uname", "-m"], edit=lambda c: c["linux"].update(personality={"domain": "LINUX32"}))
    assert rt.run(bundle).stdout.strip() in ("i686", "i386")


def test_scheduler_and_io_priority(rt):
    bundle = rt.bundle(["sh", "-c", "cut -d' ' -f19,41 /proc/self/stat; ionice"],
                       scheduler={"policy": "SCHED_BATCH", "nice": 7},
                       ioPriority={"class": "IOPRIO_CLASS_BE", "priority": 6})
    out = rt.run(bundle).stdout.splitlines()
    nice, policy = out[0].split()
    assert (nice, policy) == ("7", "3")  # SCHED_BATCH == 3
    assert out[1].strip() == "best-effort: prio 6"


def test_time_namespace_offsets(rt):
    host_uptime = float(open("/proc/uptime").read().split()[0])

    def edit(config):
        config["linux"]["namespaces"].append({"type": "time"})
        config["linux"]["timeOffsets"] = {"boottime": {"secs": 86400 * 10, "nanosecs": 0}}
    seen = float(rt.run(rt.bundle(["cat", "/proc/uptime"], edit=edit)).stdout.split()[0])
    assert seen > host_uptime + 86400 * 10 - 60


def test_time_offsets_need_a_time_namespace(rt):
    bundle = rt.bundle(edit=lambda c: c["linux"].update(timeOffsets={"boottime": {"secs": 5}}))
    create_fails(rt, bundle, "linux.timeOffsets", "requires a new time namespace")


@pytest.mark.parametrize("field", ["apparmorProfile", "selinuxLabel"])
def test_lsm_labels_without_the_lsm_are_an_error(rt, field):
    from oci_runtime.process_attributes import lsm_enabled

    if lsm_enabled(field):
        pytest.skip(f"this host has the LSM for {field}")
    create_fails(rt, rt.bundle(**{field: "some-label"}), f"process.{field}", "is not enabled on this host")


def test_apparmor_profile_is_applied_when_the_host_has_apparmor(rt):
    from oci_runtime.process_attributes import lsm_enabled

    if not lsm_enabled("apparmorProfile"):
        pytest.skip("AppArmor is not enabled on this host")
    bundle = rt.bundle(["cat", "/proc/self/attr/current"], apparmorProfile="unconfined")
    assert rt.run(bundle).stdout.strip() == "unconfined"


def test_bad_scheduler_policy(rt):
    create_fails(rt, rt.bundle(scheduler={"policy": "SCHED_BOGUS"}), "process.scheduler.policy")


def test_mount_label_without_selinux_is_ignored_with_a_debug_line(rt, tmp_path):
    """As crun and runc (runtime-tools linux_mount_label): the container runs."""
    from oci_runtime.process_attributes import lsm_enabled

    if lsm_enabled("selinuxLabel"):
        pytest.skip("this host has SELinux")
    bundle = rt.bundle(["echo", "ran"], edit=lambda c: c["linux"].update(mountLabel="system_u:object_r:x:s0"))
    log = tmp_path / "log.json"
    result = rt.cmd("run", "-b", str(bundle), rt.new_id(), global_args=("--debug", "--log", str(log),
                                                                         "--log-format", "json"))
    assert result.returncode == 0 and result.stdout == "ran\n", result.stderr
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert any(line["level"] == "debug" and "linux.mountLabel" in line["msg"] and "ignored" in line["msg"]
               for line in lines), lines
