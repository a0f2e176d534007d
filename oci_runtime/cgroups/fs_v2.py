"""The cgroup v2 driver: a pure cgroup2 ("unified") host.

One directory holds every controller's files.  Controllers are enabled down
the parents' cgroup.subtree_control as runc does (all the host offers when the
container's directory is made, so limits, stats and freezing work); freezing
is cgroup.freeze (done when cgroup.events says so), OOM kills are
memory.events', device rules are an eBPF program (devices_bpf.py).
"""
import os

from oci_runtime.cgroups import GONE, V2_KEY, Cgroup, oom_kill_count, read_file, write_and_wait
from oci_runtime.errors import OCIError
from oci_runtime.fileio import read_text, write_text


def recorded_by_it(paths):
    """True for the paths this driver records (a state without a driver name)."""
    return list(paths) == [V2_KEY]


class Driver(Cgroup):
    name = "fs_v2"

    @property
    def directory(self):
        """The container's cgroup2 directory; None for a rootless container left
        without one (cgroups.Cgroup.leave_out_unwritable)."""
        return self.paths.get(V2_KEY)

    def locate(self, controller):
        return (self.directory, 2) if self.directory else (None, 0)

    def writable(self, controller):
        return (self.directory, 2) if self.directory and offers(self.directory, controller) else (None, 0)

    def prepare_controllers(self, controllers):
        if self.directory:
            enable_controllers(self.directory, set(controllers) - {"cgroup"})

    def create(self, first_pid=0, resources=None):
        if not self.directory:
            return []
        created = []
        _mkdir_parents(self.directory, created)
        enable_controllers(self.directory, available_controllers(self.directory), best_effort=True)
        return created + super().create(first_pid, resources)

    def frozen_probe(self):
        return (os.path.join(self.directory, "cgroup.freeze"), "1") if self.directory else None

    def set_frozen(self, frozen, timeout=10.0):
        if not self.directory or not os.path.exists(os.path.join(self.directory, "cgroup.freeze")):
            if not frozen and not os.path.isdir(self.directory):
                return  # gone, and its tasks with it: nothing is frozen
            raise OCIError("no freezer cgroup for this container (neither v1 freezer nor cgroup.freeze)")
        want = "frozen 1" if frozen else "frozen 0"
        events = os.path.join(self.directory, "cgroup.events")
        try:
            write_and_wait(os.path.join(self.directory, "cgroup.freeze"), "1" if frozen else "0",
                           lambda: want in read_file(events).splitlines(), timeout)
        except OSError as exc:
            # Thawed tasks that were killed while frozen exit at once, and a cgroup
            # whose last task exited may go away under us (systemd drops an empty
            # scope): gone counts as thawed.
            if frozen or exc.errno not in GONE:
                raise


    def oom_kills(self):
        return oom_kill_count(os.path.join(self.directory, "memory.events")) if self.directory else 0

    def apply_device_rules(self, rules):
        from oci_runtime.cgroups import devices_bpf

        devices_bpf.load_and_attach(self.directory, rules)

    def container_view(self):
        if not self.directory:  # rootless, left without a cgroup: an empty tmpfs
            return "v1", []
        return "cgroup2", self.directory


def offers(directory, controller):
    """Whether the hierarchy offers ``controller`` ("cgroup" names the core files)."""
    return controller == "cgroup" or controller in available_controllers(directory)


def available_controllers(directory):
    """Controllers the cgroup2 hierarchy offers (read at its root)."""
    root = directory
    while os.path.exists(os.path.join(os.path.dirname(root), "cgroup.controllers")) and root != "/":
        root = os.path.dirname(root)
    try:
        with open(os.path.join(root, "cgroup.controllers")) as f:
            return set(f.read().split())
    except OSError:
        return set()


def enable_controllers(directory, controllers, best_effort=False):
    """Enable controllers in every ancestor's cgroup.subtree_control (top down).

    ``best_effort`` (create, which offers the container every controller it can):
    an ancestor that refuses -- not ours to write (a rootless caller's delegated
    subtree starts below it), or a controller it cannot enable -- ends the walk for
    the controllers it lacks, silently; the limits the config asks for are enabled
    again strictly (prepare_controllers), where a refusal is an error naming them."""
    chain = []
    path = directory
    while os.path.exists(os.path.join(os.path.dirname(path), "cgroup.subtree_control")):
        path = os.path.dirname(path)
        chain.append(path)
    wanted = set(controllers)
    for ancestor in reversed(chain):
        enabled = set(read_text(os.path.join(ancestor, "cgroup.subtree_control")).split())
        for controller in sorted(wanted - enabled):
            try:
                write_text(os.path.join(ancestor, "cgroup.subtree_control"), f"+{controller}")
            except OSError:
                if not best_effort:
                    raise
                wanted.discard(controller)


def _mkdir_parents(directory, created):
    """Create the missing ancestors of ``directory`` (not itself), recording them."""
    missing = []
    probe = os.path.dirname(directory)
    while not os.path.isdir(probe):
        missing.append(probe)
        probe = os.path.dirname(probe)
    for path in reversed(missing):
        os.mkdir(path, 0o755)
        created.append(path)
