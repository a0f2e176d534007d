"""create: from a checked config to an init waiting for `start`.

Process tree and messages (process/messages.py has the wire format):

  create (parent, Python)
   |  makes the state dir and exec fifo; forks; makes the cgroups and sets
   |  their limits while the child loads its modules; sends {"cgroups"}
   +- intermediate (Python, process/container_init.py): waits for
   |    {"cgroups"}, joins the cgroups, setns() into joined namespaces,
   |    unshare()s the new ones, forks, sends {"pid"}, exits
   |    +- init (Python, pid 1 of a new pid namespace): mounts, /dev,
   |         pivot_root, hostname, rlimits, resolves the executable, then
   |         execs the static C waiter from a sealed memfd
   |           = oci-runtime-init (C): user, groups, capabilities,
   |             no_new_privs, cwd, fd hygiene, sends {"ready"}, blocks on
   |             the exec fifo until `start`, execs process.args
  create reads messages until "ready" (success) or "error"/EOF (failure,
  after which everything it made is removed again).

The intermediate is skipped in the common case (a new pid namespace, no user
or time namespace, no pid namespace to join): create forks the init straight
into a new pid namespace (spawn.fork_into_new_pid_namespace), and the init
itself joins its cgroups and unshares the other namespaces, then sends {"pid"}
without a pid (create knows it from the fork).  That saves a fork of the
interpreter and its exit on every create.  A user namespace must own the pid
namespace, and time offsets must be written before a process enters the time
namespace, so those still go through the intermediate.

The parent is a child subreaper while it works, so if anything fails the
init is re-parented to it and can be killed and reaped.
"""
import os
from oci_runtime import signals as signal  # signal without its enum imports

from oci_runtime import (atomicfile, cgroups, faults, log, namespace_settings, namespaces, own_privileges,
                         process_attributes)
from oci_runtime import state as state_mod
from oci_runtime.cgroups import warmup
from oci_runtime.cgroups.parents import RootLock, register as register_parents, remove_unused as remove_unused_parents
from oci_runtime.errors import ConfigError, OCIError
from oci_runtime.process import container_init, waiter_plan
from oci_runtime.process.messages import describe, send
from oci_runtime.process.spawn import (AwaitReady, died_before_ready, fork_into_new_pid_namespace,
                                       fork_with_channel, hand_seccomp_listener, reap)


class CreateOptions:
    def __init__(self, bundle, console_socket="", pid_file="", no_pivot=False,
                 no_new_keyring=False, preserve_fds=0, console_connection=None, systemd_cgroup=False,
                 rootless=False):
        self.bundle = bundle
        self.systemd_cgroup = systemd_cgroup  # --systemd-cgroup: the cgroup is a systemd scope
        self.rootless = rootless  # --rootless, decided (rootless.detect): cgroups are optional
        self.console_socket = console_socket
        self.pid_file = pid_file
        self.no_pivot = no_pivot
        self.no_new_keyring = no_new_keyring
        self.preserve_fds = preserve_fds
        # An already connected console socket (used by `run` to relay a pty itself:
        # the pty gets ONLCR cleared, as runc's relay does).
        self.console_connection = console_connection


# ------------------------------------------------------------------ checks

def rootfs_directory(root_path, bundle):
    """root.path as a directory of the host, refused (as runc) when it is a symlink
    or passes through one: a relative root.path is joined to the bundle's real
    path, and the result must be its own real path.  A rootfs reached through a
    symlink could be re-pointed between this check and the mounts, and the
    state's "rootfs" would not name what the container got."""
    base = root_path if os.path.isabs(root_path) else os.path.join(os.path.realpath(bundle), root_path)
    rootfs_dir = os.path.normpath(base)
    if not os.path.isdir(rootfs_dir):
        raise ConfigError("root.path", f"rootfs {rootfs_dir} does not exist or is not a directory")
    real = os.path.realpath(rootfs_dir)
    if real != rootfs_dir:
        raise ConfigError("root.path", f"invalid rootfs: not an absolute path, or a symlink: {root_path!r} "
                          f"leads to {real} through a symlink (set root.path to {real})")
    return rootfs_dir


