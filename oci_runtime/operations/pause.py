"""`oci-runtime pause <id>` and `resume <id>`: freeze or thaw every process."""
from oci_runtime import cgroups, faults
from oci_runtime.errors import OCIError
from oci_runtime.state import open_container


def _change(g, container_id, frozen):
    st, lock = open_container(g["root"], container_id)
    with lock:
        status = st.status()
        if frozen and status != "running":
            raise OCIError("container not running")
        if not frozen and status != "paused":
            raise OCIError("container not paused")
        cgroups.set_frozen(st.private.get("cgroups") or {}, frozen)
        faults.point("pause:after-freeze" if frozen else "resume:after-thaw")
    return 0


def main(g, opts, args):
    return _change(g, args[0], True)


def resume(g, opts, args):
    return _change(g, args[0], False)
