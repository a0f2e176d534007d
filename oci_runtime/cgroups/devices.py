"""linux.resources.devices: which device nodes the container may use.

The config's rules apply in order; then, as runc does, the devices every
container needs are allowed, plus mknod of any node ("m"), which creating
/dev needs.  linux.devices is *not* added: it says which nodes exist in the
container's /dev, not which it may use; resources.devices is the only
authority (a node listed there and denied here stays unusable, as under runc).

The driver enforces them: cgroup v1 writes devices.deny / devices.allow, cgroup
v2 gets an eBPF program compiled from the same rules (devices_bpf.py); a hybrid
host with a v1 devices controller uses v1, as runc does.
"""


DEFAULT_ALLOWED = (
    {"allow": True, "type": "c", "major": None, "minor": None, "access": "m"},
    {"allow": True, "type": "b", "major": None, "minor": None, "access": "m"},
    {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},    # null
    {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"},    # zero
    {"allow": True, "type": "c", "major": 1, "minor": 7, "access": "rwm"},    # full
    {"allow": True, "type": "c", "major": 1, "minor": 8, "access": "rwm"},    # random
    {"allow": True, "type": "c", "major": 1, "minor": 9, "access": "rwm"},    # urandom
    {"allow": True, "type": "c", "major": 5, "minor": 0, "access": "rwm"},    # tty
    {"allow": True, "type": "c", "major": 5, "minor": 1, "access": "rwm"},    # console
    {"allow": True, "type": "c", "major": 5, "minor": 2, "access": "rwm"},    # ptmx
    {"allow": True, "type": "c", "major": 136, "minor": None, "access": "rwm"},  # pts/*
)


def normalise_access(text):
    """A rule's access as the v1 devices controller takes it: r, w, m in that
    order, each once ("mwr" -> "rwm", "rwa" -> "rw": runc drops the letters it
    does not know, and the kernel refuses a line holding one with EINVAL);
    absent or empty is all three."""
    return "".join(letter for letter in "rwm" if letter in text) if text else "rwm"


def _number(value):
    return "*" if value is None or value == -1 else str(value)


def rule_line(rule):
    kind = rule.get("type") or "a"
    if kind == "a":
        return "a"
    return f"{kind} {_number(rule.get('major'))}:{_number(rule.get('minor'))} {normalise_access(rule.get('access'))}"


def all_rules(config):
    linux = config["linux"]
    rules = list(linux["resources"]["devices"])
    if not rules:
        return []
    return rules + list(DEFAULT_ALLOWED)


def apply(cgroup, config):
    """Enforce the config's device rules (and the defaults) through the cgroup driver."""
    rules = all_rules(config)
    if rules and not cgroup.rootless:  # only real root may write them (runc ignores them rootless)
        cgroup.apply_device_rules(rules)
