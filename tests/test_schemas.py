"""Tests for the project's JSON Schemas (specs/*.schema.json) and the shipped examples.

No root, no containers: these only load JSON and run jsonschema over it.
"""

import copy
import functools
import importlib
import json
import sys
from pathlib import Path

import jsonschema
import pytest
from jsonschema.validators import validator_for

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
EXAMPLES = SPECS / "examples"
INVALID = EXAMPLES / "invalid"

SCHEMA_NAMES = ["config", "state", "features"]

UINT32_MAX = 2**32 - 1
INT64_MAX = 2**63 - 1
UINT64_MAX = 2**64 - 1


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def load_schema(name):
    return load_json(SPECS / f"{name}.schema.json")


@functools.cache
def validator(name):
    schema = load_schema(name)
    cls = validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def errors_of(name, instance):
    return sorted(validator(name).iter_errors(instance), key=lambda e: str(list(e.absolute_path)))


def describe(errors):
    return "\n".join(
        f"  {'/'.join(str(p) for p in e.absolute_path) or '<root>'}: [{e.validator}] {e.message}"
        for e in errors
    )


def assert_valid(name, instance):
    errors = errors_of(name, instance)
    assert not errors, f"expected valid against {name}.schema.json, got:\n{describe(errors)}"


def assert_invalid(name, instance):
    errors = errors_of(name, instance)
    assert errors, f"expected {name}.schema.json to reject:\n{json.dumps(instance, indent=2)[:2000]}"
    return errors


def set_at(doc, path, value):
    """Return a copy of doc with value stored at path (a tuple of keys/indexes); dicts are created on the way."""
    doc = copy.deepcopy(doc)
    node = doc
    for key in path[:-1]:
        if isinstance(node, dict):
            node = node.setdefault(key, {})
        else:
            node = node[key]
    node[path[-1]] = value
    return doc


def delete_at(doc, path):
    doc = copy.deepcopy(doc)
    node = doc
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return doc


def example(name):
    return load_json(EXAMPLES / name)


# --- the schemas themselves -------------------------------------------------


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schema_is_a_valid_draft_2020_12_schema(name):
    schema = load_schema(name)
    cls = validator_for(schema, default=None)
    assert cls is jsonschema.Draft202012Validator
    cls.check_schema(schema)


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schema_allows_unknown_top_level_properties(name):
    schema = load_schema(name)
    assert "additionalProperties" not in schema
    assert "unevaluatedProperties" not in schema


def test_no_object_in_config_schema_forbids_unknown_properties():
    """The spec says runtimes MUST ignore unknown properties: no closed objects anywhere."""

    def walk(node, where):
        if isinstance(node, dict):
            assert node.get("additionalProperties") is not False, where
            assert node.get("unevaluatedProperties") is not False, where
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(load_schema("config"), "#")


# --- config.json examples ---------------------------------------------------

VALID_EXAMPLES = sorted(EXAMPLES.glob("*.json"))
INVALID_EXAMPLES = sorted(INVALID.glob("*.json"))


def test_expected_examples_are_shipped():
    names = {p.name for p in VALID_EXAMPLES}
    assert {"minimal.json", "busybox.json", "full.json"} <= names
    assert len(INVALID_EXAMPLES) >= 5


@pytest.mark.parametrize("path", VALID_EXAMPLES, ids=lambda p: p.name)
def test_example_config_validates(path):
    assert_valid("config", load_json(path))


# Where each shipped invalid config must fail, and by which keyword. Every error
# must lie at or below that path, so a file cannot pass this test by being
# broken somewhere else. Invalid files not listed here only have to fail.
EXPECTED_FAILURES = {
    "memory-limit-string.json": (("linux", "resources", "memory", "limit"), "type"),
    "root-without-path.json": (("root",), "required"),
    "namespace-type-bogus.json": (("linux", "namespaces", 1, "type"), "enum"),
    "rlimit-type-lowercase.json": (("process", "rlimits", 0, "type"), "pattern"),
    "hook-without-path.json": (("hooks", "prestart", 0), "required"),
    "hook-timeout-zero.json": (("hooks", "poststart", 0, "timeout"), "minimum"),
    "namespace-duplicate.json": (("linux", "namespaces"), "maxContains"),
    "cwd-relative.json": (("process", "cwd"), "pattern"),
    "uid-negative.json": (("process", "user", "uid"), "minimum"),
    "device-without-numbers.json": (("linux", "devices", 0), "required"),
    "seccomp-action-unknown.json": (("linux", "seccomp", "syscalls", 0, "action"), "enum"),
    "missing-oci-version.json": ((), "required"),
}