def check_host_side(config, bundle, opts):
    """Checks that need the host but create nothing.  Returns the rootfs path and namespace plan."""
    rootfs_dir = rootfs_directory(config["root"]["path"], bundle)
    new_flags, joins, types = namespaces.plan(config)
    for field in ("hostname", "domainname"):  # a new UTS namespace or a joined one, never the host's
        if config.get(field) and not namespaces.private("uts", new_flags, joins):
            raise ConfigError(field, f"unable to set {field} without a private UTS namespace")
    if new_flags & namespaces.FLAGS["user"]:
        linux = config["linux"]
        for key in ("uidMappings", "gidMappings"):
            if not linux.get(key):
                raise ConfigError(f"linux.{key}", "required when a new user namespace is created")
        from oci_runtime.process import id_maps

        id_maps.check(config)
    namespace_settings.check(config, new_flags, joins)
    process_attributes.check(config)
    own_user_namespace = bool(new_flags & namespaces.FLAGS["user"]) or any(kind == "user" for kind, _ in joins)
    own_privileges.check_capabilities(config["process"], own_user_namespace)
    own_privileges.check_rlimits(config["process"], own_user_namespace)
    if config["linux"].get("seccomp"):
        from oci_runtime import seccomp

        seccomp.check(config["linux"]["seccomp"])
    if config["linux"].get("netDevices"):
        from oci_runtime import netdevices

        netdevices.check(config, new_flags)
    has_console = bool(opts.console_socket or opts.console_connection)
    if config["process"].get("terminal") and not has_console:
        raise OCIError("cannot allocate tty if oci-runtime will detach without setting console socket")
    if not config["process"].get("terminal") and has_console:
        raise OCIError("cannot use console socket if oci-runtime will not detach or allocate tty")
    if not os.path.exists(waiter_plan.WAITER):
        raise OCIError(f"installation is incomplete: {waiter_plan.WAITER} is missing (reinstall oci-runtime)")
    return rootfs_dir, new_flags, joins


# ------------------------------------------------------------------ parent

