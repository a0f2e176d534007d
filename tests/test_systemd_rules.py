"""The systemd cgroup driver's rules that need no systemd (oci_runtime/cgroups/systemd.py):
cgroupsPath ``slice:prefix:name`` to a unit and a cgroup directory (runc's rules),
linux.resources to unit properties, and the refusal where the driver cannot run
(this host: no systemd as PID 1, hybrid cgroups), which must leave nothing.  The
driver itself runs in the systemd VM lane (tests/test_systemd_cgroup.py)."""
import pytest

from oci_runtime.cgroups import systemd
from oci_runtime.errors import ConfigError


@pytest.mark.parametrize("path,unit,directory", [
    ("system.slice:runc:c1", "runc-c1.scope", "system.slice/runc-c1.scope"),
    ("machine.slice:libpod:abc", "libpod-abc.scope", "machine.slice/libpod-abc.scope"),
    (":docker:abc", "docker-abc.scope", "system.slice/docker-abc.scope"),
    ("kubepods-besteffort-pod12.slice:cri-containerd:abc", "cri-containerd-abc.scope",
     "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12.slice/cri-containerd-abc.scope"),
    ("-.slice:p:n", "p-n.scope", "p-n.scope"),
    ("system.slice::n", "n.scope", "system.slice/n.scope"),
    ("system.slice:ignored:mine.scope", "mine.scope", "system.slice/mine.scope"),
    ("", "oci-runtime-cid.scope", "system.slice/oci-runtime-cid.scope"),
])
def test_cgroups_path_to_unit_and_directory(path, unit, directory):
    assert systemd.unit_of(path, "cid")[1] == unit
    assert systemd.resolve(path, "cid", "/sys/fs/cgroup") == {"unified": f"/sys/fs/cgroup/{directory}"}


@pytest.mark.parametrize("path,says", [
    ("/absolute/path", 'expected cgroupsPath to be of format "slice:prefix:name"'),
    ("a:b", 'expected cgroupsPath to be of format "slice:prefix:name"'),
    ("system.slice:p:", "the name after the second ':' is empty"),
    ("system:p:n", "invalid slice name 'system'"),
    ("a--b.slice:p:n", "an empty part between '-'"),
    ("a.slice/b.slice:p:n", "invalid slice name"),
    ("system.slice:p:x/y", "cannot contain '/'"),
    ("system.slice:p:own.slice", "a slice as the container's own unit is not supported"),
])
def test_a_malformed_cgroups_path_is_named(path, says):
    with pytest.raises(ConfigError) as caught:
        systemd.resolve(path, "cid", "/sys/fs/cgroup")
    message = str(caught.value)
    assert says in message and "linux.cgroupsPath" in message, message


def test_resources_become_unit_properties():
    props = dict(systemd.properties({
        "memory": {"limit": 67108864, "reservation": 1048576, "swap": 134217728},
        "pids": {"limit": 100},
        "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0-2,9", "mems": "0"},
        "blockIO": {"weight": 500},
    }))
    assert props["MemoryMax"] == ("t", 67108864)
    assert props["MemoryLow"] == ("t", 1048576)
    assert props["MemorySwapMax"] == ("t", 67108864)  # v2: swap alone, the total less the memory
    assert props["TasksMax"] == ("t", 100)
    assert props["CPUWeight"] == ("t", 39)  # runc's shares -> weight conversion
    assert props["CPUQuotaPerSecUSec"] == ("t", 500000) and props["CPUQuotaPeriodUSec"] == ("t", 100000)
    assert props["AllowedCPUs"] == ("ay", bytes([0b111, 0b10]))
    assert props["AllowedMemoryNodes"] == ("ay", b"\x01")
    assert props["IOWeight"] == ("t", 1 + (500 - 10) * 9999 // 990)


def test_unlimited_values_and_quota_rounding():
    props = dict(systemd.properties({"memory": {"limit": -1}, "pids": {"limit": -1},
                                     "cpu": {"quota": 12345, "period": 100000}}))
    assert props["MemoryMax"] == props["TasksMax"] == ("t", 2**64 - 1)
    assert props["CPUQuotaPerSecUSec"] == ("t", 130000)  # 123450 us/s rounded up to whole percents
    assert systemd.properties({}) == []


def test_a_bad_cpu_list_is_named():
    with pytest.raises(ConfigError) as caught:
        systemd.properties({"cpu": {"cpus": "0-x"}})
    assert "linux.resources.cpu.cpus" in str(caught.value)


@pytest.mark.skipif(systemd.running(), reason="systemd runs this host: the refusal is for hosts without it")
def test_without_systemd_the_flag_is_refused_and_nothing_is_left(rt):
    bundle = rt.bundle(["true"], edit=lambda c: c["linux"].__setitem__(
        "cgroupsPath", f"system.slice:{rt.cgroup_parent}:x"))
    container_id = rt.new_id()
    result = rt.cmd("run", "--bundle", str(bundle), container_id, global_args=("--systemd-cgroup",))
    assert result.returncode == 1
    assert result.stderr.strip().endswith("systemd not running on this host, cannot use systemd as cgroups "
                                          "manager (--systemd-cgroup: leave it out to use the cgroup files "
                                          "directly)"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert rt.leftovers() == []


def test_property_annotations_in_gvariant_text():
    props = systemd.annotation_properties({
        "org.systemd.property.TimeoutStopUSec": "uint64 123456789",
        "org.systemd.property.CollectMode": "'inactive-or-failed'",
        "org.systemd.property.SendSIGHUP": "true",
        "org.systemd.property.Nice": "-5",
        "org.systemd.property.Environment": "['A=1', 'B=x,y']",
        "org.systemd.property.Empty": "@as []",
        "org.example.other": "ignored",
    })
    assert props == [("TimeoutStopUSec", ("t", 123456789)), ("CollectMode", ("s", "inactive-or-failed")),
                     ("SendSIGHUP", ("b", True)), ("Nice", ("i", -5)), ("Environment", ("as", ["A=1", "B=x,y"])),
                     ("Empty", ("as", []))]


@pytest.mark.parametrize("key,value,says", [
    ("org.systemd.property.bad-name", "1", "is not a systemd property name"),
    ("org.systemd.property.lower", "1", "is not a systemd property name"),
    ("org.systemd.property.TimeoutStopUSec", "uint64 soon", "not a number, string, boolean or array"),
    ("org.systemd.property.Description", "'unclosed", "a string without its closing quote"),
    ("org.systemd.property.X", "[]", "an empty array needs its type"),
])
def test_a_bad_property_annotation_is_named(key, value, says):
    with pytest.raises(ConfigError) as caught:
        systemd.annotation_properties({key: value})
    assert f"annotations.{key}" in str(caught.value) and says in str(caught.value), str(caught.value)


@pytest.mark.skipif(systemd.running(), reason="systemd runs this host: the refusal is for hosts without it")
def test_the_api_takes_the_flag_too(rt):
    from oci_runtime.api import Runtime
    from oci_runtime.errors import OCIError

    bundle = rt.bundle(["true"], edit=lambda c: c["linux"].__setitem__(
        "cgroupsPath", f"system.slice:{rt.cgroup_parent}:api"))
    with pytest.raises(OCIError) as caught:
        Runtime(root=rt.root, systemd_cgroup=True).create(rt.new_id(), str(bundle))
    assert "systemd not running on this host" in str(caught.value)
    assert Runtime(root=rt.root).systemd_cgroup is False
