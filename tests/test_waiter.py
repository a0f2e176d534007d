"""The C waiter (cffi_build/init.c, installed as oci_runtime/libexec/oci-runtime-init).

Part of these tests drive the installed binary directly, the way create and
exec start it: a plan on a file descriptor (NUL-terminated KEY=VALUE records,
process/waiter_plan.write_plan) and a sync socket whose lines are read with the
runtime's own reader (process/messages.Reader).  A plan with UID/GID set to the test's own
ids and FIFO=-1 makes it exec at once, so nothing here needs a container.
The rest run real containers: what the user sees when the waiter fails.
"""
import errno
import os
import socket
import subprocess

import pytest

import oci_runtime
from oci_runtime.process.messages import Reader
from oci_runtime.errors import one_line

WAITER = os.path.join(os.path.dirname(oci_runtime.__file__), "libexec", "oci-runtime-init")
MAX_ITEMS = 65536  # MAX_ITEMS in cffi_build/init.c


def plan_bytes(records):
    return b"".join((r if isinstance(r, bytes) else os.fsencode(r)) + b"\0" for r in records)


def plan(sync_fd, *records, exe="/bin/true", args=("true",)):
    """A plan that runs ``exe`` at once (FIFO=-1) as this process's own uid and gid."""
    return plan_bytes([f"SYNC={sync_fd}", "FIFO=-1", f"UID={os.getuid()}", f"GID={os.getgid()}",
                       *records, f"EXE={exe}", *[f"ARG={a}" for a in args]])


