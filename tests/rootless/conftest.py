"""Rootless tests: oci-runtime run by an ordinary user (docs/rootless.md).

The session makes its own user (``ocirt-rl``, with /etc/subuid and /etc/subgid
ranges) unless it exists, and removes it at the end if it made it.  Every
command runs as that user through runuser with a clean environment whose
XDG_RUNTIME_DIR is the test's own directory, so the runtime's default --root
is the one the user gets on a real system.  A delegated cgroup parent (the
way an administrator, or systemd's Delegate=yes, hands a subtree to a user)
is a test-owned directory chowned to the user, removed again at the end.

What the host cannot do is skipped with the reason (no useradd, user
namespaces disabled for users, a runtime the user cannot read).
"""
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid

import pytest

from conftest import CGROUP_ROOT, RUNTIME

USER = "ocirt-rl"
RANGE = 65536


def _can_users_make_user_namespaces():
    for path, bad in (("/proc/sys/kernel/unprivileged_userns_clone", "0"), ("/proc/sys/user/max_user_namespaces", "0")):
        try:
            with open(path) as f:
                if f.read().strip() == bad:
                    return f"{path} is {bad}: users may not create user namespaces here"
        except FileNotFoundError:
            pass
    return ""


def _reachable_by_others(path):
    """Every directory down to ``path`` lets others through, and the file is readable."""
    probe = os.path.dirname(os.path.abspath(path))
    while probe != "/":
        if not os.stat(probe).st_mode & 0o001:
            return False
        probe = os.path.dirname(probe)
    return bool(os.stat(path).st_mode & 0o005)


def _ensure_subordinate_ranges(user):
    """The user's /etc/subuid and /etc/subgid range (useradd adds one when the files
    exist; otherwise one after every range already given)."""
    for name, flag in (("/etc/subuid", "--add-subuids"), ("/etc/subgid", "--add-subgids")):
        lines = open(name).read().splitlines() if os.path.exists(name) else []
        if any(line.split(":")[0] == user for line in lines):
            continue
        end = max([100000] + [int(f[1]) + int(f[2]) for f in (line.split(":") for line in lines) if len(f) == 3])
        subprocess.run(["usermod", flag, f"{end}-{end + RANGE - 1}", user], check=True, capture_output=True)


def subordinate_range(user, name="/etc/subuid"):
    for line in open(name).read().splitlines():
        fields = line.split(":")
        if fields[0] == user:
            return int(fields[1]), int(fields[2])
    raise LookupError(user)


class RootlessUser:
    def __init__(self, name, made):
        entry = pwd.getpwnam(name)
        self.name, self.uid, self.gid, self.home, self.made = name, entry.pw_uid, entry.pw_gid, entry.pw_dir, made

    def env(self, xdg, **extra):
        env = {"HOME": self.home, "USER": self.name, "LOGNAME": self.name,
               "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "XDG_RUNTIME_DIR": str(xdg)}
        env.update(extra)
        return env

    def argv(self, argv, xdg, **extra):
        return ["runuser", "-u", self.name, "--", "env", "-i",
                *(f"{k}={v}" for k, v in self.env(xdg, **extra).items()), *argv]

    def processes(self):
        """Live pids owned by the user (every one is a test's: the user is the tests')."""
        found = []
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    st = os.stat(f"/proc/{name}")
                    with open(f"/proc/{name}/stat") as f:
                        state = f.read().rsplit(")", 1)[1].split()[0]
                except (FileNotFoundError, ProcessLookupError):
                    continue
                if st.st_uid == self.uid and state not in ("Z", "X"):
                    found.append(int(name))
        return found


@pytest.fixture(scope="session")
def rootless_user():
    if os.geteuid() != 0:
        pytest.skip("needs root to make the test user")
    why = _can_users_make_user_namespaces()
    if why:
        pytest.skip(why)
    for tool in ("useradd", "userdel", "usermod", "runuser", "newuidmap", "newgidmap"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed (apt-get install passwd util-linux uidmap)")
    if not _reachable_by_others(RUNTIME):
        pytest.skip(f"the runtime under test {RUNTIME} is not readable by other users: install it where they can")
    made = False
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "-m", "-s", "/bin/sh", USER], check=True, capture_output=True)
        made = True
    _ensure_subordinate_ranges(USER)
    user = RootlessUser(USER, made)
    yield user
    left = user.processes()
    for pid in left:  # only the tests' own user runs them
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    if made:
        subprocess.run(["userdel", "-r", USER], capture_output=True)
    assert not left, f"processes of the rootless user left running: {left}"


