"""Attributes of the container's process that the kernel keeps: personality,
scheduler, I/O priority, and the LSM label (AppArmor profile, SELinux label).

``check`` runs in `create` before anything exists; ``apply`` runs in the init
(process/container_init.py) just before the waiter is exec'd; the LSM label is
written by the C waiter itself at its exec (``lsm_exec_records``).
"""
import os

from oci_runtime.errors import ConfigError, OCIError

PERSONALITY_DOMAINS = {"LINUX": 0x0000, "LINUX32": 0x0008}
SCHED_POLICIES = {"SCHED_OTHER": 0, "SCHED_FIFO": 1, "SCHED_RR": 2, "SCHED_BATCH": 3,
                  "SCHED_ISO": 4, "SCHED_IDLE": 5, "SCHED_DEADLINE": 6}
SCHED_FLAGS = {"SCHED_FLAG_RESET_ON_FORK": 0x01, "SCHED_FLAG_RECLAIM": 0x02,
               "SCHED_FLAG_DL_OVERRUN": 0x04, "SCHED_FLAG_KEEP_POLICY": 0x08,
               "SCHED_FLAG_KEEP_PARAMS": 0x10, "SCHED_FLAG_UTIL_CLAMP_MIN": 0x20,
               "SCHED_FLAG_UTIL_CLAMP_MAX": 0x40}
IOPRIO_CLASSES = {"IOPRIO_CLASS_RT": 1, "IOPRIO_CLASS_BE": 2, "IOPRIO_CLASS_IDLE": 3}


def check(config):
    linux = config["linux"]
    personality = linux.get("personality")
    if personality is not None:
        if personality.get("domain") not in PERSONALITY_DOMAINS:
            raise ConfigError("linux.personality.domain",
                              f"expected LINUX or LINUX32, got {personality.get('domain')!r}")
        if personality.get("flags"):
            raise ConfigError("linux.personality.flags", "no personality flags are supported")
    process = config["process"]
    scheduler = process.get("scheduler")
    if scheduler is not None:
        if scheduler.get("policy") not in SCHED_POLICIES:
            raise ConfigError("process.scheduler.policy", f"unknown policy {scheduler.get('policy')!r}")
        for i, flag in enumerate(scheduler.get("flags") or ()):
            if flag not in SCHED_FLAGS:
                raise ConfigError(f"process.scheduler.flags[{i}]", f"unknown flag {flag!r}")
    io = process.get("ioPriority")
    if io is not None:
        if io.get("class") not in IOPRIO_CLASSES:
            raise ConfigError("process.ioPriority.class", f"unknown class {io.get('class')!r}")
        if not isinstance(io.get("priority", 0), int) or not 0 <= io.get("priority", 0) <= 7:
            raise ConfigError("process.ioPriority.priority", "expected an integer in [0, 7]")
    for field in ("apparmorProfile", "selinuxLabel"):
        if process.get(field):
            _check_lsm(field)
    if linux.get("mountLabel") and not lsm_enabled("selinuxLabel"):
        # Ignored, as crun and runc do (runtime-tools linux_mount_label): a label is
        # about files' contexts, and a host without SELinux has none to give.
        from oci_runtime import log

        log.debug(f"linux.mountLabel {linux['mountLabel']!r} ignored: SELinux is not enabled on this host")


def lsm_enabled(field):
    if field == "apparmorProfile":
        return _read("/sys/module/apparmor/parameters/enabled").startswith("Y")
    return os.path.exists("/sys/fs/selinux/enforce")


def _check_lsm(field):
    if not lsm_enabled(field):
        name = "AppArmor" if field == "apparmorProfile" else "SELinux"
        raise ConfigError(f"process.{field}", f"{name} is not enabled on this host")


def lsm_exec_records(process):
    """Plan records telling the C init which /proc attr to write just before its exec
    (AppArmor's and SELinux's exec attributes apply at the next execve).  The path
    is relative to the procfs handle the init gets as PROC_FD (procfs.py): a label
    written into a fake /proc would leave the process unconfined (CVE-2019-16884)."""
    records = []
    if process.get("apparmorProfile"):
        path = "thread-self/attr/apparmor/exec"
        if not os.path.exists("/proc/self/attr/apparmor/exec"):
            path = "thread-self/attr/exec"
        records += [f"LSM_PATH={path}", f"LSM_VALUE=exec {process['apparmorProfile']}"]
    elif process.get("selinuxLabel"):
        records += ["LSM_PATH=thread-self/attr/exec", f"LSM_VALUE={process['selinuxLabel']}"]
    return records


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def apply(config, shim):
    linux = config["linux"]
    process = config["process"]
    if linux.get("personality"):
        shim.personality(PERSONALITY_DOMAINS[linux["personality"]["domain"]])
    scheduler = process.get("scheduler")
    if scheduler:
        flags = 0
        for name in scheduler.get("flags") or ():
            flags |= SCHED_FLAGS[name]
        try:
            shim.sched_setattr(0, SCHED_POLICIES[scheduler["policy"]], flags, scheduler.get("nice", 0),
                               scheduler.get("priority", 0), scheduler.get("runtime", 0),
                               scheduler.get("deadline", 0), scheduler.get("period", 0))
        except OSError as exc:
            raise OCIError(f"process.scheduler: {exc.strerror}") from None
    io = process.get("ioPriority")
    if io:
        try:
            shim.ioprio_set(1, 0, (IOPRIO_CLASSES[io["class"]] << 13) | io.get("priority", 0))
        except OSError as exc:
            raise OCIError(f"process.ioPriority: {exc.strerror}") from None


def set_oom_score_adj(pid, process):
    """process.oomScoreAdj, written by create's host-side parent: lowering it needs
    CAP_SYS_RESOURCE in the initial user namespace, which a user-namespaced init
    does not have."""
    if "oomScoreAdj" in process:
        with open(f"/proc/{pid}/oom_score_adj", "w") as f:
            f.write(str(process["oomScoreAdj"]))