def run_waiter(make_plan):
    """Run the installed waiter on ``make_plan(sync fd)`` (the plan's bytes), as create
    does; returns (the messages on the sync socket, its stderr, its exit status)."""
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    plan_fd = os.memfd_create("test-plan", 0)
    try:
        os.write(plan_fd, make_plan(child.fileno()))
        os.lseek(plan_fd, 0, os.SEEK_SET)
        proc = subprocess.Popen([WAITER, str(plan_fd)], pass_fds=(plan_fd, child.fileno()),
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    finally:
        child.close()
        os.close(plan_fd)
    try:
        reader = Reader(parent.fileno())
        messages = []
        while (message := reader.next()) is not None:
            messages.append(message)
        _, stderr = proc.communicate(timeout=30)
    finally:
        parent.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return messages, stderr.decode(errors="replace"), proc.returncode


def test_a_plain_plan_runs_the_program():
    messages, stderr, status = run_waiter(lambda fd: plan(fd, exe="/bin/sh", args=("sh", "-c", "exit 7")))
    assert messages == [{"type": "ready", "msg": ""}] and status == 7, stderr


# ------------------------------------------------------------- error messages

def test_a_long_error_arrives_whole_and_as_valid_json():
    """A message longer than any fixed buffer, most of it characters JSON must
    escape (quotes, backslashes, control characters: up to six bytes each),
    and non-ASCII text: it arrives exactly as the waiter said it."""
    cwd = "/" + ('q"\\\x01\n\té/' * 1500)  # ~15,000 characters, far past PATH_MAX
    messages, stderr, status = run_waiter(lambda fd: plan(fd, f"CWD={cwd}"))
    assert messages == [{"type": "error", "msg": f'chdir to cwd ("{cwd}") set in config.json failed: '
                                                 "File name too long"}], stderr[:500]
    assert status == 1


def test_an_error_naming_bytes_that_are_not_utf8_is_still_read():
    """A path is bytes: one that is not UTF-8 shows U+FFFD where those bytes were,
    instead of turning the whole error into "garbled message"."""
    messages, stderr, _ = run_waiter(lambda fd: plan(fd, b"CWD=/no-such-dir-\xff\xfe-here"))
    assert messages == [{"type": "error", "msg": 'chdir to cwd ("/no-such-dir-\ufffd\ufffd-here") set in '
                                                 "config.json failed: No such file or directory"}], stderr


def test_a_long_cwd_error_reaches_the_user_complete(rt):
    """Through `run`: process.cwd names a file (so the waiter's chdir fails) at a
    path of ~3,000 bytes that JSON escapes to ~10,000."""
    components = [(f"{i:02d}" + '"\\\x01' * 90)[:250] for i in range(12)]
    cwd = "/" + "/".join(components)
    bundle = rt.bundle(["true"], cwd=cwd)
    directory = bundle.joinpath("rootfs", *components[:-1])
    directory.mkdir(parents=True)
    (directory / components[-1]).write_text("not a directory\n")
    result = rt.run(bundle, check=False)
    assert result.returncode == 1
    expected = one_line(f'chdir to cwd ("{cwd}") set in config.json failed: Not a directory')
    assert expected in result.stderr, result.stderr[:500]


# ------------------------------------------------------------- malformed plans

@pytest.mark.parametrize("size", [60, 4096])  # 4096: the waiter's first read buffer, filled exactly
def test_a_plan_whose_last_record_lacks_its_nul_is_refused(size):
    """The records are NUL-terminated; a plan cut short (its last record without
    the NUL) is refused, and create hears why on the sync socket."""
    def cut(sync_fd):
        head = plan(sync_fd)
        return head + b"ARG=" + b"x" * (size - len(head) - 4)

    messages, stderr, status = run_waiter(cut)
    assert messages == [{"type": "error", "msg": "init plan: malformed: its last record "
                                                 "does not end with a NUL byte"}], stderr
    assert status == 1


def test_plan_errors_after_the_sync_record_go_to_the_sync_socket():
    messages, stderr, status = run_waiter(lambda fd: plan(fd, "NOSUCHKEY=1"))
    assert messages == [{"type": "error", "msg": "init plan: unknown key NOSUCHKEY"}], stderr
    assert status == 1
    messages, _, _ = run_waiter(lambda fd: plan(fd, "no equals sign"))
    assert messages == [{"type": "error", "msg": "init plan: bad record no equals sign"}]


# ------------------------------------------------------------- list limits

@pytest.mark.parametrize("key, field", [("ARG", "process.args"), ("ENV", "process.env"),
                                        ("GROUP", "process.user.additionalGids")])
def test_a_list_longer_than_the_waiter_holds_is_an_error(key, field):
    """One record past MAX_ITEMS is an error naming the list, never a silent drop."""
    extra = [f"{key}={i}" for i in range(MAX_ITEMS + 1 - (key == "ARG"))]  # plan() adds one ARG
    messages, stderr, status = run_waiter(lambda fd: plan(fd, "SETGROUPS=1", *extra))
    assert messages == [{"type": "error", "msg": f"init plan: {field} has more than {MAX_ITEMS} entries; "
                                                 f"at most {MAX_ITEMS} are supported"}], stderr
    assert status == 1


def test_lists_at_the_limit_are_carried_out_whole():
    env = [f"ENV=V{i}=x" for i in range(MAX_ITEMS)]
    script = 'test "$V0$V65535" = xx && test "$(env | grep -c ^V)" -eq 65536'
    messages, stderr, status = run_waiter(lambda fd: plan(fd, *env, exe="/bin/sh", args=("sh", "-c", script)))
    assert messages == [{"type": "ready", "msg": ""}] and status == 0, stderr


@pytest.mark.parametrize("field", ["env", "args", "additionalGids"])
def test_a_config_list_past_the_limit_is_a_config_error(rt, field):
    """Checked when config.json is read (config.py), naming the field: refused before
    anything is made (the fixture's teardown checks nothing is left)."""
    count = MAX_ITEMS + 4464  # 70000
    if field == "env":
        bundle = rt.bundle(["true"], env=["PATH=/bin"] + [f"V{i}=x" for i in range(count - 1)])
        path = "process.env"
    elif field == "args":
        bundle = rt.bundle(["true"] + ["x"] * (count - 1))
        path = "process.args"
    else:
        bundle = rt.bundle(["true"], user={"uid": 0, "gid": 0, "additionalGids": [5] * count})
        path = "process.user.additionalGids"
    result = rt.run(bundle, check=False)
    assert result.returncode == 1
    assert f"config.json: {path}: has {count} entries; at most {MAX_ITEMS} are supported" in result.stderr, \
        result.stderr


def test_env_the_runtime_adds_counts_toward_the_limit(rt):
    """HOME is added when process.env has none: 65536 entries become 65537."""
    bundle = rt.bundle(["true"], env=["PATH=/bin"] + [f"V{i}=x" for i in range(MAX_ITEMS - 1)])
    result = rt.run(bundle, check=False)
    assert result.returncode == 1
    assert (f"config.json: process.env: has {MAX_ITEMS + 1} entries counting those the runtime adds "
            f"(HOME, NOTIFY_SOCKET, LISTEN_FDS); at most {MAX_ITEMS} are supported") in result.stderr, result.stderr


def test_exec_with_too_many_args_is_refused(rt):
    bundle = rt.bundle(["sleep", "30"])
    container_id = rt.create(bundle)
    result = rt.cmd("exec", container_id, "true", *(["x"] * MAX_ITEMS))
    assert result.returncode == 255
    assert (f"exec failed: invalid configuration: config.json: process.args: has {MAX_ITEMS + 1} entries; "
            f"at most {MAX_ITEMS} are supported") in result.stderr, result.stderr


# ------------------------------------------------------------- values with a NUL

@pytest.mark.parametrize("field", ["env", "args"])
def test_a_nul_byte_in_a_value_is_refused_not_made_into_a_record(rt, field):
    """The plan's records end at a NUL: a value holding one would end early and
    start a record of its own (here UID=1000, run as that user)."""
    sneaky = "A=1\0UID=1000"
    if field == "env":
        bundle = rt.bundle(["id", "-u"], env=["PATH=/bin", sneaky])
    else:
        bundle = rt.bundle(["echo", sneaky])
    result = rt.run(bundle, check=False)
    assert result.returncode == 1 and result.stdout == ""
    # Refused when config.json is read (config.exec_string), before anything is made;
    # write_plan refuses it again should a value reach it some other way.
    index = 1
    assert (f"config.json: process.{field}[{index}]: contains a NUL byte, which no argument, "
            "environment entry or path can hold") in result.stderr, result.stderr


@pytest.mark.parametrize("case", ["hooks", "hook args"])
def test_start_container_hooks_past_the_waiters_limits_are_config_errors(rt, case):
    """The C waiter runs startContainer hooks from its plan: at most 64 of them, 1024
    args and env entries each; config.json past that is refused when it is read."""
    if case == "hooks":
        hooks = [{"path": "/bin/true"}] * 65
        expected = "config.json: hooks.startContainer: has 65 entries; at most 64 are supported"
    else:
        hooks = [{"path": "/bin/true", "args": ["true"] * 1025}]
        expected = "config.json: hooks.startContainer[0].args: has 1025 entries; at most 1024 are supported"
    bundle = rt.bundle(["true"], edit=lambda config: config.update(hooks={"startContainer": hooks}))
    result = rt.run(bundle, check=False)
    assert result.returncode == 1
    assert expected in result.stderr, result.stderr


def test_the_waiter_copy_is_sealed_even_when_pages_are_held():
    """F_SEAL_WRITE is refused (EBUSY) while a page of the memfd has an extra
    reference; a writable shared mapping makes that happen on demand.  The copy
    must still end up unwritable (F_SEAL_FUTURE_WRITE), never left open."""
    import fcntl
    import mmap

    from oci_runtime.process import waiter_plan

    mem = os.memfd_create("seal-test", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    try:
        os.write(mem, b"x" * 4096)
        with mmap.mmap(mem, 4096, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE):
            with pytest.raises(OSError) as busy:
                fcntl.fcntl(mem, fcntl.F_ADD_SEALS, 0x0008)
            assert busy.value.errno == errno.EBUSY  # the condition the fallback is for
            waiter_plan._seal(mem)
        seals = fcntl.fcntl(mem, fcntl.F_GET_SEALS)
        assert seals & 0x0010 and seals & 0x0001 and seals & 0x0002 and seals & 0x0004
        with pytest.raises(PermissionError):
            os.pwrite(mem, b"y", 0)
        with pytest.raises(PermissionError):
            os.ftruncate(mem, 8192)
    finally:
        os.close(mem)
