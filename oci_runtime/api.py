"""The public Python API: oci-runtime as a library (docs/api.md).

    from oci_runtime.api import Runtime

    rt = Runtime(root="/run/oci-runtime")
    rt.create("web", "/srv/bundles/web")
    rt.start("web")
    rt.state("web").status            # "running"
    rt.kill("web", "SIGTERM")
    rt.delete("web", force=True)
    status = rt.run("job", "/srv/bundles/job")    # waits; the exit status
    rt.update("db", {"memory": {"limit": 256 << 20}})
    for event in rt.events("db", interval=5):     # Event(type="stats"|"oom", ...)
        ...

It does what the command line does, through the same functions (lifecycle/),
with the same state under ``root``: a container made here is seen by
`oci-runtime --root ROOT list`, and the other way round.  Failures raise
oci_runtime.errors.OCIError or one of its subclasses (re-exported here), whose
text is runc's message; nothing is printed (warnings go to the log, stderr by
default).

Two things differ from a command that exits at once: the calling process is
the parent of a container's init it created, and ``delete`` collects it; and
``run`` and ``exec`` wait without installing signal handlers (the CLI's signal
proxy), so they can be called from any thread.
"""
import os
from typing import Iterator

from oci_runtime import config as config_mod, rootless as rootless_mod
from oci_runtime.errors import (ConfigError, ContainerExists, ContainerNotFound, ContainerNotRunning,
                                ContainerStateError, ExecFailed, OCIError)

__all__ = ["Runtime", "State", "Event", "OCIError", "ConfigError", "ContainerExists", "ContainerNotFound",
           "ContainerNotRunning", "ContainerStateError", "ExecFailed", "DEFAULT_ROOT"]

DEFAULT_ROOT = "/run/oci-runtime"  # the host's root; a rootless caller's default is rootless.default_root()


class State:
    """A container's state, as `oci-runtime state` prints it (runtime-spec's state).

    ``status`` is read from the kernel when the State is made: "created",
    "running", "paused" or "stopped"; ``pid`` is 0 once stopped.
    """

    __slots__ = ("oci_version", "id", "pid", "status", "bundle", "rootfs", "created", "owner", "annotations",
                 "_doc")

    def __init__(self, doc: dict):
        self._doc = dict(doc)
        self.oci_version: str = doc.get("ociVersion", "")
        self.id: str = doc["id"]
        self.pid: int = doc.get("pid", 0)
        self.status: str = doc["status"]
        self.bundle: str = doc.get("bundle", "")
        self.rootfs: str = doc.get("rootfs", "")
        self.created: str = doc.get("created", "")
        self.owner: str = doc.get("owner", "")
        self.annotations: dict = dict(doc.get("annotations") or {})

    def to_dict(self) -> dict:
        """The state document exactly as `oci-runtime state` prints it (keys in its order)."""
        return dict(self._doc)

    def __repr__(self) -> str:
        return f"State(id={self.id!r}, status={self.status!r}, pid={self.pid})"


class Event:
    """One of a container's events, as a line of `oci-runtime events` reports it.

    ``type`` is "stats" (``data``: the statistics, as ``Runtime.stats`` returns
    them) or "oom" (the kernel OOM-killed a task in the container; ``data`` None).
    """

    __slots__ = ("type", "id", "data")

    def __init__(self, kind: str, container_id: str, data: dict | None = None):
        self.type = kind
        self.id = container_id
        self.data = data

    def to_dict(self) -> dict:
        """The event as runc's `events` prints it: {"type", "id"[, "data"]}."""
        line: dict = {"type": self.type, "id": self.id}
        if self.data is not None:
            line["data"] = self.data
        return line

    def __repr__(self) -> str:
        return f"Event(type={self.type!r}, id={self.id!r})"


