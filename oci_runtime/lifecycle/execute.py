"""exec: run another process in a created or running container.

The process is built like runc's: the container's config.process is the base,
then --process FILE replaces it, or the command line and flags override it
(args, --env appended, --cwd, --user, --additional-gids, --cap added, --tty,
--no-new-privs).  A forked child joins the container's cgroups and, through
/proc/<init>/ns/*, every namespace in which the init differs from us (user
first, mount last: setns into the mount namespace also moves root and cwd to
the container's root).  It forks once more to enter the pid namespace; that
process ends like create's init: rlimits, environment, executable found in
the container's PATH, then the C waiter (without a fifo: it execs at once).
Without detach, exec waits and returns the process's status (process/terminal.py).
"""
from oci_runtime import fastjson as json  # json without its re/enum imports
import os
from oci_runtime import signals as signal  # signal without its enum imports
from oci_runtime import sockets as socket  # socket without its enum imports

from oci_runtime import config as config_mod, faults, log, namespaces, shim
from oci_runtime.cgroups import warmup
from oci_runtime.errors import ContainerStateError, OCIError
from oci_runtime.process import terminal, waiter_plan
from oci_runtime.process.messages import send
from oci_runtime.process.spawn import (AwaitReady, child_guard, fork_with_channel, hand_seccomp_listener,
                                       hide_from_container)
from oci_runtime.state import open_container

NS_FILES = {"user": "user", "ipc": "ipc", "uts": "uts", "network": "net", "pid": "pid",
            "cgroup": "cgroup", "time": "time", "mount": "mnt"}


class ExecOptions:
    """How to run the process (runc exec's flags).  The overrides (tty ...
    no_new_privs) change the container's config.process; they are not used when
    a whole process object is given."""

    def __init__(self, console_socket="", pid_file="", detach=False, preserve_fds=0, tty=False, env=(),
                 cwd="", user="", additional_gids=(), caps=(), no_new_privs=False, ignore_paused=False,
                 cgroup=()):
        self.console_socket = console_socket
        self.pid_file = pid_file
        self.detach = detach
        self.preserve_fds = preserve_fds
        self.tty = tty
        self.env = list(env)
        self.cwd = cwd
        self.user = user
        self.additional_gids = list(additional_gids)
        self.caps = list(caps)
        self.no_new_privs = no_new_privs
        self.ignore_paused = ignore_paused
        self.sub_cgroups = parse_sub_cgroups(cgroup)


def parse_sub_cgroups(args):
    """exec --cgroup [CONTROLLER[,CONTROLLER...]:]PATH, read as runc reads it:
    {controller: path}, "" for every hierarchy (the one form cgroup v2 takes).
    The paths are relative to the container's cgroup (Cgroup.within checks them)."""
    subs = {}
    for arg in args or ():
        controllers, sep, path = arg.partition(":")
        if not sep:
            if len(args) != 1:
                raise OCIError(f"invalid --cgroup argument: {arg} (missing <controller>: prefix)")
            subs[""] = arg
            continue
        for controller in controllers.split(","):
            if not controller:
                raise OCIError(f"invalid --cgroup argument: {arg} (empty <controller> prefix)")
            if controller in subs:
                raise OCIError(f"invalid --cgroup argument(s): controller {controller} specified multiple times")
            subs[controller] = path
    return subs

def read_process_file(path):
    """exec --process FILE: a whole process object, checked like config.process."""
    with open(path) as f:
        try:
            process = json.load(f)
        except ValueError as exc:
            raise OCIError(f"--process {path}: invalid JSON: {exc}") from None
    config_mod.check_process(process)
    return process


def build_process(config, opts, args):
    """config.process with ``args`` and the overrides of ``opts`` (ExecOptions), as runc's exec builds it."""
    process = json.loads(json.dumps(config["process"]))
    if not args:
        raise OCIError("exec: a command or --process is required")
    process["args"] = list(args)
    process["terminal"] = bool(opts.tty)
    process["env"] = process["env"] + opts.env
    if opts.cwd:
        process["cwd"] = opts.cwd
    if opts.user:
        uid, _, gid = opts.user.partition(":")
        try:
            process["user"] = {"uid": int(uid), "gid": int(gid or 0)}
        except ValueError:
            raise OCIError(f"--user {opts.user}: expected UID[:GID] as numbers") from None
    if opts.additional_gids:
        process.setdefault("user", {"uid": 0, "gid": 0})["additionalGids"] = [int(g) for g in opts.additional_gids]
    if opts.caps:
        # runc 1.1.5's exec.go: bounding, effective, permitted and ambient, not
        # inheritable (CVE-2022-29162); so the ambient entry is raised only where the
        # config's inheritable already has it (capabilities.raisable_ambient).
        caps = process.setdefault("capabilities", {})
        for name in ("bounding", "effective", "permitted", "ambient"):
            caps[name] = list(dict.fromkeys((caps.get(name) or []) + opts.caps))
    if opts.no_new_privs:
        process["noNewPrivileges"] = True
    config_mod.check_process(process)
    return process