@pytest.mark.parametrize("path", INVALID_EXAMPLES, ids=lambda p: p.name)
def test_invalid_example_config_fails(path):
    errors = assert_invalid("config", load_json(path))
    if path.name not in EXPECTED_FAILURES:
        return
    where, keyword = EXPECTED_FAILURES[path.name]
    for error in errors:
        assert tuple(error.absolute_path)[: len(where)] == where, (
            f"{path.name} fails somewhere unexpected:\n{describe(errors)}"
        )
    assert any(tuple(e.absolute_path) == where and e.validator == keyword for e in errors), (
        f"{path.name} should fail with '{keyword}' at {'/'.join(map(str, where)) or '<root>'}, got:\n"
        f"{describe(errors)}"
    )


@pytest.mark.parametrize("name", ["memory-limit-string.json", "root-without-path.json",
                                  "namespace-type-bogus.json", "rlimit-type-lowercase.json",
                                  "hook-without-path.json"])
def test_required_invalid_examples_exist(name):
    assert (INVALID / name).is_file()


# Objects that are maps (their keys are data, not property names): adding a key there is not an
# "unknown property", so the walk below leaves them alone but still descends into their values.
MAP_KEYS = {"annotations", "sysctl", "unified", "rdma", "timeOffsets", "netDevices"}


def add_unknown_properties(node, parent_key=None):
    if isinstance(node, dict):
        for key, value in node.items():
            add_unknown_properties(value, key)
        if parent_key not in MAP_KEYS:
            node["x-oci-runtime-test-unknown"] = {"nested": [1, "two", None]}
    elif isinstance(node, list):
        for value in node:
            add_unknown_properties(value, parent_key)
    return node


@pytest.mark.parametrize("name", ["minimal.json", "busybox.json", "full.json"])
def test_unknown_properties_are_allowed_everywhere(name):
    doc = add_unknown_properties(example(name))
    assert doc["x-oci-runtime-test-unknown"]
    assert_valid("config", doc)


# --- individual config constraints --------------------------------------------

# (id, path, value) applied to full.json; every one must stay valid.
ACCEPTED_VALUES = [
    ("memory-unlimited", ("linux", "resources", "memory", "limit"), -1),
    ("memory-int64-max", ("linux", "resources", "memory", "limit"), INT64_MAX),
    ("swappiness-unset-as-uint64-max", ("linux", "resources", "memory", "swappiness"), UINT64_MAX),
    ("swappiness-100", ("linux", "resources", "memory", "swappiness"), 100),
    ("pids-unlimited", ("linux", "resources", "pids", "limit"), -1),
    ("pids-zero", ("linux", "resources", "pids", "limit"), 0),
    ("pids-without-limit", ("linux", "resources", "pids"), {}),
    ("uid-uint32-max", ("process", "user", "uid"), UINT32_MAX),
    ("rlimit-uint64-max", ("process", "rlimits", 0, "soft"), UINT64_MAX),
    ("cpu-quota-negative", ("linux", "resources", "cpu", "quota"), -1),
    ("cpus-empty", ("linux", "resources", "cpu", "cpus"), ""),
    ("cpus-list", ("linux", "resources", "cpu", "cpus"), "0-3,7,9-11"),
    ("rootfs-propagation-rshared", ("linux", "rootfsPropagation"), "rshared"),
    ("rootfs-propagation-unbindable", ("linux", "rootfsPropagation"), "unbindable"),
    ("oci-version-prerelease", ("ociVersion",), "1.2.0-rc.1+dev"),
    ("relative-mount-destination", ("mounts", 0, "destination"), "proc"),
    ("windows-user", ("process", "user"), {"username": "containeradministrator"}),
    ("rdma-one-limit", ("linux", "resources", "rdma"), {"mlx5_0": {"hcaHandles": 1}}),
    ("device-access-empty", ("linux", "resources", "devices", 0, "access"), ""),
    ("empty-annotations", ("annotations",), {}),
    ("hook-large-timeout", ("hooks", "poststart", 0, "timeout"), 3600),
    ("domain-linux32", ("linux", "personality", "domain"), "LINUX32"),
    ("legacy-intel-rdt-cmt", ("linux", "intelRdt", "enableCMT"), True),
]


@pytest.mark.parametrize("path,value", [a[1:] for a in ACCEPTED_VALUES], ids=[a[0] for a in ACCEPTED_VALUES])
def test_config_accepts(path, value):
    assert_valid("config", set_at(example("full.json"), path, value))


# (id, path, value) applied to full.json; every one must be rejected.
REJECTED_VALUES = [
    ("memory-limit-int64-overflow", ("linux", "resources", "memory", "limit"), INT64_MAX + 1),
    ("memory-limit-below-minus-one", ("linux", "resources", "memory", "limit"), -2),
    ("memory-limit-float", ("linux", "resources", "memory", "limit"), 1.5),
    ("memory-swap-string", ("linux", "resources", "memory", "swap"), "1g"),
    ("swappiness-101", ("linux", "resources", "memory", "swappiness"), 101),
    ("uid-uint32-overflow", ("process", "user", "uid"), UINT32_MAX + 1),
    ("gid-boolean", ("process", "user", "gid"), True),
    ("additional-gid-negative", ("process", "user", "additionalGids"), [5, -1]),
    ("rlimit-uint64-overflow", ("process", "rlimits", 0, "hard"), UINT64_MAX + 1),
    ("rlimit-negative", ("process", "rlimits", 0, "soft"), -1),
    ("rlimit-unprefixed", ("process", "rlimits", 0, "type"), "NOFILE"),
    ("capability-lowercase", ("process", "capabilities", "bounding"), ["chown"]),
    ("capability-without-prefix", ("process", "capabilities", "ambient"), ["NET_BIND_SERVICE"]),
    ("capabilities-as-flat-list", ("process", "capabilities"), ["CAP_KILL"]),
    ("env-without-equals", ("process", "env"), ["PATH"]),
    ("env-empty-key", ("process", "env"), ["=value"]),
    ("args-empty", ("process", "args"), []),
    ("terminal-string", ("process", "terminal"), "yes"),
    ("console-size-without-width", ("process", "consoleSize"), {"height": 25}),
    ("oom-score-adj-too-big", ("process", "oomScoreAdj"), 1001),
    ("io-priority-8", ("process", "ioPriority", "priority"), 8),
    ("io-priority-class-unknown", ("process", "ioPriority", "class"), "IOPRIO_CLASS_NONE"),
    ("scheduler-policy-unknown", ("process", "scheduler", "policy"), "SCHED_FAST"),
    ("scheduler-flag-unknown", ("process", "scheduler", "flags"), ["SCHED_FLAG_TURBO"]),
    ("scheduler-nice-int32-overflow", ("process", "scheduler", "nice"), 2**31),
    ("cpu-affinity-garbage", ("process", "execCPUAffinity", "final"), "all"),
    ("user-without-gid", ("process", "user"), {"uid": 0}),
    ("user-empty", ("process", "user"), {}),
    ("oci-version-not-semver", ("ociVersion",), "1.3"),
    ("root-path-empty", ("root", "path"), ""),
    ("root-readonly-string", ("root", "readonly"), "true"),
    ("mount-options-string", ("mounts", 0, "options"), "nosuid,nodev"),
    ("idmap-mount-uid-only", ("mounts", 8), {
        "destination": "/srv", "type": "none", "source": "/srv", "options": ["rbind", "idmap"],
        "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
    }),
    ("hook-relative-path", ("hooks", "poststop", 0, "path"), "cleanup.sh"),
    ("hook-negative-timeout", ("hooks", "poststart", 0, "timeout"), -5),
    ("hook-env-without-equals", ("hooks", "createRuntime", 0, "env"), ["NETWORK_MODE"]),
    ("annotation-value-number", ("annotations", "com.example.count"), 2),
    ("annotation-empty-key", ("annotations", ""), "value"),
    ("mapping-size-negative", ("linux", "uidMappings", 0, "size"), -1),
    ("mapping-missing-host-id", ("linux", "gidMappings", 0), {"containerID": 0, "size": 1}),
    ("namespace-relative-path", ("linux", "namespaces", 0), {"type": "pid", "path": "proc/1/ns/pid"}),
    ("device-type-unknown", ("linux", "devices", 0, "type"), "x"),
    ("device-file-mode-string", ("linux", "devices", 0, "fileMode"), "0666"),
    ("cgroup-device-type-p", ("linux", "resources", "devices", 1, "type"), "p"),
    ("cgroup-device-access-x", ("linux", "resources", "devices", 1, "access"), "rwx"),
    ("cgroup-device-without-allow", ("linux", "resources", "devices", 0), {"access": "rwm"}),
    ("cpu-shares-negative", ("linux", "resources", "cpu", "shares"), -1),
    ("cpu-mems-garbage", ("linux", "resources", "cpu", "mems"), "node0"),
    ("blkio-weight-uint16-overflow", ("linux", "resources", "blockIO", "weight"), 65536),
    ("blkio-weight-device-without-weights", ("linux", "resources", "blockIO", "weightDevice", 0),
     {"major": 8, "minor": 0}),
    ("blkio-throttle-without-rate", ("linux", "resources", "blockIO", "throttleReadBpsDevice", 0),
     {"major": 8, "minor": 0}),
    ("hugepage-size-without-b", ("linux", "resources", "hugepageLimits", 0, "pageSize"), "2M"),
    ("network-class-id-negative", ("linux", "resources", "network", "classID"), -1),
    ("pids-limit-string", ("linux", "resources", "pids", "limit"), "max"),
    ("rdma-entry-empty", ("linux", "resources", "rdma", "mlx5_1"), {}),
    ("unified-number-value", ("linux", "resources", "unified", "pids.max"), 10),
    ("sysctl-number-value", ("linux", "sysctl", "net.ipv4.ip_forward"), 1),
    ("mem-bw-schema-without-prefix", ("linux", "intelRdt", "memBwSchema"), "0=20;1=70"),
    ("intel-rdt-schemata-string", ("linux", "intelRdt", "schemata"), "L3:0=7f0\nMB:0=20"),
    ("memory-policy-mode-unknown", ("linux", "memoryPolicy", "mode"), "MPOL_RANDOM"),
    ("memory-policy-without-mode", ("linux", "memoryPolicy"), {"nodes": "0"}),
    ("memory-policy-flag-unknown", ("linux", "memoryPolicy", "flags"), ["MPOL_F_NODE"]),
    ("seccomp-without-default-action", ("linux", "seccomp"), {"syscalls": []}),
    ("seccomp-default-action-unknown", ("linux", "seccomp", "defaultAction"), "ALLOW"),
    ("seccomp-arch-unknown", ("linux", "seccomp", "architectures"), ["SCMP_ARCH_Z80"]),
    ("seccomp-flag-unknown", ("linux", "seccomp", "flags"), ["SECCOMP_FILTER_FLAG_FAST"]),
    ("seccomp-metadata-without-listener", ("linux", "seccomp"),
     {"defaultAction": "SCMP_ACT_ALLOW", "listenerMetadata": "x"}),
    ("seccomp-syscall-no-names", ("linux", "seccomp", "syscalls", 0, "names"), []),
    ("seccomp-syscall-without-action", ("linux", "seccomp", "syscalls", 0), {"names": ["read"]}),
    ("seccomp-errno-negative", ("linux", "seccomp", "syscalls", 4, "errnoRet"), -1),
    ("seccomp-op-unknown", ("linux", "seccomp", "syscalls", 1, "args", 0, "op"), "SCMP_CMP_LIKE"),
    ("seccomp-arg-value-negative", ("linux", "seccomp", "syscalls", 1, "args", 0, "value"), -1),
    ("seccomp-arg-without-op", ("linux", "seccomp", "syscalls", 1, "args", 0), {"index": 0, "value": 0}),
    ("rootfs-propagation-unknown", ("linux", "rootfsPropagation"), "recursive"),
    ("masked-path-relative", ("linux", "maskedPaths"), ["proc/kcore"]),
    ("readonly-path-relative", ("linux", "readonlyPaths"), ["proc/sys"]),
    ("personality-domain-unknown", ("linux", "personality", "domain"), "SVR4"),
    ("time-offset-nanosecs-negative", ("linux", "timeOffsets", "monotonic", "nanosecs"), -1),
    ("time-offset-not-object", ("linux", "timeOffsets", "boottime"), 5),
    ("net-device-name-number", ("linux", "netDevices", "eth1", "name"), 1),
]


@pytest.mark.parametrize("path,value", [r[1:] for r in REJECTED_VALUES], ids=[r[0] for r in REJECTED_VALUES])
def test_config_rejects(path, value):
    errors = assert_invalid("config", set_at(example("full.json"), path, value))
    # full.json is valid, so the errors must come from the changed value (or, for
    # 'required' and 'propertyNames', from the object holding it).
    parent = path[:-1]
    for error in errors:
        assert tuple(error.absolute_path)[: len(parent)] == parent, describe(errors)


@pytest.mark.parametrize("path", [("ociVersion",), ("root",), ("process", "cwd"), ("root", "path")],
                         ids=lambda p: "/".join(p))
def test_config_required_properties(path):
    assert_invalid("config", delete_at(example("busybox.json"), path))


def test_config_optional_sections_may_be_absent():
    doc = example("full.json")
    for key in ["mounts", "process", "hostname", "domainname", "hooks", "annotations", "linux"]:
        del doc[key]
    assert_valid("config", doc)


def test_fifo_device_needs_no_numbers_but_char_device_does():
    fifo = {"path": "/dev/myfifo", "type": "p"}
    char = {"path": "/dev/mychar", "type": "c"}
    base = example("minimal.json")
    assert_valid("config", set_at(base, ("linux", "devices"), [fifo]))
    assert_invalid("config", set_at(base, ("linux", "devices"), [char]))
    assert_invalid("config", set_at(base, ("linux", "devices"), [dict(char, major=10)]))


