"""The runc lifecycle on real containers: create -> created -> running -> stopped -> gone."""
import json
import os
import signal
import subprocess
import tempfile

import pytest

from conftest import wait_for


def test_run_prints_from_inside_its_own_namespaces(rt):
    bundle = rt.bundle(["sh", "-c", "echo pid=$$; hostname; readlink /proc/self/ns/pid; readlink /proc/self/ns/uts"])
    result = rt.run(bundle)
    lines = result.stdout.split()
    assert lines[0] == "pid=1"
    assert lines[1] == "oci-runtime"
    assert lines[2] != os.readlink("/proc/self/ns/pid")
    assert lines[3] != os.readlink("/proc/self/ns/uts")


def test_create_start_state_kill_delete(rt):
    bundle = rt.bundle(["sh", "-c", "echo started > /started; exec sleep 60"])
    container_id = rt.create(bundle)
    st = rt.state(container_id)
    assert st["status"] == "created"
    assert st["id"] == container_id
    assert st["bundle"] == str(bundle)
    assert st["rootfs"] == str(bundle / "rootfs")
    assert st["ociVersion"] and st["created"].endswith("Z")
    pid = st["pid"]
    # The waiting init is the small C program, not a Python interpreter.
    with open(f"/proc/{pid}/comm") as f:
        assert f.read().strip() != "python3"
    with open(f"/proc/{pid}/status") as f:
        rss_kb = int(next(line for line in f if line.startswith("VmRSS")).split()[1])
    assert rss_kb < 4096, f"waiting init holds {rss_kb} KiB"
    # The user process has not run yet.
    assert not (bundle / "rootfs" / "started").exists()
    on_disk = json.load(open(os.path.join(rt.state_dir(container_id), "state.json")))
    assert on_disk["pid"] == pid
    assert os.path.exists(os.path.join(rt.state_dir(container_id), "exec.fifo"))

    rt.cmd("start", container_id, check=True)
    assert rt.state(container_id)["status"] == "running"
    assert wait_for(lambda: (bundle / "rootfs" / "started").exists())
    with open(f"/proc/{pid}/cmdline") as f:
        assert f.read().split("\0")[0] == "sleep"

    rt.cmd("kill", container_id, "KILL", check=True)
    assert wait_for(lambda: rt.state(container_id)["status"] == "stopped")
    assert rt.state(container_id)["pid"] == 0

    rt.cmd("delete", container_id, check=True)
    assert not os.path.exists(rt.state_dir(container_id))
    result = rt.cmd("state", container_id)
    assert result.returncode != 0
    assert "container does not exist" in result.stderr


def test_status_comes_from_the_kernel_not_the_file(rt):
    bundle = rt.bundle(["sleep", "60"])
    container_id = rt.create(bundle)
    rt.cmd("start", container_id, check=True)
    pid = rt.state(container_id)["pid"]
    os.kill(pid, signal.SIGKILL)  # behind the runtime's back
    assert wait_for(lambda: rt.state(container_id)["status"] == "stopped")
    # The file still says what create wrote; the answer did not come from it.
    on_disk = json.load(open(os.path.join(rt.state_dir(container_id), "state.json")))
    assert on_disk["pid"] == pid


def test_reused_pid_counts_as_stopped(rt):
    bundle = rt.bundle(["sleep", "60"])
    container_id = rt.create(bundle)
    path = os.path.join(rt.state_dir(container_id), "state.json")
    doc = json.load(open(path))
    real_start = doc["runtime"]["init_start_time"]
    doc["runtime"]["init_start_time"] = real_start + 1  # as if the pid were reused
    json.dump(doc, open(path, "w"))
    assert rt.state(container_id)["status"] == "stopped"
    doc["runtime"]["init_start_time"] = real_start
    json.dump(doc, open(path, "w"))
    assert rt.state(container_id)["status"] == "created"


def test_run_returns_the_container_exit_status_and_cleans_up(rt):
    bundle = rt.bundle(["sh", "-c", "exit 7"])
    result = rt.run(bundle, check=False)
    assert result.returncode == 7
    assert os.listdir(rt.root) == []


