/*
 * Thin syscall wrappers that CPython 3.11's os module does not offer.
 *
 * Every function returns what the syscall returns (-1 with errno set on
 * failure); there is no policy here.  The Python side (oci_runtime/shim.py)
 * turns -1 into OSError with the errno and the path involved.
 */
int oci_unshare(int flags);
int oci_setns(int fd, int nstype);
int oci_mount(const char *source, const char *target, const char *fstype,
              unsigned long flags, const char *data);
int oci_umount2(const char *target, int flags);
int oci_pivot_root(const char *new_root, const char *put_old);
int oci_sethostname(const char *name, size_t len);
int oci_setdomainname(const char *name, size_t len);
int oci_prctl(int option, unsigned long arg2, unsigned long arg3,
              unsigned long arg4, unsigned long arg5);
int oci_mknod(const char *path, unsigned int mode, unsigned int major, unsigned int minor);
long oci_keyctl_join_session(const char *name);
int oci_personality(unsigned long persona);
int oci_sched_setattr(int pid, unsigned int policy, unsigned long long flags, int nice,
                      unsigned int priority, unsigned long long runtime,
                      unsigned long long deadline, unsigned long long period);
int oci_ioprio_set(int which, int who, int ioprio);
int oci_mount_setattr(int dirfd, const char *path, unsigned int flags,
                      unsigned long long attr_set, unsigned long long attr_clr,
                      unsigned long long propagation, unsigned long long userns_fd);
int oci_open_tree(int dirfd, const char *path, unsigned int flags);
int oci_move_mount(int from_dirfd, const char *from_path, int to_dirfd, const char *to_path,
                   unsigned int flags);
int oci_fsopen(const char *fstype, unsigned int flags);
int oci_fsconfig(int fd, unsigned int cmd, const char *key, const char *value, int aux);
int oci_fsmount(int fd, unsigned int flags, unsigned int attr_flags);
long long oci_fstatfs_type(int fd);
int oci_seccomp_flag_known(unsigned int flag);
long oci_bpf(int cmd, void *attr, unsigned int size);
int oci_openat2(int dirfd, const char *path, unsigned long long flags, unsigned long long mode,
                unsigned long long resolve);
/* RLIMIT_<name>'s number on this architecture (from <sys/resource.h>), or -1. */
int oci_rlimit_number(const char *name);
int oci_setrlimit(int resource, unsigned long long soft, unsigned long long hard);
/* The current hard limit (RLIM_INFINITY as ~0), 0 on error. */
unsigned long long oci_getrlimit_hard(int resource);
/* ioctl TIOCSCTTY / TIOCSWINSZ (their numbers differ between architectures). */
int oci_set_controlling_tty(int fd);
int oci_set_window_size(int fd, unsigned int rows, unsigned int cols);
/* A pty's slave without a path: TIOCSPTLCK, TIOCGPTN, TIOCGPTPEER. */
int oci_pty_unlock(int master);
int oci_pty_number(int master);
int oci_pty_peer(int master, int flags);