def test_every_namespace_type_is_accepted_once_but_not_twice():
    types = ["pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"]
    base = example("minimal.json")
    assert_valid("config", set_at(base, ("linux", "namespaces"), [{"type": t} for t in types]))
    for t in types:
        twice = [{"type": t}, {"type": t, "path": f"/proc/1/ns/{t}"}]
        assert_invalid("config", set_at(base, ("linux", "namespaces"), twice))


# --- state -------------------------------------------------------------------

SAMPLE_STATE = {
    "ociVersion": "1.3.0",
    "id": "busybox",
    "pid": 4422,
    "status": "running",
    "bundle": "/containers/busybox",
    "rootfs": "/containers/busybox/rootfs",
    "created": "2024-05-01T12:00:00.123456789Z",
    "owner": "",
    "annotations": {
        "com.example.key": "value",
    },
}


def test_sample_state_validates():
    assert_valid("state", SAMPLE_STATE)


@pytest.mark.parametrize("status", ["creating", "created", "running", "stopped", "paused"])
def test_state_every_status(status):
    assert_valid("state", dict(SAMPLE_STATE, status=status))


def test_state_minimal_and_stopped():
    assert_valid("state", {"ociVersion": "1.3.0", "id": "c1", "status": "creating", "bundle": "/b"})
    assert_valid("state", dict(SAMPLE_STATE, status="stopped", pid=0))
    assert_valid("state", dict(SAMPLE_STATE, created="2024-05-01T14:00:00+02:00"))


