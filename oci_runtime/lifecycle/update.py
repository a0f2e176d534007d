"""update: change a running container's limits.

The new values are merged into the resources recorded at create, written to
the cgroups (the same translation and error messages as create) and recorded,
so a later update merges into them again.
"""
from oci_runtime import config as config_mod
from oci_runtime.errors import ContainerNotRunning, OCIError
from oci_runtime.state import open_container


def update(root, container_id, resources):
    """``resources``: a linux.resources object (only the groups to change)."""
    config_mod.check_resources(resources)
    st, lock = open_container(root, container_id)
    with lock:
        if st.status() == "stopped":
            raise ContainerNotRunning()
        cgroup = st.cgroup()
        recorded = st.private.setdefault("resources", {})
        _unlimited_memory_frees_swap(resources, recorded)
        merged = {group: dict(recorded.get(group) or {}, **values) if isinstance(values, dict) else values
                  for group, values in resources.items()}
        _check_before_update(cgroup, merged)
        try:
            cgroup.apply(merged)
        except OCIError:
            # v1 refuses a memory limit above memory+swap (and the reverse):
            # runc's answer is to retry with swap written first.
            if not (merged.get("memory") or {}).get("swap"):
                raise
            cgroup.apply(merged, swap_first=True)
        cgroup.apply(merged, deferred=True)
        recorded.update(merged)
        st.save()


def _check_before_update(cgroup, merged):
    """memory.checkBeforeUpdate: refuse a limit below what the container already uses."""
    memory = merged.get("memory") or {}
    limit = memory.get("limit")
    if not memory.get("checkBeforeUpdate") or limit in (None, -1):
        return
    from oci_runtime.cgroups import stats

    usage = stats.memory(cgroup)["usage"].get("usage", 0)
    if limit < usage:
        raise OCIError(f"linux.resources.memory.limit: {limit} is below the current usage {usage} "
                       "(checkBeforeUpdate)")


def _unlimited_memory_frees_swap(resources, recorded):
    """runc's rule: memory.limit -1 without a swap value lifts the swap limit too
    (memory+swap can never be below memory, so a swap limit left in place would
    either be refused by the kernel or keep limiting the "unlimited" container)."""
    memory = resources.get("memory")
    if isinstance(memory, dict) and memory.get("limit") == -1 and "swap" not in memory:
        if (recorded.get("memory") or {}).get("swap") not in (None, -1):
            memory["swap"] = -1
