"""runc compatibility of what the container's process gets (issue 18): the
capability sets, the user, the environment, the terminal, startContainer hooks.

Each test asserts the expected values literally, read back from inside the
container; where runc is installed the same bundle is also run under runc and
must give the same answer (an extra check, never the only one).
"""
import contextlib
import json
import os
import pty
import shutil
import subprocess

import pytest

from conftest import CGROUP_ROOT, RUNTIME, ConsoleSocket, read_pty

RUNC = shutil.which("runc")


def status_masks(text):
    """{"CapInh": int, ...} from the text of /proc/self/status."""
    return {line.split(":")[0]: int(line.split(":")[1], 16)
            for line in text.splitlines() if line.startswith("Cap")}


@contextlib.contextmanager
def under_runc(rt, bundle):
    """(runc argv prefix, container id) for ``bundle`` run under runc: its own
    --root and cgroup parent; the container and the cgroups are removed after."""
    original = rt.read_config(bundle)
    config = json.loads(json.dumps(original))
    parent = f"{rt.cgroup_parent}-runc"
    config["linux"]["cgroupsPath"] = f"/{parent}/{os.path.basename(bundle)}"
    rt.write_config(bundle, config)
    runc, container_id = [RUNC, "--root", str(rt.tmp / "runc-state")], f"runc-{rt.tag}-{len(rt.ids)}"
    try:
        yield runc, container_id
    finally:
        subprocess.run([*runc, "delete", "--force", container_id], capture_output=True, timeout=30)
        rt.write_config(bundle, original)
        for hierarchy in os.listdir(CGROUP_ROOT):
            for directory, _subdirs, _files in os.walk(os.path.join(CGROUP_ROOT, hierarchy, parent), topdown=False):
                os.rmdir(directory)


def runc_run(rt, bundle, global_args=()):
    """``runc run`` of ``bundle``; None where runc is not installed."""
    if RUNC is None:
        return None
    with under_runc(rt, bundle) as (runc, container_id):
        return subprocess.run([*runc, *global_args, "run", "--bundle", str(bundle), container_id],
                              capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)


