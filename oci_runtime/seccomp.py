"""linux.seccomp: compile the profile with libseccomp into a BPF program.

The profile becomes a classic-BPF program (seccomp_export_bpf) in a memfd,
handed to the C init through the plan; the C init loads it with seccomp(2)
as late as it can: just before the exec when noNewPrivileges is set, or
before it drops privileges otherwise (loading a filter without
no_new_privs needs CAP_SYS_ADMIN), as runc does.

Semantics follow runc: unknown syscall names are skipped (a profile written
for a newer kernel still loads); a rule whose action equals the default is
skipped; args on distinct indexes are ANDed in one rule, repeated indexes
give one rule per arg (ORed); errnoRet defaults to EPERM.

SCMP_ACT_NOTIFY: the filter is loaded with SECCOMP_FILTER_FLAG_NEW_LISTENER,
always before the init reports "ready" (the listener fd must reach a runtime
process that is still there); the C init passes the fd to create (or exec)
over the sync socket (SCM_RIGHTS), which sends it with the container process
state to ``listenerPath`` (runtime.md "containerProcessState") and lets the
init go on.  The init's own sendmsg hands the fd over, so NOTIFY on sendmsg
would deadlock and is refused, as is NOTIFY as the default action; so is
NOTIFY on write, which runc refuses too (its init writes before the hand-over).

Syscalls newer than the profile (ENOSYS stub, runc's patchbpf): when the
default action denies, a syscall whose number is above every syscall the
profile names (on that architecture) fails with ENOSYS instead of the default
action's error.  A profile written before clone3 or faccessat2 existed then
makes glibc fall back to the older call it knows, instead of failing with EPERM.
"""
import errno
import os

from oci_runtime.errors import ConfigError, OCIError
from oci_runtime.fileio import read_to_end, write_all

