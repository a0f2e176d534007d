"""`delete --force` on containers whose init will not cooperate."""
import pytest

from conftest import wait_for

from .helpers import light_bundle, status_or_missing

WAITING = ["sh", "-c", "trap '' TERM INT HUP; : > /ready; while :; do sleep 1; done"]


def _running(rt):
    bundle = light_bundle(rt, "b", args=WAITING)
    cid = rt.create(bundle)
    rt.cmd("start", cid, check=True)
    assert wait_for(lambda: (rt.tmp / "shared-rootfs" / "ready").exists())
    return cid


@pytest.mark.parametrize("stuck", ["paused", "sigstopped", "paused-and-sigstopped", "ignores-sigterm"])
def test_delete_force_of_a_stuck_init(rt, stuck):
    cid = _running(rt)
    if "sigstopped" in stuck:
        rt.cmd("kill", cid, "STOP", check=True)
    if "paused" in stuck:
        rt.cmd("pause", cid, check=True)
        assert status_or_missing(rt, cid) == "paused"
    if stuck == "ignores-sigterm":
        rt.cmd("kill", "--all", cid, "TERM", check=True)
        assert status_or_missing(rt, cid) == "running"
    rt.cmd("delete", "--force", cid, check=True)
    assert status_or_missing(rt, cid) == "missing"
    assert not rt.leftovers()


def test_delete_force_of_a_paused_container_with_execs(rt):
    cid = _running(rt)
    for _ in range(3):
        rt.cmd("exec", "--detach", cid, "sleep", "1000", check=True)
    rt.cmd("pause", cid, check=True)
    rt.cmd("delete", "--force", cid, check=True)
    assert not rt.leftovers()