class Spawn:
    """Everything the forked children need, made by the parent before it forks.

    The exec fifo and the waiter's memfd are opened here, as host root: a
    container root mapped to another host uid could not open them later.
    """

    def __init__(self, st, config, opts, rootfs_dir, new_flags, joins, cgroup, console):
        self.st = st
        self.config = config
        self.opts = opts
        self.rootfs_dir = rootfs_dir
        self.new_flags = new_flags
        self.joins = joins
        self.cgroup = cgroup  # the driver (cgroups/): its module is loaded, the children use it
        self.console = console
        self.fifo_fd = self.waiter_fd = -1
        self.decided = None
        self.setgroups_denied = False
        if self.new_user_namespace:
            from oci_runtime.process import id_maps

            self.setgroups_denied = id_maps.setgroups_denied(config["linux"])
        try:
            self.fifo_fd = os.open(st.fifo_path, os.O_RDWR | os.O_CLOEXEC)
            self.waiter_fd = waiter_plan.sealed_copy(waiter_plan.WAITER)
            # Compiled here, on the host side: its messages reach --log, its errors come
            # before any namespace exists, and libseccomp is not needed inside.
            seccomp_plan = waiter_plan.compile_seccomp(config["linux"].get("seccomp"), os.path.dirname(st.directory))
            self.decided = waiter_plan.HostDecisions(config["process"], opts.preserve_fds, seccomp_plan,
                                                     may_set_groups=not self.setgroups_denied)
        except OSError as exc:
            self.close()
            raise OCIError(f"preparing the container's init: {describe(exc)}") from None
        except BaseException:
            self.close()
            raise

    def load_modules(self):
        """Import what the init will need, in the forked child before it seals its
        imports (importguard.py) and before it enters any namespace: still the
        host's files.  Done there, not in the parent, so it overlaps the parent
        making the cgroups (the child waits for "cgroups" before it joins them)."""
        from oci_runtime.rootfs import assemble, inroot  # noqa: F401
        if any(_uses_special_mount(entry) for entry in self.config["mounts"]):
            from oci_runtime.rootfs import special_mounts  # noqa: F401
        if self.console is not None:
            from oci_runtime.rootfs import console  # noqa: F401
        if self.config["hooks"]:
            from oci_runtime import hooks  # noqa: F401
        if self.new_flags & namespaces.FLAGS["user"]:
            from oci_runtime.process import mount_sources  # noqa: F401
        if self.config["linux"]["sysctl"] or self.decided.lsm:
            from oci_runtime import procfs  # noqa: F401

    def close(self):
        """Close what was opened (also of a half-made Spawn); safe to call twice."""
        for name in ("fifo_fd", "waiter_fd"):
            fd = getattr(self, name)
            if fd >= 0:
                os.close(fd)
                setattr(self, name, -1)
        if self.decided is not None and self.decided.seccomp_plan is not None:
            os.close(self.decided.seccomp_plan[0])
            self.decided.seccomp_plan = None

    @property
    def host_mount_namespace(self):
        """No mount namespace in the config: the host's is shared (rootfs/host_mounts.py)."""
        return namespaces.shares_host_mounts(self.config)

    @property
    def new_user_namespace(self):
        return bool(self.new_flags & namespaces.FLAGS["user"])


def _uses_special_mount(entry):
    """tmpcopyup, idmap or ridmap among a mount's options (rootfs/special_mounts.py)."""
    return bool({"tmpcopyup", "idmap", "ridmap"} & set(entry.get("options") or ()))


def create(root, container_id, config, opts):
    """Create the container; returns its State (status created)."""
    bundle = os.path.abspath(opts.bundle)
    rootfs_dir, new_flags, joins = check_host_side(config, bundle, opts)
    log.debug(f"create {container_id}: config and host checked (bundle {bundle}, rootfs {rootfs_dir})")
    console = opts.console_connection
    if console is None and opts.console_socket:
        from oci_runtime.process.terminal import connect_console_socket

        console = connect_console_socket(opts.console_socket)
    directory, lock = state_mod.make_container_dir(root, container_id)
    st = state_mod.State.new(directory, container_id, bundle, config)
    st.data["rootfs"] = rootfs_dir
    made = {"cgroup": None, "created": [], "pid": 0}
    spawn = None
    try:
        faults.point("create:after-state-dir")
        cgroup = cgroups.for_container(config["linux"].get("cgroupsPath"), container_id, opts.systemd_cgroup,
                                       config.get("annotations"), opts.rootless)
        cgroup.check_joinable()
        if namespaces.shares_host_mounts(config):
            from oci_runtime.rootfs import host_mounts

            st.private["host_mounts_before"] = host_mounts.ids_under(rootfs_dir)  # saved with "creating"
        _save_creating(st, cgroup, new_flags, config)
        faults.point("create:after-creating-state")
        os.mkfifo(st.fifo_path, 0o622)
        spawn = Spawn(st, config, opts, rootfs_dir, new_flags, joins, cgroup, console)
        spawn.lock_fd = lock.fd
        _spawn(spawn, made, lambda first_pid: _make_cgroups(root, st, made, cgroup, config, first_pid))
        faults.point("create:after-ready")
        if opts.pid_file:
            atomicfile.write_pid_file(opts.pid_file, st.pid)
        st.data["status"] = "created"
        st.save(recovery=False)  # recovery.json was written when the init's pid came
        log.debug(f"create {container_id}: created, init pid {st.pid} waiting on the exec fifo")
        faults.point("create:after-state")
        return st
    except BaseException:
        if spawn is not None:  # first: the clean-up needs descriptors too (EMFILE)
            spawn.close()
            spawn = None
        _undo(st, made)
        raise
    finally:
        if spawn is not None:
            spawn.close()
        if console is not None:
            console.close()
        lock.release()


