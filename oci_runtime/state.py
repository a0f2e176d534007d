"""The state store: ``<root>/<id>/state.json``, a lock per container, and status.

* state.json is replaced atomically (atomicfile.py: an unnamed file, linked
  and renamed over), so a crash of the runtime never leaves a half-written
  file or a temporary behind.  No fsync: it
  only guards against a power loss, after which no container is left for the
  state to describe (runc does not fsync either; each fsync cost ~0.4 ms).
* ``lock(...)`` takes an exclusive flock on ``<root>/<id>/lock`` so two
  commands on one container never interleave.
* The status is derived from the kernel, never trusted from the file: the init
  pid must exist, not be a zombie, and have the start time recorded at create
  (a reused pid belongs to someone else, so the container is stopped).
  ``created`` vs ``running`` is whether the exec fifo still exists.
"""
import fcntl
from oci_runtime import fastjson as json  # json without its re/enum imports
import os
import time

from oci_runtime import OCI_VERSION
from oci_runtime.errors import ContainerExists, ContainerNotFound, OCIError
from oci_runtime.fileio import read_bytes, read_text


class CorruptState(OCIError):
    """state.json exists but cannot be read as a container's state."""

    def __init__(self, directory, cause):
        self.directory = directory
        path = os.path.join(directory, STATE_FILE)
        super().__init__(f"{path}: the container's state file is unreadable ({cause}); "
                         f"`delete --force {os.path.basename(directory)}` removes the container")

STATE_FILE = "state.json"
# What `delete --force` needs if state.json is ever unreadable (a disk error, a
# hand edit): the init's pid and start time and the cgroups.  Written with it once
# the init is known (create's final save, and update's).
RECOVERY_FILE = "recovery.json"
RECOVERY_KEYS = ("cgroups", "cgroups_created", "init_start_time")
FIFO_NAME = "exec.fifo"
LOCK_NAME = "lock"
_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+.-")


def _is_valid_id(container_id):
    return bool(container_id) and container_id not in (".", "..") and _ID_CHARS.issuperset(container_id)


def validate_id(container_id):
    if not _is_valid_id(container_id):
        raise OCIError(f"invalid id format: {container_id}")


def container_dir(root, container_id):
    validate_id(container_id)
    return os.path.join(root, container_id)


def now_rfc3339():
    t = time.time_ns()
    seconds, nanoseconds = divmod(t, 1_000_000_000)
    return go_time(time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanoseconds:09d}Z")


def go_time(text):
    """An RFC 3339 UTC time as Go's RFC3339Nano writes it: no trailing zeros in the
    fraction, no "." when it is zero (what runc's `state` and `list` print)."""
    head, dot, fraction = text.partition(".")
    if not dot or not fraction.endswith("Z"):
        return text
    fraction = fraction[:-1].rstrip("0")
    return f"{head}.{fraction}Z" if fraction else f"{head}Z"