def _in_own_user_namespace(pid):
    """Whether the container's init is in a user namespace other than ours."""
    try:
        return os.readlink(f"/proc/{pid}/ns/user") != os.readlink("/proc/self/ns/user")
    except FileNotFoundError:
        return False


def _may_set_groups(pid, process, separate_user_namespace):
    """For a container with its own user namespace: the process's ids must be mapped
    there (the kernel's maps of the init), and False when the namespace denies
    setgroups (rootless: process/id_maps.py); additionalGids are then refused, as
    runc does."""
    if not separate_user_namespace:
        return True
    from oci_runtime.process import id_maps

    try:
        uid_maps, gid_maps = id_maps.read_maps(pid)
    except OSError:
        uid_maps = gid_maps = None  # the init is going: the join reports it
    if uid_maps is not None:
        id_maps.check_user_is_mapped(process["user"], uid_maps, gid_maps, "the container's ")
    if id_maps.setgroups_allowed_in(pid):
        return True
    if process["user"].get("additionalGids"):
        raise id_maps.refuse_additional_gids("the container's user namespace denies setgroups")
    return False


def _namespaces_to_join(pid):
    """(type, fd) for every namespace where the init differs from us, in setns order."""
    joins = []
    for kind in namespaces.JOIN_ORDER:
        name = NS_FILES[kind]
        try:
            theirs = os.readlink(f"/proc/{pid}/ns/{name}")
        except FileNotFoundError:
            continue
        if theirs != os.readlink(f"/proc/self/ns/{name}"):
            joins.append((kind, os.open(f"/proc/{pid}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC)))
    return joins


def _child(fd, cgroup, process, joins, waiter_fd, console, relayed, decided, lock_fd):
    """The first child: joins the cgroups and namespaces, forks into the pid namespace."""
    def body():
        hide_from_container()
        if lock_fd >= 0:
            os.close(lock_fd)  # the lock stays with exec: a stuck child must not hold up delete
        cgroup.enter(os.getpid())
        for kind, ns_fd in joins:
            if kind == "root":
                os.fchdir(ns_fd)
                os.chroot(".")
                os.chdir("/")
                continue
            try:
                shim.setns(ns_fd, namespaces.FLAGS[kind])
            except OSError as exc:
                raise OCIError(f"joining the container's {kind} namespace: {exc.strerror}") from None
        if any(kind == "user" for kind, _ in joins):
            os.setresgid(0, 0, 0)
            os.setresuid(0, 0, 0)
        pid = os.fork()
        if pid == 0:
            child_guard(fd, lambda: _final(fd, process, waiter_fd, console, relayed, decided))
        send(fd, "pid", pid=pid)

    child_guard(fd, body)


def _final(fd, process, waiter_fd, console, relayed, decided):
    """``relayed``: exec relays the pty itself (no --console-socket)."""
    faults.point("exec:in-container")  # visible in the container's pid namespace from here
    if console is not None:
        from oci_runtime.rootfs import console as terminal  # loaded by _spawn before the fork
        from oci_runtime.rootfs.inroot import Root

        with Root.of_directory("/") as root:  # setns(mnt) made it the container's
            terminal.setup_terminal(console, process, root, bind_console=False, relayed=relayed)
    waiter_plan.apply_rlimits(process["rlimits"])
    if "umask" in process["user"]:
        os.umask(process["user"]["umask"])
    env = waiter_plan.environment(process, decided.listen_fds)
    exe = waiter_plan.find_executable(process["args"][0], env, process.get("cwd", "/"))
    proc_handle = None
    if decided.lsm:
        from oci_runtime import procfs  # loaded by _spawn

        proc_handle = procfs.open_handle()
    plan_fd = waiter_plan.write_plan(fd, None, process, decided, env, exe, (), proc_handle)
    for inherited in (fd, plan_fd):
        os.set_inheritable(inherited, True)
    os.execve(waiter_fd, ["oci-runtime-init", str(plan_fd)], {})


def execute(root, container_id, opts, args=(), process=None, forward_signals=True):
    """Run ``args`` (with the overrides of ``opts``, an ExecOptions) or the whole
    ``process`` object in the container.  Returns 0 when detached, else the
    process's exit status (128+N for signal N); ``forward_signals`` as in
    lifecycle.run."""
    st, lock = open_container(root, container_id)
    with lock:
        status = st.status()
        paused = status == "paused" and opts.ignore_paused
        if status == "paused" and not paused:
            # runc's words, hint included
            raise ContainerStateError("cannot exec in a paused container (use --ignore-paused to override)")
        if status not in ("created", "running") and not paused:
            raise ContainerStateError(f"cannot exec in a {status} container")
        config = config_mod.load(st.data["bundle"])
        if process is None:
            process = build_process(config, opts, args)
        from oci_runtime import own_privileges

        separate_user_namespace = _in_own_user_namespace(st.pid)
        own_privileges.check_capabilities(process, separate_user_namespace)
        own_privileges.check_rlimits(process, separate_user_namespace)
        profile = config["linux"].get("seccomp")
        if profile:
            from oci_runtime import seccomp  # imported here: the child cannot once it is inside

            seccomp.check(profile)
        if paused:
            # The new process joins a frozen cgroup and stays frozen until `resume`,
            # which takes this lock: holding it while waiting for "ready" would
            # deadlock.  As under runc (which has no lock across commands), a
            # `delete --force` meanwhile makes this exec fail, leaving nothing.
            lock.release()
        log.debug(f"exec {container_id}: joining the namespaces and cgroups of init pid {st.pid}")
        pid, master = _spawn(st, process, opts, profile, lock.fd, separate_user_namespace)
        log.debug(f"exec {container_id}: process pid {pid} started: {process['args'][0]}")
    if opts.pid_file:
        from oci_runtime.atomicfile import write_pid_file

        write_pid_file(opts.pid_file, pid)
    if opts.detach:
        return 0
    warmup.reap_helper()  # the launcher's cgroup warm-up helper: done by now
    if forward_signals:
        terminal.forward_signals(pid)
    return terminal.wait_in_foreground(pid, master)


def _spawn(st, process, opts, seccomp_profile, lock_fd, separate_user_namespace):
    """Fork the process; returns its pid and, for a relayed terminal, the pty master."""
    relay = None
    console = None
    may_set_groups = _may_set_groups(st.pid, process, separate_user_namespace)
    if process.get("terminal"):
        import oci_runtime.rootfs.console  # noqa: F401 - the child needs them and may not import
        import oci_runtime.rootfs.inroot  # noqa: F401
        if opts.console_socket:
            console = terminal.connect_console_socket(opts.console_socket)
        elif opts.detach:
            raise OCIError("cannot allocate tty if oci-runtime will detach without setting console socket")
        else:
            relay, console = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    import oci_runtime.rootfs.inroot  # noqa: F401 - the child may read /etc/passwd (HOME) and may not import
    joins = _namespaces_to_join(st.pid)
    if st.private.get("host_mounts_before") is not None:
        # No mount namespace to join (rootfs/host_mounts.py): the init's root is a
        # chroot in the host's, entered the same way -- first, while this process
        # still has CAP_SYS_CHROOT over the host's mount namespace.
        joins.insert(0, ("root", os.open(f"/proc/{st.pid}/root", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)))
    cgroup = st.cgroup()  # made here: the child may not import the driver's module
    if opts.sub_cgroups:
        cgroup = cgroup.within(opts.sub_cgroups)
    waiter_fd = waiter_plan.sealed_copy(waiter_plan.WAITER)
    # host side: logs reach --log
    seccomp_plan = waiter_plan.compile_seccomp(seccomp_profile, os.path.dirname(st.directory))
    decided = waiter_plan.HostDecisions(process, opts.preserve_fds or 0, seccomp_plan, may_set_groups)
    if decided.lsm:
        import oci_runtime.procfs  # noqa: F401 - the child needs it and may not import
    try:
        pid = fork_with_channel(
            lambda fd: _child(fd, cgroup, process, joins, waiter_fd, console, relay is not None, decided, lock_fd),
            lambda reader, child: _AwaitProcess(reader, child, st, seccomp_profile).run())
    finally:
        os.close(waiter_fd)
        if seccomp_plan is not None:
            os.close(seccomp_plan[0])
        for _, ns_fd in joins:
            os.close(ns_fd)
        if console is not None:
            console.close()
    return pid, (terminal.receive_master(relay) if relay else None)


class _AwaitProcess(AwaitReady):
    """exec's side of the channel: the first child reports the process's pid and
    exits; the C waiter says "ready" just before it execs."""

    failure = "exec failed"

    def __init__(self, reader, child_pid, st, seccomp_profile):
        super().__init__(reader, child_pid)
        self.st, self.seccomp_profile = st, seccomp_profile

    def died(self):
        if self.child_pid:
            os.waitpid(self.child_pid, 0)
        return "exec: the process exited before it was ready"

    def on_pid(self, message):
        faults.point("exec:after-fork")
        warmup.attached()  # the process is in the container's cgroups: the launcher's helper may stop
        self.pid = message["pid"]
        os.waitpid(self.child_pid, 0)
        self.child_pid = 0

    def failed(self):
        if self.child_pid:
            os.waitpid(self.child_pid, 0)
            self.child_pid = 0
            # The process's "error" can overtake the first child's "pid": read that
            # too, so the process is reaped as well.  Left unreaped (it was re-parented
            # here), it would stay a zombie in the container's pid namespace, and the
            # container's init could never finish exiting: a long-lived caller of the
            # Python API could then not delete the container.
            while not self.pid:
                message = self.reader.next()
                if message is None:
                    break
                if message.get("type") == "pid":
                    self.pid = message["pid"]
        if self.pid:
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass

    def hand_listener(self, listener):
        from oci_runtime import hooks

        try:
            hand_seccomp_listener(self.reader.fd, listener, self.seccomp_profile, self.pid,
                                  hooks.hook_state(self.st, self.st.status()))
        except OCIError:
            _kill_quietly(self.pid)
            raise


def _kill_quietly(pid):
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass

