"""Loading and checking config.json, completely and cheaply.

Why not jsonschema here: importing it costs ~50 ms, paid on every `create`.
Instead each field the runtime uses is described once below as a small
"shape" (a plain function), and `load()` walks the document with them.
Errors name the JSON path and what was expected:

    config.json: linux.resources.memory.limit: expected integer, got "64m"

Unknown fields are ignored, as the runtime-spec requires.  The project's
full JSON schema (specs/config.schema.json) is for `oci-runtime validate`
and the tests; see docs/config-validation.md for why there are two.
"""
from oci_runtime import fastjson as json  # json without its re/enum imports
import os

from oci_runtime.errors import ConfigError, OCIError

NAMESPACE_TYPES = ("pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time")
RLIMIT_TYPES = (
    "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS",
    "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS",
    "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
)
PROPAGATIONS = ("private", "shared", "slave", "unbindable", "rprivate", "rshared", "rslave", "runbindable")


# ---------------------------------------------------------------- shapes
# A shape is a function (value, path) -> None that raises ConfigError.

def _describe(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (dict, list)):
        return "an object" if isinstance(value, dict) else "an array"
    return json.dumps(value)


def _fail(path, expected, value):
    raise ConfigError(path, f"expected {expected}, got {_describe(value)}")


def string(value, path):
    if not isinstance(value, str):
        _fail(path, "string", value)


def boolean(value, path):
    if not isinstance(value, bool):
        _fail(path, "boolean", value)


def integer(low, high, name="integer"):
    def check(value, path):
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(path, "integer", value)
        if not low <= value <= high:
            _fail(path, f"{name} in [{low}, {high}]", value)
    return check


uint16 = integer(0, 2**16 - 1, "uint16")
uint32 = integer(0, 2**32 - 1, "uint32")
int32 = integer(-(2**31), 2**31 - 1, "int32")
uint64 = integer(0, 2**64 - 1, "uint64")
int64 = integer(-(2**63), 2**63 - 1, "int64")


def enum(*choices):
    def check(value, path):
        if value not in choices:
            _fail(path, "one of " + ", ".join(choices), value)
    return check


def exec_string(value, path):
    """A string that reaches execve or a path call: a NUL byte would cut it short
    (and in the waiter's plan, start a record of its own)."""
    string(value, path)
    if "\0" in value:
        raise ConfigError(path, "contains a NUL byte, which no argument, environment entry or path can hold")


def absolute_path(value, path):
    exec_string(value, path)
    if not value.startswith("/"):
        _fail(path, "an absolute path", value)


def device_access(value, path):
    """A device rule's access: letters among r (read), w (write), m (mknod).  Other
    letters are dropped as runc drops them ("rwa" is "rw", see
    cgroups/devices.normalise_access); a non-empty value with none of the three
    would allow nothing runc-side and is an error here."""
    string(value, path)
    if value and not set(value) & set("rwm"):
        raise ConfigError(path, f"{json.dumps(value)} names none of r (read), w (write), m (mknod)")


def env_entry(value, path):
    exec_string(value, path)
    if "=" not in value:
        _fail(path, 'a "KEY=value" string', value)


def array(item):
    def check(value, path):
        if not isinstance(value, list):
            _fail(path, "array", value)
        for i, element in enumerate(value):
            item(element, f"{path}[{i}]")
    return check


def mapping(item):
    def check(value, path):
        if not isinstance(value, dict):
            _fail(path, "object", value)
        for key, element in value.items():
            item(element, f"{path}.{key}")
    return check


def obj(fields, required=()):
    def check(value, path):
        if not isinstance(value, dict):
            _fail(path, "object", value)
        prefix = f"{path}." if path else ""
        for name in required:
            if name not in value:
                raise ConfigError(f"{prefix}{name}", "is required")
        for name, shape in fields.items():
            if name in value:
                shape(value[name], prefix + name)
    return check


# ---------------------------------------------------------------- the document

_ID_MAPPING = obj({"containerID": uint32, "hostID": uint32, "size": uint32},
                  ("containerID", "hostID", "size"))
_HOOK = obj({"path": absolute_path, "args": array(exec_string), "env": array(env_entry),
             "timeout": integer(1, 2**31 - 1, "positive integer")}, ("path",))
_DEVICE_RULE = obj({"allow": boolean, "type": enum("a", "c", "b"), "major": int64,
                    "minor": int64, "access": device_access}, ("allow",))
_WEIGHT_DEVICE = obj({"major": int64, "minor": int64, "weight": uint16, "leafWeight": uint16},
                     ("major", "minor"))
_THROTTLE_DEVICE = obj({"major": int64, "minor": int64, "rate": uint64}, ("major", "minor", "rate"))

_RESOURCES = obj({
    "devices": array(_DEVICE_RULE),
    "memory": obj({"limit": int64, "reservation": int64, "swap": int64, "kernel": int64,
                   "kernelTCP": int64, "swappiness": uint64, "disableOOMKiller": boolean,
                   "useHierarchy": boolean, "checkBeforeUpdate": boolean}),
    "cpu": obj({"shares": uint64, "quota": int64, "burst": uint64, "period": uint64,
                "realtimeRuntime": int64, "realtimePeriod": uint64, "cpus": string,
                "mems": string, "idle": int64}),
    "pids": obj({"limit": int64}),
    "blockIO": obj({"weight": uint16, "leafWeight": uint16,
                    "weightDevice": array(_WEIGHT_DEVICE),
                    "throttleReadBpsDevice": array(_THROTTLE_DEVICE),
                    "throttleWriteBpsDevice": array(_THROTTLE_DEVICE),
                    "throttleReadIOPSDevice": array(_THROTTLE_DEVICE),
                    "throttleWriteIOPSDevice": array(_THROTTLE_DEVICE)}),
    "hugepageLimits": array(obj({"pageSize": string, "limit": uint64}, ("pageSize", "limit"))),
    "network": obj({"classID": uint32,
                    "priorities": array(obj({"name": string, "priority": uint32}, ("name", "priority")))}),
    "rdma": mapping(obj({"hcaHandles": uint32, "hcaObjects": uint32})),
    "unified": mapping(string),
})

_CAPABILITY_SETS = obj({name: array(string) for name in
                        ("bounding", "effective", "inheritable", "permitted", "ambient")})

_PROCESS = obj({
    "terminal": boolean,
    "consoleSize": obj({"height": uint32, "width": uint32}, ("height", "width")),
    "user": obj({"uid": uint32, "gid": uint32, "umask": uint32,
                 "additionalGids": array(uint32), "username": string}, ("uid",)),
    "args": array(exec_string),
    "commandLine": string,
    "env": array(env_entry),
    "cwd": absolute_path,
    "capabilities": _CAPABILITY_SETS,
    "rlimits": array(obj({"type": string, "soft": uint64, "hard": uint64}, ("type", "soft", "hard"))),
    "noNewPrivileges": boolean,
    "apparmorProfile": string,
    "oomScoreAdj": integer(-1000, 1000, "integer"),
    "selinuxLabel": string,
    "scheduler": obj({"policy": string, "nice": int32, "priority": int32, "flags": array(string),
                      "runtime": uint64, "deadline": uint64, "period": uint64}, ("policy",)),
    "ioPriority": obj({"class": string, "priority": int32}, ("class",)),
}, ("cwd",))

