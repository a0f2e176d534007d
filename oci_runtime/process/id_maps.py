"""The uid and gid maps of a container's new user namespace, written by create
(the parent) while the child waits (container_init._enter_user_namespace).

As root the maps are written straight to /proc/PID/{uid,gid}_map.  A rootless
caller (rootless.py: euid != 0) may write only a map of its own single uid,
and a gid_map only once setgroups(2) is denied in the namespace -- the kernel's
rule (user_namespaces(7)), so that a user cannot shed a group that denies it
access.  Any wider map goes through newuidmap/newgidmap, the setuid helpers
of shadow's uidmap package, which allow exactly the ranges /etc/subuid and
/etc/subgid give the user (runc does the same).  Nothing is elevated here:
the helpers are the system's, and they check the caller.
"""
import os

from oci_runtime.errors import OCIError

HELPERS = {"uid_map": "newuidmap", "gid_map": "newgidmap"}
KEYS = {"uid_map": "uidMappings", "gid_map": "gidMappings"}


def _own_only(maps, own):
    return len(maps) == 1 and maps[0]["hostID"] == own and maps[0]["size"] == 1


def needs_helper(linux, name):
    """True when ``name``'s map is more than a rootless caller may write itself."""
    if os.geteuid() == 0:
        return False
    own = os.geteuid() if name == "uid_map" else os.getegid()
    return not _own_only(linux[KEYS[name]], own)


def setgroups_denied(linux):
    """True when create will deny setgroups(2) in the new user namespace: a rootless
    caller writing a gid_map of its own gid.  The container's process then keeps
    the groups it has (shown as the overflow gid) and may not set others."""
    return os.geteuid() != 0 and not needs_helper(linux, "gid_map")


def setgroups_allowed_in(pid):
    """Whether setgroups(2) is allowed in the user namespace of ``pid`` (exec into a
    container: the kernel's own answer, /proc/PID/setgroups)."""
    try:
        with open(f"/proc/{pid}/setgroups") as f:
            return f.read().strip() != "deny"
    except OSError:
        return True


def refuse_additional_gids(why):
    return OCIError("process.user.additionalGids: cannot set any additional groups in a rootless container "
                    f"({why}: map more gids from /etc/subgid in linux.gidMappings, or leave additionalGids out)")


def _mapped(maps, value):
    return any(m["containerID"] <= value < m["containerID"] + m["size"] for m in maps)


def check_user_is_mapped(user, uid_maps, gid_maps, where):
    """process.user's ids must exist in the container's user namespace: the kernel
    refuses an unmapped one only at setresuid, as a bare "Invalid argument"."""
    for field, value, maps, key in (("uid", user.get("uid", 0), uid_maps, "uidMappings"),
                                    ("gid", user.get("gid", 0), gid_maps, "gidMappings")):
        if not _mapped(maps, value):
            raise OCIError(f"process.user.{field}: {value} is not mapped in {where}{key} (the user "
                           f"namespace has no such id: map it, or run as an id it has)")
    for gid in user.get("additionalGids") or ():
        if not _mapped(gid_maps, gid):
            raise OCIError(f"process.user.additionalGids: {gid} is not mapped in {where}gidMappings (map it, "
                           "or leave it out)")


def read_maps(pid):
    """(uid maps, gid maps) of ``pid``'s user namespace, as the kernel has them."""
    found = []
    for name in ("uid_map", "gid_map"):
        with open(f"/proc/{pid}/{name}") as f:
            found.append([{"containerID": int(a), "hostID": int(b), "size": int(c)}
                          for a, b, c in (line.split() for line in f if line.strip())])
    return found[0], found[1]


def check(config):
    """Host-side, before anything is made: the maps can be written by this caller,
    and the process's user exists in them."""
    linux = config["linux"]
    if setgroups_denied(linux) and (config["process"]["user"].get("additionalGids") or ()):
        raise refuse_additional_gids(f"a gid_map of only your own gid {os.getegid()} denies setgroups")
    check_user_is_mapped(config["process"]["user"], linux["uidMappings"], linux["gidMappings"], "linux.")
    for name in HELPERS:
        if not needs_helper(linux, name):
            continue
        import shutil  # only rootless with wide maps: not on root's path

        if not shutil.which(HELPERS[name]):
            raise OCIError(f"linux.{KEYS[name]}: mapping more than your own id as uid {os.geteuid()} needs "
                           f"{HELPERS[name]} (install the uidmap package), which is not in PATH")


def write(pid, linux):
    """uid_map then gid_map of ``pid``, which has just unshared its user namespace."""
    for name in ("uid_map", "gid_map"):
        maps = linux[KEYS[name]]
        if needs_helper(linux, name):
            _run_helper(name, pid, maps)
            continue
        if name == "gid_map" and setgroups_denied(linux):
            _write_proc(pid, "setgroups", "deny", name)
        lines = "".join(f"{m['containerID']} {m['hostID']} {m['size']}\n" for m in maps)
        _write_proc(pid, name, lines, name)


def _write_proc(pid, filename, text, name):
    try:
        with open(f"/proc/{pid}/{filename}", "w") as f:
            f.write(text)
    except OSError as exc:
        hint = ""
        if exc.errno == 1 and os.geteuid() != 0:
            hint = " (as a rootless caller you may map only your own id; other ids need /etc/subuid and /etc/subgid)"
        raise OCIError(f"linux.{KEYS[name]}: writing {filename}: {exc.strerror}{hint}") from None


def _run_helper(name, pid, maps):
    import subprocess  # only rootless with wide maps: not on root's path

    helper = HELPERS[name]
    argv = [helper, str(pid)]
    for m in maps:
        argv += [str(m["containerID"]), str(m["hostID"]), str(m["size"])]
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    except OSError as exc:
        raise OCIError(f"linux.{KEYS[name]}: running {helper}: {exc.strerror}") from None
    if done.returncode != 0:
        said = " ".join(done.stderr.split()) or f"exit status {done.returncode}"
        raise OCIError(f"linux.{KEYS[name]}: {helper} refused the map: {said} (the ranges must be yours in "
                       f"/etc/sub{'uid' if name == 'uid_map' else 'gid'})")
