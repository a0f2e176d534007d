"""The last steps shared by create's init and exec's process, before the C waiter.

Both end the same way: rlimits, the environment, the executable resolved in
the container's PATH, and the "plan" (NUL-separated KEY=VALUE records) that
cffi_build/init.c carries out: user, groups, capabilities, no_new_privs, cwd,
fd hygiene, then the exec.  The plan's identity part is decided by the parent,
on the host side (HostDecisions); the rest runs inside the container's mount
namespace, so every module it needs is imported at the top (importguard.py).
The terminal is rootfs/console.py's.
"""
import errno
import fcntl
import os
import stat

from oci_runtime import capabilities, process_attributes, shim
from oci_runtime import config as config_mod
from oci_runtime.errors import ConfigError, OCIError
from oci_runtime.lazyos import Environment, fsdecode, fsencode  # os.py's, without os.py

WAITER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "libexec", "oci-runtime-init")
F_SEAL_ALL = 0x0001 | 0x0002 | 0x0004 | 0x0008  # SEAL, SHRINK, GROW, WRITE
F_SEAL_FUTURE_WRITE = 0x0010
# The caller's NOTIFY_SOCKET (sd_notify) is bind-mounted here (process/container_init.py adds the mount).
NOTIFY_SOCKET_IN_CONTAINER = "/run/notify/notify.sock"
# The most arguments, environment entries and additional groups the C waiter
# takes (config.py checks the config against it when it is read; here the
# entries the runtime adds are counted too).
MAX_PLAN_ITEMS = config_mod.MAX_PLAN_ITEMS


# The config field behind a plan record's key, for errors about its value.
_RECORD_FIELDS = {"CWD": "process.cwd", "EXE": "process.args", "ARG": "process.args", "ENV": "process.env",
                  "HOOK": "hooks.startContainer", "HOOKARG": "hooks.startContainer",
                  "HOOKENV": "hooks.startContainer"}


def _check_count(field, count, note=""):
    if count > MAX_PLAN_ITEMS:
        raise ConfigError(field, f"has {count} entries{note}; at most {MAX_PLAN_ITEMS} are supported")


