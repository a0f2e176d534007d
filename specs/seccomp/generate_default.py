"""Regenerate specs/seccomp/default.json, the profile oci-runtime ships.

    python3 specs/seccomp/generate_default.py > specs/seccomp/default.json

The profile is an allow list in the Docker/podman style, written for this
project: every syscall libseccomp knows for x86_64 and i386 is allowed except
the ones below, which reach state the container does not own (the kernel's
modules, clocks, keyrings, mounts, namespaces, raw I/O) or are obsolete.
Everything not allowed returns EPERM (the default).  clone is allowed only
without namespace flags; clone3 returns ENOSYS (its flags are in memory, out
of seccomp's reach), so glibc falls back to clone.  personality is allowed
only for the personas a program may legitimately ask for.
"""
import ctypes
import json

DENIED = {
    # kernel code and the machine's life
    "init_module", "finit_module", "delete_module", "create_module", "query_module",
    "get_kernel_syms", "kexec_load", "kexec_file_load", "reboot",
    # mounts and namespaces: the runtime set them up, the container keeps them
    "mount", "umount", "umount2", "pivot_root", "fsopen", "fsconfig", "fsmount", "fspick",
    "move_mount", "open_tree", "open_tree_attr", "mount_setattr", "setns", "unshare",
    # host-wide state that is not namespaced
    "swapon", "swapoff", "acct", "quotactl", "quotactl_fd", "settimeofday", "stime",
    "clock_settime", "clock_settime64", "syslog", "vhangup", "iopl", "ioperm",
    "keyctl", "add_key", "request_key", "bpf", "perf_event_open", "fanotify_init",
    "open_by_handle_at", "name_to_handle_at", "userfaultfd", "lookup_dcookie",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "kcmp",
    # obsolete or never implemented
    "nfsservctl", "uselib", "_sysctl", "sysfs", "ustat", "vm86", "vm86old", "afs_syscall",
    "tuxcall", "security", "getpmsg", "putpmsg", "vserver", "break", "ftime", "gtty", "stty",
    "lock", "mpx", "prof", "profil", "ulimit", "idle",
    # handled by the argument rules below
    "clone", "clone3", "personality",
}
CLONE_NAMESPACE_FLAGS = 0x7E020000  # NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
PERSONALITIES = (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)  # LINUX, LINUX32, UNAME26, both, query
ARCHES = {"SCMP_ARCH_X86_64": "x86_64", "SCMP_ARCH_X86": "x86"}


def known_syscalls():
    lib = ctypes.CDLL("libseccomp.so.2")
    lib.seccomp_arch_resolve_name.restype = ctypes.c_uint32
    lib.seccomp_syscall_resolve_num_arch.restype = ctypes.c_void_p
    names = set()
    for arch in ARCHES.values():
        token = lib.seccomp_arch_resolve_name(arch.encode())
        for number in range(0, 1024):
            ptr = lib.seccomp_syscall_resolve_num_arch(token, number)
            if ptr:
                names.add(ctypes.string_at(ptr).decode())
    return names


def profile():
    allowed = sorted(known_syscalls() - DENIED)
    return {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,  # EPERM
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            {"names": allowed, "action": "SCMP_ACT_ALLOW"},
            {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": CLONE_NAMESPACE_FLAGS, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
        ] + [{"names": ["personality"], "action": "SCMP_ACT_ALLOW",
              "args": [{"index": 0, "value": value, "op": "SCMP_CMP_EQ"}]} for value in PERSONALITIES],
    }


if __name__ == "__main__":
    print(json.dumps(profile(), indent=1))
