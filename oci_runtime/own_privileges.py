"""What this runtime itself holds, and so can hand to a container.

A container's process can never get a capability outside the runtime's own
bounding set, nor a hard rlimit above the runtime's own without
CAP_SYS_RESOURCE (in the host's user namespace).  Engines run the runtime
with whatever their host gives them (this project's CI root lacks
CAP_SYS_RESOURCE), and asking for more fails deep in the init with the bare
"operation not permitted" of capset(2) or setrlimit(2).  So it is checked
here, host-side, before anything is made, and said with the fix: which
capabilities to drop, which hard limit to ask for.

A container with its own user namespace is different for capabilities (the
kernel gives a new user namespace a full bounding set, and capabilities count
inside it) but not for hard rlimits (raising one needs CAP_SYS_RESOURCE over
the host's user namespace, which nothing in a child namespace has).
"""
from oci_runtime.errors import OCIError

CAP_SYS_RESOURCE = 24


def _status_mask(field):
    """A capability mask of this process from /proc/self/status (CapBnd, CapEff)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1], 16)
    except (OSError, ValueError):
        pass
    return -1  # unknown: everything is assumed held, and the kernel has the last word


def check_capabilities(process, in_user_namespace):
    """The capabilities process.capabilities asks for are all in our bounding set."""
    caps = process.get("capabilities")
    if not caps or in_user_namespace:
        return
    from oci_runtime import capabilities

    own = _status_mask("CapBnd")
    wanted = {name for set_name in capabilities.SETS for name in caps.get(set_name) or ()}
    missing = sorted(name for name in wanted
                     if name in capabilities.NUMBERS and not own & (1 << capabilities.NUMBERS[name]))
    if not missing:
        return
    names = ", ".join(missing)
    short = " ".join(f"--cap-drop {name[len('CAP_'):]}" for name in missing)
    them = "it" if len(missing) == 1 else "them"
    raise OCIError(f"process.capabilities: unable to apply caps: operation not permitted: {names} "
                   f"{'is' if len(missing) == 1 else 'are'} not in this runtime's own bounding set (its caller "
                   f"runs without {them}, and a container cannot be given a capability its runtime does not "
                   f"hold): leave {them} out of the config (docker/podman: {short}; --privileged asks for all), "
                   f"or run the engine with {them}")


def _may_raise_hard_limits(new_user_namespace):
    from oci_runtime import rootless

    return (not new_user_namespace and not rootless.running_in_user_namespace()
            and _status_mask("CapEff") & (1 << CAP_SYS_RESOURCE) != 0)


def check_rlimits(process, new_user_namespace):
    """No process.rlimits entry raises a hard limit the runtime may not raise."""
    rlimits = process.get("rlimits") or ()
    if not rlimits:
        return
    from oci_runtime import shim

    for i, item in enumerate(rlimits):
        number = shim.rlimit_number(item["type"])
        if number is None:
            continue  # reported by apply_rlimits, by name
        own = shim.getrlimit_hard(number)
        if own >= 2**63 or item["hard"] <= own:  # RLIM_INFINITY: nothing is above it
            continue
        if _may_raise_hard_limits(new_user_namespace):  # asked only now: the common case never needs it
            return
        name = item["type"][len("RLIMIT_"):].lower()
        raise OCIError(f"process.rlimits[{i}]: error setting rlimit type {number}: operation not permitted: "
                       f"{item['type']} {item['soft']}:{item['hard']} asks for a hard limit above this "
                       f"runtime's own {own}, and raising one needs CAP_SYS_RESOURCE over the host, which "
                       f"it does not hold: ask for at most {own} (docker/podman: --ulimit "
                       f"{name}={min(item['soft'], own)}:{own})")
