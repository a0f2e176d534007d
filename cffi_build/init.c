/*
 * oci-runtime-init: the small program that waits inside a created container.
 *
 * Why it exists: after `create` the container's init must sit waiting for
 * `start`.  If that waiting process were the Python interpreter that set the
 * container up, every created container would hold ~10 MiB of interpreter.
 * Instead the Python init finishes the set-up (namespaces, mounts,
 * pivot_root) and then execs this static binary from a sealed memfd (so a
 * container can never reach the host file through /proc/1/exe, the
 * CVE-2019-5736 pattern).  It does only the last, identity-changing steps,
 * reports "ready", blocks until `start` writes to the exec fifo, and execs
 * the user's process.
 *
 * Policy lives in Python: this program receives a resolved "plan" on a file
 * descriptor, as NUL-terminated KEY=VALUE records, and carries it out in a
 * fixed order.  Errors go back to `create` on the sync socket as one JSON
 * line {"type":"error","msg":...} so the user sees what failed and why.
 *
 * Usage: oci-runtime-init PLAN_FD
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#endif

#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif

#define MAX_ITEMS 65536
#define MAX_HOOKS 64
#define MAX_HOOK_ITEMS 1024
/* The steps of main() where the seccomp filter may be loaded (SECCOMP_STEP). */
#define SECCOMP_BEFORE_USER_SWITCH 1
#define SECCOMP_BEFORE_READY 2

/* A startContainer hook: run in the container after `start`, before the exec. */
struct hook {
    const char *path;
    char *argv[MAX_HOOK_ITEMS + 1], *envp[MAX_HOOK_ITEMS + 1];
    size_t argc, envc;
    int timeout;
    int process_env;  /* HOOKPROCENV: no env of its own, the process's (runc's) */
};

struct plan {
    int sync_fd, fifo_fd, keep_fds;
    uid_t uid;
    gid_t gid;
    int has_caps, no_new_privs, set_groups;
    uint64_t cap_bnd, cap_eff, cap_prm, cap_inh, cap_amb;
    const char *cwd, *exe;
    gid_t *groups;
    size_t ngroups;
    char **argv, **envp;
    size_t argc, envc;
    struct hook *hooks;
    size_t nhooks;
    const char *state;
    int seccomp_fd;
    unsigned int seccomp_flags;
    int seccomp_step;  /* SECCOMP_STEP: where main() loads the filter */
    const char *lsm_path, *lsm_value;
    int proc_fd;
};

static int sync_fd = -1;

/* Output through a small buffer, written out whenever it fills: a message of
 * any length goes out whole, in as many write()s as it takes.  The sync socket
 * is a stream and create reads up to the newline, so the pieces join up there. */
struct out {
    int fd, broken;
    size_t n;
    char buf[4096];
};

static void out_flush(struct out *o)
{
    for (size_t off = 0; off < o->n && !o->broken;) {
        ssize_t w = write(o->fd, o->buf + off, o->n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) o->broken = 1;  /* the reader is gone: nobody to tell */
        else off += (size_t)w;
    }
    o->n = 0;
}

static void out_bytes(struct out *o, const char *s, size_t len)
{
    while (len > 0) {
        if (o->n == sizeof o->buf) out_flush(o);
        size_t k = sizeof o->buf - o->n < len ? sizeof o->buf - o->n : len;
        memcpy(o->buf + o->n, s, k);
        o->n += k;
        s += k;
        len -= k;
    }
}

/* The inside of a JSON string: '"', '\\' and the control characters escaped,
 * as JSON requires; every other byte as it is.  A path need not be UTF-8:
 * messages.py's Reader decodes leniently, so such bytes cost one character, not the
 * message. */
static void out_json(struct out *o, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            out_bytes(o, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            out_bytes(o, esc, 6);
        } else {
            out_bytes(o, s, 1);
        }
    }
}

/* Send one JSON line {"type":TYPE,"msg":"MSG[: CAUSE]"} to create; with no sync
 * socket, fall back to a plain line on stderr.  Never cut: see struct out. */
static void send_line(const char *type, const char *msg, const char *cause)
{
    struct out o = { .fd = sync_fd >= 0 ? sync_fd : 2 };
    if (sync_fd >= 0) {
        out_bytes(&o, "{\"type\":\"", 9);
        out_json(&o, type);
        out_bytes(&o, "\",\"msg\":\"", 9);
        out_json(&o, msg);
        if (cause) {
            out_bytes(&o, ": ", 2);
            out_json(&o, cause);
        }
        out_bytes(&o, "\"}\n", 3);
    } else {  /* after "ready", create is gone */
        out_bytes(&o, "oci-runtime-init: ", 18);
        out_bytes(&o, msg, strlen(msg));
        if (cause) {
            out_bytes(&o, ": ", 2);
            out_bytes(&o, cause, strlen(cause));
        }
        out_bytes(&o, "\n", 1);
    }
    out_flush(&o);
}

#define TRUNCATED "...(truncated)"

/* Report an error (with strerror(errno) unless errno is 0) and exit 1. */
static void fail(const char *fmt, ...)
{
    int saved = errno;
    char *msg, fallback[1024];
    va_list ap;
    va_start(ap, fmt);
    int len = vasprintf(&msg, fmt, ap);  /* sized to the message: a path may be long */
    va_end(ap);
    if (len < 0) {  /* out of memory: what fits, and say that the rest is missing */
        va_start(ap, fmt);
        len = vsnprintf(fallback, sizeof fallback, fmt, ap);
        va_end(ap);
        if (len >= (int)sizeof fallback) {
            size_t cut = sizeof fallback - sizeof TRUNCATED;
            while (cut > 0 && ((unsigned char)fallback[cut] & 0xc0) == 0x80)
                cut--;  /* not inside a UTF-8 character */
            memcpy(fallback + cut, TRUNCATED, sizeof TRUNCATED);
        }
        msg = fallback;
    }
    send_line("error", msg, saved ? strerror(saved) : NULL);
    _exit(1);
}

/* All of fd, NUL-terminated (one byte more than *len; the plan's parser relies on it). */
static char *read_all(int fd, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) { errno = ENOMEM; fail("reading the init plan"); }
        if (n == cap) buf = realloc(buf, cap *= 2);
        if (!buf) continue;
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) fail("reading the init plan");
        if (r == 0) break;
        n += (size_t)r;
    }
    buf[n] = '\0';  /* room: the loop grows the buffer before every read, the last one too */
    *len = n;
    return buf;
}

static long long number(const char *key, const char *value)
{
    char *end;
    errno = 0;
    long long v = strtoll(value, &end, 0);
    if (errno || *end || end == value) { errno = 0; fail("init plan: bad %s %s", key, value); }
    return v;
}

static uint64_t mask(const char *key, const char *value)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(value, &end, 16);
    if (errno || *end || end == value) { errno = 0; fail("init plan: bad %s %s", key, value); }
    return (uint64_t)v;
}

/* The index for one more entry of a list the plan fills.  Past ``limit``, an error
 * naming the list: process/waiter_plan.py refuses such a config first, naming its field, and
 * this guard stands behind it so that no entry is ever dropped silently. */
static size_t slot(size_t *count, size_t limit, const char *what)
{
    if (*count >= limit) {
        errno = 0;
        fail("init plan: %s has more than %zu entries; at most %zu are supported", what, limit, limit);
    }
    return (*count)++;
}

/* The hook a HOOKARG, HOOKENV or HOOKTIMEOUT record belongs to: the last HOOK's. */
static struct hook *last_hook(struct plan *p, const char *key)
{
    if (!p->nhooks) { errno = 0; fail("init plan: %s before any HOOK record", key); }
    return &p->hooks[p->nhooks - 1];
}

/* buf holds len bytes of records, each "KEY=VALUE" and a NUL, and one NUL more
 * after them (read_all's), so that no record is read past the end. */
