"""pause and resume: freeze or thaw every process of a container (the cgroup freezer)."""
from oci_runtime import faults
from oci_runtime.errors import ContainerNotRunning, ContainerStateError
from oci_runtime.state import open_container


def pause(root, container_id):
    _change(root, container_id, True)


def resume(root, container_id):
    _change(root, container_id, False)


def _change(root, container_id, frozen):
    st, lock = open_container(root, container_id)
    with lock:
        status = st.status()
        if frozen and status != "running":
            raise ContainerNotRunning()
        if not frozen and status != "paused":
            raise ContainerStateError("container not paused")
        cgroup = st.cgroup()
        if cgroup.left_out and cgroup.frozen_probe() is None:
            raise cgroup.without_cgroup("cannot toggle freezer: cgroups not configured for container")
        cgroup.set_frozen(frozen)
        faults.point("pause:after-freeze" if frozen else "resume:after-thaw")
