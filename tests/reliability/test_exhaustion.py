"""Resource exhaustion during set-up: the real cause is reported and nothing leaks."""
import os
import subprocess
import time

from .helpers import light_bundle, status_or_missing


def _gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def test_init_oom_killed_during_setup_says_so(rt):
    """256 KiB: the Python init is OOM-killed while it sets the container up (it
    needs about 1 MiB of memory charged to the container's cgroup for that)."""
    def tiny_memory(config):
        config["linux"]["resources"]["memory"] = {"limit": 256 * 1024, "swap": 256 * 1024}

    cid = rt.new_id()
    created = rt.cmd("create", "--bundle", str(light_bundle(rt, "b", edit=tiny_memory)), cid)
    assert created.returncode == 1
    assert "out of memory during container setup" in created.stderr, created.stderr
    assert status_or_missing(rt, cid) == "missing"
    assert not rt.leftovers()


def test_pids_limit_hit_by_a_setup_hook(rt, tmp_path):
    def one_pid_and_a_hook(config):
        config["linux"]["resources"]["pids"] = {"limit": 1}
        config["hooks"] = {"createContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "true"]}]}

    cid = rt.new_id()
    result = rt.cmd("create", "--bundle", str(light_bundle(rt, "b", edit=one_pid_and_a_hook)), cid)
    assert result.returncode == 1
    assert "createContainer hook" in result.stderr and "Resource temporarily unavailable" in result.stderr, \
        result.stderr
    assert status_or_missing(rt, cid) == "missing"
    assert not rt.leftovers()


def test_exec_at_the_pids_limit_is_a_clear_error(rt):
    def one_pid(config):
        config["linux"]["resources"]["pids"] = {"limit": 1}

    cid = rt.create(light_bundle(rt, "b", edit=one_pid))
    rt.cmd("start", cid, check=True)
    result = rt.cmd("exec", cid, "true")
    assert result.returncode != 0
    assert "Resource temporarily unavailable" in result.stderr and "Traceback" not in result.stderr, \
        result.stderr
    assert status_or_missing(rt, cid) == "running"
    rt.cmd("delete", "--force", cid, check=True)
    assert not rt.leftovers()


def test_disk_full_while_writing_state(rt, tmp_path):
    """--root on a 64 KiB tmpfs; a large annotation makes state.json too big."""
    small_root = tmp_path / "small-root"
    small_root.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(small_root)], check=True)
    try:
        def big_annotation(config):
            config["annotations"] = {"filler": "x" * 200_000}

        bundle = light_bundle(rt, "b", edit=big_annotation)
        cid = rt.new_id()
        root_args = ("--root", str(small_root))
        result = rt.cmd("create", "--bundle", str(bundle), cid, global_args=root_args)
        assert result.returncode == 1 and "No space left on device" in result.stderr, result.stderr
        assert os.listdir(small_root) == []  # no dir, no temp file
        # the same root still works once the config fits
        small = light_bundle(rt, "b2")
        rt.cmd("create", "--bundle", str(small), cid, global_args=root_args, check=True)
        rt.cmd("delete", "--force", cid, global_args=root_args, check=True)
        assert os.listdir(small_root) == []
    finally:
        subprocess.run(["umount", str(small_root)], check=True)
    assert not rt.leftovers()


def test_a_hook_that_hangs_is_killed_at_its_timeout(rt, tmp_path):
    marker = tmp_path / "hook-child.pid"

    def hanging_hook(config):
        script = f"sleep 1000 & echo $! > {marker}; wait"
        config["hooks"] = {"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", script], "timeout": 1}]}

    cid = rt.new_id()
    began = time.monotonic()
    result = rt.cmd("create", "--bundle", str(light_bundle(rt, "b", edit=hanging_hook)), cid)
    assert time.monotonic() - began < 10
    assert result.returncode == 1 and "timed out after 1s" in result.stderr, result.stderr
    assert _gone(int(marker.read_text())), "the hook's own child outlived the timeout"
    assert status_or_missing(rt, cid) == "missing"
    assert not rt.leftovers()