def sealed_copy(path):
    """The waiter binary in a sealed memfd: exec'd from there, the container's
    /proc/1/exe can never be opened for writing onto the host file (CVE-2019-5736)."""
    src = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        size = os.fstat(src).st_size
        mem = os.memfd_create("oci-runtime-init", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        try:
            offset = 0
            while offset < size:
                offset += os.sendfile(mem, src, offset, size - offset)
            _seal(mem)
        except BaseException:
            os.close(mem)
            raise
    finally:
        os.close(src)
    return mem


def _seal(mem):
    """No write, resize or further seal, ever.  F_SEAL_WRITE fails with EBUSY while
    any page of the file still has an extra reference: freshly written pages sit
    in another CPU's LRU batch until it is drained, which on a 2-core machine
    under load outlasts the kernel's own wait (seen once in ~850 creates).  Then
    F_SEAL_FUTURE_WRITE does the same job: it refuses every later write and
    writable mapping, and this file was never mapped."""
    try:
        fcntl.fcntl(mem, fcntl.F_ADD_SEALS, F_SEAL_ALL)
    except OSError as exc:
        if exc.errno != errno.EBUSY:
            raise
        fcntl.fcntl(mem, fcntl.F_ADD_SEALS, (F_SEAL_ALL & ~0x0008) | F_SEAL_FUTURE_WRITE)


def apply_rlimits(rlimits):
    for i, item in enumerate(rlimits):
        kind = shim.rlimit_number(item["type"])
        if kind is None:
            raise ConfigError(f"process.rlimits[{i}].type", f"rlimit {item['type']} is not known to this host")
        try:
            shim.setrlimit(kind, item["soft"], item["hard"])
        except OSError as exc:
            why = exc.strerror
            if exc.errno == 1 and item["hard"] > shim.getrlimit_hard(kind):
                why += " (raising a hard limit needs CAP_SYS_RESOURCE)"
            raise OCIError(f"process.rlimits[{i}]: setting {item['type']} to "
                           f"{item['soft']}/{item['hard']}: {why}") from None
        except OverflowError:
            raise OCIError(f"process.rlimits[{i}]: {item['soft']}/{item['hard']} is out of range") from None


def make_cwd(root, cwd):
    """A missing process.cwd is created (0755, as root), as runc does, so that an
    image's working directory need not exist in its layers.  This runs after the
    switch, through the container's root (``root``), never following a link out;
    the C init then enters it and checks with getcwd that it is inside
    (CVE-2024-21626).  A path that exists as something else is left to that
    chdir to report."""
    try:
        os.close(root.make(cwd))
    except OSError as exc:
        raise OCIError(f"process.cwd: creating {cwd}: {exc.strerror}") from None


def environment(process, listen_fds=0):
    """The process's environment as runc builds it: the config's entries plus
    the ones the runtime adds, each name once (the last value wins, at the
    place of its first entry), and HOME, when unset or empty, the user's home
    in the container's /etc/passwd.  Called in the container's root (after
    pivot_root, or exec's setns into its mount namespace)."""
    env = list(process["env"])
    if Environment.get("NOTIFY_SOCKET") and not any(e.startswith("NOTIFY_SOCKET=") for e in env):
        env.append(f"NOTIFY_SOCKET={NOTIFY_SOCKET_IN_CONTAINER}")
    if listen_fds:
        env += [f"LISTEN_FDS={listen_fds}", "LISTEN_PID=1"]
    values = {}
    for entry in env:  # config.py made sure each has a "="
        name, _, value = entry.partition("=")
        values[name] = value
    if not values.get("HOME"):
        # Already loaded (create's child: Spawn.load_modules; exec: _spawn), never imported
        # here: this runs inside the container, where imports are sealed (importguard.py).
        from oci_runtime.rootfs import inroot

        with inroot.Root.of_directory("/") as root:
            values["HOME"] = home_of(process["user"].get("uid", 0), root)
    return [f"{name}={value}" for name, value in values.items()]


def listen_fds():
    """How many socket-activation fds (3...) were passed to *this* process: LISTEN_FDS
    counts only when LISTEN_PID names us, as sd_listen_fds(3) and runc have it.
    A LISTEN_FDS inherited by some descendant of the activated service would
    otherwise hand the container whatever that caller had open at 3, 4, ...
    Called on the host side, in the process the caller started."""
    count, pid = Environment.get("LISTEN_FDS", ""), Environment.get("LISTEN_PID", "")
    if not (count.isdigit() and pid.isdigit()) or int(pid) != os.getpid():
        return 0
    return int(count)


PASSWD_READ_LIMIT = 16 << 20  # more than any real /etc/passwd; past it, lines are not read


def home_of(uid, root):
    """HOME for ``uid`` from the /etc/passwd of the container's ``root``
    (inroot.Root), "/" when it has none, as runc.  The file is the image's:
    it is opened through the root's descriptor (its links stay inside), only
    if it is a regular file (a FIFO there must not stall the init), and what
    it says decides only this process's HOME."""
    try:
        fd = root.open("/etc/passwd", os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return "/"
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return "/"
        text = os.read(fd, PASSWD_READ_LIMIT)
    except OSError:
        return "/"
    finally:
        os.close(fd)
    for line in text.split(b"\n"):
        fields = line.split(b":")
        if len(fields) >= 6 and fields[2] == str(uid).encode():
            return fsdecode(fields[5]) or "/"
    return "/"


def find_executable(name, env, cwd):
    """Resolve args[0] inside the container as execvp would, with the container's PATH.
    The errors are runc's (Go's exec.LookPath): engines map "no such file or
    directory", "executable file not found" and "permission denied" to exit
    statuses 127 and 126."""
    if "/" in name:
        path = name if name.startswith("/") else os.path.join(cwd, name)
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            raise OCIError(f'exec: "{name}": stat {name}: no such file or directory') from None
        except OSError as exc:
            raise OCIError(f'exec: "{name}": stat {name}: {exc.strerror.lower()}') from None
        if stat.S_ISDIR(mode) or not mode & 0o111:  # Go's LookPath: a directory is "permission denied" too
            raise OCIError(f'exec: "{name}": permission denied')
        return path
    search = ""
    for entry in env:
        if entry.startswith("PATH="):
            search = entry[5:]
    for directory in search.split(":"):
        candidate = os.path.join(directory or ".", name)
        if not candidate.startswith("/"):
            candidate = os.path.join(cwd, candidate)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise OCIError(f'exec: "{name}": executable file not found in $PATH')


def compile_seccomp(profile, root):
    """(memfd, flags) of the compiled linux.seccomp profile, or None without one.
    A program compiled before from the same profile comes from the cache
    (seccomp_cache.py; ``root``: the --root, which places it for a rootless caller)."""
    if not profile:
        return None
    from oci_runtime import seccomp, seccomp_cache

    return seccomp.compile_profile(profile, seccomp_cache.directory(root))


class HostDecisions:
    """The parts of the plan decided on the host side, before the child that will
    become the container's process joins or creates any of its namespaces
    (docs/security.md, "nothing read inside decides"): the capability masks
    against the host's cap_last_cap, the fds that may cross the exec
    (--preserve-fds plus socket activation meant for us), the LSM attribute to
    write, and the compiled seccomp program.  The child adds only what it learns
    inside (the executable, HOME, the hooks' state) and passes these on as values."""

    def __init__(self, process, preserve_fds, seccomp_plan, may_set_groups=True):
        self.listen_fds = listen_fds()
        self.lsm = process_attributes.lsm_exec_records(process)
        self.seccomp_plan = seccomp_plan
        user = process["user"]
        records = [f"KEEP_FDS={preserve_fds + self.listen_fds}",
                   f"UID={user.get('uid', 0)}", f"GID={user.get('gid', 0)}"]
        # A user namespace with setgroups denied (a rootless map of one's own gid:
        # process/id_maps.py) keeps the groups the process has, as under runc.
        records += ["SETGROUPS=1"] if may_set_groups else []
        records += [f"GROUP={g}" for g in user.get("additionalGids") or ()]
        caps = process.get("capabilities")
        if caps is not None:
            m = capabilities.masks(caps)
            records += ["CAPS=1", f"CAP_BND={m['bounding']:x}", f"CAP_EFF={m['effective']:x}",
                        f"CAP_PRM={m['permitted']:x}", f"CAP_INH={m['inheritable']:x}",
                        f"CAP_AMB={m['ambient']:x}"]
        if process.get("noNewPrivileges"):
            records.append("NNP=1")
        self.records = records
        self.seccomp_step = seccomp_step(process)


def seccomp_step(process):
    """Where the C waiter loads linux.seccomp, runc's order: without
    no_new_privs loading needs CAP_SYS_ADMIN, so before the user switch drops
    it; with it, after no_new_privs and the exec label, before "ready": a filter
    the kernel refuses fails create, a notify filter's fd reaches create while
    it waits, and startContainer hooks run under the filter, as under runc."""
    return "before-ready" if process.get("noNewPrivileges") else "before-user-switch"


def write_plan(sync_fd, fifo_fd, process, decided, env, exe, hook_records=(), proc_handle=None):
    """Serialize what the C waiter must do as NUL-terminated KEY=VALUE records:
    the host's ``decided`` (HostDecisions) plus what the child found inside.
    ``proc_handle`` (procfs.py) is handed on only when an LSM label must be written."""
    # The config's own lists were checked against the limit when it was read
    # (config._check_limits); the entries the runtime adds can still push env over.
    _check_count("process.env", len(env), " counting those the runtime adds (HOME, NOTIFY_SOCKET, LISTEN_FDS)")
    records = [f"SYNC={sync_fd}", f"FIFO={fifo_fd if fifo_fd is not None else -1}",
               f"CWD={process.get('cwd', '/')}", f"EXE={exe}"] + decided.records
    if decided.lsm:
        if proc_handle is None:
            raise OCIError("an LSM label needs the runtime's procfs handle")
        os.set_inheritable(proc_handle, True)
        records += decided.lsm + [f"PROC_FD={proc_handle}"]
    if decided.seccomp_plan is not None:
        seccomp_fd, seccomp_flags = decided.seccomp_plan
        os.set_inheritable(seccomp_fd, True)
        records += [f"SECCOMP={seccomp_fd}", f"SECCOMP_FLAGS={seccomp_flags}",
                    f"SECCOMP_STEP={decided.seccomp_step}"]
    records += [f"ARG={a}" for a in process["args"]]
    records += [f"ENV={e}" for e in env]
    records += hook_records
    plan = b"".join(fsencode(r) + b"\0" for r in records)
    # A NUL inside a value would end its record early and start another: an env
    # entry "A=1\0UID=0" would set the user.  No exec'd string can hold one anyway.
    if plan.count(b"\0") != len(records):
        key, _, value = next(r for r in records if "\0" in r).partition("=")
        raise ConfigError(_RECORD_FIELDS.get(key, "process"),
                          f"{value[:100]!r} contains a NUL byte, which no argument, environment entry or path can hold")
    fd = os.memfd_create("oci-runtime-plan", os.MFD_CLOEXEC)
    data = memoryview(plan)
    while data:
        data = data[os.write(fd, data):]
    os.lseek(fd, 0, 0)  # SEEK_SET (os.py's name)
    return fd