static void parse_plan(char *buf, size_t len, struct plan *p)
{
    memset(p, 0, sizeof *p);
    p->sync_fd = p->fifo_fd = p->seccomp_fd = p->proc_fd = -1;
    p->argv = calloc(MAX_ITEMS + 1, sizeof(char *));
    p->envp = calloc(MAX_ITEMS + 1, sizeof(char *));
    p->groups = calloc(MAX_ITEMS, sizeof(gid_t));
    p->hooks = calloc(MAX_HOOKS, sizeof(struct hook));
    if (!p->argv || !p->envp || !p->groups || !p->hooks) { errno = ENOMEM; fail("init plan"); }
    char *next;
    for (char *rec = buf; rec < buf + len; rec = next) {
        size_t n = strlen(rec);
        if (rec + n == buf + len) {  /* stopped by read_all's NUL, not the record's own */
            errno = 0;
            fail("init plan: malformed: its last record does not end with a NUL byte");
        }
        next = rec + n + 1;
        char *eq = strchr(rec, '=');
        if (!eq) { errno = 0; fail("init plan: bad record %s", rec); }
        *eq = '\0';
        const char *k = rec, *v = eq + 1;
        /* The sync socket at once (write_plan puts it first): the plan's own
         * errors then reach create as {"type":"error"} too, not only stderr. */
        if (!strcmp(k, "SYNC")) sync_fd = p->sync_fd = (int)number(k, v);
        else if (!strcmp(k, "FIFO")) p->fifo_fd = (int)number(k, v);
        else if (!strcmp(k, "KEEP_FDS")) p->keep_fds = (int)number(k, v);
        else if (!strcmp(k, "UID")) p->uid = (uid_t)number(k, v);
        else if (!strcmp(k, "GID")) p->gid = (gid_t)number(k, v);
        else if (!strcmp(k, "SETGROUPS")) p->set_groups = 1;
        else if (!strcmp(k, "GROUP"))
            p->groups[slot(&p->ngroups, MAX_ITEMS, "process.user.additionalGids")] = (gid_t)number(k, v);
        else if (!strcmp(k, "CAPS")) p->has_caps = 1;
        else if (!strcmp(k, "CAP_BND")) p->cap_bnd = mask(k, v);
        else if (!strcmp(k, "CAP_EFF")) p->cap_eff = mask(k, v);
        else if (!strcmp(k, "CAP_PRM")) p->cap_prm = mask(k, v);
        else if (!strcmp(k, "CAP_INH")) p->cap_inh = mask(k, v);
        else if (!strcmp(k, "CAP_AMB")) p->cap_amb = mask(k, v);
        else if (!strcmp(k, "NNP")) p->no_new_privs = 1;
        else if (!strcmp(k, "CWD")) p->cwd = v;
        else if (!strcmp(k, "EXE")) p->exe = v;
        else if (!strcmp(k, "ARG")) p->argv[slot(&p->argc, MAX_ITEMS, "process.args")] = (char *)v;
        else if (!strcmp(k, "ENV")) p->envp[slot(&p->envc, MAX_ITEMS, "process.env")] = (char *)v;
        else if (!strcmp(k, "HOOK")) p->hooks[slot(&p->nhooks, MAX_HOOKS, "hooks.startContainer")].path = v;
        else if (!strcmp(k, "HOOKARG")) {
            struct hook *h = last_hook(p, k);
            h->argv[slot(&h->argc, MAX_HOOK_ITEMS, "the args of a startContainer hook")] = (char *)v;
        } else if (!strcmp(k, "HOOKENV")) {
            struct hook *h = last_hook(p, k);
            h->envp[slot(&h->envc, MAX_HOOK_ITEMS, "the env of a startContainer hook")] = (char *)v;
        } else if (!strcmp(k, "HOOKTIMEOUT")) last_hook(p, k)->timeout = (int)number(k, v);
        else if (!strcmp(k, "HOOKPROCENV")) last_hook(p, k)->process_env = 1;
        else if (!strcmp(k, "STATE")) p->state = v;
        else if (!strcmp(k, "SECCOMP")) p->seccomp_fd = (int)number(k, v);
        else if (!strcmp(k, "LSM_PATH")) p->lsm_path = v;
        else if (!strcmp(k, "LSM_VALUE")) p->lsm_value = v;
        else if (!strcmp(k, "PROC_FD")) p->proc_fd = (int)number(k, v);
        else if (!strcmp(k, "SECCOMP_FLAGS")) p->seccomp_flags = (unsigned int)number(k, v);
        else if (!strcmp(k, "SECCOMP_STEP")) {
            if (!strcmp(v, "before-user-switch")) p->seccomp_step = SECCOMP_BEFORE_USER_SWITCH;
            else if (!strcmp(v, "before-ready")) p->seccomp_step = SECCOMP_BEFORE_READY;
            else { errno = 0; fail("init plan: unknown SECCOMP_STEP %s", v); }
        }
        else { errno = 0; fail("init plan: unknown key %s", k); }
    }
    if (!p->exe || !p->argc) { errno = 0; fail("init plan: no executable"); }
}

