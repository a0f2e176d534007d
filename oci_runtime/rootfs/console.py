"""The container's terminal: a pty from its own devpts, handed to --console-socket,
made the process's controlling terminal and stdio, and bound onto /dev/console.

Runs after the switch into the container's root, through a Root on it
(inroot.py): /dev/ptmx is opened in the root, the pty's slave comes from the
master itself (TIOCGPTPEER), and the result is checked to be a real pty on a
devpts (CVE-2025-52565); /dev/console is created O_EXCL|O_NOFOLLOW and the pty
is bound onto it descriptor to descriptor.  Used by create's init and by exec
(which does not bind /dev/console).
"""
import errno
import os
import stat
import termios

from oci_runtime import shim
from oci_runtime import sockets as socket  # socket without its enum imports
from oci_runtime.errors import OCIError

UNIX98_PTY_SLAVE_MAJORS = (136, 143)
DEVPTS_SUPER_MAGIC = 0x1CD1


def setup_terminal(console, process, root, bind_console=True, relayed=False):
    """Open a pty in the container's devpts, send its master to --console-socket,
    make the slave the controlling terminal and stdio, bind it to /dev/console.
    ``relayed``: the runtime itself relays this pty (no --console-socket).
    Runs after the switch into the container's root (``root``, an inroot.Root on
    it): every module it needs is imported at the top."""
    master, slave, slave_name = open_pty(root)
    try:
        check_pty_slave(slave)
        size = process.get("consoleSize")
        if size:
            shim.set_window_size(slave, size["height"], size["width"])
        if relayed:
            clear_onlcr(slave)
        give_to_user(slave, process["user"].get("uid", 0))
        socket.send_fds(console, [slave_name.encode()], [master])
    finally:
        os.close(master)
    os.setsid()
    shim.set_controlling_tty(slave)
    for target in (0, 1, 2):
        os.dup2(slave, target)
    if bind_console:
        bind_console_to(slave, root)
    os.close(slave)


def open_pty(root):
    """(master, slave, slave's name) from the container's /dev/ptmx, by descriptor:
    ptmx is opened through the root, the slave comes from the master itself
    (TIOCGPTPEER), so no /dev/pts/N path is opened."""
    try:
        master = root.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY)
    except OSError as exc:
        raise OCIError(f"opening /dev/ptmx in the container: {exc.strerror}") from None
    try:
        shim.pty_unlock(master)
        slave = shim.pty_peer(master, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
        return master, slave, f"/dev/pts/{shim.pty_number(master)}"
    except OSError as exc:
        os.close(master)
        raise OCIError(f"the container's /dev/ptmx did not give a pty: {exc.strerror}") from None


def clear_onlcr(slave):
    """No "\\n" -> "\\r\\n" on output, as runc sets the pty it relays itself
    (a --console-socket receiver decides for its own pty, as under runc).  Done
    before the master leaves, so the process's first line is already plain."""
    try:
        attrs = termios.tcgetattr(slave)
        attrs[1] &= ~termios.ONLCR
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
    except termios.error as exc:
        raise OCIError(f"clearing ONLCR on the container's pty: {exc.args[-1]}") from None


def give_to_user(slave, uid):
    """The pty belongs to the process's user, so it can use its own terminal;
    the group stays the one devpts gave it (its gid= option, tty), as runc's
    fixStdioPermissions.  Like runc, an owner this user namespace cannot map
    (EINVAL, EPERM) or a read-only /dev (EROFS) leaves it as it is."""
    if os.fstat(slave).st_uid == uid:
        return
    try:
        os.fchown(slave, uid, -1)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EPERM, errno.EROFS):
            raise OCIError(f"giving the container's pty to uid {uid}: {exc.strerror}") from None


def check_pty_slave(fd):
    """The container's /dev/ptmx (or /dev/pts) may be anything the image put there:
    what we got must be a real pty slave on a devpts (CVE-2025-52565)."""
    st = os.fstat(fd)
    if not (stat.S_ISCHR(st.st_mode) and UNIX98_PTY_SLAVE_MAJORS[0] <= os.major(st.st_rdev)
            <= UNIX98_PTY_SLAVE_MAJORS[1]) or shim.fstatfs_type(fd) != DEVPTS_SUPER_MAGIC:
        raise OCIError("the container's /dev/ptmx did not give a pty on devpts")


def bind_console_to(slave, root):
    """/dev/console becomes the pty: created as a plain file if missing, refused if it
    is a symlink or anything but a file or char device, bound fd to fd."""
    try:
        parent, name = root.parent("/dev/console")
        try:
            os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                             dir_fd=parent))
        except FileExistsError:
            pass
        finally:
            os.close(parent)
        target = root.open_final("/dev/console")
    except OSError as exc:
        raise OCIError(f"creating /dev/console in the container: {exc.strerror}") from None
    try:
        mode = os.fstat(target).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISCHR(mode)):
            raise OCIError("/dev/console in the container is not a file or a device")
        try:
            tree = shim.open_tree("", shim.OPEN_TREE_CLONE | shim.OPEN_TREE_CLOEXEC | shim.AT_EMPTY_PATH, slave)
            try:
                shim.move_mount(tree, target)
            finally:
                os.close(tree)
        except OSError as exc:
            raise OCIError(f"binding the pty to /dev/console: {exc.strerror}") from None
    finally:
        os.close(target)
