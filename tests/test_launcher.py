"""The installed `oci-runtime` command (cffi_build/launcher.c + oci_runtime/launch.py).

The launcher forks a helper for create/run/exec that starts the kernel's cgroup
migration grace period before Python is running, keeps the fast path open with a
write every few ms, and hands Python a pipe whose closing stops it
(oci_runtime/cgroups/warmup.py).
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


def test_the_warmup_helper_holds_none_of_the_callers_descriptors(tmp_path):
    """Engines hand the runtime their own pipes and sockets as fds 3 and up
    (sync pipes, --preserve-fds, LISTEN_FDS).  The helper the launcher forks
    must not keep a copy: one of a pipe's write end delays the EOF its reader
    waits for.  A copy of the real launcher runs here beside a stand-in
    "python3" that closes the caller's pipe, reports the helper's "PID:FD" and
    sleeps, holding the helper's own pipe open so that the helper keeps waiting;
    the caller's pipe must then reach EOF at once."""
    import select

    bin_dir, report = _launcher_beside_a_stand_in(tmp_path, "os.close(int(os.environ['CALLER_FD']))")
    read_end, write_end = os.pipe()
    try:
        launcher = subprocess.Popen([str(bin_dir / "oci-runtime"), "run", "x"], pass_fds=(write_end,),
                                    env={"CALLER_FD": str(write_end)},
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        os.close(write_end)
        write_end = None
        try:
            assert wait_for(lambda: report.exists() and report.read_text(), timeout=10)
            helper = int(report.read_text().split(":")[0])
            assert helper and _children(launcher.pid) == [helper]
            # The stand-in holds the helper's pipe, so the helper waits (on a host with
            # cgroup v2) or has exited (without it: nothing to hold open either way).
            readable, _, _ = select.select([read_end], [], [], 5)
            assert readable and os.read(read_end, 1) == b"", f"the helper holds the caller's pipe: {_pipes(helper)}"

            def only_its_own():  # its pipe, and its own cgroup.procs once it has opened that
                try:
                    others = [os.readlink(f"/proc/{helper}/fd/{fd}") for fd in os.listdir(f"/proc/{helper}/fd")]
                except FileNotFoundError:  # exited: without cgroup v2 it does not wait
                    return True
                others = [target for target in others if not target.endswith("/cgroup.procs")]
                return len(others) == len(_pipes(helper)) == 1
            assert _status_field(helper, "State") == "Z" or wait_for(only_its_own)
        finally:
            launcher.kill()
            launcher.wait()
    finally:
        os.close(read_end)
        if write_end is not None:
            os.close(write_end)


def _launcher_beside_a_stand_in(tmp_path, first_line="pass"):
    """A copy of the real launcher (it finds python3 beside itself) with a stand-in
    "python3" that runs ``first_line``, reports the helper's "PID:FD" to the
    returned file and sleeps, holding the helper's pipe open."""
    import shutil
    import sys

    bin_dir = tmp_path / "bin"
    site = tmp_path / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    (site / "oci_runtime").mkdir(parents=True)
    (site / "oci_runtime" / "cli.py").write_text("")  # what the launcher probes for
    bin_dir.mkdir()
    shutil.copy(RUNTIME, bin_dir / "oci-runtime")
    report = tmp_path / "helper"
    stub = bin_dir / "python3"
    # argv: python3 -I -S -c BOOT SITE HELPER args...
    stub.write_text(f"#!{sys.executable} -I\n"
                    "import os, sys, time\n"
                    f"{first_line}\n"
                    f"open({str(report)!r}, 'w').write(sys.argv[6])\n"
                    "time.sleep(60)\n")
    stub.chmod(0o755)
    return bin_dir, report


def _writes(pid):
    """The write syscalls a process has made (/proc/PID/io syscw)."""
    with open(f"/proc/{pid}/io") as f:
        return int(next(line for line in f if line.startswith("syscw:")).split()[1])


def _own_v2_procs_writable():
    from oci_runtime.cgroups import warmup

    path = warmup._own_v2_procs()
    return path is not None and os.access(path, os.W_OK)


def test_the_warmup_helper_keeps_the_fast_path_open_until_its_pipe_closes(tmp_path):
    """After its first write (which waits for the grace period) the helper writes
    again every few ms while the runtime holds its pipe: each write within the
    window is fast and keeps the window open, so neither the container's attach
    nor create's mkdirs meet a new grace period (cffi_build/launcher.c).  Its
    writes are counted while the stand-in runtime holds the pipe; when the
    runtime is gone (the pipe closed), the helper exits at once."""
    if not _own_v2_procs_writable():
        import pytest

        pytest.skip("no cgroup v2 hierarchy with a cgroup.procs of our own to write: the helper has nothing to do")
    bin_dir, report = _launcher_beside_a_stand_in(tmp_path)
    launcher = subprocess.Popen([str(bin_dir / "oci-runtime"), "create", "x"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: report.exists() and report.read_text(), timeout=10)
        helper = int(report.read_text().split(":")[0])
        assert wait_for(lambda: _writes(helper) >= 2, timeout=5)  # its first write took a grace period
        before = _writes(helper)
        time.sleep(0.3)
        kept = _writes(helper) - before
        assert 20 <= kept <= 100, f"{kept} writes in 0.3 s (one every 5 ms expected)"
    finally:
        launcher.kill()
        launcher.wait()
    # The stand-in is gone, with its end of the pipe: the helper sees EOF and exits
    # (re-parented, it is reaped by pid 1 or a subreaper).
    assert wait_for(lambda: not os.path.exists(f"/proc/{helper}") or _status_field(helper, "State") == "Z",
                    timeout=2)


def test_a_run_collects_no_garbage_and_the_api_keeps_the_callers_collector(rt):
    """The command line holds the cyclic collector back (launch.COLLECT_AFTER): with
    the default threshold, importing `run`'s modules alone ran five collections,
    one of them walking every object the imports had made (~1.4 ms of CPU).  The
    run is driven through launch.main, as the launcher does, with a callback that
    counts collections in the runtime's own process; the same run with the
    default threshold is the control (it must collect, or the check proves
    nothing).  Importing the API changes nothing of the caller's collector."""
    import sys
    import sysconfig

    bundle = rt.bundle(["true"])
    site = sysconfig.get_paths()["purelib"]  # the installed package, with its compiled shim
    probe = ("import gc, os, sys\n"
             "sys.path.insert(0, sys.argv.pop(1))\n"
             "default = sys.argv.pop(1) == 'default'\n"
             "from oci_runtime import launch\n"
             "if default:\n"
             "    launch.COLLECT_AFTER = 700\n"
             "me, seen = os.getpid(), []\n"
             "gc.callbacks.append(lambda phase, info: os.getpid() == me and phase == 'start' and seen.append(1))\n"
             "import posix\n"
             "exit_now = posix._exit\n"
             "def report(status):\n"
             "    sys.stderr.write(f'collections={len(seen)}\\n'); sys.stderr.flush(); exit_now(status)\n"
             "posix._exit = report\n"
             "launch.main()\n")
    counts = {}
    for mode in ("held back", "default"):
        container_id = rt.new_id()
        done = subprocess.run([sys.executable, "-I", "-S", "-c", probe, site, mode, "--root", rt.root,
                               "run", "--bundle", str(bundle), container_id],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        counts[mode] = int(done.stderr.rsplit("collections=", 1)[1].split()[0])
    assert counts["default"] > 0, counts  # the control: the default threshold collects on this path
    assert counts["held back"] == 0, counts
    api = subprocess.run([sys.executable, "-I", "-c",
                          "import gc; before = gc.get_threshold(); import oci_runtime.api, oci_runtime.launch; "
                          "print(before == gc.get_threshold())"], capture_output=True, text=True, timeout=30)
    assert api.stdout.strip() == "True", api.stderr


def test_a_child_the_runtime_forks_does_not_keep_the_helpers_pipe():
    """The runtime holds the helper's pipe until the container's first process has
    joined its cgroups (warmup.attached), across the fork of that process: the
    child closes its copy at once (spawn.fork_with_channel), so nothing that enters
    the container holds a descriptor of the runtime's, and the helper sees EOF as
    soon as the runtime closes its own.  A real fork through fork_with_channel,
    with a pipe standing in for the helper's; the child reports whether its copy
    is still open."""
    from oci_runtime.cgroups import warmup
    from oci_runtime.process.messages import send
    from oci_runtime.process.spawn import fork_with_channel

    def child(fd):
        try:
            os.fstat(write_end)
            still_open = True
        except OSError:
            still_open = False
        send(fd, "report", open=still_open)
        os._exit(0)

    def serve(reader, pid):
        report = reader.next()
        os.waitpid(pid, 0)
        return report

    read_end, write_end = os.pipe()
    warmup.started_elsewhere(0, write_end)
    try:
        report = fork_with_channel(child, serve)
        assert report == {"type": "report", "open": False}
        assert os.fstat(write_end)  # the parent's own copy stays until attached()
        warmup.attached()
        assert os.read(read_end, 1) == b""  # EOF: the helper would exit now
    finally:
        del warmup._started[:]
        warmup._close_helper_pipe()
        os.close(read_end)