def runc_exec(rt, bundle, *exec_args):
    """``runc exec`` in a detached runc container of ``bundle``; None without runc."""
    if RUNC is None:
        return None
    with under_runc(rt, bundle) as (runc, container_id):
        # Not pipes: the detached container keeps its stdio, a pipe would never end.
        subprocess.run([*runc, "run", "-d", "--bundle", str(bundle), container_id], check=True,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        return subprocess.run([*runc, "exec", *exec_args[:-1], container_id, *exec_args[-1]],
                              capture_output=True, text=True, timeout=30)


# ---------------------------------------------------------------- capabilities

RUNC_SPEC_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
AUDIT_WRITE, KILL, NET_BIND_SERVICE, CHOWN = 1 << 29, 1 << 5, 1 << 10, 1 << 0


def test_ambient_without_inheritable_runs_as_runc_spec_writes_it(rt):
    """`runc spec` 1.1 lists ambient capabilities but no inheritable set: runc
    raises none of them (a capability can be ambient only while permitted and
    inheritable) and runs the process; the dropped ones are named in the debug log."""
    caps = {name: list(RUNC_SPEC_CAPS) for name in ("bounding", "permitted", "ambient", "effective")}
    bundle = rt.bundle(["cat", "/proc/self/status"], capabilities=caps, user={"uid": 1000, "gid": 1000})
    log = rt.tmp / "debug.log"
    result = rt.run(bundle, global_args=("--debug", "--log", str(log)))
    got = status_masks(result.stdout)
    three = AUDIT_WRITE | KILL | NET_BIND_SERVICE
    # uid 1000 without ambient caps: nothing survives the exec into P/E.
    assert (got["CapInh"], got["CapPrm"], got["CapEff"], got["CapBnd"], got["CapAmb"]) == (0, 0, 0, three, 0)
    assert "CAP_KILL" in log.read_text() and "not raised" in log.read_text()
    theirs = runc_run(rt, bundle)
    if theirs is not None:
        assert theirs.returncode == 0, theirs.stderr
        assert status_masks(theirs.stdout) == got


def test_ambient_is_raised_where_inheritable_allows_it(rt):
    """Only the ambient capabilities also inheritable (and permitted) are raised."""
    caps = {"bounding": ["CAP_KILL", "CAP_CHOWN"], "permitted": ["CAP_KILL", "CAP_CHOWN"],
            "effective": ["CAP_KILL", "CAP_CHOWN"], "inheritable": ["CAP_KILL"],
            "ambient": ["CAP_KILL", "CAP_CHOWN"]}
    bundle = rt.bundle(["cat", "/proc/self/status"], capabilities=caps, user={"uid": 1000, "gid": 1000})
    got = status_masks(rt.run(bundle).stdout)
    assert (got["CapInh"], got["CapPrm"], got["CapEff"], got["CapBnd"], got["CapAmb"]) == \
        (KILL, KILL, KILL, KILL | CHOWN, KILL)
    theirs = runc_run(rt, bundle)
    if theirs is not None:
        assert theirs.returncode == 0, theirs.stderr
        assert status_masks(theirs.stdout) == got


def test_exec_cap_adds_to_bounding_effective_permitted_not_ambient(rt):
    """runc 1.1.5's `exec --cap` appends to bounding, effective, permitted and
    ambient, never inheritable (CVE-2022-29162), so the ambient raise is skipped:
    root's process has the cap in B, P and E, and nothing inheritable or ambient."""
    caps = {name: ["CAP_KILL"] for name in ("bounding", "permitted", "effective")}
    bundle = rt.bundle(["sleep", "30"], capabilities=caps)
    container_id = rt.create(bundle)
    rt.cmd("start", container_id, check=True)
    result = rt.cmd("exec", "--cap", "CAP_CHOWN", container_id, "cat", "/proc/self/status")
    assert result.returncode == 0, result.stderr
    got = status_masks(result.stdout)
    assert (got["CapInh"], got["CapPrm"], got["CapEff"], got["CapBnd"], got["CapAmb"]) == \
        (0, KILL | CHOWN, KILL | CHOWN, KILL | CHOWN, 0)
    theirs = runc_exec(rt, bundle, "--cap", "CAP_CHOWN", ["cat", "/proc/self/status"])
    if theirs is not None:
        assert theirs.returncode == 0, theirs.stderr
        assert status_masks(theirs.stdout) == got


# ---------------------------------------------------------------- user

def test_user_without_gid_runs_with_gid_0(rt):
    """runc takes a process.user without gid as gid 0 (the spec lists it as required)."""
    bundle = rt.bundle(["sh", "-c", "id -u; id -g; id -G"], user={"uid": 1000, "additionalGids": [5]})
    assert rt.run(bundle).stdout.split() == ["1000", "0", "0", "5"]
    exec_bundle = rt.bundle(["sleep", "30"])
    container_id = rt.create(exec_bundle)
    rt.cmd("start", container_id, check=True)
    process = rt.read_config(exec_bundle)["process"]
    process.update(args=["id", "-g"], user={"uid": 1000})
    process_file = rt.tmp / "process.json"
    process_file.write_text(json.dumps(process))
    result = rt.cmd("exec", "--process", str(process_file), container_id)
    assert (result.returncode, result.stdout.strip()) == (0, "0"), result.stderr
    theirs = runc_run(rt, bundle)
    if theirs is not None:
        assert theirs.returncode == 0, theirs.stderr
        assert theirs.stdout.split() == ["1000", "0", "0", "5"]


# ---------------------------------------------------------------- environment

def test_duplicate_env_names_keep_the_last_value(rt):
    """runc sets the entries one by one: a name given twice has its last value,
    at the place of its first entry, once."""
    bundle = rt.bundle(["env"], env=["A=first", "PATH=/bin", "B=x", "A=second", "HOME=/h", "A=third"])
    got = rt.run(bundle).stdout.splitlines()
    assert got == ["A=third", "PATH=/bin", "B=x", "HOME=/h"]
    theirs = runc_run(rt, bundle)
    if theirs is not None:
        assert theirs.returncode == 0, theirs.stderr
        assert theirs.stdout.splitlines() == got


def test_exec_env_overrides_the_config_env(rt):
    bundle = rt.bundle(["sleep", "30"], env=["PATH=/bin", "A=config"])
    container_id = rt.create(bundle)
    rt.cmd("start", container_id, check=True)
    result = rt.cmd("exec", "--env", "A=exec", "--env", "A=last", container_id, "env")
    assert result.stdout.splitlines() == ["PATH=/bin", "A=last", "HOME=/root"], result.stderr


def _passwd(bundle, line):
    with open(bundle / "rootfs" / "etc" / "passwd", "a") as f:
        f.write(line + "\n")


def test_empty_or_unset_home_comes_from_the_container_passwd(rt):
    """HOME unset or empty: the user's home in the container's /etc/passwd, "/"
    for a uid it does not list (runc's setupUser)."""
    cases = [(["PATH=/bin"], 1234, "/srv/app"), (["PATH=/bin", "HOME="], 1234, "/srv/app"),
             (["HOME=", "PATH=/bin"], 4321, "/"), (["PATH=/bin", "HOME=/mine"], 1234, "/mine")]
    for env, uid, home in cases:
        bundle = rt.bundle(["sh", "-c", 'echo "$HOME"'], env=env, user={"uid": uid, "gid": uid})
        _passwd(bundle, "app:x:1234:1234:App:/srv/app:/bin/sh")
        assert rt.run(bundle).stdout == home + "\n", (env, uid)
        theirs = runc_run(rt, bundle)
        if theirs is not None:
            assert (theirs.returncode, theirs.stdout) == (0, home + "\n"), (env, uid, theirs.stderr)


def test_home_passwd_is_read_inside_the_container_root(rt):
    """/etc/passwd as an absolute symlink is resolved in the container's root
    (not the host's: its root's home is /root, the link target here says /inside)."""
    bundle = rt.bundle(["sh", "-c", 'echo "$HOME"'], env=["PATH=/bin"])
    etc = bundle / "rootfs" / "etc"
    (etc / "passwd").rename(etc / "passwd.real")
    (etc / "passwd.real").write_text("root:x:0:0:root:/inside:/bin/sh\n")
    os.symlink("/etc/passwd.real", etc / "passwd")
    assert rt.run(bundle).stdout == "/inside\n"
    os.unlink(etc / "passwd")
    os.mkfifo(etc / "passwd")  # a FIFO is not read (it would block): "/"
    assert rt.run(bundle).stdout == "/\n"


# ---------------------------------------------------------------- terminal

TTY_PROBE = ["sh", "-c", "stat -c '%u %g' $(tty) /dev/console; stty -a 2>/dev/null | grep -o '.onlcr'; echo end"]


def _through_console_socket(runtime_argv, bundle, container_id, tmp):
    """Output of a terminal container run by create --console-socket + start."""
    listener = ConsoleSocket(str(tmp / f"console-{container_id}.sock"))
    try:
        subprocess.run([*runtime_argv, "create", "--console-socket", listener.path, "--bundle", str(bundle),
                        container_id], check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=30)
    finally:
        master, _ = listener.close()
    subprocess.run([*runtime_argv, "start", container_id], check=True, timeout=30)
    try:
        return read_pty(master).decode()
    finally:
        os.close(master)


def test_console_socket_pty_belongs_to_the_user(rt):
    """The pty handed to --console-socket is owned by the process's uid, group tty
    (devpts' gid=5): the user can use its own terminal.  ONLCR is the receiver's
    business there (runc leaves it on: lines end in \\r\\n)."""
    bundle = rt.bundle(TTY_PROBE, terminal=True, user={"uid": 1000, "gid": 1000})
    got = _through_console_socket([RUNTIME, "--root", rt.root], bundle, rt.new_id(), rt.tmp)
    assert got == "1000 5\r\n1000 5\r\n onlcr\r\nend\r\n", repr(got)
    if RUNC is not None:
        with under_runc(rt, bundle) as (runc, runc_id):
            assert _through_console_socket(runc, bundle, runc_id, rt.tmp) == got


def test_relayed_pty_has_onlcr_cleared(rt):
    """`run` and `exec` of a terminal process without --console-socket relay the
    pty themselves and clear ONLCR on it, as runc's relay: lines end in "\\n", not
    "\\r\\n".  The pty is the user's here too."""
    bundle = rt.bundle(TTY_PROBE, terminal=True, user={"uid": 1000, "gid": 1000})
    expected = ["1000 5", "1000 5", "-onlcr", "end"]
    master, slave = pty.openpty()  # runc's relay wants a terminal on stdin
    try:
        got = rt.run(bundle, stdin=slave).stdout
        assert got.splitlines() == expected and "\r" not in got, repr(got)
        if RUNC is not None:
            with under_runc(rt, bundle) as (runc, runc_id):
                theirs = subprocess.run([*runc, "run", "--bundle", str(bundle), runc_id], stdin=slave,
                                        capture_output=True, text=True, timeout=30)
            assert theirs.stdout == got, theirs.stderr
        sleeper = rt.bundle(["sleep", "30"], user={"uid": 1000, "gid": 1000})
        container_id = rt.create(sleeper)
        rt.cmd("start", container_id, check=True)
        result = rt.cmd("exec", "-t", container_id, "sh", "-c", "stty -a 2>/dev/null | grep -o '.onlcr'; "
                        "stat -c '%u %g' $(tty)", stdin=slave)
        assert result.stdout == "-onlcr\n1000 5\n", (result.stdout, result.stderr)
    finally:
        os.close(master)
        os.close(slave)


# ---------------------------------------------------------------- startContainer hooks

HOOK_SECCOMP = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
                "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}


@pytest.mark.parametrize("nnp", [True, False])
def test_start_container_hooks_get_the_process_env_and_its_seccomp(rt, nnp):
    """runc runs startContainer hooks from its init, just before the exec: one
    without ``env`` gets the process's environment (deduplicated, HOME from the
    passwd), one with ``env`` gets only that; both run under the container's
    seccomp filter (runc loads it before them, with or without no_new_privs),
    as the process's user."""
    def edit(config):
        config["linux"]["seccomp"] = HOOK_SECCOMP
        config["hooks"] = {"startContainer": [
            {"path": "/bin/sh", "args": ["sh", "-c", "env | sort > /hook-env; id -u >> /hook-env; "
                                         "mkdir /hook-dir 2>> /hook-env; echo mkdir=$? >> /hook-env"]},
            {"path": "/bin/sh", "args": ["sh", "-c", "env | sort > /hook-own-env"], "env": ["ONLY=this"]}]}
    bundle = rt.bundle(["sh", "-c", "cat /hook-env; echo --; cat /hook-own-env"], edit=edit,
                       env=["PATH=/bin:/usr/bin", "A=first", "A=last"], user={"uid": 1000, "gid": 1000},
                       noNewPrivileges=nnp)
    os.chmod(bundle / "rootfs", 0o777)  # the hooks run as the process's user
    got = rt.run(bundle).stdout
    hook_env, own_env = got.split("--\n")
    lines = hook_env.splitlines()
    assert {"A=last", "HOME=/home/user", "PATH=/bin:/usr/bin"} <= set(lines), got
    assert "A=first" not in lines and lines[-3] == "1000" and lines[-1] == "mkdir=1", got
    assert "Operation not permitted" in lines[-2], got
    own = own_env.splitlines()  # (sh itself adds PWD, SHLVL and a default PATH)
    assert "ONLY=this" in own and not any(e.startswith(("A=", "HOME=")) for e in own), got
    theirs = runc_run(rt, bundle)
    if theirs is not None:
        assert theirs.returncode == 0, theirs.stderr
        assert theirs.stdout == got