def _make_cgroups(root, st, made, cgroup, config, first_pid):
    """The container's cgroups, with their limits, before its first process joins.
    Runs while the forked child loads its modules (see _spawn)."""
    made["cgroup"] = cgroup
    faults.point("create:before-cgroup-lock")
    with RootLock(root) as held:  # see cgroups/parents.py: shared parents
        # Listed before they are made: a create killed in between leaves a listed
        # parent that does not exist (harmless), never an unlisted one that does.
        # What is missing is asked again here, under the lock: a parent that
        # existed when the "creating" record was written may have been removed
        # since by the delete of the last container in it, and is made again now.
        register_parents(held, set(st.private["cgroups_created"]) | set(cgroup.missing()), cgroup.paths)
        made["created"] = cgroup.create(first_pid, config["linux"]["resources"])
        faults.point("create:cgroups-made")
        register_parents(held, made["created"], cgroup.paths)
    st.private["cgroups_created"] = made["created"]
    faults.point("create:after-cgroup")
    _apply_resources(cgroup, config)
    log.debug(f"create {st.id}: cgroups made, resources applied: {', '.join(sorted(set(cgroup.paths.values())))}")


def _save_creating(st, cgroup, new_flags, config):
    """Crash safety: before anything is made on the host, state.json says
    "creating", who is creating it, and which cgroups it will make, so a
    `delete --force` after a crash anywhere later finds and removes it all
    (docs/reliability.md)."""
    me = state_mod.process_start_time(os.getpid())
    st.private.update(cgroups=cgroup.paths, cgroup_driver=cgroup.name, frozen_probe=cgroup.frozen_probe(),
                      cgroups_left_out=list(cgroup.left_out),
                      cgroups_created=cgroup.missing(),
                      creator={"pid": os.getpid(), "start_time": me[1] if me else None},
                      new_namespaces=new_flags, hooks=config["hooks"],
                      resources=config["linux"]["resources"])
    st.save()


def _apply_resources(cgroup, config, deferred=False):
    """Limits and device rules are in place before the first process joins; the
    deferred ones (pids) once the init exists, still before any user code runs."""
    from oci_runtime.cgroups import devices

    cgroup.apply(config["linux"]["resources"], deferred)
    if not deferred:
        devices.apply(cgroup, config)


def _spawn(spawn, made, make_cgroups):
    """Fork the first child, then make the cgroups while it loads its modules (two
    cores do both at once); "cgroups" tells it they are ready to join."""
    direct = _init_can_be_forked_directly(spawn)

    def serve(reader, pid):
        try:
            make_cgroups(pid)
        except BaseException:
            reap(pid)  # it waits for "cgroups": not in any cgroup, no namespace joined
            raise
        send(reader.fd, "cgroups")
        return _AwaitInit(reader, pid, spawn, made, direct).run()

    if direct:
        fork_with_channel(lambda fd: container_init.direct_init(fd, spawn), serve, fork=fork_into_new_pid_namespace)
    else:
        fork_with_channel(lambda fd: container_init.intermediate(fd, spawn), serve)


def _init_can_be_forked_directly(spawn):
    """True when no intermediate is needed (see the module docstring).  Not for a
    caller that is not the host's root: once unshared, it could not setns back
    into its own pid namespace (owned by a user namespace above it: rootless)."""
    from oci_runtime import rootless

    flags = namespaces.FLAGS
    return (rootless.host_root() and bool(spawn.new_flags & flags["pid"])
            and not spawn.new_flags & (flags["user"] | flags["time"])
            and not any(kind in ("user", "pid", "time") for kind, _ in spawn.joins))


