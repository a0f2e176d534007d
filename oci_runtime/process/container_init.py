"""The children of create: from the fork to the exec of the C waiter.

  intermediate   joins the cgroups, setns() into joined namespaces, unshare()s
                 the new ones, forks the init, sends {"pid"}, exits
  direct_init    the same, forked straight into a new pid namespace (no
                 intermediate: see lifecycle/create.py)
  _init          the init's set-up: mounts, /dev, pivot_root, hostname,
                 sysctls, rlimits, the executable; then it execs the waiter
                 (cffi_build/init.c) with the plan (waiter_plan.py)

Everything here runs with imports sealed (spawn.child_guard): what it needs is
loaded by ``Spawn.load_modules`` before the seal, and nothing read from the
container decides host-side policy (the parent decided that: waiter_plan.HostDecisions).
``spawn`` is lifecycle.create.Spawn: everything the children need, made by the parent.
"""
import errno
import os

from oci_runtime import faults, log, namespace_settings, namespaces, process_attributes, shim
from oci_runtime.errors import OCIError
from oci_runtime.lazyos import Environment  # os.environ.get without os.py
from oci_runtime.process import waiter_plan
from oci_runtime.process.messages import Reader, send
from oci_runtime.process.spawn import child_guard, hide_from_container, join_namespaces


def _enter_user_namespace(fd, spawn):
    """Unshare the user namespace alone, have the parent write the id maps, then
    become root in it, so every namespace created next is owned by it.

    A rootless parent can write /proc/PID/uid_map only while this process is
    dumpable (a non-dumpable process's /proc files belong to root): dumpable for
    the length of the exchange, as runc's nsexec does.  Nothing of the container
    exists yet -- this new user namespace holds this process alone -- so there is
    no one to exploit the window."""
    rootless = os.geteuid() != 0  # asked first: unmapped, every uid reads as the overflow uid
    try:
        shim.unshare(namespaces.FLAGS["user"])
    except OSError as exc:
        raise OCIError(f"creating the user namespace: {exc.strerror}") from None
    if rootless:
        shim.prctl(shim.PR_SET_DUMPABLE, 1)
    send(fd, "userns")
    reply = Reader(fd).next()
    if not reply or reply.get("type") != "continue":
        os._exit(1)  # the parent reports its own error
    if rootless:
        hide_from_container()


def _await_cgroups(fd):
    """Block until create has made the cgroups and set their limits (_spawn)."""
    reply = Reader(fd).next()
    if not reply or reply.get("type") != "cgroups":
        os._exit(1)  # create failed and reports its own error


def intermediate(fd, spawn):
    def body():
        hide_from_container()
        # The container lock stays with create: a child stuck in set-up must not
        # keep `delete --force` waiting after create itself was killed.
        os.close(spawn.lock_fd)
        _await_cgroups(fd)
        spawn.cgroup.enter(os.getpid())
        join_namespaces(spawn.joins)
        other_flags = spawn.new_flags
        if spawn.new_user_namespace:
            _enter_user_namespace(fd, spawn)
            other_flags &= ~namespaces.FLAGS["user"]
        if spawn.new_user_namespace or any(kind == "user" for kind, _ in spawn.joins):
            os.setresgid(0, 0, 0)
            os.setresuid(0, 0, 0)
        try:
            shim.unshare(other_flags)
        except OSError as exc:
            raise OCIError(f"creating namespaces: {exc.strerror}") from None
        namespace_settings.apply_time_offsets(spawn.config["linux"])
        try:
            pid = os.fork()
        except OSError as exc:
            raise OCIError(f"forking the container init: {exc.strerror}") from None
        if pid == 0:
            child_guard(fd, lambda: _init(fd, spawn))
        send(fd, "pid", pid=pid)

    child_guard(fd, body, spawn.load_modules)


def direct_init(fd, spawn):
    """The init forked straight into its new pid namespace: it does what the
    intermediate would have done for it (cgroups, joins, the other namespaces),
    then says so with a "pid" message that carries no pid, and goes on as the init.
    Its cgroups are joined before anything else runs: getpid() is 1 here, and a
    pid written to cgroup.procs is read in the writer's pid namespace."""
    def body():
        hide_from_container()
        os.close(spawn.lock_fd)  # see intermediate
        _await_cgroups(fd)
        spawn.cgroup.enter(os.getpid())
        join_namespaces(spawn.joins)
        try:
            shim.unshare(spawn.new_flags & ~namespaces.FLAGS["pid"])
        except OSError as exc:
            raise OCIError(f"creating namespaces: {exc.strerror}") from None
        send(fd, "pid")
        _init(fd, spawn)

    child_guard(fd, body, spawn.load_modules)