@pytest.mark.parametrize("change", [
    {"status": "bogus"},
    {"status": "Running"},
    {"pid": -1},
    {"pid": "4422"},
    {"bundle": "containers/busybox"},
    {"id": ""},
    {"ociVersion": "1"},
    {"created": "yesterday"},
    {"created": "2024-05-01 12:00:00"},
    {"annotations": {"k": 1}},
    {"owner": None},
], ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_state_rejects(change):
    assert_invalid("state", dict(SAMPLE_STATE, **change))


@pytest.mark.parametrize("missing", ["ociVersion", "id", "status", "bundle"])
def test_state_required(missing):
    assert_invalid("state", delete_at(SAMPLE_STATE, (missing,)))


@pytest.mark.parametrize("status", ["created", "running"])
def test_state_pid_required_while_created_or_running(status):
    assert_invalid("state", delete_at(dict(SAMPLE_STATE, status=status), ("pid",)))


# --- features ------------------------------------------------------------------

SAMPLE_FEATURES = {
    "ociVersionMin": "1.0.0",
    "ociVersionMax": "1.3.0",
    "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
    "mountOptions": ["bind", "nodev", "noexec", "nosuid", "rbind", "ro", "rprivate", "rw", "tmpcopyup"],
    "potentiallyUnsafeConfigAnnotations": ["org.systemd.property."],
    "linux": {
        "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"],
        "capabilities": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SYS_ADMIN"],
        "cgroup": {"v1": False, "v2": True, "systemd": False, "systemdUser": False, "rdma": False},
        "seccomp": {
            "enabled": True,
            "actions": ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL"],
            "operators": ["SCMP_CMP_EQ", "SCMP_CMP_NE"],
            "archs": ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"],
            "knownFlags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG"],
            "supportedFlags": ["SECCOMP_FILTER_FLAG_TSYNC"],
        },
        "apparmor": {"enabled": False},
        "selinux": {"enabled": False},
        "intelRdt": {"enabled": False, "schemata": False, "monitoring": False},
        "memoryPolicy": {"modes": ["MPOL_DEFAULT", "MPOL_BIND"], "flags": ["MPOL_F_STATIC_NODES"]},
        "mountExtensions": {"idmap": {"enabled": True}},
        "netDevices": {"enabled": False},
    },
    "annotations": {
        "org.opencontainers.runc.checkpoint.enabled": "false",
        "io.github.oci-runtime.version": "0.1.0",
    },
}


def test_sample_features_validates():
    assert_valid("features", SAMPLE_FEATURES)


def test_features_only_versions_are_required():
    assert_valid("features", {"ociVersionMin": "1.0.0", "ociVersionMax": "1.3.0"})


def test_features_optional_properties_may_be_null():
    doc = {key: (value if key.startswith("ociVersion") else None) for key, value in SAMPLE_FEATURES.items()}
    assert_valid("features", doc)
    linux = {key: None for key in SAMPLE_FEATURES["linux"]}
    linux["cgroup"] = {"v1": None, "v2": True}
    linux["mountExtensions"] = {"idmap": {"enabled": None}}
    assert_valid("features", dict(SAMPLE_FEATURES, linux=linux))


@pytest.mark.parametrize("path,value", [
    (("ociVersionMin",), None),
    (("ociVersionMax",), "latest"),
    (("hooks",), "prestart"),
    (("mountOptions",), [1, 2]),
    (("annotations",), {"k": True}),
    (("linux", "namespaces"), {"pid": True}),
    (("linux", "cgroup", "v2"), "yes"),
    (("linux", "seccomp", "enabled"), 1),
    (("linux", "seccomp", "actions"), "SCMP_ACT_ALLOW"),
    (("linux", "apparmor"), True),
    (("linux", "mountExtensions", "idmap", "enabled"), "true"),
    (("linux", "netDevices", "enabled"), []),
], ids=lambda v: "/".join(map(str, v)) if isinstance(v, tuple) else None)
def test_features_rejects(path, value):
    assert_invalid("features", set_at(SAMPLE_FEATURES, path, value))


@pytest.mark.parametrize("missing", ["ociVersionMin", "ociVersionMax"])
def test_features_required(missing):
    assert_invalid("features", delete_at(SAMPLE_FEATURES, (missing,)))


# --- the project's default spec (oci_runtime.spec_default), once it exists ----


def load_default_spec_function():
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    try:
        module = importlib.import_module("oci_runtime.spec_default")
    except ModuleNotFoundError as exc:
        if exc.name in ("oci_runtime", "oci_runtime.spec_default"):
            pytest.skip("oci_runtime.spec_default does not exist yet")
        raise
    default_spec = getattr(module, "default_spec", None)
    if not callable(default_spec):
        pytest.skip("oci_runtime.spec_default does not provide default_spec() yet")
    return default_spec


@pytest.mark.parametrize("rootless", [False, True], ids=["rootful", "rootless"])
def test_default_spec_validates(rootless):
    default_spec = load_default_spec_function()
    spec = default_spec(rootless=True) if rootless else default_spec()
    # Round-trip through JSON: that is the form `oci-runtime spec` writes to config.json.
    spec = json.loads(json.dumps(spec))
    assert_valid("config", spec)
