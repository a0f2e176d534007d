"""`exec`: another process in the container's namespaces, cgroups and rootfs."""
import json
import os
import tempfile
import time

import pytest

from conftest import wait_for


@pytest.fixture
def container(rt):
    bundle = rt.bundle(["sleep", "60"], edit=lambda c: (c.update(hostname="exec-box"), rt.with_cgroup_namespace(c)))
    container_id = rt.create(bundle)
    rt.api.start(container_id)
    return container_id


def exec_(rt, container_id, *command, flags=(), check=True, **kw):
    result = rt.cmd("exec", *flags, container_id, *command, **kw)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_exec_joins_every_namespace_and_the_cgroup(rt, container):
    init = rt.state(container)["pid"]
    names = ("pid", "mnt", "uts", "ipc", "net", "cgroup")
    script = "; ".join(f"readlink /proc/self/ns/{n}" for n in names) + "; hostname; cat /proc/self/cgroup"
    out = exec_(rt, container, "sh", "-c", script).stdout.split()
    for name, seen in zip(names, out):
        assert seen == os.readlink(f"/proc/{init}/ns/{name}"), name
    assert out[len(names)] == "exec-box"
    assert all(line.endswith(":/") for line in out[len(names) + 1:])


def test_exec_sees_the_container_rootfs_and_its_processes(rt, container):
    out = exec_(rt, container, "sh", "-c", "cat /etc/motd; pwd; ps -o pid,args").stdout
    assert "oci-runtime busybox bundle" in out
    assert out.splitlines()[1] == "/"
    assert "1 sleep 60" in " ".join(out.split())


def test_exec_overrides(rt, container):
    out = exec_(rt, container, "sh", "-c", "id; echo $FOO; pwd",
                flags=["--user", "1000:1000", "-e", "FOO=bar", "--cwd", "/tmp", "-g", "5"]).stdout.splitlines()
    assert out[0].startswith("uid=1000(user) gid=1000(user)") and "5(tty)" in out[0]
    assert out[1:] == ["bar", "/tmp"]


def test_exec_exit_status_and_missing_program(rt, container):
    assert exec_(rt, container, "sh", "-c", "exit 5", check=False).returncode == 5
    missing = exec_(rt, container, "no-such-thing", check=False)
    assert missing.returncode == 255  # runc's status for a process that never started
    assert 'exec failed: exec: "no-such-thing": executable file not found in $PATH' in missing.stderr


def test_exec_leaks_no_fds(rt, container, tmp_path):
    out = exec_(rt, container, "ls", "/proc/self/fd").stdout.split()
    assert sorted(out) == ["0", "1", "2", "3"]  # 3: ls's own directory fd


def test_exec_detach_and_pid_file(rt, container, tmp_path):
    pid_file = tmp_path / "exec.pid"
    exec_(rt, container, "sleep", "30", flags=["-d", "--pid-file", str(pid_file)])
    pid = int(pid_file.read_text())
    rt.pids.add(pid)
    with open(f"/proc/{pid}/cmdline") as f:
        assert f.read().split("\0")[:2] == ["sleep", "30"]
    assert pid in rt.api.pids(container)


def test_exec_process_json(rt, container, tmp_path):
    process = {"args": ["sh", "-c", "echo $X; id -u"], "cwd": "/", "env": ["X=from-json", "PATH=/bin"],
               "user": {"uid": 1000, "gid": 1000}}
    (tmp_path / "process.json").write_text(json.dumps(process))
    out = exec_(rt, container, flags=["--process", str(tmp_path / "process.json")]).stdout.split()
    assert out == ["from-json", "1000"]


def test_exec_with_tty(rt, container):
    out = exec_(rt, container, "tty", flags=["-t"]).stdout
    assert "/dev/pts/" in out