def _init(fd, spawn):
    config, opts = spawn.config, spawn.opts
    process = config["process"]
    if not opts.no_new_keyring:
        _join_session_keyring(spawn.st.id)
    os.chdir(spawn.st.data["bundle"])  # relative mount sources are relative to the bundle
    hook_state = {}
    before_pivot = None
    if config["hooks"]:
        from oci_runtime import hooks

        if hooks.wanted(config, hooks.CREATE_TIME):
            before_pivot = lambda: hook_state.update(  # noqa: E731
                _create_container_hooks(fd, config, spawn.rootfs_dir))
    notify = Environment.get("NOTIFY_SOCKET")
    if notify and notify.startswith("/") and os.path.exists(notify):
        config = dict(config, mounts=config["mounts"] + [
            {"destination": waiter_plan.NOTIFY_SOCKET_IN_CONTAINER, "type": "bind", "source": notify,
             "options": ["bind"]}])
    # The runtime's own procfs, opened before any of the config's mounts exist.
    needs_proc = config["linux"]["sysctl"] or spawn.decided.lsm
    proc_handle = None
    if needs_proc:
        from oci_runtime import procfs  # loaded by Spawn.load_modules

        proc_handle = procfs.open_handle()
    from oci_runtime.rootfs import assemble, inroot  # loaded by Spawn.load_modules

    open_source = None
    if spawn.new_flags & namespaces.FLAGS["user"]:
        from oci_runtime.process import mount_sources  # loaded by Spawn.load_modules

        open_source = mount_sources.requester(fd)
    assemble.prepare(config, spawn.rootfs_dir, opts.no_pivot, spawn.cgroup,
                     bool(spawn.new_flags & namespaces.FLAGS["cgroup"]), before_pivot, open_source,
                     host_mount_namespace=spawn.host_mount_namespace)
    faults.point("create:after-pivot")
    log.debug("init: mounts made, root pivoted")  # relayed to create (log.relay_to)
    if config.get("hostname"):
        shim.sethostname(config["hostname"])
    if config.get("domainname"):
        shim.setdomainname(config["domainname"])
    if spawn.new_flags & namespaces.FLAGS["network"]:
        namespace_settings.loopback_up()
    namespace_settings.apply_sysctls(proc_handle, config["linux"]["sysctl"])
    with inroot.Root.of_directory("/") as root:  # the container's, from here on
        if spawn.console is not None:
            from oci_runtime.rootfs import console  # loaded by Spawn.load_modules

            # console_connection is run's own relay (no --console-socket).
            console.setup_terminal(spawn.console, process, root, relayed=opts.console_connection is not None)
        waiter_plan.make_cwd(root, process.get("cwd", "/"))  # before a read-only root, as runc
        assemble.finish(config, root)
    process_attributes.apply(config, shim)
    waiter_plan.apply_rlimits(process["rlimits"])
    if "umask" in process["user"]:  # unset: keep the caller's, as the spec says
        os.umask(process["user"]["umask"])
    env = waiter_plan.environment(process, spawn.decided.listen_fds)
    exe = waiter_plan.find_executable(process["args"][0], env, process.get("cwd", "/"))
    hook_records = ()
    if config["hooks"].get("startContainer"):
        from oci_runtime import hooks

        hook_records = hooks.plan_records(config["hooks"], hook_state)
    plan_fd = waiter_plan.write_plan(fd, spawn.fifo_fd, process, spawn.decided, env, exe, hook_records, proc_handle)
    for inherited in (fd, spawn.fifo_fd, plan_fd):
        os.set_inheritable(inherited, True)
    log.debug(f"init: set-up done, exec'ing the waiter for {exe}")
    os.execve(spawn.waiter_fd, ["oci-runtime-init", str(plan_fd)], {})


def _create_container_hooks(fd, config, rootfs_dir):
    """In the init, before pivot_root: ask create to run prestart/createRuntime
    hooks, wait for it, then run createContainer hooks here, in the container's
    namespaces, with the rootfs as their working directory (runc's; the host's
    "/" would let a relative path in a hook write to the host).  Returns the
    state document (with the init's host pid)."""
    from oci_runtime import hooks

    send(fd, "hooks")
    reply = Reader(fd).next()
    if not reply or reply.get("type") != "continue":
        os._exit(1)  # create reports its own error and tears the container down
    hooks.run(config["hooks"], "createContainer", reply["state"], cwd=rootfs_dir)
    return reply["state"]


def _join_session_keyring(container_id):
    try:
        shim.keyctl_join_session(f"_ses.{container_id}")
    except OSError as exc:
        if exc.errno not in (errno.ENOSYS, errno.EPERM, errno.EACCES):
            raise OCIError(f"joining a new session keyring: {exc.strerror}") from None