_LINUX = obj({
    "namespaces": array(obj({"type": enum(*NAMESPACE_TYPES), "path": string}, ("type",))),
    "uidMappings": array(_ID_MAPPING),
    "gidMappings": array(_ID_MAPPING),
    "devices": array(obj({"type": enum("c", "b", "u", "p"), "path": absolute_path,
                          "major": int64, "minor": int64, "fileMode": uint32,
                          "uid": uint32, "gid": uint32}, ("type", "path"))),
    "cgroupsPath": string,
    "resources": _RESOURCES,
    "sysctl": mapping(string),
    "seccomp": obj({"defaultAction": string, "defaultErrnoRet": uint32, "architectures": array(string),
                    "flags": array(string), "listenerPath": string, "listenerMetadata": string,
                    "syscalls": array(obj({"names": array(string), "action": string, "errnoRet": uint32,
                                           "args": array(obj({"index": uint32, "value": uint64,
                                                              "valueTwo": uint64, "op": string},
                                                             ("index", "value", "op")))},
                                          ("names", "action")))},
                   ("defaultAction",)),
    "rootfsPropagation": enum(*PROPAGATIONS),
    "maskedPaths": array(absolute_path),
    "readonlyPaths": array(absolute_path),
    "mountLabel": string,
    "netDevices": mapping(obj({"name": string})),
    "personality": obj({"domain": string, "flags": array(string)}, ("domain",)),
    "timeOffsets": mapping(obj({"secs": int64, "nanosecs": uint32})),
})

DOCUMENT = obj({
    "ociVersion": string,
    "root": obj({"path": string, "readonly": boolean}, ("path",)),
    "mounts": array(obj({"destination": string, "type": string, "source": string,
                         "options": array(string), "uidMappings": array(_ID_MAPPING),
                         "gidMappings": array(_ID_MAPPING)}, ("destination",))),
    "process": _PROCESS,
    "hostname": string,
    "domainname": string,
    "hooks": obj({name: array(_HOOK) for name in
                  ("prestart", "createRuntime", "createContainer", "startContainer",
                   "poststart", "poststop")}),
    "annotations": mapping(string),
    "linux": _LINUX,
}, ("ociVersion",))


# ---------------------------------------------------------------- rules beyond types

def _check_rules(config):
    """Cross-field rules that shapes cannot say; each names its JSON path."""
    if not config["ociVersion"].startswith("1."):
        raise ConfigError("ociVersion", f"unsupported version {config['ociVersion']!r} (this runtime "
                                        "implements runtime-spec 1.x)")
    process = config.get("process")
    if process is not None and not process.get("args"):
        raise ConfigError("process.args", "must name at least one argument (the program to run)")
    seen = {}
    for i, rlimit in enumerate((process or {}).get("rlimits", ())):
        kind = rlimit["type"]
        if kind not in RLIMIT_TYPES:
            raise ConfigError(f"process.rlimits[{i}].type", f"unknown rlimit type {json.dumps(kind)}")
        if kind in seen:
            raise ConfigError(f"process.rlimits[{i}].type",
                              f"duplicate rlimit {kind} (also at process.rlimits[{seen[kind]}])")
        if rlimit["soft"] > rlimit["hard"]:
            raise ConfigError(f"process.rlimits[{i}]", "soft limit is greater than hard limit")
        seen[kind] = i
    seen = {}
    linux = config.get("linux") or {}
    for i, ns in enumerate(linux.get("namespaces", ())):
        if ns["type"] in seen:
            raise ConfigError(f"linux.namespaces[{i}].type",
                              f"duplicate namespace {ns['type']!r} (also at linux.namespaces[{seen[ns['type']]}])")
        seen[ns["type"]] = i
    seen = {}
    for i, device in enumerate(linux.get("devices", ())):
        path = os.path.normpath(device["path"])
        if path in seen:
            raise ConfigError(f"linux.devices[{i}].path",
                              f"duplicate device {path} (also at linux.devices[{seen[path]}])")
        if device["type"] != "p" and ("major" not in device or "minor" not in device):
            raise ConfigError(f"linux.devices[{i}]", "major and minor are required for this type")
        seen[path] = i
    if not config.get("root", {}).get("path"):
        raise ConfigError("root.path", "must not be empty")


def check(config):
    """Check a parsed config.json (raises ConfigError naming the first bad field) and
    complete it in place (normalise): returns the config every consumer reads."""
    DOCUMENT(config, "")
    for name in ("root", "process"):
        if name not in config:
            raise ConfigError(name, "is required")
    _check_rules(config)
    _check_limits(config["process"], config.get("hooks"))
    return normalise(config)


