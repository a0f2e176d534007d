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

    def create(self):
        created = super().create()
        directory = self._with("cpuset")
        if directory:
            _fill_cpusets_down_to(directory)
        return created

    def _pid_sources(self):
        return [directory for _, directory in self._v1()] + [self.paths[V2_KEY]] * (V2_KEY in self.paths)

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
                with open(os.path.join(directory, name), "w") as f:
                    f.write(rule_line(rule))
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
    until they are set; so does every cgroup below it.  Fill each level from the
    hierarchy's root down to ``directory`` where it is empty, the ones this create
    made and the ones it found (a pod cgroup an engine made and left empty), as
    runc does."""
    chain = []
    while os.path.exists(os.path.join(os.path.dirname(directory), "cpuset.cpus")):
        chain.append(directory)
        directory = os.path.dirname(directory)
    for level in reversed(chain):
        _copy_cpuset_from_parent(level)


def _copy_cpuset_from_parent(directory):
    for name in ("cpuset.cpus", "cpuset.mems"):
        own = os.path.join(directory, name)
        with open(own) as f:
            if f.read().strip():
                continue
        with open(os.path.join(os.path.dirname(directory), name)) as f:
            value = f.read().strip()
        with open(own, "w") as f:
            f.write(value)