def test_exec_in_a_stopped_container_fails(rt):
    bundle = rt.bundle(["true"])
    container_id = rt.create(bundle)
    rt.cmd("start", container_id, check=True)
    deadline = time.monotonic() + 5
    while rt.state(container_id)["status"] != "stopped" and time.monotonic() < deadline:
        time.sleep(0.02)
    result = rt.cmd("exec", container_id, "true")
    # runc's contract: a process that could not be started is 255, "exec failed: ..."
    assert result.returncode == 255 and "exec failed: cannot exec in a stopped container" in result.stderr
    missing = rt.cmd("exec", "no-such-container", "true")
    assert missing.returncode == 255 and "exec failed: container does not exist" in missing.stderr


def _container_cgroup_dirs(rt, bundle):
    """The container's cgroup directory in every hierarchy that has one."""
    relative = rt.read_config(bundle)["linux"]["cgroupsPath"].lstrip("/")
    found = []
    for name in sorted(os.listdir("/sys/fs/cgroup")):
        top = os.path.join("/sys/fs/cgroup", name)
        for candidate in (os.path.join(top, relative), os.path.join("/sys/fs/cgroup", relative)):
            if os.path.isdir(candidate) and candidate not in found:
                found.append(candidate)
    return found


def test_exec_cgroup_joins_existing_sub_cgroups_as_runc(rt):
    """exec --cgroup [CONTROLLER:]PATH: the process runs in a sub-cgroup of the
    container's (what /proc/self/cgroup says inside); a path leading out of the
    container's cgroup or one that does not exist is refused; kill --all, ps and
    delete --force see and remove what is in the sub-cgroups."""
    bundle = rt.bundle(["sleep", "60"])
    container_id = rt.create(bundle)
    rt.api.start(container_id)
    dirs = _container_cgroup_dirs(rt, bundle)
    for directory in dirs:
        os.mkdir(os.path.join(directory, "sub"))
        for name in ("cpuset.cpus", "cpuset.mems"):  # a v1 cpuset sub-cgroup takes no task while empty
            if "/cpuset/" in directory and os.path.exists(os.path.join(directory, name)):
                with open(os.path.join(directory, name)) as parent, \
                        open(os.path.join(directory, "sub", name), "w") as own:
                    own.write(parent.read().strip())
    lines = rt.cmd("exec", "--cgroup", "sub", container_id, "cat", "/proc/self/cgroup", check=True).stdout.split()
    assert lines and all(line.endswith("/sub") for line in lines), lines
    if os.path.isdir("/sys/fs/cgroup/memory"):  # v1: one controller's hierarchy alone
        lines = rt.cmd("exec", "--cgroup", "memory:sub", container_id, "cat", "/proc/self/cgroup",
                       check=True).stdout.split()
        assert [line.endswith("/sub") for line in lines if ":memory:" in line] == [True]
        assert not [line for line in lines if ":pids:" in line and line.endswith("/sub")]
    for bad, phrase in (("../escape", "bad sub cgroup path: ../escape"), ("sub/../../x", "bad sub cgroup path"),
                        ("missing", "does not exist")):
        result = rt.cmd("exec", "--cgroup", bad, container_id, "true")
        assert result.returncode == 255 and "exec failed: " in result.stderr and phrase in result.stderr, \
            result.stderr
    for args, phrase in ((["--cgroup", "a", "--cgroup", "b"], "(missing <controller>: prefix)"),
                         (["--cgroup", ":x"], "(empty <controller> prefix)"),
                         (["--cgroup", "memory:a", "--cgroup", "memory:b"], "controller memory specified multiple")):
        result = rt.cmd("exec", *args, container_id, "true")
        assert result.returncode == 255 and "invalid --cgroup argument" in result.stderr and phrase in result.stderr
    detached = tempfile.mktemp(dir=rt.tmp)
    rt.cmd("exec", "-d", "--pid-file", detached, "--cgroup", "sub", container_id, "sleep", "60", check=True)
    pid = int(open(detached).read())
    rt.pids.add(pid)
    assert pid in rt.api.pids(container_id)  # ps / kill --all reach the sub-cgroup
    rt.api.delete(container_id, force=True)  # removes the sub-cgroups too
    assert not any(os.path.exists(directory) for directory in dirs)
    assert wait_for(lambda: not os.path.exists(f"/proc/{pid}"))