class Rootless:
    """One test's rootless runtime: commands as the user, its own XDG_RUNTIME_DIR,
    bundles the user owns, delegated cgroups on request, and a clean-up check."""

    def __init__(self, user, busybox_template):
        self.user = user
        self.template = busybox_template
        self.tag = uuid.uuid4().hex[:8]
        self.base = tempfile.mkdtemp(prefix=f"ocirt-rl-{self.tag}-", dir="/tmp")
        os.chmod(self.base, 0o755)
        self.xdg = os.path.join(self.base, "xdg")
        os.mkdir(self.xdg, 0o700)
        os.chown(self.xdg, user.uid, user.gid)
        self.root = os.path.join(self.xdg, "oci-runtime")  # the default --root of this user
        self.ids = []
        self.delegated = []  # cgroup directories chowned to the user
        self.runner_cgroup = None  # cgroup v2: where the user's commands start (delegate)
        self.ignore_process = lambda pid: False  # a user process that is not the test's (systemd --user)

    # -------------------------------------------------------------- commands
    def run_as(self, argv, timeout=60, input=None, **extra_env):
        full = self.user.argv(argv, self.xdg, **extra_env)
        if self.runner_cgroup:
            full = ["sh", "-c", f'echo $$ > {self.runner_cgroup}/cgroup.procs && exec "$@"', "sh", *full]
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            proc = subprocess.run(full, stdout=out, stderr=err, input=input, timeout=timeout, cwd=self.base)
            out.seek(0)
            err.seek(0)
            return subprocess.CompletedProcess(argv, proc.returncode, out.read().decode(errors="replace"),
                                               err.read().decode(errors="replace"))

    def cmd(self, *args, check=False, global_args=(), **kw):
        result = self.run_as([RUNTIME, *global_args, *args], **kw)
        if check and result.returncode != 0:
            raise AssertionError(f"{args} failed ({result.returncode}): {result.stderr}")
        return result

    def new_id(self):
        container_id = f"rl-{self.tag}-{len(self.ids)}"
        self.ids.append(container_id)
        return container_id

    def bundle(self, args=("true",), edit=None, name=None):
        """A bundle from `oci-runtime spec --rootless` (run as the user) with the
        busybox rootfs, owned by the user (its root in the container)."""
        path = os.path.join(self.base, name or f"bundle{len(os.listdir(self.base))}")
        shutil.copytree(os.path.join(self.template, "rootfs"), os.path.join(path, "rootfs"), symlinks=True)
        subprocess.run(["chown", "-R", f"{self.user.uid}:{self.user.gid}", path], check=True)
        self.cmd("spec", "--rootless", "--bundle", path, check=True)
        config = self.read_config(path)
        config["process"]["terminal"] = False
        config["process"]["args"] = list(args)
        config["root"]["readonly"] = False
        if edit:
            edit(config)
        self.write_config(path, config)
        return path

    @staticmethod
    def read_config(path):
        with open(os.path.join(path, "config.json")) as f:
            return json.load(f)

    @staticmethod
    def write_config(path, config):
        with open(os.path.join(path, "config.json"), "w") as f:
            json.dump(config, f, indent=1)

    def state(self, container_id):
        return json.loads(self.cmd("state", container_id, check=True).stdout)

    # -------------------------------------------------------------- cgroups
    def delegate(self):
        """A cgroup parent the user may use (``/ocirt-rl-<tag>``), as an administrator
        delegates one: made in every v1 hierarchy, or in the cgroup2 one, and chowned
        to the user.  Returns it, for linux.cgroupsPath."""
        name = f"ocirt-rl-{self.tag}"
        if os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers")):  # pure cgroup v2
            directory = os.path.join(CGROUP_ROOT, name)
            with open(os.path.join(CGROUP_ROOT, "cgroup.subtree_control"), "w") as f:
                f.write("+memory +pids")
            os.mkdir(directory)
            self.delegated.append(directory)
            for entry in ("", "cgroup.procs", "cgroup.subtree_control", "cgroup.threads"):
                os.chown(os.path.join(directory, entry), self.user.uid, self.user.gid)
            # cgroup v2 moves a process only within a subtree the mover may write at the
            # top: the user's commands start in a leaf of the delegated one (run_as).
            runner = os.path.join(directory, "runner")
            os.mkdir(runner)
            self.delegated.append(runner)
            self.runner_cgroup = runner
            return "/" + name
        for entry in os.listdir(CGROUP_ROOT):
            hierarchy = os.path.join(CGROUP_ROOT, entry)
            if entry == "unified" or not os.path.isdir(hierarchy) or os.path.islink(hierarchy):
                continue
            if not os.path.exists(os.path.join(hierarchy, "cgroup.procs")):
                continue
            directory = os.path.join(hierarchy, name)
            os.mkdir(directory)
            self.delegated.append(directory)
            if os.path.exists(os.path.join(directory, "cpuset.cpus")):
                for knob in ("cpuset.cpus", "cpuset.mems"):
                    with open(os.path.join(hierarchy, knob)) as src, open(os.path.join(directory, knob), "w") as dst:
                        dst.write(src.read())
            subprocess.run(["chown", "-R", f"{self.user.uid}:{self.user.gid}", directory], check=True)
        return "/" + name

    # -------------------------------------------------------------- teardown
    def cleanup(self):
        for container_id in self.ids:
            self.cmd("delete", "--force", container_id)

    def leftovers(self):
        problems = []
        if os.path.isdir(self.root) and os.listdir(self.root):
            left = [e for e in os.listdir(self.root) if e != "cgroup-parents.json"]
            if left:
                problems.append(f"state left in {self.root}: {left}")
        for directory in reversed(self.delegated):
            subs = [d for d in os.listdir(directory) if os.path.isdir(os.path.join(directory, d))
                    and os.path.join(directory, d) != self.runner_cgroup]
            if subs:
                problems.append(f"cgroups left under {directory}: {subs}")
        with open("/proc/self/mountinfo") as f:
            mounts = [line for line in f if self.base in line]
        if mounts:
            problems.append(f"mounts left: {mounts}")
        left = [pid for pid in self.user.processes() if not self.ignore_process(pid)]
        if left:
            problems.append(f"processes of {self.user.name} left: {left}")
        return problems

    def remove(self):
        for directory in reversed(self.delegated):
            for sub in sorted((os.path.join(d, s) for d, subs, _ in os.walk(directory) for s in subs),
                              key=len, reverse=True):
                try:
                    os.rmdir(sub)
                except OSError:
                    pass
            try:
                os.rmdir(directory)
            except OSError:
                pass
        shutil.rmtree(self.base, ignore_errors=True)


def checked(runtime):
    """A fixture's body for ``runtime``: yield it, then delete what the test made, check
    that nothing of it is left, and remove the test's directories and cgroups."""
    try:
        yield runtime
        runtime.cleanup()
        problems = runtime.leftovers()
    finally:
        runtime.remove()
    assert not problems, "test left things behind: " + "; ".join(problems)


@pytest.fixture
def rl(rootless_user, busybox_template):
    yield from checked(Rootless(rootless_user, busybox_template))
