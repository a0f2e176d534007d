"""linux.seccomp compiled with libseccomp and enforced by the kernel."""
import pytest


def profile(default="SCMP_ACT_ALLOW", **extra):
    return {"defaultAction": default, "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            **extra}


@pytest.mark.parametrize("nnp", [True, False])
def test_errno_rule_blocks_one_syscall(rt, nnp):
    seccomp = profile(syscalls=[{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}])
    bundle = rt.bundle(["sh", "-c", "grep Seccomp: /proc/self/status; mkdir /tmp/x 2>&1; echo rc=$?; "
                                    "touch /tmp/file && echo touch-ok"],
                       noNewPrivileges=nnp, edit=lambda c: c["linux"].update(seccomp=seccomp))
    out = rt.run(bundle).stdout
    assert "Seccomp:\t2" in out
    assert "Operation not permitted" in out and "rc=1" in out
    assert "touch-ok" in out


def test_errno_ret_and_args(rt):
    mode_is_700 = [{"index": 1, "value": 0o700, "op": "SCMP_CMP_EQ"}]
    seccomp = profile(syscalls=[
        {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28, "args": mode_is_700},
        {"names": ["fchmodat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28,
         "args": [{"index": 2, "value": 0o700, "op": "SCMP_CMP_EQ"}]}])
    bundle = rt.bundle(["sh", "-c", "touch /tmp/f; chmod 700 /tmp/f 2>&1; chmod 755 /tmp/f && echo 755-ok"],
                       edit=lambda c: c["linux"].update(seccomp=seccomp))
    out = rt.run(bundle).stdout
    assert "No space left on device" in out  # errno 28 (ENOSPC), and only for mode 0700
    assert "755-ok" in out


@pytest.mark.parametrize("nnp", [True, False])
def test_a_denied_getcwd(rt, nnp):
    """runtime-tools linux_seccomp denies getcwd.  The init's own cwd check (getcwd)
    is made before the filter loads, with or without no_new_privs (without it the
    filter loads while CAP_SYS_ADMIN is held, before the user switch): the container
    runs and its process sees the error.  runc 1.1.5 refuses the container there."""
    seccomp = profile(syscalls=[{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO"}])
    bundle = rt.bundle(["sh", "-c", "/bin/pwd -P; echo rc=$?"], noNewPrivileges=nnp,
                       edit=lambda c: c["linux"].update(seccomp=seccomp))
    result = rt.run(bundle, check=False)
    assert result.returncode == 0, result.stderr
    assert "rc=1" in result.stdout and "Operation not permitted" in result.stdout + result.stderr


def test_kill_action(rt):
    seccomp = profile(syscalls=[{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL_PROCESS"}])
    bundle = rt.bundle(["mkdir", "/tmp/x"], edit=lambda c: c["linux"].update(seccomp=seccomp))
    assert rt.run(bundle, check=False).returncode == 128 + 31  # SIGSYS


def test_default_deny_with_an_allow_list_is_too_strict_to_start(rt):
    seccomp = profile(default="SCMP_ACT_ERRNO", syscalls=[{"names": ["exit_group"], "action": "SCMP_ACT_ALLOW"}])
    bundle = rt.bundle(["true"], noNewPrivileges=True, edit=lambda c: c["linux"].update(seccomp=seccomp))
    result = rt.run(bundle, check=False)
    assert result.returncode != 0  # execve itself is denied: the kernel enforced the default


def test_exec_gets_the_container_filter(rt):
    seccomp = profile(syscalls=[{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}])
    bundle = rt.bundle(["sleep", "60"], edit=lambda c: c["linux"].update(seccomp=seccomp))
    container_id = rt.create(bundle)
    rt.cmd("start", container_id, check=True)
    result = rt.cmd("exec", container_id, "sh", "-c", "mkdir /tmp/y 2>&1; echo rc=$?")
    assert "Operation not permitted" in result.stdout and "rc=1" in result.stdout


def test_unknown_syscalls_are_skipped_and_bad_actions_refused(rt):
    ok = profile(syscalls=[{"names": ["no_such_syscall_xyz", "mkdir"], "action": "SCMP_ACT_ERRNO"}])
    log = rt.tmp / "debug.log"
    result = rt.cmd("run", "--bundle", str(rt.bundle(["true"], edit=lambda c: c["linux"].update(seccomp=ok))),
                    rt.new_id(), global_args=("--debug", "--log", str(log)))
    assert result.returncode == 0 and "unknown syscall 'no_such_syscall_xyz' skipped" in log.read_text()
    assert "no_such_syscall_xyz" not in result.stderr  # debug only, as runc: no noise for engines
    misplaced = profile(syscalls=[{"names": ["mkdir"], "action": "SCMP_ACT_KILL", "errnoRet": 5}])
    result = rt.cmd("create", "-b", str(rt.bundle(edit=lambda c: c["linux"].update(seccomp=misplaced))),
                    rt.new_id())
    assert result.returncode == 1 and "linux.seccomp.syscalls[0].errnoRet" in result.stderr
    bad = profile(syscalls=[{"names": ["mkdir"], "action": "SCMP_ACT_BOGUS"}])
    result = rt.cmd("create", "-b", str(rt.bundle(edit=lambda c: c["linux"].update(seccomp=bad))), rt.new_id())
    assert result.returncode == 1 and "linux.seccomp.syscalls[0].action" in result.stderr


# chmod MODE: which of 0600, 0700, 0755 each operator refuses when compared with 0700.
OPERATOR_CASES = [
    ("SCMP_CMP_NE", {}, {"600": False, "700": True, "755": False}),
    ("SCMP_CMP_LT", {}, {"600": False, "700": True, "755": True}),
    ("SCMP_CMP_LE", {}, {"600": False, "700": False, "755": True}),
    ("SCMP_CMP_EQ", {}, {"600": True, "700": False, "755": True}),
    ("SCMP_CMP_GE", {}, {"600": True, "700": False, "755": False}),
    ("SCMP_CMP_GT", {}, {"600": True, "700": True, "755": False}),
    # (mode & value) == valueTwo: the "other may execute" bit
    ("SCMP_CMP_MASKED_EQ", {"value": 0o001, "valueTwo": 0o001}, {"600": True, "700": True, "755": False}),
]


@pytest.mark.parametrize("op, values, allowed", OPERATOR_CASES, ids=[c[0] for c in OPERATOR_CASES])
def test_every_argument_operator(rt, op, values, allowed):
    def rule(name, index):
        arg = {"index": index, "value": 0o700, "op": op, **values}
        return {"names": [name], "action": "SCMP_ACT_ERRNO", "errnoRet": 28, "args": [arg]}

    seccomp = profile(syscalls=[rule("chmod", 1), rule("fchmodat", 2)])
    script = "touch /tmp/f; for m in 600 700 755; do chmod $m /tmp/f 2>/dev/null && echo $m=ok || echo $m=no; done"
    out = rt.run(rt.bundle(["sh", "-c", script], edit=lambda c: c["linux"].update(seccomp=seccomp))).stdout
    seen = dict(line.split("=") for line in out.split())
    assert seen == {mode: "ok" if ok else "no" for mode, ok in allowed.items()}


PROBE = r"""
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
/* errno of clone3(NULL, 0) (435, newer than the profile) and of getpriority (140,
 * named by no rule, older than the profile's newest): 0 if the call got through. */
int main(void)
{
    long r = syscall(435, NULL, 0);
    int newer = r < 0 ? errno : 0;
    r = syscall(140, 0, 0);
    printf("%d %d\n", newer, r < 0 ? errno : 0);
    return 0;
}
"""


@pytest.mark.parametrize("nnp", [True, False])
def test_syscalls_newer_than_the_profile_get_enosys(rt, tmp_path, nnp):
    """runc's stub: with a denying default, a syscall numbered above every one the
    profile names fails with ENOSYS (glibc then falls back, e.g. from clone3 to
    clone) instead of the default's EPERM; older unnamed ones still get EPERM."""
    import shutil
    import subprocess

    from oci_runtime._libseccomp import ffi, lib

    if not shutil.which("gcc"):
        pytest.skip("gcc is needed to build the probe")
    source = tmp_path / "probe.c"
    source.write_text(PROBE)
    bundle = rt.bundle(["/probe"], noNewPrivileges=nnp)
    subprocess.run(["gcc", "-static", "-O1", "-o", str(bundle / "rootfs" / "probe"), str(source)], check=True)
    native = lib.seccomp_arch_native()
    allowed = []
    for number in range(0, 335):  # up to rseq: everything the waiter, busybox and the probe need
        name = lib.seccomp_syscall_resolve_num_arch(native, number)
        if name != ffi.NULL:
            text = ffi.string(name).decode()
            if text != "getpriority":
                allowed.append(text)
    seccomp = {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
               "syscalls": [{"names": allowed, "action": "SCMP_ACT_ALLOW"}]}
    config = rt.read_config(bundle)
    config["linux"]["seccomp"] = seccomp
    rt.write_config(bundle, config)
    assert rt.run(bundle).stdout.split() == ["38", "1"]  # ENOSYS, EPERM: what the container saw