class Runtime:
    """The containers kept under one state directory (the CLI's --root)."""

    def __init__(self, root: str | None = None, *, systemd_cgroup: bool = False, rootless: str = "auto"):
        """``root``: the CLI's --root, with its default (/run/oci-runtime, or
        $XDG_RUNTIME_DIR/oci-runtime for a rootless caller: docs/rootless.md).
        ``systemd_cgroup``: the CLI's --systemd-cgroup, for the containers this
        object creates (their cgroup is a systemd scope: docs/cgroups.md).
        ``rootless``: the CLI's --rootless ("auto", "true" or "false")."""
        self.root = os.path.abspath(root or rootless_mod.default_root())
        self.systemd_cgroup = systemd_cgroup
        self.rootless = rootless_mod.detect(rootless)

    # ---------------------------------------------------------------- lifecycle

    def create(self, container_id: str, bundle: str, *, console_socket: str = "", pid_file: str = "",
               no_pivot: bool = False, no_new_keyring: bool = False, preserve_fds: int = 0) -> State:
        """Create the container from ``bundle`` (a directory with config.json); its
        init waits for start().  Raises ConfigError naming the field of a bad config."""
        from oci_runtime.lifecycle.create import create

        opts = self._create_options(bundle, console_socket, pid_file, no_pivot, no_new_keyring, preserve_fds)
        create(self.root, container_id, config_mod.load(opts.bundle), opts)
        return self.state(container_id)

    def start(self, container_id: str) -> None:
        """Let the created container's init run process.args."""
        from oci_runtime.lifecycle.start import start

        start(self.root, container_id)

    def run(self, container_id: str, bundle: str, *, detach: bool = False, keep: bool = False,
            console_socket: str = "", pid_file: str = "", no_pivot: bool = False,
            no_new_keyring: bool = False, preserve_fds: int = 0) -> int:
        """create + start; unless ``detach``, wait for the init and return its exit
        status (128+N when killed by signal N), then delete the container (unless ``keep``)."""
        from oci_runtime.lifecycle.run import run

        opts = self._create_options(bundle, console_socket, pid_file, no_pivot, no_new_keyring, preserve_fds)
        return run(self.root, container_id, config_mod.load(opts.bundle), opts, detach=detach, keep=keep,
                   forward_signals=False)

    def exec(self, container_id: str, args: list | None = None, *, process: dict | None = None,
             env: tuple = (), cwd: str = "", user: str = "", tty: bool = False, detach: bool = False,
             console_socket: str = "", pid_file: str = "", additional_gids: tuple = (), caps: tuple = (),
             no_new_privs: bool = False, preserve_fds: int = 0, ignore_paused: bool = False,
             cgroup: tuple = ()) -> int:
        """Run ``args`` in the container (its config.process with these overrides), or
        a whole runtime-spec ``process`` object.  Returns the exit status, or 0 with
        ``detach``.  ``cgroup``: exec --cgroup's values ("sub", "memory:sub"): existing
        sub-cgroups of the container's to run in.  A process that cannot be started
        raises OCIError (the CLI turns it into runc's "exec failed: ..." and 255)."""
        from oci_runtime.lifecycle.execute import ExecOptions, execute

        if process is not None:
            config_mod.check_process(process)
        opts = ExecOptions(console_socket=console_socket, pid_file=pid_file, detach=detach,
                           preserve_fds=preserve_fds, tty=tty, env=env, cwd=cwd, user=user,
                           additional_gids=additional_gids, caps=caps, no_new_privs=no_new_privs,
                           ignore_paused=ignore_paused, cgroup=cgroup)
        return execute(self.root, container_id, opts, args=list(args or ()), process=process,
                       forward_signals=False)

    def kill(self, container_id: str, signal: int | str = "SIGTERM", *, all_processes: bool = False) -> None:
        """Send ``signal`` (a number, or a name: "KILL", "SIGKILL") to the init, or to
        every process of the container with ``all_processes``."""
        from oci_runtime.lifecycle.kill import kill

        kill(self.root, container_id, signal, all_processes=all_processes)

    def delete(self, container_id: str, *, force: bool = False) -> None:
        """Remove a stopped or created container; ``force`` kills a running one first
        and makes a missing one no error."""
        from oci_runtime.lifecycle.delete import delete

        delete(self.root, container_id, force=force)

    def pause(self, container_id: str) -> None:
        from oci_runtime.lifecycle.pause import pause

        pause(self.root, container_id)

    def resume(self, container_id: str) -> None:
        from oci_runtime.lifecycle.pause import resume

        resume(self.root, container_id)

    def update(self, container_id: str, resources: dict) -> None:
        """Change a running container's limits.  ``resources`` is a linux.resources
        object holding only what changes ({"memory": {"limit": 256 << 20}},
        {"pids": {"limit": 100}}); it is merged into the limits already set, as
        `oci-runtime update --resources` does.  A bad value raises ConfigError
        naming the field (``linux.resources.memory.limit``)."""
        from oci_runtime.lifecycle.update import update

        update(self.root, container_id, resources)

    # ---------------------------------------------------------------- queries

    def state(self, container_id: str) -> State:
        from oci_runtime.lifecycle.query import state

        return State(state(self.root, container_id))

    def pids(self, container_id: str) -> list:
        """The host pids of every process in the container."""
        from oci_runtime.lifecycle.query import pids

        return pids(self.root, container_id)

    def stats(self, container_id: str) -> dict:
        """The container's statistics, as `oci-runtime events --stats` reports them
        ("cpu", "memory", "pids", "blkio", "hugetlb", ...: runc's names and units)."""
        from oci_runtime.lifecycle.events import stats

        return stats(self.root, container_id)

    def events(self, container_id: str, interval: float = 5.0) -> Iterator[Event]:
        """Yield a "stats" Event every ``interval`` seconds and an "oom" Event whenever
        the kernel OOM-kills a task in the container, until the container stops
        (`oci-runtime events`).  Stop early by closing the generator (``break``)."""
        from oci_runtime.lifecycle.events import watch

        if not interval > 0:
            raise OCIError(f"interval {interval!r}: duration interval must be greater than 0")
        stream = watch(self.root, container_id, interval)  # raises now for a missing or stopped container
        return (Event(kind, container_id, data) for kind, data in stream)

    def list(self) -> list:  # last: below it, "list" in this class would name the method
        """[State] of every container under the root."""
        from oci_runtime.lifecycle.query import list_states

        return [State(doc) for doc in list_states(self.root)]

    # ---------------------------------------------------------------- helpers

    def _create_options(self, bundle, console_socket, pid_file, no_pivot, no_new_keyring, preserve_fds):
        from oci_runtime.lifecycle.create import CreateOptions

        return CreateOptions(bundle=os.path.abspath(bundle), console_socket=console_socket, pid_file=pid_file,
                             no_pivot=no_pivot, no_new_keyring=no_new_keyring, preserve_fds=preserve_fds,
                             systemd_cgroup=self.systemd_cgroup, rootless=self.rootless)
