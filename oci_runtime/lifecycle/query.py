"""The read-only operations: a container's state, the list of them, its processes."""
from oci_runtime import log
from oci_runtime.errors import ContainerNotFound
from oci_runtime.state import CorruptState, State, container_dir, list_ids, open_container


def state(root, container_id):
    """runc's state document (a dict: ociVersion, id, pid, status, bundle, ...)
    with the status read from the kernel."""
    st, lock = open_container(root, container_id)
    with lock:
        return st.public()


def list_states(root):
    """The state documents of every container under ``root``.  One that is being
    created or deleted right now is skipped; one whose state.json is damaged is
    skipped with a warning (log), so the others are still listed."""
    states = []
    for container_id in list_ids(root):
        try:
            states.append(State.load(container_dir(root, container_id)).public())
        except ContainerNotFound:
            continue
        except CorruptState as exc:
            log.warn(str(exc))
    return states


def pids(root, container_id):
    """The pids (host's view) of every process in the container's cgroup; a
    stopped container's cgroup is empty (or holds what outlived the init), and,
    as under runc, that is an answer, not an error."""
    st, lock = open_container(root, container_id)
    with lock:
        cgroup = st.cgroup()
        if not cgroup.paths and cgroup.left_out:
            raise cgroup.without_cgroup("unable to get all container pids: the container has no cgroup")
        return cgroup.pids()
