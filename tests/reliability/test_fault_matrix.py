"""Crash at any step: SIGKILL the runtime at each fault point, then clean up.

For every point the test checks three things:
  1. the command really died there (exit by SIGKILL),
  2. `state` tells the truth afterwards (the status the kernel implies),
  3. one `delete --force` (or `state` + plain `delete`) leaves nothing behind:
     no process, cgroup, mount, fifo, state entry, or fd of the caller.
The leak check runs right after that one delete, before the fixture's own
teardown (which would otherwise hide a first delete that missed something).
See docs/reliability.md for what is on disk at each step.
"""
import pytest

from .helpers import light_bundle, status_or_missing, with_fault

# point -> the status `state` must report once the command died there
CREATE_POINTS = {
    "create:after-state-dir": "missing",        # dir + lock only, no state.json yet
    "create:after-creating-state": "stopped",   # state.json "creating", creator dead
    "create:after-cgroup": "stopped",
    "create:after-fork": "stopped",             # init alive in the cgroup, unrecorded
    "create:before-ready": "stopped",
    "create:after-ready": "stopped",            # init waiting, final state not written
    "create:after-state": "created",            # everything done, only the exit missing
}
START_POINTS = {
    "start:after-fifo-open": "created",         # nothing released: start again works
    "start:after-fifo-write": "running",        # released, stale fifo left behind
}
DELETE_POINTS = {
    "delete:after-kill": "stopped",
    "delete:after-cgroup-remove": "stopped",
}


def _assert_clean(rt):
    problems = rt.leftovers()
    assert not problems, "; ".join(problems)


def _delete(rt, container_id, how):
    if how == "force":
        result = rt.cmd("delete", "--force", container_id)
    else:  # state + plain delete, as an engine that trusts `state` would do
        status = status_or_missing(rt, container_id)
        args = ("delete", container_id) if status in ("stopped", "created") else ("delete", "--force", container_id)
        result = rt.cmd(*args)
        if status == "missing":
            result = rt.cmd("delete", "--force", container_id)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("how", ["force", "state-then-delete"])
@pytest.mark.parametrize("point", list(CREATE_POINTS))
def test_create_killed_at_each_step_is_cleanable(rt, point, how):
    bundle = light_bundle(rt, "b")
    container_id = rt.new_id()
    result = rt.cmd("create", "--bundle", str(bundle), container_id, env=with_fault(f"{point}=kill"))
    assert result.returncode == -9, (result.returncode, result.stderr)
    assert status_or_missing(rt, container_id) == CREATE_POINTS[point]
    _delete(rt, container_id, how)
    assert status_or_missing(rt, container_id) == "missing"
    _assert_clean(rt)


@pytest.mark.parametrize("point", list(START_POINTS))
def test_start_killed_at_each_step(rt, point):
    container_id = rt.create(light_bundle(rt, "b"))
    result = rt.cmd("start", container_id, env=with_fault(f"{point}=kill"))
    assert result.returncode == -9, (result.returncode, result.stderr)
    assert status_or_missing(rt, container_id) == START_POINTS[point]
    if START_POINTS[point] == "created":
        rt.cmd("start", container_id, check=True)
        assert status_or_missing(rt, container_id) == "running"
    else:
        again = rt.cmd("start", container_id)
        assert again.returncode == 1 and "already running" in again.stderr, again.stderr
    _delete(rt, container_id, "force")
    _assert_clean(rt)


def test_exec_killed_after_fork(rt):
    container_id = rt.create(light_bundle(rt, "b"))
    rt.cmd("start", container_id, check=True)
    result = rt.cmd("exec", container_id, "sleep", "999", env=with_fault("exec:after-fork=kill"))
    assert result.returncode == -9, (result.returncode, result.stderr)
    assert status_or_missing(rt, container_id) == "running"
    rt.cmd("exec", container_id, "true", check=True)  # the container still works
    _delete(rt, container_id, "force")
    _assert_clean(rt)


@pytest.mark.parametrize("how", ["force", "state-then-delete"])
@pytest.mark.parametrize("point", list(DELETE_POINTS))
def test_delete_killed_at_each_step(rt, point, how):
    container_id = rt.create(light_bundle(rt, "b"))
    rt.cmd("start", container_id, check=True)
    result = rt.cmd("delete", "--force", container_id, env=with_fault(f"{point}=kill"))
    assert result.returncode == -9, (result.returncode, result.stderr)
    assert status_or_missing(rt, container_id) == DELETE_POINTS[point]
    _delete(rt, container_id, how)
    _assert_clean(rt)


RUN_POINTS = {
    "run:waiting": "running",    # the caller died; the container goes on without it
    "run:deleting": "stopped",   # the container exited; its removal was cut short
}


@pytest.mark.parametrize("point", list(RUN_POINTS))
def test_run_killed_at_each_step_is_cleanable(rt, point):
    args = ["sleep", "999"] if RUN_POINTS[point] == "running" else ["true"]
    bundle = light_bundle(rt, "b", args)
    container_id = rt.new_id()
    result = rt.cmd("run", "--bundle", str(bundle), container_id, env=with_fault(f"{point}=kill"))
    assert result.returncode == -9, (result.returncode, result.stderr)
    assert status_or_missing(rt, container_id) == RUN_POINTS[point]
    _delete(rt, container_id, "force")
    _assert_clean(rt)


@pytest.mark.parametrize("point, expected", [("pause:after-freeze", "paused"),
                                             ("resume:after-thaw", "running")])
def test_pause_and_resume_killed_after_the_cgroup_write(rt, point, expected):
    container_id = rt.create(light_bundle(rt, "b"))
    rt.cmd("start", container_id, check=True)
    if point.startswith("resume"):
        rt.cmd("pause", container_id, check=True)
    result = rt.cmd(point.split(":")[0], container_id, env=with_fault(f"{point}=kill"))
    assert result.returncode == -9, (result.returncode, result.stderr)
    assert status_or_missing(rt, container_id) == expected
    _delete(rt, container_id, "force")
    _assert_clean(rt)


def test_delete_force_of_a_dir_without_lock_or_state(rt):
    """A create killed between mkdir and making its lock file."""
    (rt.tmp / "state" / "half").mkdir(parents=True)
    assert rt.cmd("delete", "--force", "half").returncode == 0
    _assert_clean(rt)