/* Every capability the mask leaves out is dropped, 0..63: the masks were made on
 * the host side against the host's cap_last_cap, and nothing read inside the
 * container (its /proc may be the image's) decides how far this loop goes.
 * Numbers above the kernel's last capability fail with EINVAL: nothing to drop. */
static void drop_bounding_set(const struct plan *p)
{
    for (int cap = 0; cap < 64; cap++) {
        if (p->cap_bnd & (1ULL << cap)) continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
            fail("dropping capability %d from the bounding set", cap);
    }
}

static void switch_user(const struct plan *p)
{
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) fail("prctl(PR_SET_KEEPCAPS)");
    if (p->set_groups && setgroups(p->ngroups, p->groups) < 0)
        fail("setgroups to the additionalGids of process.user");
    if (setresgid(p->gid, p->gid, p->gid) < 0) fail("setgid to %u", (unsigned)p->gid);
    if (setresuid(p->uid, p->uid, p->uid) < 0) fail("setuid to %u", (unsigned)p->uid);
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) fail("prctl(PR_SET_KEEPCAPS)");
}

static void set_capabilities(const struct plan *p)
{
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];
    data[0].effective = (uint32_t)p->cap_eff;
    data[1].effective = (uint32_t)(p->cap_eff >> 32);
    data[0].permitted = (uint32_t)p->cap_prm;
    data[1].permitted = (uint32_t)(p->cap_prm >> 32);
    data[0].inheritable = (uint32_t)p->cap_inh;
    data[1].inheritable = (uint32_t)(p->cap_inh >> 32);
    if (syscall(SYS_capset, &hdr, data) < 0)
        fail("capset of process.capabilities (effective/permitted/inheritable)");
    /* The mask holds only capabilities that are permitted and inheritable
     * (capabilities.raisable_ambient decided it): each raise can succeed. */
    for (int cap = 0; cap < 64; cap++) {
        if (!(p->cap_amb & (1ULL << cap))) continue;
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
            fail("raising ambient capability %d", cap);
    }
}

/* Nothing but 0-2 and the preserved fds may cross into the container
 * (CVE-2024-21626 leaked a host directory fd this way). */
static void cloexec_other_fds(int first)
{
    if (syscall(SYS_close_range, (unsigned)first, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
        return;
    struct rlimit rl;
    long max = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (long)rl.rlim_cur : 1024;
    for (long fd = first; fd < max; fd++)
        fcntl((int)fd, F_SETFD, FD_CLOEXEC);
}

static void wait_for_start(int fifo_fd)
{
    char c;
    for (;;) {
        ssize_t r = read(fifo_fd, &c, 1);
        if (r == 1) return;
        if (r < 0 && errno == EINTR) continue;
        fail("waiting on the exec fifo");
    }
}

/* A notify filter's listener fd goes to create (or exec) over the sync socket;
 * it sends it on to linux.seccomp.listenerPath and answers with one byte.
 * Until that byte arrives no agent serves the filter, so nothing but this
 * sendmsg (never notifiable, see oci_runtime/seccomp.py) may run first. */
static void hand_over_listener(int listener)
{
    static const char line[] = "{\"type\":\"seccomp\",\"msg\":\"\"}\n";
    char control[CMSG_SPACE(sizeof(int))];
    memset(control, 0, sizeof control);
    struct iovec iov = { (void *)line, sizeof line - 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = control, .msg_controllen = sizeof control };
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &listener, sizeof(int));
    if (sendmsg(sync_fd, &msg, 0) < 0) fail("handing the seccomp listener fd to the runtime");
    char ack;
    ssize_t r;
    do r = read(sync_fd, &ack, 1); while (r < 0 && errno == EINTR);
    if (r != 1) fail("the runtime did not take the seccomp listener fd");
    close(listener);
}

/* Load the BPF program compiled from linux.seccomp (oci_runtime/seccomp.py). */
static void load_seccomp(struct plan *p)
{
    size_t len;
    char *code = read_all(p->seccomp_fd, &len);
    close(p->seccomp_fd);
    p->seccomp_fd = -1;
    struct sock_fprog prog = { (unsigned short)(len / sizeof(struct sock_filter)),
                               (struct sock_filter *)code };
    long ret = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p->seccomp_flags, &prog);
    if (ret < 0)
        fail("loading the seccomp filter of linux.seccomp");
    free(code);
    if (p->seccomp_flags & SECCOMP_FILTER_FLAG_NEW_LISTENER)
        hand_over_listener((int)ret);
}

