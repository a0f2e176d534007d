"""`oci-runtime features`: the document validates and matches what the runtime accepts.

No root, no containers: runs the installed CLI and checks its output.
"""
import json
import os
import subprocess
from pathlib import Path

import jsonschema
import pytest

from conftest import RUNTIME
from oci_runtime import OCI_VERSION
from oci_runtime.rootfs.mount_options import MountOptions

SCHEMA = Path(__file__).resolve().parent.parent / "specs" / "features.schema.json"


@pytest.fixture(scope="module")
def features():
    result = subprocess.run([RUNTIME, "features"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_validates_against_the_schema(features):
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(features)


def test_versions(features):
    assert features["ociVersionMin"] == "1.0.0"
    assert features["ociVersionMax"] == OCI_VERSION == "1.3.0"


def test_every_mount_option_is_one_the_runtime_acts_on(features):
    assert {"rro", "rnosuid", "tmpcopyup", "idmap", "ridmap", "nosymfollow", "rshared"} <= set(
        features["mountOptions"])
    for option in features["mountOptions"]:
        assert MountOptions([option]).data == "", f"{option} would be passed as filesystem data"


def test_extensions_that_work_are_enabled(features):
    assert features["linux"]["mountExtensions"]["idmap"]["enabled"] is True
    assert features["linux"]["netDevices"]["enabled"] is True


def test_capabilities_and_namespaces(features):
    linux = features["linux"]
    assert {"CAP_CHOWN", "CAP_KILL"} <= set(linux["capabilities"])
    assert {"mount", "pid", "user", "time", "cgroup"} <= set(linux["namespaces"])


def test_hooks_and_annotations(features):
    assert "prestart" in features["hooks"] and "poststop" in features["hooks"]
    annotations = features["annotations"]
    assert annotations["org.opencontainers.runtime-spec.features.implementation"] == "oci-runtime"


def test_listed_in_help():
    result = subprocess.run([RUNTIME, "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "features" in result.stdout


def test_seccomp_is_reported_as_it_is_implemented(features):
    seccomp = features["linux"]["seccomp"]
    assert seccomp["enabled"] is True
    assert {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL_PROCESS"} <= set(seccomp["actions"])
    assert "SCMP_CMP_MASKED_EQ" in seccomp["operators"] and "SCMP_ARCH_X86_64" in seccomp["archs"]


def test_seccomp_flags_are_what_this_kernel_supports(features):
    """supportedFlags is asked of the kernel: a flag it does not know (here one
    made up, bit 30) would be refused by seccomp(2) and is never reported."""
    from oci_runtime._shim import lib

    seccomp = features["linux"]["seccomp"]
    assert "SCMP_ACT_NOTIFY" in seccomp["actions"]
    assert set(seccomp["supportedFlags"]) <= set(seccomp["knownFlags"])
    assert "SECCOMP_FILTER_FLAG_TSYNC" in seccomp["supportedFlags"]  # since Linux 3.17
    assert not lib.oci_seccomp_flag_known(1 << 30)
    release = tuple(int(x) for x in os.uname().release.split("-")[0].split(".")[:2])
    assert ("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" in seccomp["supportedFlags"]) == (release >= (5, 19))


def test_what_the_runtime_supports_is_reported(features):
    """rdma limits are written (cgroups/resources.py) and AppArmor/SELinux labels are
    applied where the host runs them (process_attributes.lsm_exec_records): features-linux.md
    asks whether the runtime supports them, not whether this host does."""
    linux = features["linux"]
    assert linux["cgroup"]["rdma"] is True
    assert linux["apparmor"] == {"enabled": True}
    assert linux["selinux"] == {"enabled": True}