class _AwaitInit(AwaitReady):
    """create's side of the channel: the children's requests until the C init says
    "ready".  ``child_pid`` is the process create forked: the intermediate, or with
    ``child_is_init`` the init itself."""

    def __init__(self, reader, child_pid, spawn, made, child_is_init):
        super().__init__(reader, child_pid)
        self.spawn, self.made, self.child_is_init = spawn, made, child_is_init
        self.hooks_requested = False
        self.source_requests = []

    def died(self):
        return died_before_ready(self.made["pid"] or self.child_pid, self.spawn.cgroup)

    def on_userns(self, message):
        from oci_runtime.process import id_maps

        id_maps.write(self.child_pid, self.spawn.config["linux"])
        send(self.reader.fd, "continue")

    def on_hooks(self, message):
        self.hooks_requested = True

    def on_mountsource(self, message):
        """The init (user namespace) cannot reach a bind source: open it for it
        (process/mount_sources.py), once the init's pid is known."""
        self.source_requests.append(str(message.get("path", "")))

    def on_pid(self, message):
        faults.point("create:after-fork")
        warmup.attached()  # the init is in its cgroups: the launcher's helper may stop
        spawn, st = self.spawn, self.spawn.st
        if self.child_is_init:
            init_pid = self.child_pid
        else:
            init_pid = message["pid"]
            os.waitpid(self.child_pid, 0)  # the intermediate exits once it has said "pid"
        self.made["pid"] = st.data["pid"] = self.pid = init_pid
        log.debug(f"create {st.id}: init forked, pid {init_pid}")
        self.child_pid = 0
        info = state_mod.process_start_time(init_pid)
        st.private["init_start_time"] = info[1] if info else None
        st.save_recovery()  # now, while the init sets itself up, not after "ready"
        process_attributes.set_oom_score_adj(init_pid, spawn.config["process"])
        _apply_resources(spawn.cgroup, spawn.config, deferred=True)
        net_devices = spawn.config["linux"].get("netDevices")
        if net_devices:
            from oci_runtime import netdevices

            netdevices.move_all(net_devices, init_pid)

    def on_ready(self, message):
        faults.point("create:before-ready")
        super().on_ready(message)

    def hand_listener(self, listener):
        from oci_runtime import hooks

        hand_seccomp_listener(self.reader.fd, listener, self.spawn.config["linux"]["seccomp"], self.pid,
                              hooks.hook_state(self.spawn.st, "creating"))

    def after_message(self):
        while self.source_requests and self.pid:
            from oci_runtime.process import mount_sources

            mount_sources.serve(self.reader.fd, self.pid, self.source_requests.pop(0), self.spawn.rootfs_dir)
        if self.hooks_requested and self.pid:
            self.hooks_requested = False
            from oci_runtime import hooks

            send(self.reader.fd, "continue", state=hooks.run_create_runtime(self.spawn.st))

    def finish(self):
        if self.child_pid:
            reap(self.child_pid)


def _undo(st, made):
    """Remove everything a failed create made: init, cgroups, mounts on the host, state dir."""
    if made["pid"]:
        reap(made["pid"])
    cgroup = made["cgroup"]
    if cgroup is not None:
        for pid in cgroup.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            cgroup.remove()
            remove_unused_parents(os.path.dirname(st.directory), cgroup.paths,
                                  set(st.private.get("cgroups_created") or ()) | set(made["created"]))
        except OSError as exc:
            log.warn(f"cleanup after failed create: {describe(exc)}")
    if st.private.get("host_mounts_before") is not None:  # no mount namespace of its own
        from oci_runtime.rootfs import host_mounts

        try:
            host_mounts.unmount_for(st)
        except OCIError as exc:  # the state stays, so that delete --force can try again
            log.warn(f"cleanup after failed create: {exc}")
            return
    state_mod.remove_state_dir(st.directory)

