"""Concurrency: parallel commands never corrupt the store; one container's
commands serialize, and the loser of a race gets a clear error, never a traceback.

Races are made deterministic with ``sleep`` fault points that hold a command
inside its critical section while the other command arrives.
"""
import json
import random
import threading
import time

from conftest import wait_for

from .helpers import light_bundle, status_or_missing, with_fault


def _listed_status(rt, container_id):
    """`list` takes no lock: it shows a container while another command holds it."""
    for doc in json.loads(rt.cmd("list", "--format", "json", check=True).stdout) or ():
        if doc["id"] == container_id:
            return doc["status"]
    return None


def _in_thread(fn, *args, **kw):
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("result", fn(*args, **kw)))
    thread.start()
    return thread, box


def _no_traceback(result):
    assert "Traceback" not in result.stderr, result.stderr


def test_many_containers_in_parallel_keep_the_store_consistent(rt):
    ids = [rt.new_id() for _ in range(12)]
    bundles = {cid: light_bundle(rt, f"b{i}") for i, cid in enumerate(ids)}
    failures, stop = [], threading.Event()

    def lifecycle(chunk):
        for cid in chunk:
            for args in (("create", "--bundle", str(bundles[cid]), cid), ("start", cid),
                         ("state", cid), ("delete", "--force", cid)):
                result = rt.cmd(*args)
                if result.returncode != 0:
                    failures.append((args, result.stderr))

    def reader():
        while not stop.is_set():
            listing = rt.cmd("list", "--format", "json")
            _no_traceback(listing)
            if listing.returncode != 0:
                failures.append(("list", listing.stderr))
            else:
                for doc in json.loads(listing.stdout) or ():
                    assert doc["status"] in ("creating", "created", "running", "stopped"), doc
            one = rt.cmd("state", random.choice(ids))
            if one.returncode == 0:
                assert json.loads(one.stdout)["status"] in ("created", "running", "stopped")
            elif "does not exist" not in one.stderr:
                failures.append(("state", one.stderr))

    watcher = threading.Thread(target=reader)
    watcher.start()
    workers = [threading.Thread(target=lifecycle, args=(ids[i::4],)) for i in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    stop.set()
    watcher.join()
    assert not failures, failures
    assert json.loads(rt.cmd("list", "--format", "json", check=True).stdout) is None
    assert not rt.leftovers()


def test_two_creates_of_one_id_while_the_first_is_half_way(rt):
    bundle = light_bundle(rt, "b")
    cid = rt.new_id()
    first, box = _in_thread(rt.cmd, "create", "--bundle", str(bundle), cid,
                            env=with_fault("create:after-cgroup=sleep:2"))
    assert wait_for(lambda: _listed_status(rt, cid) == "creating")
    second = rt.cmd("create", "--bundle", str(light_bundle(rt, "b2")), cid)
    first.join()
    assert second.returncode == 1 and "already exists" in second.stderr, second.stderr
    assert box["result"].returncode == 0, box["result"].stderr
    assert status_or_missing(rt, cid) == "created"


def test_delete_force_during_create_waits_then_removes_it(rt):
    bundle = light_bundle(rt, "b")
    cid = rt.new_id()
    creating, box = _in_thread(rt.cmd, "create", "--bundle", str(bundle), cid,
                               env=with_fault("create:after-fork=sleep:2"))
    assert wait_for(lambda: _listed_status(rt, cid) == "creating")
    deleted = rt.cmd("delete", "--force", cid)
    creating.join()
    assert box["result"].returncode == 0, box["result"].stderr
    assert deleted.returncode == 0, deleted.stderr
    assert status_or_missing(rt, cid) == "missing"
    assert not rt.leftovers()


def test_start_racing_delete(rt):
    cid = rt.create(light_bundle(rt, "b"))
    starting, box = _in_thread(rt.cmd, "start", cid, env=with_fault("start:after-fifo-open=sleep:2"))
    time.sleep(0.8)  # start holds the lock with the fifo open (nothing on disk shows it)
    deleted = rt.cmd("delete", "--force", cid)
    starting.join()
    assert box["result"].returncode == 0, box["result"].stderr
    assert deleted.returncode == 0, deleted.stderr
    assert not rt.leftovers()


def test_start_after_a_delete_that_holds_the_lock(rt):
    cid = rt.create(light_bundle(rt, "b"))
    deleting, box = _in_thread(rt.cmd, "delete", "--force", cid, env=with_fault("delete:after-kill=sleep:2"))
    assert wait_for(lambda: _listed_status(rt, cid) == "stopped")
    started = rt.cmd("start", cid)
    deleting.join()
    assert box["result"].returncode == 0, box["result"].stderr
    assert started.returncode == 1 and "does not exist" in started.stderr, started.stderr
    assert not rt.leftovers()


def test_kill_racing_delete(rt):
    cid = rt.create(light_bundle(rt, "b"))
    rt.cmd("start", cid, check=True)
    deleting, box = _in_thread(rt.cmd, "delete", "--force", cid, env=with_fault("delete:after-kill=sleep:2"))
    assert wait_for(lambda: _listed_status(rt, cid) == "stopped")
    killed = rt.cmd("kill", cid, "KILL")
    deleting.join()
    assert box["result"].returncode == 0, box["result"].stderr
    assert killed.returncode == 1 and "does not exist" in killed.stderr, killed.stderr
    assert not rt.leftovers()


def test_delete_racing_a_new_create_of_the_same_id(rt):
    """A command that waited on a deleted container's lock must not act on a
    new container that reused the id meanwhile."""
    cid = rt.create(light_bundle(rt, "b"))
    deleting, box = _in_thread(rt.cmd, "delete", "--force", cid,
                               env=with_fault("delete:after-kill=sleep:2"))
    assert wait_for(lambda: _listed_status(rt, cid) == "stopped")
    waiting_kill, kill_box = _in_thread(rt.cmd, "kill", cid, "KILL")
    deleting.join()
    recreated = rt.cmd("create", "--bundle", str(light_bundle(rt, "b2")), cid)
    waiting_kill.join()
    assert box["result"].returncode == 0
    assert recreated.returncode == 0, recreated.stderr
    _no_traceback(kill_box["result"])
    assert status_or_missing(rt, cid) == "created"
