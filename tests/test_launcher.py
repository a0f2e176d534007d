"""The installed `oci-runtime` command (cffi_build/launcher.c + oci_runtime/launch.py).

The launcher forks a helper for create/run/exec that starts the kernel's cgroup
migration grace period before Python is running, and hands Python a pipe to ask
it for a second write once the command is imported (oci_runtime/cgroups/warmup.py).
Whatever it hands over must not outlive its use: while `run` waits for its
container, the runtime is one thread with no child but the container's init, and
neither it nor the container holds the helper's pipe.
"""
import os
import subprocess
import time

from conftest import RUNTIME, wait_for


def _status_field(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return line.split()[1]
    return None


def _children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


def _pipes(pid):
    found = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            continue
        if target.startswith("pipe:"):
            found.append((int(fd), target))
    return found


def test_run_waits_as_one_thread_with_only_the_container_as_child(rt, tmp_path):
    bundle = rt.bundle(["sh", "-c", "ls /proc/self/fd > /fds; touch /started; sleep 30"])
    container_id = rt.new_id()
    with open(tmp_path / "out", "w") as out:
        runner = subprocess.Popen([RUNTIME, "--root", rt.root, "run", "--bundle", str(bundle), container_id],
                                  stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    try:
        assert wait_for(lambda: os.path.exists(bundle / "rootfs" / "started"), timeout=10), \
            open(tmp_path / "out").read()
        init = rt.state(container_id)["pid"]
        assert _status_field(runner.pid, "Threads") == "1"
        assert _children(runner.pid) == [init]  # the launcher's helper has been reaped
        assert _pipes(runner.pid) == []
        assert sorted(os.listdir(f"/proc/{init}/fd"), key=int) == ["0", "1", "2"]
        assert (bundle / "rootfs" / "fds").read_text().split() == ["0", "1", "2", "3"]  # 3: ls's own dir fd
    finally:
        rt.cmd("kill", container_id, "KILL")
        deadline = time.monotonic() + 10
        while runner.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if runner.poll() is None:
            runner.kill()
        runner.wait()
    assert runner.returncode == 137


def test_a_bare_warmup_argument_is_accepted_and_a_bad_one_ignored():
    """launch.main takes "PID:FD", "PID" (older launchers) or "0"; anything else
    means no helper, never a crash."""
    from oci_runtime.launch import _helper_of

    read_end, write_end = os.pipe()
    try:
        os.set_inheritable(write_end, True)
        assert _helper_of(f"123:{write_end}") == (123, write_end)
        assert not os.get_inheritable(write_end)
        assert _helper_of("123") == (123, None)
        assert _helper_of("0") == (0, None)
        assert _helper_of("x:1") == (0, None)
        assert _helper_of("5:999999") == (5, None)  # not an open fd
    finally:
        os.close(read_end)
        os.close(write_end)
