"""The cgroup v1 driver: legacy hosts, and hybrid ones (v1 controllers plus a
cgroup2 hierarchy, which the container joins too, as under runc).

Each controller's files are in the hierarchy that has it; a controller no v1
hierarchy offers is used through the cgroup2 directory if that hierarchy has
it (hugetlb on this project's CI host).  Freezing is the v1 freezer, OOM kills
are memory.oom_control's, device rules go to devices.allow/deny (an eBPF
program on the cgroup2 directory only when there is no v1 devices hierarchy).
"""
import os

from oci_runtime.cgroups import V2_KEY, Cgroup, oom_kill_count, read_file, write_and_wait
from oci_runtime.errors import OCIError
from oci_runtime.fileio import read_text, write_text


class Driver(Cgroup):
    name = "fs_v1"

    def _v1(self):
        """(key, directory) of the v1 hierarchies."""
        return [(key, directory) for key, directory in self.paths.items() if key != V2_KEY]

    def _with(self, controller):
        return next((directory for key, directory in self._v1() if controller in key.split(",")), None)

    def locate(self, controller):
        directory = self._with(controller)
        if directory:
            return directory, 1
        v2 = self.paths.get(V2_KEY)
        return (v2, 2) if v2 else (None, 0)

    def writable(self, controller):
        directory = self._with(controller)
        if directory:
            return directory, 1
        v2 = self.paths.get(V2_KEY)
        if v2:
            from oci_runtime.cgroups.fs_v2 import offers

            if offers(v2, controller):
                return v2, 2
        return None, 0

    def prepare_controllers(self, controllers):
        v2 = self.paths.get(V2_KEY)
        wanted = {c for c in controllers if self._with(c) is None} - {"cgroup"}
        if v2 and wanted:
            from oci_runtime.cgroups.fs_v2 import enable_controllers

            enable_controllers(v2, wanted)

    def create(self, first_pid=0, resources=None):
        created = super().create(first_pid, resources)
        directory = self._with("cpuset")
        if directory:
            _fill_cpusets_down_to(directory)
        return created

    def _pid_sources(self):
        v2 = [self.paths[V2_KEY]] if V2_KEY in self.paths else []
        return [directory for _, directory in self._v1()] + v2

    def set_frozen(self, frozen, timeout=10.0):
        directory = self._with("freezer")
        if directory is None:
            if self._v2_freezer() is None:
                raise OCIError("no freezer cgroup for this container (neither v1 freezer nor cgroup.freeze)")
            return self._v2_freezer().set_frozen(frozen, timeout)
        want = "FROZEN" if frozen else "THAWED"
        state_file = os.path.join(directory, "freezer.state")
        write_and_wait(state_file, want, lambda: read_file(state_file) == want, timeout)

    def frozen_probe(self):
        directory = self._with("freezer")
        if directory is None:
            return self._v2_freezer().frozen_probe() if self._v2_freezer() is not None else None
        return os.path.join(directory, "freezer.state"), "FROZEN"

    def _v2_freezer(self):
        """A hybrid host without a v1 freezer hierarchy freezes through cgroup2."""
        v2 = self.paths.get(V2_KEY)
        if v2 and os.path.exists(os.path.join(v2, "cgroup.freeze")):
            from oci_runtime.cgroups.fs_v2 import Driver as V2

            return V2({V2_KEY: v2})
        return None

    def oom_kills(self):
        directory = self._with("memory")
        return oom_kill_count(os.path.join(directory, "memory.oom_control")) if directory else 0

    def apply_device_rules(self, rules):
        from oci_runtime.cgroups.devices import rule_line

        directory = self._with("devices")
        if directory is None:
            v2 = self.paths.get(V2_KEY)
            if not v2:
                raise OCIError("config.json: linux.resources.devices: no devices cgroup on this host")
            from oci_runtime.cgroups import devices_bpf

            devices_bpf.load_and_attach(v2, rules)
            return
        for rule in rules:
            name = "devices.allow" if rule.get("allow") else "devices.deny"
            try:
                write_text(os.path.join(directory, name), rule_line(rule))
            except OSError as exc:
                raise OCIError(f"config.json: linux.resources.devices: writing {rule_line(rule)!r} to "
                               f"{name}: {exc.strerror}") from None

    def container_view(self):
        views = []
        for key, directory in sorted(self.paths.items()):
            views.append((key.replace("name=", "") if key != V2_KEY else "unified", directory))
        return "v1", views


def _fill_cpusets_down_to(directory):
    """A v1 cpuset cgroup starts with empty cpus and mems and refuses tasks (ENOSPC)
    until they are set; so does every cgroup below it.  Each of the two files is
    filled where it is empty, from the nearest ancestor that has it, on every
    level down to ``directory``: the levels this create made and the ones it
    found (a pod cgroup an engine made and left empty), as runc does.  In the
    common case (a new directory under a filled parent) that is two reads and a
    write per file."""
    for name in ("cpuset.cpus", "cpuset.mems"):
        empty = []
        level = directory
        value = _read_or_none(os.path.join(level, name))
        while value == "":
            empty.append(level)
            level = os.path.dirname(level)
            value = _read_or_none(os.path.join(level, name))
        for level in reversed(empty if value else ()):
            write_text(os.path.join(level, name), value)


def _read_or_none(path):
    """A cpuset file's value; None above the hierarchy's root (no such file)."""
    try:
        return read_text(path).strip()
    except FileNotFoundError:
        return None