ACTIONS = {
    "SCMP_ACT_KILL": 0x00000000, "SCMP_ACT_KILL_THREAD": 0x00000000,
    "SCMP_ACT_KILL_PROCESS": 0x80000000, "SCMP_ACT_TRAP": 0x00030000,
    "SCMP_ACT_ERRNO": 0x00050000, "SCMP_ACT_TRACE": 0x7FF00000,
    "SCMP_ACT_LOG": 0x7FFC0000, "SCMP_ACT_ALLOW": 0x7FFF0000,
    "SCMP_ACT_NOTIFY": 0x7FC00000,
}
OPERATORS = {"SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4,
             "SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7}
FLAGS = {"SECCOMP_FILTER_FLAG_TSYNC": 1, "SECCOMP_FILTER_FLAG_LOG": 2,
         "SECCOMP_FILTER_FLAG_SPEC_ALLOW": 4, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV": 32}
NEW_LISTENER = 8  # SECCOMP_FILTER_FLAG_NEW_LISTENER: set by us when a rule notifies
# Syscalls the C init makes between loading a notify filter and handing its fd over.
NOT_NOTIFIABLE = ("sendmsg", "write")
# Default actions after which a newer syscall is let through or merely reported:
# no ENOSYS stub (runc: a tracer handles -ENOSYS itself).
_ALLOWING = ("SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_TRACE")
_SEEK_SET = 0  # os.SEEK_SET, a name of os.py's (the command line runs without it: lazyos.py)
_X32_SYSCALL_BIT = 0x40000000
_AUDIT_ARCH_X86_64 = 0xC000003E


def check(seccomp):
    """Refuse what cannot be applied, before anything is created."""
    if seccomp.get("defaultErrnoRet") is not None and seccomp.get("defaultAction") != "SCMP_ACT_ERRNO":
        raise ConfigError("linux.seccomp.defaultErrnoRet", "only meaningful with defaultAction SCMP_ACT_ERRNO")
    if seccomp.get("defaultAction") not in ACTIONS:
        raise ConfigError("linux.seccomp.defaultAction", f"unsupported action {seccomp.get('defaultAction')!r}")
    if seccomp.get("defaultAction") == "SCMP_ACT_NOTIFY":
        raise ConfigError("linux.seccomp.defaultAction",
                          "SCMP_ACT_NOTIFY cannot be the default: the init could not hand the listener fd over")
    for i, flag in enumerate(seccomp.get("flags") or ()):
        if flag not in FLAGS:
            raise ConfigError(f"linux.seccomp.flags[{i}]", f"unsupported flag {flag!r}")
    for i, rule in enumerate(seccomp.get("syscalls") or ()):
        _check_rule(rule, f"linux.seccomp.syscalls[{i}]")
    notifies = uses_notify(seccomp)
    if notifies and not seccomp.get("listenerPath"):
        raise ConfigError("linux.seccomp.listenerPath", "required when a rule uses SCMP_ACT_NOTIFY")
    if not notifies and "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" in (seccomp.get("flags") or ()):
        raise ConfigError("linux.seccomp.flags",
                          "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs a rule with SCMP_ACT_NOTIFY")


def _check_rule(rule, where):
    if rule["action"] not in ACTIONS:
        raise ConfigError(f"{where}.action", f"unsupported action {rule['action']!r}")
    if rule.get("errnoRet") is not None and rule["action"] not in ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"):
        raise ConfigError(f"{where}.errnoRet",
                          f"only meaningful with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not {rule['action']}")
    if rule["action"] == "SCMP_ACT_NOTIFY":
        for name in rule["names"]:
            if name in NOT_NOTIFIABLE:
                raise ConfigError(f"{where}.names", f"SCMP_ACT_NOTIFY on {name} is not supported: "
                                  "the runtime hands the listener fd over with it")
    for j, arg in enumerate(rule.get("args") or ()):
        if arg.get("op") not in OPERATORS:
            raise ConfigError(f"{where}.args[{j}].op", f"unknown op {arg.get('op')!r}")


def uses_notify(seccomp):
    return any(rule.get("action") == "SCMP_ACT_NOTIFY" for rule in seccomp.get("syscalls") or ())


def _action(name, errno_ret, default_errno=errno.EPERM):
    value = ACTIONS[name]
    if name == "SCMP_ACT_ERRNO":
        value |= (errno_ret if errno_ret is not None else default_errno) & 0xFFFF
    elif name == "SCMP_ACT_TRACE":
        value |= (errno_ret or 0) & 0xFFFF
    return value


def _arg_groups(args):
    """One group (ANDed) when indexes are distinct, else one group per arg (ORed)."""
    indexes = [a["index"] for a in args]
    if len(set(indexes)) == len(indexes):
        return [args]
    return [[a] for a in args]


def compile_profile(seccomp, cache_dir=None):
    """A memfd holding the BPF program, and the seccomp(2) flags to load it with.
    With ``cache_dir``, a program this compiler made from the same profile before
    is read from there, and a new one is kept there (seccomp_cache.py)."""
    program = name = None
    if cache_dir is not None:
        from oci_runtime import seccomp_cache

        name = seccomp_cache.key(seccomp)
        program = seccomp_cache.load(cache_dir, name)
        if program is not None:
            from oci_runtime import log

            log.debug(f"linux.seccomp: program {name[:12]} from the cache ({len(program) // 8} instructions)")
            if log.debugging():  # the lines compiling it wrote, as runc writes them on every create
                from oci_runtime._libseccomp import lib

                for i, syscall in _unknown_names(lib, seccomp):
                    log.debug(f"linux.seccomp.syscalls[{i}]: unknown syscall {syscall!r} skipped")
    if program is None:
        program = compile_program(seccomp)
        if name is not None:
            seccomp_cache.store(cache_dir, name, program)
    fd = os.memfd_create("oci-runtime-seccomp", os.MFD_CLOEXEC)
    try:
        write_all(fd, program)
        os.lseek(fd, 0, _SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd, filter_flags(seccomp)


def filter_flags(seccomp):
    """The seccomp(2) flags the program is loaded with."""
    flags = NEW_LISTENER if uses_notify(seccomp) else 0
    for flag in seccomp.get("flags") or ():
        flags |= FLAGS[flag]
    if flags & FLAGS["SECCOMP_FILTER_FLAG_TSYNC"] and flags & NEW_LISTENER:
        flags |= 16  # SECCOMP_FILTER_FLAG_TSYNC_ESRCH: the kernel refuses TSYNC|NEW_LISTENER alone
    return flags


def compile_program(seccomp):
    """The profile as classic BPF: our ENOSYS stub (when the default denies), then
    libseccomp's program."""
    from oci_runtime._libseccomp import ffi, lib

    default = _action(seccomp["defaultAction"], seccomp.get("defaultErrnoRet"))
    ctx = lib.seccomp_init(default)
    if ctx == ffi.NULL:
        raise OCIError("linux.seccomp: seccomp_init failed")
    try:
        for arch in seccomp.get("architectures") or ():
            token = lib.seccomp_arch_resolve_name(arch.lower().replace("scmp_arch_", "").encode())
            if token == 0:
                raise OCIError(f"linux.seccomp.architectures: unknown architecture {arch}")
            rc = lib.seccomp_arch_add(ctx, token)
            if rc < 0 and rc != -errno.EEXIST:
                raise OCIError(f"linux.seccomp.architectures: adding {arch}: {os.strerror(-rc)}")
        for i, rule in enumerate(seccomp.get("syscalls") or ()):
            action = _action(rule["action"], rule.get("errnoRet"))
            if action == default:
                continue
            for name in rule["names"]:
                number = lib.seccomp_syscall_resolve_name(name.encode())
                if number < 0:  # not a syscall of this kernel/libseccomp: skipped, as runc does
                    from oci_runtime import log

                    # debug, as runc: profiles written for newer kernels are the norm
                    log.debug(f"linux.seccomp.syscalls[{i}]: unknown syscall {name!r} skipped")
                    continue
                for group in _arg_groups(rule.get("args") or []):
                    _add_rule(lib, ffi, ctx, action, number, group, f"linux.seccomp.syscalls[{i}] ({name})")
        fd = os.memfd_create("oci-runtime-seccomp", os.MFD_CLOEXEC)
        try:
            rc = lib.seccomp_export_bpf(ctx, fd)
            if rc < 0:
                raise OCIError(f"linux.seccomp: exporting the filter: {os.strerror(-rc)}")
            os.lseek(fd, 0, _SEEK_SET)
            program = read_to_end(fd)
        finally:
            os.close(fd)
        if seccomp["defaultAction"] not in _ALLOWING:
            program = _enosys_stub(_newest_named(lib, ffi, seccomp)) + program
    finally:
        lib.seccomp_release(ctx)
    return program


def _unknown_names(lib, seccomp):
    """(rule index, name) of each name libseccomp does not know, in the profile's order,
    in the rules compile_program adds (not those whose action is the default's)."""
    default = _action(seccomp["defaultAction"], seccomp.get("defaultErrnoRet"))
    for i, rule in enumerate(seccomp.get("syscalls") or ()):
        if _action(rule["action"], rule.get("errnoRet")) == default:
            continue
        for name in rule["names"]:
            if lib.seccomp_syscall_resolve_name(name.encode()) < 0:
                yield i, name


def _newest_named(lib, ffi, seccomp):
    """{audit arch: the highest syscall number the profile names on it}, for the
    native architecture and the listed ones (x32 has no audit arch of its own:
    its calls are x86_64's with the x32 bit, left to libseccomp's program)."""
    tokens = {lib.seccomp_arch_native()}
    for arch in seccomp.get("architectures") or ():
        tokens.add(lib.seccomp_arch_resolve_name(arch.lower().replace("scmp_arch_", "").encode()))
    names = {name.encode() for rule in seccomp.get("syscalls") or () for name in rule["names"]}
    newest = {}
    for token in tokens:
        if token == 0 or token & 0xFFFF == 0x3E and token != _AUDIT_ARCH_X86_64:  # unknown, x32
            continue
        numbers = [lib.seccomp_syscall_resolve_name_arch(token, name) for name in names]
        newest[token] = max([n for n in numbers if n >= 0], default=-1)
    return newest


def _enosys_stub(newest):
    """Classic BPF run before libseccomp's program: on each architecture, a call
    numbered above ``newest[arch]`` returns ENOSYS; everything else falls through."""
    ld_abs, jeq, jgt, jge, ja, ret = 0x20, 0x15, 0x25, 0x35, 0x05, 0x06
    blocks = []
    for arch, highest in sorted(newest.items()):
        block = [(ld_abs, 0, 0, 0)]  # seccomp_data.nr
        if arch == _AUDIT_ARCH_X86_64:
            block.append((jge, "end", 0, _X32_SYSCALL_BIT))
        block.append((jgt, "enosys", "end", highest))
        blocks.append((arch, block))
    program = [(ld_abs, 0, 0, 4)]  # seccomp_data.arch
    for arch, block in blocks:
        program.append((jeq, 0, len(block), arch))
        program += block
    program.append((ja, 0, 0, 1))  # no architecture matched: over the return, into libseccomp's program
    program.append((ret, 0, 0, ACTIONS["SCMP_ACT_ERRNO"] | errno.ENOSYS))
    labels = {"enosys": len(program) - 1, "end": len(program)}
    code = b""
    for i, (op, jt, jf, k) in enumerate(program):
        # a jump is relative to the next instruction; labels name absolute places
        jt, jf = (labels[j] - i - 1 if isinstance(j, str) else j for j in (jt, jf))
        code += op.to_bytes(2, "little") + bytes((jt, jf)) + k.to_bytes(4, "little")
    return code


def send_to_listener(seccomp, listener_fd, pid, state_doc):
    """Send the notify fd and the container process state to linux.seccomp.listenerPath
    (runtime.md: one state per connection, then the connection is closed)."""
    import json
    import socket

    from oci_runtime import OCI_VERSION

    path = seccomp["listenerPath"]
    message = {"ociVersion": OCI_VERSION, "fds": ["seccompFd"], "pid": pid,
               "metadata": seccomp.get("listenerMetadata", ""), "state": state_doc}
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(path)
            socket.send_fds(sock, [json.dumps(message).encode()], [listener_fd])
    except OSError as exc:
        raise OCIError(f"linux.seccomp.listenerPath: failed to connect with seccomp agent specified in the "
                       f"seccomp profile: sending the notify fd to {path}: {exc.strerror or exc}") from None


def _add_rule(lib, ffi, ctx, action, number, args, where):
    array = ffi.new("struct scmp_arg_cmp[]", max(len(args), 1))
    for k, arg in enumerate(args):
        array[k].arg = arg["index"]
        array[k].op = OPERATORS[arg["op"]]
        array[k].datum_a = arg["value"]
        array[k].datum_b = arg.get("valueTwo", 0)
    rc = lib.seccomp_rule_add_array(ctx, action, number, len(args), array)
    if rc == -errno.EEXIST:
        return  # the same rule is already in the filter (profiles repeat syscalls)
    if rc < 0:
        raise OCIError(f"{where}: adding the rule: {os.strerror(-rc)}")