class BackgroundRun:
    """`oci-runtime run` in the background, waited for until its container runs."""

    def __init__(self, rt, bundle):
        self.container_id = rt.new_id()
        self.proc = subprocess.Popen(
            rt.argv("run", "-b", str(bundle), self.container_id),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_for(lambda: rt.cmd("state", self.container_id).returncode == 0
                        and rt.state(self.container_id)["status"] == "running")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


def test_run_reports_death_by_signal_as_128_plus_signal(rt):
    with BackgroundRun(rt, rt.bundle(["sleep", "60"])) as bg:
        rt.cmd("kill", bg.container_id, "KILL", check=True)
        assert bg.proc.wait(timeout=10) == 128 + 9


def test_run_forwards_signals_to_the_container(rt):
    bundle = rt.bundle(["sh", "-c", "trap 'exit 42' TERM; touch /trapped; while true; do sleep 0.05; done"])
    with BackgroundRun(rt, bundle) as bg:
        assert wait_for(lambda: (bundle / "rootfs" / "trapped").exists())  # the trap is in place
        bg.proc.send_signal(signal.SIGTERM)
        assert bg.proc.wait(timeout=10) == 42


def test_run_keep_leaves_a_stopped_container(rt):
    bundle = rt.bundle(["true"])
    rt.run(bundle, "--keep")
    container_id = rt.ids[-1]
    assert rt.state(container_id)["status"] == "stopped"
    rt.cmd("delete", container_id, check=True)


def test_run_detach_leaves_it_running(rt):
    bundle = rt.bundle(["sleep", "60"])
    result = rt.run(bundle, "--detach")
    assert result.returncode == 0
    container_id = rt.ids[-1]
    st = rt.state(container_id)
    rt.pids.add(st["pid"])
    assert st["status"] == "running"


def test_start_twice_is_an_error_without_effect(rt):
    bundle = rt.bundle(["sleep", "60"])
    container_id = rt.create(bundle)
    rt.cmd("start", container_id, check=True)
    again = rt.cmd("start", container_id)
    assert again.returncode != 0
    assert "cannot start an already running container" in again.stderr
    assert rt.state(container_id)["status"] == "running"


def test_start_of_a_stopped_container_fails(rt):
    bundle = rt.bundle(["true"])
    container_id = rt.create(bundle)
    rt.cmd("start", container_id, check=True)
    assert wait_for(lambda: rt.state(container_id)["status"] == "stopped")
    result = rt.cmd("start", container_id)
    assert result.returncode != 0
    assert "stopped" in result.stderr


def test_delete_running_needs_force(rt):
    bundle = rt.bundle(["sleep", "60"])
    container_id = rt.create(bundle)
    rt.cmd("start", container_id, check=True)
    result = rt.cmd("delete", container_id)
    assert result.returncode != 0
    assert f"cannot delete container {container_id} that is not stopped: running" in result.stderr
    assert rt.state(container_id)["status"] == "running"
    rt.cmd("delete", "--force", container_id, check=True)
    assert not os.path.exists(rt.state_dir(container_id))


def test_delete_of_a_created_container_kills_its_init(rt):
    bundle = rt.bundle(["sleep", "60"])
    container_id = rt.create(bundle)
    pid = rt.state(container_id)["pid"]
    rt.cmd("delete", container_id, check=True)
    assert wait_for(lambda: not os.path.exists(f"/proc/{pid}") or
                    open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z")


def test_delete_force_of_a_missing_container_succeeds(rt):
    assert rt.cmd("delete", "--force", "never-existed").returncode == 0
    result = rt.cmd("delete", "never-existed")
    assert result.returncode == 1
    assert "container does not exist" in result.stderr


def test_kill_accepts_names_and_numbers(rt):
    bundle = rt.bundle(["sh", "-c", "trap 'echo got-usr1 > /sig' USR1; touch /trapped; "
                                    "while true; do sleep 0.1; done"])
    container_id = rt.create(bundle)
    rt.cmd("start", container_id, check=True)
    assert wait_for(lambda: (bundle / "rootfs" / "trapped").exists())
    rt.cmd("kill", container_id, "USR1", check=True)
    assert wait_for(lambda: (bundle / "rootfs" / "sig").exists())
    for spelling in ("SIGCONT", "cont", "18", "0"):  # 0: kill(2)'s existence check, as runc
        rt.cmd("kill", container_id, spelling, check=True)
    assert rt.state(container_id)["status"] == "running"
    bad = rt.cmd("kill", container_id, "SIGNOPE")
    assert bad.returncode != 0 and 'unknown signal "SIGNOPE"' in bad.stderr
    rt.cmd("kill", container_id, "9", check=True)
    assert wait_for(lambda: rt.state(container_id)["status"] == "stopped")
    for signum in ("KILL", "0"):
        stopped = rt.cmd("kill", container_id, signum)
        assert stopped.returncode != 0 and "container not running" in stopped.stderr


def test_kill_all_signals_every_process(rt):
    bundle = rt.bundle(["sh", "-c", "trap '' TERM; sleep 60 & sleep 60 & touch /started; wait"])
    container_id = rt.create(bundle)
    rt.cmd("start", container_id, check=True)
    assert wait_for(lambda: (bundle / "rootfs" / "started").exists())
    rt.cmd("kill", "--all", container_id, "KILL", check=True)
    assert wait_for(lambda: rt.state(container_id)["status"] == "stopped")


def test_pid_file_is_written(rt, tmp_path):
    bundle = rt.bundle(["sleep", "60"])
    pid_file = tmp_path / "init.pid"
    container_id = rt.create(bundle, "--pid-file", str(pid_file))
    assert int(pid_file.read_text()) == rt.state(container_id)["pid"]


def test_list_formats(rt):
    bundle = rt.bundle(["sleep", "60"])
    container_id = rt.create(bundle)
    table = rt.cmd("list", check=True).stdout.splitlines()
    assert table[0].split()[:3] == ["ID", "PID", "STATUS"]
    assert table[1].split()[:3] == [container_id, str(rt.state(container_id)["pid"]), "created"]
    as_json = json.loads(rt.cmd("list", "--format", "json", check=True).stdout)
    assert [c["id"] for c in as_json] == [container_id]
    assert rt.cmd("list", "-q", check=True).stdout == f"{container_id}\n"


def test_flag_spellings(rt):
    bundle = rt.bundle(["sleep", "60"])
    for spelling in (["--bundle", str(bundle)], [f"--bundle={bundle}"],
                     ["-bundle", str(bundle)], ["-b", str(bundle)]):
        container_id = rt.new_id()
        argv = ["create", *spelling, container_id]
        result = rt.cmd(*argv, global_args=())
        assert result.returncode == 0, result.stderr
        rt.pids.add(rt.state(container_id)["pid"])
        rt.cmd("delete", "-force", container_id, check=True)
    # The global flag in Go's single-dash form too.
    result = rt.cmd("list", global_args=("-log-format", "json"))
    assert result.returncode == 0


@pytest.mark.parametrize("with_no_pivot", [False, True])
def test_root_is_the_bundle_rootfs(rt, with_no_pivot):
    bundle = rt.bundle(["cat", "/etc/motd"])
    extra = ["--no-pivot"] if with_no_pivot else []
    assert rt.run(bundle, *extra).stdout == "oci-runtime busybox bundle\n"


def _parallel(rt, argvs):
    """Start every command at once; returns their exit codes (stderr kept for failures).
    stderr goes to files: a created container inherits it and would hold a pipe open."""
    files = [tempfile.TemporaryFile(mode="w+") for _ in argvs]
    procs = [subprocess.Popen(rt.argv(*argv), stdout=subprocess.DEVNULL, stderr=f)
             for argv, f in zip(argvs, files)]
    codes = [p.wait(timeout=60) for p in procs]
    rt.parallel_errors = []
    for f in files:
        f.seek(0)
        rt.parallel_errors.append(f.read())
        f.close()
    return codes


def test_concurrent_creates_of_one_id_have_one_winner(rt):
    bundle = rt.bundle(["sleep", "60"])
    container_id = rt.new_id()
    codes = _parallel(rt, [["create", "-b", str(bundle), container_id]] * 4)
    assert sorted(codes) == [0, 1, 1, 1]
    st = rt.state(container_id)
    rt.pids.add(st["pid"])
    assert st["status"] == "created"


def test_concurrent_starts_release_the_init_once(rt):
    bundle = rt.bundle(["sleep", "60"])
    container_id = rt.create(bundle)
    codes = _parallel(rt, [["start", container_id]] * 4)
    assert sorted(codes) == [0, 1, 1, 1]
    assert rt.state(container_id)["status"] == "running"


def test_concurrent_deletes_all_succeed_and_remove_everything(rt):
    bundle = rt.bundle(["sleep", "60"])
    container_id = rt.create(bundle)
    rt.cmd("start", container_id, check=True)
    codes = _parallel(rt, [["delete", "--force", container_id]] * 3)
    assert codes == [0, 0, 0], rt.parallel_errors
    assert not os.path.exists(rt.state_dir(container_id))


def test_delete_force_removes_what_a_killed_create_left(rt):
    container_id = rt.new_id()
    leftover = os.path.join(rt.root, container_id)
    os.makedirs(leftover)
    open(os.path.join(leftover, "lock"), "w").close()
    assert rt.cmd("delete", container_id).returncode == 1
    rt.cmd("delete", "--force", container_id, check=True)
    assert not os.path.exists(leftover)
