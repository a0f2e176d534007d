"""The runtime config.json for an image: `oci-runtime spec`'s defaults with the
image config's process, user and annotations laid over them (image-spec conversion.md).

The user is resolved through the *rootfs's* /etc/passwd and /etc/group, opened
with openat2(RESOLVE_IN_ROOT) so an image whose /etc/passwd is a symlink to
/etc/shadow reads its own file (or nothing), never the host's.
"""
import os
import stat

from oci_runtime import shim
from oci_runtime.image.errors import ImageError
from oci_runtime.spec_default import default_spec

_RESOLVE = shim.RESOLVE_IN_ROOT | shim.RESOLVE_NO_MAGICLINKS
_MAX_DB_SIZE = 4 << 20
# image-spec conversion.md: config fields that become annotations.
_ANNOTATED = {"author": "org.opencontainers.image.author", "created": "org.opencontainers.image.created",
              "os": "org.opencontainers.image.os", "architecture": "org.opencontainers.image.architecture",
              "variant": "org.opencontainers.image.variant", "os.version": "org.opencontainers.image.os.version"}


def runtime_config(image_config, rootfs, rootless=False):
    """config.json (a dict) for an unpacked image whose rootfs is at ``rootfs``."""
    spec = default_spec(rootless=rootless)
    config = image_config.get("config") or {}
    process = spec["process"]
    args = list(config.get("Entrypoint") or []) + list(config.get("Cmd") or [])
    if args:
        process["args"] = args
    process["cwd"] = "/" + (config.get("WorkingDir") or "").lstrip("/")
    user = resolve_user(rootfs, config.get("User") or "")
    process["user"] = {"uid": user.uid, "gid": user.gid}
    if user.additional_gids:
        process["user"]["additionalGids"] = user.additional_gids
    process["env"] = _environment(config.get("Env") or [], process["env"], user.home)
    annotations = _annotations(image_config, config)
    if annotations:
        spec["annotations"] = annotations
    return spec


def _environment(image_env, defaults, home):
    """The image's Env; PATH, TERM and HOME from the defaults/passwd when it lacks them."""
    env = [e for e in image_env if isinstance(e, str)]
    names = {e.partition("=")[0] for e in env}
    for default in defaults:
        if default.partition("=")[0] not in names:
            env.append(default)
    if "HOME" not in names:
        env.append(f"HOME={home}")
    return env


def _annotations(image_config, config):
    annotations = {str(k): str(v) for k, v in (config.get("Labels") or {}).items()}
    for field, key in _ANNOTATED.items():
        if image_config.get(field):
            annotations[key] = str(image_config[field])
    if config.get("ExposedPorts"):
        annotations["org.opencontainers.image.exposedPorts"] = ",".join(sorted(config["ExposedPorts"]))
    if config.get("StopSignal"):
        annotations["org.opencontainers.image.stopSignal"] = str(config["StopSignal"])
    return annotations


# ------------------------------------------------------------------ users
class User:
    def __init__(self, uid, gid, additional_gids, home):
        self.uid, self.gid, self.additional_gids, self.home = uid, gid, additional_gids, home


def resolve_user(rootfs, spec):
    """``User`` ("", "name", "uid", "name:group", "uid:gid", ...) -> User, as docker does:
    names must exist in the image; a bare numeric uid missing from passwd gets gid 0;
    supplementary groups are those of /etc/group listing the user, when no group is given."""
    user_part, _, group_part = spec.partition(":")
    user_part = user_part or "0"
    passwd = read_db(rootfs, "etc/passwd")
    entry = _find(passwd, user_part, id_field=2)
    if entry is None:
        if not user_part.isdigit():
            raise ImageError(f"image user {user_part!r} is not in the image's /etc/passwd")
        uid, gid, name, home = int(user_part), 0, None, "/"
    else:
        uid, gid, name, home = _int(entry[2]), _int(entry[3]), entry[0], entry[5] or "/"
    groups = read_db(rootfs, "etc/group")
    if group_part:
        group = _find(groups, group_part, id_field=2)
        if group is None and not group_part.isdigit():
            raise ImageError(f"image group {group_part!r} is not in the image's /etc/group")
        return User(uid, int(group_part) if group is None else _int(group[2]), [], home)
    extra = sorted({_int(g[2]) for g in groups
                    if name and name in g[3].split(",") and _int(g[2]) != gid})
    return User(uid, gid, extra, home)


def _find(entries, wanted, id_field):
    for entry in entries:
        if entry[0] == wanted:
            return entry
    if wanted.isdigit():
        for entry in entries:
            if entry[id_field] == wanted:
                return entry
    return None


def _int(text):
    try:
        return int(text)
    except ValueError:
        raise ImageError(f"malformed id {text!r} in the image's user database") from None


def read_db(rootfs, relative):
    """Lines of a colon-separated database inside the rootfs ([] if absent), read without
    letting a symlink in the image lead to a host file."""
    root_fd = os.open(rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        # O_NONBLOCK: an image's /etc/passwd could be a fifo meant to hang us.
        fd = shim.openat2(root_fd, relative, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC, 0, _RESOLVE)
    except (FileNotFoundError, NotADirectoryError):
        return []
    finally:
        os.close(root_fd)
    with open(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ImageError(f"the image's /{relative} is not a regular file")
        data = f.read(_MAX_DB_SIZE)
    entries = []
    for line in data.decode("utf-8", "replace").splitlines():
        if line and not line.startswith("#"):
            fields = line.split(":")
            if len(fields) >= 4:
                entries.append(fields + [""] * (7 - len(fields)))
    return entries
