"""delete: remove a container and all it holds.

A stopped or created container is removed (a created one is killed first,
as runc does); a running or paused one only with --force, which kills every
process in its cgroup first.  With --force a missing container is not an
error, so engines can clean up idempotently.
"""
import os
from oci_runtime import signals as signal  # signal without its enum imports
import time

from oci_runtime import faults, log
from oci_runtime.cgroups.parents import remove_unused as remove_unused_parents
from oci_runtime.errors import ContainerNotFound, ContainerStateError, OCIError
from oci_runtime.lifecycle.kill import signal_all, signal_init
from oci_runtime.state import CorruptState, Lock, State, container_dir, open_container, remove_state_dir


def destroy(st, timeout=10.0):
    """Kill what is left, wait until it is gone, remove cgroups and the state dir."""
    cgroup = st.cgroup()
    log.debug(f"delete {st.id}: killing what is left (init pid {st.pid})")
    if st.init_alive():
        signal_init(st, signal.SIGKILL)
    signal_all(st, signal.SIGKILL)
    if cgroup.is_frozen():
        cgroup.set_frozen(False)  # a frozen task only dies once thawed
    deadline = time.monotonic() + timeout
    while st.init_alive() or cgroup.pids():
        if time.monotonic() > deadline:
            raise OCIError(f"container {st.id}: processes did not exit after SIGKILL")
        signal_all(st, signal.SIGKILL)
        time.sleep(0.002)
    _reap_if_ours(st.pid)
    faults.point("delete:after-kill")
    if st.private.get("host_mounts_before") is not None:
        from oci_runtime.rootfs import host_mounts

        host_mounts.unmount_for(st)
    if cgroup.paths:
        cgroup.remove()
        remove_unused_parents(os.path.dirname(st.directory), cgroup.paths, st.private.get("cgroups_created") or ())
    faults.point("delete:after-cgroup-remove")
    remove_state_dir(st.directory)
    log.debug(f"delete {st.id}: cgroups and state directory removed")
    if st.private.get("hooks", {}).get("poststop"):
        from oci_runtime import hooks

        hooks.run(st.private["hooks"], "poststop", hooks.hook_state(st, "stopped"), warn_only=True)


def _reap_if_ours(pid):
    """A long-lived caller of the Python API that created the container is the
    init's parent (the CLI exits and leaves it to pid 1): collect the zombie.
    Never with pid 0, which would mean any child of ours."""
    if pid <= 0:
        return
    try:
        os.waitpid(pid, os.WNOHANG)
    except (ChildProcessError, OSError):
        pass


def delete(root, container_id, force=False):
    try:
        st, lock = open_container(root, container_id)
    except ContainerNotFound:
        if force:
            _remove_leftover(root, container_id)
            return
        raise
    except CorruptState as exc:
        if not force:
            raise
        _remove_unreadable(exc)
        return
    with lock:
        status = st.status()
        if status in ("running", "paused") and not force:
            raise ContainerStateError(f"cannot delete container {st.id} that is not stopped: {status}")
        destroy(st)


def _remove_leftover(root, container_id):
    """A state dir without state.json: a create killed before its first write, or
    a delete killed while removing the dir.  Nothing else was made yet (create
    writes state.json before the fifo and cgroups), so removing the dir is all.
    A live create holds the lock only for a moment before it writes state.json:
    wait for it, then delete what it made like any other container."""
    directory = container_dir(root, container_id)
    try:
        lock = Lock(directory)
    except FileNotFoundError:
        if os.path.isdir(directory) and not os.path.exists(os.path.join(directory, "lock")):
            remove_state_dir(directory)  # killed before it even made its lock
        return
    with lock:
        if not os.path.exists(os.path.join(directory, "state.json")):
            remove_state_dir(directory)
            return
    delete(root, container_id, force=True)  # a create finished while we waited


def _remove_unreadable(exc):
    """delete --force of a container whose state.json cannot be read: what
    recovery.json still names (the init and the cgroups) is killed and removed,
    then the state dir; a warning says which file was bad."""
    log.warn(str(exc).split("; `delete")[0] + "; removing what recovery.json names")
    with Lock(exc.directory):
        destroy(State.recover(exc.directory))

