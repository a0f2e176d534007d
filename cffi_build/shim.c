/* See shim.h: thin wrappers, no policy. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

int oci_unshare(int flags) { return unshare(flags); }

int oci_setns(int fd, int nstype) { return setns(fd, nstype); }

int oci_mount(const char *source, const char *target, const char *fstype,
              unsigned long flags, const char *data)
{
    return mount(source, target, fstype, flags, data);
}

int oci_umount2(const char *target, int flags) { return umount2(target, flags); }

int oci_pivot_root(const char *new_root, const char *put_old)
{
    return (int)syscall(SYS_pivot_root, new_root, put_old);
}

int oci_sethostname(const char *name, size_t len) { return sethostname(name, len); }

int oci_setdomainname(const char *name, size_t len) { return setdomainname(name, len); }

int oci_prctl(int option, unsigned long arg2, unsigned long arg3,
              unsigned long arg4, unsigned long arg5)
{
    return prctl(option, arg2, arg3, arg4, arg5);
}

int oci_mknod(const char *path, unsigned int mode, unsigned int major, unsigned int minor)
{
    return mknod(path, (mode_t)mode, makedev(major, minor));
}

long oci_keyctl_join_session(const char *name)
{
    return syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, name, 0, 0, 0);
}

#include <sys/personality.h>
#include <stdint.h>

int oci_personality(unsigned long persona) { return personality(persona); }

/* struct sched_attr (include/uapi/linux/sched/types.h), not in glibc 2.36. */
struct oci_sched_attr {
    uint32_t size, sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime, sched_deadline, sched_period;
};

int oci_sched_setattr(int pid, unsigned int policy, unsigned long long flags, int nice,
                      unsigned int priority, unsigned long long runtime,
                      unsigned long long deadline, unsigned long long period)
{
    struct oci_sched_attr attr = {
        sizeof attr, policy, flags, nice, priority, runtime, deadline, period,
    };
    return (int)syscall(SYS_sched_setattr, pid, &attr, 0);
}

int oci_ioprio_set(int which, int who, int ioprio)
{
    return (int)syscall(SYS_ioprio_set, which, who, ioprio);
}

/* struct mount_attr (include/uapi/linux/mount.h). */
struct oci_mount_attr {
    uint64_t attr_set, attr_clr, propagation, userns_fd;
};

int oci_mount_setattr(int dirfd, const char *path, unsigned int flags,
                      unsigned long long attr_set, unsigned long long attr_clr,
                      unsigned long long propagation, unsigned long long userns_fd)
{
    struct oci_mount_attr attr = { attr_set, attr_clr, propagation, userns_fd };
    return (int)syscall(SYS_mount_setattr, dirfd, path, flags, &attr, sizeof attr);
}

int oci_open_tree(int dirfd, const char *path, unsigned int flags)
{
    return (int)syscall(SYS_open_tree, dirfd, path, flags);
}

int oci_move_mount(int from_dirfd, const char *from_path, int to_dirfd, const char *to_path,
                   unsigned int flags)
{
    return (int)syscall(SYS_move_mount, from_dirfd, from_path, to_dirfd, to_path, flags);
}

int oci_fsopen(const char *fstype, unsigned int flags)
{
    return (int)syscall(SYS_fsopen, fstype, flags);
}

int oci_fsconfig(int fd, unsigned int cmd, const char *key, const char *value, int aux)
{
    return (int)syscall(SYS_fsconfig, fd, cmd, key, value, aux);
}

int oci_fsmount(int fd, unsigned int flags, unsigned int attr_flags)
{
    return (int)syscall(SYS_fsmount, fd, flags, attr_flags);
}

/* The filesystem type (statfs f_type) of an open file: a path can lie, a magic number cannot. */
long long oci_fstatfs_type(int fd)
{
    struct statfs st;
    if (fstatfs(fd, &st) < 0) return -1;
    return (long long)st.f_type;
}

/* Whether this kernel knows a seccomp filter flag: with no program to load,
 * a known flag fails on the NULL pointer (EFAULT), an unknown one with EINVAL. */
int oci_seccomp_flag_known(unsigned int flag)
{
    return syscall(SYS_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, flag, NULL) < 0 && errno == EFAULT;
}

long oci_bpf(int cmd, void *attr, unsigned int size)
{
    return syscall(SYS_bpf, cmd, attr, size);
}

/* struct open_how (include/uapi/linux/openat2.h). */
struct oci_open_how {
    uint64_t flags, mode, resolve;
};

int oci_openat2(int dirfd, const char *path, unsigned long long flags, unsigned long long mode,
                unsigned long long resolve)
{
    struct oci_open_how how = { flags, mode, resolve };
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

/* Why here and not Python's resource/termios modules: those cost ~0.4 ms of
 * imports on every create, run and exec, for two ioctls and one setrlimit. */
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>

static const struct {
    const char *name;
    int number;
} rlimit_numbers[] = {
    {"RLIMIT_CPU", RLIMIT_CPU},           {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},         {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},         {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},   {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},       {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},     {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

int oci_rlimit_number(const char *name)
{
    for (size_t i = 0; i < sizeof rlimit_numbers / sizeof rlimit_numbers[0]; i++)
        if (strcmp(rlimit_numbers[i].name, name) == 0)
            return rlimit_numbers[i].number;
    return -1;
}

unsigned long long oci_getrlimit_hard(int resource)
{
    struct rlimit limit;
    if (getrlimit(resource, &limit) < 0) return 0;
    return (unsigned long long)limit.rlim_max;
}

int oci_setrlimit(int resource, unsigned long long soft, unsigned long long hard)
{
    struct rlimit limit = { (rlim_t)soft, (rlim_t)hard };
    return setrlimit(resource, &limit);
}

int oci_set_controlling_tty(int fd)
{
    return ioctl(fd, TIOCSCTTY, 0);
}

int oci_set_window_size(int fd, unsigned int rows, unsigned int cols)
{
    struct winsize size = { (unsigned short)rows, (unsigned short)cols, 0, 0 };
    return ioctl(fd, TIOCSWINSZ, &size);
}

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

/* A pty by descriptor only: unlock the master, ask it for its number and for an
 * fd of its slave (TIOCGPTPEER), so no /dev/pts/N path is ever opened. */
int oci_pty_unlock(int master)
{
    int zero = 0;
    return ioctl(master, TIOCSPTLCK, &zero);
}

int oci_pty_number(int master)
{
    unsigned int number;
    if (ioctl(master, TIOCGPTN, &number) < 0) return -1;
    return (int)number;
}

int oci_pty_peer(int master, int flags) { return ioctl(master, TIOCGPTPEER, flags); }