class Lock:
    """An exclusive flock on a container's lock file, held for one command.

    Only `create` makes the lock file (``create=True``); everyone else opens
    the existing one, so a command racing a `delete` can never re-create it
    inside a directory that is being removed.
    """

    def __init__(self, directory, create=False, blocking=True):
        flags = os.O_RDWR | os.O_CLOEXEC | (os.O_CREAT if create else 0)
        self.fd = os.open(os.path.join(directory, LOCK_NAME), flags, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            self._check_still_linked(directory)
        except BaseException:
            os.close(self.fd)
            raise

    def _check_still_linked(self, directory):
        """While we waited, a `delete` may have removed the dir (and a `create` made
        a new one with the same id): a lock on the old, unlinked file guards nothing."""
        try:
            current = os.stat(os.path.join(directory, LOCK_NAME))
        except FileNotFoundError:
            current = None
        mine = os.fstat(self.fd)
        if current is None or (current.st_dev, current.st_ino) != (mine.st_dev, mine.st_ino):
            raise FileNotFoundError(2, "container was removed while waiting for its lock", directory)

    def release(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


def make_container_dir(root, container_id):
    """Create the state dir; refuses an id in use.  Returns (path, held Lock)."""
    directory = container_dir(root, container_id)
    # 0700 as runc's: another user on the host (rootless ones included) cannot
    # even look up a container's state, fifo or lock under someone else's root.
    try:
        os.mkdir(directory, 0o711)
    except FileNotFoundError:  # the root's first container
        os.makedirs(root, mode=0o700, exist_ok=True)
        try:
            os.mkdir(directory, 0o711)
        except FileExistsError:
            raise ContainerExists() from None
    except FileExistsError:
        raise ContainerExists() from None
    try:
        return directory, Lock(directory, create=True)
    except FileNotFoundError:  # a `delete --force` of this id removed it already
        raise OCIError("container was deleted while it was being created") from None


def open_container(root, container_id):
    """Lock an existing container and load its state.  Returns (State, Lock)."""
    directory = container_dir(root, container_id)
    try:
        lock = Lock(directory)
    except FileNotFoundError:
        raise ContainerNotFound() from None
    try:
        state = State.load(directory)
    except BaseException:
        lock.release()
        raise
    return state, lock


def write_json_atomic(path, document):
    from oci_runtime import atomicfile

    atomicfile.replace(path, json.dumps(document).encode())


def process_start_time(pid):
    """(state letter, start time in clock ticks) of a pid, or None if it is gone."""
    try:
        data = read_bytes(f"/proc/{pid}/stat")
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = data[data.rindex(b")") + 2:].split()
    return fields[0].decode(), int(fields[19])


class State:
    """One container's persisted state plus the live status the kernel reports."""

    def __init__(self, directory, data):
        self.directory = directory
        self.data = data

    @classmethod
    def load(cls, directory):
        try:
            data = json.loads(read_bytes(os.path.join(directory, STATE_FILE)))
        except FileNotFoundError:
            raise ContainerNotFound() from None
        except ValueError as exc:
            raise CorruptState(directory, f"invalid JSON: {exc}") from None
        except OSError as exc:
            raise CorruptState(directory, exc.strerror) from None
        problem = _shape_problem(data)
        if problem:
            raise CorruptState(directory, problem)
        return cls(directory, data)

    @classmethod
    def recover(cls, directory):
        """A State with what recovery.json still tells (for `delete --force` of a
        container whose state.json is unreadable): its pid and cgroups, or nothing."""
        try:
            saved = json.loads(read_bytes(os.path.join(directory, RECOVERY_FILE)))
        except (OSError, ValueError):
            saved = {}
        if not isinstance(saved, dict):
            saved = {}
        pid = saved.get("pid") if isinstance(saved.get("pid"), int) else 0
        private = {k: saved[k] for k in RECOVERY_KEYS if k in saved}
        if not isinstance(private.get("cgroups", {}), dict):
            private = {}
        return cls(directory, {"id": os.path.basename(directory), "pid": pid, "status": "unknown",
                               "bundle": "", "runtime": private})

    @classmethod
    def new(cls, directory, container_id, bundle, config):
        data = {
            "ociVersion": OCI_VERSION,
            "id": container_id,
            "pid": 0,
            "status": "creating",
            "bundle": bundle,
            "rootfs": "",
            "created": now_rfc3339(),
            "owner": "",
            "annotations": config["annotations"],
            # Private to the runtime; never printed by `state`.
            "runtime": {},
        }
        return cls(directory, data)

    def save(self, recovery=True):
        """state.json, and recovery.json once the init is known (a "creating" one is
        not).  create writes recovery.json itself as soon as it learns the init's
        pid (save_recovery), while the init is still setting up, and passes
        ``recovery=False`` to its final save: one write less after "ready"."""
        write_json_atomic(os.path.join(self.directory, STATE_FILE), self.data)
        if self.pid and recovery:
            self.save_recovery()

    def save_recovery(self):
        """Written in place, not replaced atomically: it is only read when state.json
        cannot be, and a torn write just leaves nothing to recover (as before it)."""
        recovery = {k: self.private[k] for k in RECOVERY_KEYS if k in self.private}
        recovery["pid"] = self.pid
        fd = os.open(os.path.join(self.directory, RECOVERY_FILE),
                     os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, json.dumps(recovery).encode())
        finally:
            os.close(fd)

    @property
    def id(self):
        return self.data["id"]

    @property
    def pid(self):
        return self.data["pid"]

    @property
    def private(self):
        return self.data["runtime"]

    @property
    def fifo_path(self):
        return os.path.join(self.directory, FIFO_NAME)

    def init_alive(self):
        """True while the recorded init pid is still our process (not reused, not a zombie)."""
        if not self.pid:
            return False
        info = process_start_time(self.pid)
        if info is None:
            return False
        letter, start = info
        return letter not in ("Z", "X") and start == self.private.get("init_start_time")

    def creator_alive(self):
        """True while the `create` that wrote this state is still running."""
        creator = self.private.get("creator") or {}
        info = process_start_time(creator.get("pid", 0)) if creator.get("pid") else None
        return bool(info) and info[0] not in ("Z", "X") and info[1] == creator.get("start_time")

    def status(self):
        if self.data.get("status") == "creating":
            # Written first by create (see docs/reliability.md); if that create died
            # the container never came up: it is stopped, and delete removes it.
            return "creating" if self.creator_alive() else "stopped"
        if not self.init_alive():
            return "stopped"
        if os.path.exists(self.fifo_path) and self._init_waits_on_fifo():
            return "created"
        return "paused" if self._frozen() else "running"

    def _frozen(self):
        """What the driver recorded at create says where to look (cgroups: frozen_probe),
        so a status needs no driver module; a state without it asks the driver."""
        probe = self.private.get("frozen_probe")
        if not probe:
            return self.cgroup().is_frozen()
        try:
            return read_text(probe[0]).strip() == probe[1]
        except FileNotFoundError:
            return False

    def cgroup(self):
        """The container's cgroup driver (cgroups/), rebuilt from what create recorded."""
        from oci_runtime import cgroups

        return cgroups.of(self.private.get("cgroups") or {}, self.private.get("cgroup_driver"),
                          self.private.get("cgroups_left_out"))

    def _init_waits_on_fifo(self):
        """The waiting init holds the fifo open; a `start` killed between its write
        and the unlink leaves a stale fifo with nobody reading it (then: running)."""
        try:
            fd = os.open(self.fifo_path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:  # ENXIO: no reader any more; ENOENT: start just removed it
            return False
        os.close(fd)
        return True

    def public(self):
        """The state document as runc prints it (status and pid from the kernel):
        runc's field order, ``created`` as Go's RFC3339Nano (trailing zeros of the
        fraction dropped), ``annotations`` only when there are some, keys sorted
        (a Go map), before ``owner``."""
        status = self.status()
        data = self.data
        doc = {"ociVersion": data.get("ociVersion"), "id": data["id"],
               "pid": 0 if status == "stopped" else data["pid"], "status": status,
               "bundle": data["bundle"], "rootfs": data.get("rootfs", ""),
               "created": go_time(data.get("created", ""))}
        annotations = data.get("annotations")
        if annotations:
            doc["annotations"] = dict(sorted(annotations.items()))
        doc["owner"] = data.get("owner", "")
        return doc


def _shape_problem(data):
    """What makes a parsed state.json unusable, or "" (a truncated or hand-edited
    file can be valid JSON and still lack what every command relies on)."""
    if not isinstance(data, dict):
        return "not a JSON object"
    for key, kind in (("id", str), ("pid", int), ("status", str), ("bundle", str), ("runtime", dict)):
        if not isinstance(data.get(key), kind):
            return f"field {key!r} is missing or not a {kind.__name__}"
    return ""


def list_ids(root):
    try:
        names = os.listdir(root)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if _is_valid_id(n) and os.path.isdir(os.path.join(root, n)))


def remove_state_dir(directory):
    """Remove a container's state dir (it holds only flat files).  Another command
    may be removing it at the same moment: what is already gone is not an error."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return
    for name in names:
        try:
            os.unlink(os.path.join(directory, name))
        except FileNotFoundError:
            pass
    try:
        os.rmdir(directory)
    except FileNotFoundError:
        pass