/* The AppArmor profile / SELinux label for the coming exec, written through the
 * runtime's own procfs (PROC_FD, oci_runtime/procfs.py), never through the
 * container's /proc, which the bundle may have replaced (CVE-2019-16884). */
static void write_lsm_label(const struct plan *p)
{
    struct open_how how = { .flags = O_WRONLY | O_CLOEXEC | O_NOFOLLOW,
                            .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV };
    int fd = (int)syscall(SYS_openat2, p->proc_fd, p->lsm_path, &how, sizeof how);
    if (fd < 0) fail("opening /proc/%s for the exec label", p->lsm_path);
    struct statfs st;
    if (fstatfs(fd, &st) < 0 || st.f_type != 0x9fa0) {
        errno = 0;
        fail("/proc/%s is not on procfs", p->lsm_path);
    }
    if (write(fd, p->lsm_value, strlen(p->lsm_value)) < 0)
        fail("setting the exec label via /proc/%s", p->lsm_path);
    close(fd);
    close(p->proc_fd);
}

/* The runtime is Python, which ignores SIGPIPE and SIGXFSZ, and its callers may
 * ignore others; ignored signals survive execve, and the user's process must
 * start as under runc: every signal at its default action and none blocked.
 * The raw syscall, because libc refuses to touch the signals it reserves for
 * itself (32 and 33), which stay ignored otherwise. */
struct kernel_sigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    uint64_t mask;
};

static void reset_signals(void)
{
    struct kernel_sigaction dfl = { SIG_DFL, 0, NULL, 0 };
    for (int sig = 1; sig <= 64; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask);
    uint64_t none = 0;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof none);
}

/* The first chdir to process.cwd, still as root (runc's order): a directory
 * root may enter but the container's user may not (a 0700 volume, /root) is
 * still the process's cwd.  Returns 1 if done; 0 if root was refused (EACCES,
 * EPERM: maybe only the user may enter, e.g. root squashed on a network
 * filesystem), to be tried again as the user by verify_cwd. */
static int chdir_as_root(const char *cwd)
{
    if (chdir(cwd) == 0)
        return 1;
    if (errno != EACCES && errno != EPERM)
        fail("chdir to cwd (\"%s\") set in config.json failed", cwd);
    return 0;
}

/* process.cwd must name a directory inside the container.  A path through a
 * leaked descriptor (/proc/self/fd/N, CVE-2024-21626) would leave the process
 * in a directory outside its root, which getcwd reports as unreachable. */
static void verify_cwd(const char *cwd, int entered)
{
    char buf[4096];
    if (!entered && chdir(cwd) < 0) fail("chdir to cwd (\"%s\") set in config.json failed", cwd);
    /* ENOENT or a path not starting with '/' ("(unreachable)/..."): outside.  Any
     * other error (say linux.seccomp denies getcwd and no_new_privs is off, so the
     * filter is already loaded) means we cannot tell: refused too, but saying so. */
    errno = 0;
    char *got = getcwd(buf, sizeof buf);
    if (!got && errno != ENOENT)
        fail("cannot check that cwd (\"%s\") is inside the container: getcwd", cwd);
    if (!got || buf[0] != '/') {
        errno = 0;
        fail("cwd (\"%s\") resolves outside the container", cwd);
    }
}

