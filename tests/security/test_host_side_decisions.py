"""Nothing read inside the rootfs, or after entering the container's namespaces,
decides what the host grants (docs/security.md, rule 1).

Each test is one of the findings of issue 16, played as the image (or the
caller's environment) would play it, and read back from the kernel on the host
side: the capability bounding set, the descriptors the container's process
holds, what the device cgroup lets through, where a hook writes, where a log
line goes.
"""
import json
import os
import subprocess

from conftest import RUNTIME

RUNTIME_DEFAULT_BOUNDING = 0x20000420  # CAP_AUDIT_WRITE | CAP_KILL | CAP_NET_BIND_SERVICE


def status_field(pid, name):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split()[1]
    raise AssertionError(f"{name} missing from /proc/{pid}/status")


def no_proc(config):
    config["mounts"] = [m for m in config["mounts"] if m["destination"] != "/proc"]
    config["linux"]["maskedPaths"] = []
    config["linux"]["readonlyPaths"] = []


def test_cap_last_cap_in_the_image_cannot_widen_the_bounding_set(rt):
    """Finding 1: with no procfs at /proc, an image's proc/sys/kernel/cap_last_cap
    of "1" once made the waiter drop only capabilities 0 and 1."""
    bundle = rt.bundle(["sleep", "60"], edit=no_proc)
    fake = bundle / "rootfs" / "proc" / "sys" / "kernel"
    fake.mkdir(parents=True)
    (fake / "cap_last_cap").write_text("1\n")
    container_id = rt.create(bundle)
    pid = rt.state(container_id)["pid"]
    assert int(status_field(pid, "CapBnd"), 16) == RUNTIME_DEFAULT_BOUNDING
    assert int(status_field(pid, "CapPrm"), 16) == RUNTIME_DEFAULT_BOUNDING


def fds_of_pid_1(rt, env, shell_prefix=""):
    """The descriptors the container's process (pid 1, a shell) holds, read from inside."""
    bundle = rt.bundle(["sh", "-c", "ls /proc/1/fd; true"])
    argv = f"{shell_prefix}exec {RUNTIME} --root {rt.root} run -b {bundle} {rt.new_id()}"
    # The caller holds fds 3 and 4 (a file) and 10 (/dev/null), inheritable, as a
    # careless service manager's child might.
    a_file = os.open("/etc/hostname", os.O_RDONLY)
    null = os.open("/dev/null", os.O_RDONLY)

    def hold():
        for fd, source in ((3, a_file), (4, a_file), (10, null)):
            os.dup2(source, fd)

    try:
        result = subprocess.run(["sh", "-c", argv], capture_output=True, text=True, close_fds=False,
                                preexec_fn=hold, env=dict(os.environ, **env), timeout=30)
    finally:
        os.close(a_file)
        os.close(null)
    assert result.returncode == 0, result.stderr
    return sorted(int(fd) for fd in result.stdout.split())


def test_listen_fds_meant_for_another_process_do_not_cross(rt):
    """Finding 9: LISTEN_FDS counts only when LISTEN_PID names the runtime itself
    (sd_listen_fds, runc); otherwise the caller's fds 3..10 reached the container."""
    assert fds_of_pid_1(rt, {"LISTEN_FDS": "8", "LISTEN_PID": "1"}) == [0, 1, 2]
    assert fds_of_pid_1(rt, {"LISTEN_FDS": "8"}) == [0, 1, 2]
    assert fds_of_pid_1(rt, {}) == [0, 1, 2]


def test_listen_fds_meant_for_the_runtime_cross_with_their_count(rt):
    """The positive case: activated by the service manager (LISTEN_PID is ours)."""
    got = fds_of_pid_1(rt, {"LISTEN_FDS": "2"}, shell_prefix="LISTEN_PID=$$ ")
    assert got == [0, 1, 2, 3, 4]                          # 3 and 4, but not 10


def test_linux_devices_do_not_widen_the_device_cgroup(rt):
    """Finding 6: a node listed in linux.devices stays unusable when
    resources.devices denies it (runc: "Operation not permitted")."""
    def edit(config):
        config["linux"]["devices"] = [{"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11,
                                       "fileMode": 0o600}]
        config["linux"]["resources"] = {"devices": [{"allow": False, "access": "rwm"}]}
        caps = config["process"]["capabilities"]
        for name in ("bounding", "effective", "permitted"):
            caps[name] = caps[name] + ["CAP_SYSLOG"]

    bundle = rt.bundle(["sh", "-c", "ls -l /dev/kmsg; echo oci-runtime-test > /dev/kmsg && echo WROTE"],
                       edit=edit)
    result = rt.run(bundle, check=False)
    assert "crw-------" in result.stdout                   # the node exists ...
    assert "WROTE" not in result.stdout                    # ... but cannot be used
    assert "Operation not permitted" in result.stdout + result.stderr


def test_create_container_hook_works_in_the_rootfs_not_the_hosts_root(rt, tmp_path):
    """Finding 5: a createContainer hook's relative paths are the container's
    (cwd = the rootfs, as runc), never the host's "/"."""
    name = f"oci-runtime-hook-cwd-{rt.tag}"
    hook = {"path": "/bin/sh", "args": ["sh", "-c", f"pwd > ./{name}; touch ./{name}.touched"]}
    bundle = rt.bundle(["true"], edit=lambda c: c.setdefault("hooks", {}).update(createContainer=[hook]))
    try:
        rt.run(bundle)
        assert (bundle / "rootfs" / f"{name}.touched").exists()
        assert (bundle / "rootfs" / name).read_text().strip() == str(bundle / "rootfs")
    finally:
        written = [path for path in (f"/{name}", f"/{name}.touched") if os.path.exists(path)]
        for path in written:
            os.unlink(path)
        assert not written, f"the hook wrote {written} on the host"


def test_log_lines_go_to_the_hosts_log_not_the_containers_file(rt, tmp_path):
    """Finding 4 (log): --log is an fd opened on the host side.  The rootfs holds a
    file at the same path; a warning about the config (an unknown capability)
    must reach the host's file, never the container's."""
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    log_path = log_dir / "runtime.log"

    def edit(config):
        config["process"]["capabilities"]["bounding"].append("CAP_FROM_THE_FUTURE")

    bundle = rt.bundle(["true"], edit=edit)
    inside = bundle / "rootfs" / str(log_path).lstrip("/")
    inside.parent.mkdir(parents=True)
    inside.write_text("")
    result = rt.cmd("--log", str(log_path), "--log-format", "json", "run", "-b", str(bundle), rt.new_id())
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert any("CAP_FROM_THE_FUTURE" in line["msg"] and line["level"] == "warning" for line in lines), lines
    assert inside.read_text() == ""
    assert "CAP_FROM_THE_FUTURE" not in result.stdout   # nothing on the container's stdio


def test_an_unopenable_log_is_a_clear_error(rt, tmp_path):
    result = rt.cmd("--log", str(tmp_path / "missing-dir" / "x.log"), "list")
    assert result.returncode == 1
    assert "--log" in result.stderr and "No such file or directory" in result.stderr
    assert "Traceback" not in result.stderr and "Errno" not in result.stderr