# The C waiter's limits (cffi_build/init.c: MAX_ITEMS, MAX_HOOKS, MAX_HOOK_ITEMS),
# checked when the config is read, so that a config past them is refused before
# anything is made (the waiter refuses them again).
MAX_PLAN_ITEMS = 65536
MAX_START_HOOKS = 64
MAX_HOOK_ITEMS = 1024


def _check_limits(process, hooks=None):
    user = process.get("user") or {}
    for field, items in (("process.args", process.get("args")), ("process.env", process.get("env")),
                         ("process.user.additionalGids", user.get("additionalGids"))):
        _at_most(field, len(items or ()), MAX_PLAN_ITEMS)
    start = (hooks or {}).get("startContainer") or ()
    _at_most("hooks.startContainer", len(start), MAX_START_HOOKS)
    for i, hook in enumerate(start):
        for key in ("args", "env"):
            _at_most(f"hooks.startContainer[{i}].{key}", len(hook.get(key) or ()), MAX_HOOK_ITEMS)


def _at_most(field, count, limit):
    if count > limit:
        raise ConfigError(field, f"has {count} entries; at most {limit} are supported")


# ---------------------------------------------------------------- defaults
# What an absent optional object or list means, filled in once after the checks,
# so the code that reads a config never writes `... or {}` (an absent and an
# empty object mean the same in every field listed here).

def normalise(config):
    config.setdefault("mounts", [])
    config.setdefault("hooks", {})
    config.setdefault("annotations", {})
    normalise_process(config["process"])
    linux = config.setdefault("linux", {})
    for key, empty in (("namespaces", list), ("devices", list), ("sysctl", dict), ("uidMappings", list),
                       ("gidMappings", list), ("maskedPaths", list), ("readonlyPaths", list)):
        if key not in linux:
            linux[key] = empty()
    linux["resources"] = normalise_resources(linux.get("resources") or {})
    return config


def normalise_process(process):
    """A process object (config.process, exec's) with its optional parts present."""
    process.setdefault("env", [])
    process.setdefault("rlimits", [])
    # A user without gid runs with gid 0, as under runc (the spec lists gid as
    # required; runc's decoder leaves it 0 and engines' configs rely on that).
    process.setdefault("user", {"uid": 0, "gid": 0}).setdefault("gid", 0)
    return process


RESOURCE_OBJECTS = ("memory", "cpu", "blockIO", "network", "rdma", "unified")
RESOURCE_LISTS = ("devices", "hugepageLimits")


def normalise_resources(resources):
    """A resources object (linux.resources, or an update's) with every group present."""
    for key in RESOURCE_OBJECTS:
        if not resources.get(key):
            resources[key] = {}
    for key in RESOURCE_LISTS:
        if not resources.get(key):
            resources[key] = []
    return resources


def check_process(process, path="process"):
    """A process object on its own (exec --process, the process exec builds), normalised."""
    _PROCESS(process, path)
    _check_limits(process)
    return normalise_process(process)


def check_resources(resources, path="linux.resources"):
    """A resources object on its own (update --resources and its flags); not
    normalised: update merges only the groups it was given."""
    _RESOURCES(resources, path)
    return resources


# A hostile bundle must not make the runtime read gigabytes: real configs are KiBs.
MAX_CONFIG_BYTES = 16 * 1024 * 1024


def load(bundle):
    """Read and check ``<bundle>/config.json``; returns the document as a dict."""
    path = os.path.join(bundle, "config.json")
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise OCIError(f"config.json: no such file: {path}") from None
    except OSError as exc:
        raise OCIError(f"config.json: cannot read {path}: {exc.strerror}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError("", f"larger than {MAX_CONFIG_BYTES // (1024 * 1024)} MiB: refusing to read it")
    try:
        config = json.loads(data)
    except ValueError as exc:
        raise ConfigError("", f"invalid JSON: {exc}") from None
    if not isinstance(config, dict):
        raise ConfigError("", f"expected a JSON object at the top level, got {_describe(config)}")
    return check(config)