/* Run one hook with the state JSON on stdin; kill it after its timeout. */
static void run_hook(const struct hook *h, int index, const char *state, char **process_envp)
{
    int in[2];
    if (pipe2(in, O_CLOEXEC) < 0) fail("startContainer hook #%d (%s): pipe", index, h->path);
    pid_t pid = fork();
    if (pid < 0) fail("startContainer hook #%d (%s): fork", index, h->path);
    if (pid == 0) {
        dup2(in[0], 0);
        execve(h->path, h->argv, h->process_env ? process_envp : h->envp);
        _exit(127);
    }
    close(in[0]);
    size_t len = state ? strlen(state) : 0, off = 0;
    while (off < len) {
        ssize_t w = write(in[1], state + off, len - off);
        if (w <= 0) break;  /* the hook may not read its stdin */
        off += (size_t)w;
    }
    close(in[1]);
    int status = 0, waited_ms = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, h->timeout > 0 ? WNOHANG : 0);
        if (r == pid) break;
        if (r < 0 && errno != EINTR) fail("startContainer hook #%d (%s): wait", index, h->path);
        if (h->timeout > 0 && waited_ms >= h->timeout * 1000) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            errno = 0;
            fail("startContainer hook #%d (%s): timed out after %ds", index, h->path, h->timeout);
        }
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        waited_ms += 10;
    }
    errno = 0;
    if (WIFSIGNALED(status))
        fail("startContainer hook #%d (%s): killed by signal %d", index, h->path, WTERMSIG(status));
    if (WEXITSTATUS(status) != 0)
        fail("startContainer hook #%d (%s): exit status %d", index, h->path, WEXITSTATUS(status));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "oci-runtime-init is started by oci-runtime create; it is not a command\n");
        return 2;
    }
    int plan_fd = atoi(argv[1]);
    size_t len;
    char *buf = read_all(plan_fd, &len);
    close(plan_fd);
    struct plan p;
    parse_plan(buf, len, &p);  /* sets sync_fd */
    reset_signals();
    /* Not dumpable while the runtime's plan is in hand: no process of the
     * container may ptrace us or open our /proc files (execve resets this). */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) fail("prctl(PR_SET_DUMPABLE)");

    /* Where the filter loads is the plan's (waiter_plan.HostDecisions.seccomp_step):
     * before the user switch while CAP_SYS_ADMIN is still held (no no_new_privs),
     * or after no_new_privs and the exec label, before "ready" -- so a filter
     * that cannot load fails create, a notify filter's fd reaches create while
     * it is there, and startContainer hooks run under the filter (runc's order). */
    /* The cwd check (getcwd, CVE-2024-21626) comes before the filter: a profile may
     * deny getcwd (runtime-tools linux_seccomp).  Entered as root, the directory is
     * the one the user will be in; one only the user can enter is checked after
     * the switch, under the filter. */
    int entered = p.cwd ? chdir_as_root(p.cwd) : 0;
    if (entered) verify_cwd(p.cwd, entered);
    if (p.seccomp_fd >= 0 && p.seccomp_step == SECCOMP_BEFORE_USER_SWITCH) load_seccomp(&p);
    if (p.has_caps) drop_bounding_set(&p);
    switch_user(&p);
    if (p.has_caps) set_capabilities(&p);
    if (p.cwd && !entered) verify_cwd(p.cwd, entered);
    if (p.no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail("prctl(PR_SET_NO_NEW_PRIVS)");
    if (p.lsm_path) write_lsm_label(&p);
    if (p.seccomp_fd >= 0 && p.seccomp_step == SECCOMP_BEFORE_READY) load_seccomp(&p);
    if (p.seccomp_fd >= 0) { errno = 0; fail("init plan: SECCOMP without a SECCOMP_STEP"); }
    cloexec_other_fds(3 + p.keep_fds);

    errno = 0;
    send_line("ready", "", NULL);
    close(sync_fd);
    sync_fd = -1;
    if (p.fifo_fd >= 0)  /* create waits for start; exec runs at once */
        wait_for_start(p.fifo_fd);
    for (size_t i = 0; i < p.nhooks; i++)
        run_hook(&p.hooks[i], (int)i, p.state, p.envp);

    execve(p.exe, p.argv, p.envp);
    fail("exec %s", p.exe);
    return 127;
}
