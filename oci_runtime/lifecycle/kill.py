"""kill: signal a container's init (or, with all, every process in its cgroup).

The init is signalled through a pidfd opened after checking its start time,
so a pid reused by another process is never hit.
"""
import os
from oci_runtime import log
from oci_runtime import signals as signal  # signal without its enum imports

from oci_runtime.errors import ContainerNotRunning, OCIError
from oci_runtime.state import open_container


def parse_signal(text):
    """"KILL", "SIGKILL", "kill" and "9" all name SIGKILL; "0" only checks that the
    process exists (kill(2)'s signal 0, which runc accepts too); errors as runc's."""
    if text.isdigit():
        number = int(text)
        if 0 <= number < signal.NSIG:
            return number
        raise OCIError(f"invalid signal: {text}")
    name = text.upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    try:
        return signal.number(name)
    except KeyError:
        raise OCIError(f'unknown signal "{text}"') from None


def signal_init(st, signum):
    """Send ``signum`` to the init via a pidfd; False if it is already gone."""
    try:
        pidfd = os.pidfd_open(st.pid)
    except ProcessLookupError:
        return False
    try:
        if not st.init_alive():  # the pid now belongs to someone else
            return False
        signal.pidfd_send_signal(pidfd, signum)
        return True
    except ProcessLookupError:
        return False
    finally:
        os.close(pidfd)


def signal_all(st, signum):
    cgroup = st.cgroup()
    if not cgroup.paths:
        # A rootless container left without a cgroup (rootless.py): its init is all
        # that can be named (in its own pid namespace, the others die with it).
        if st.status() != "stopped":
            signal_init(st, signum)
        return
    for pid in cgroup.pids():
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass


def kill(root, container_id, signum, all_processes=False):
    """``signum`` is a number or a name (parse_signal's forms).

    With ``all_processes`` a stopped container is not an error (runc signals
    whatever is still in its cgroup, which may be nothing, and exits 0):
    engines run `kill --all` while cleaning up after a container that has
    already exited.  Without it, as under runc, a stopped container's init
    cannot be signalled: "container not running"."""
    if isinstance(signum, str):
        signum = parse_signal(signum)
    st, lock = open_container(root, container_id)
    with lock:
        if all_processes:
            log.debug(f"kill {container_id}: signal {signum} to every process in the container's cgroup")
            signal_all(st, signum)
            return
        log.debug(f"kill {container_id}: signal {signum} to init pid {st.pid}")
        if st.status() == "stopped" or not signal_init(st, signum):
            raise ContainerNotRunning()
