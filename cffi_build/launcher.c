/*
 * oci-runtime: the installed command.  It only picks an interpreter and execs it.
 *
 * Why a C program instead of pip's generated console script: the generated
 * script starts a full interpreter (site.py, .pth files: ~2.5 ms) and imports
 * `re` before anything else (~5 ms).  Engines call the runtime several times
 * per container, so that start-up cost is paid on every `state` and `kill`.
 *
 * Fast path: this file is installed as <prefix>/bin/oci-runtime next to the
 * prefix's python3 (a virtualenv).  If <prefix>/lib/pythonX.Y/site-packages
 * holds the package, exec
 *     <prefix>/bin/python3 -I -S -c BOOT <site-packages> args...
 * -I isolates from the environment and the current directory, -S skips
 * site.py; BOOT puts the site-packages directory on sys.path itself and
 * calls oci_runtime.launch.main.
 *
 * Fallback (any other layout): exec the interpreter that built the package
 * with -I (site.py on, so it finds the package wherever pip put it).
 *
 * For create, run and exec the launcher also starts the kernel's wait for the
 * first cgroup migration (warm_cgroups below, see oci_runtime/cgroups/warmup.py)
 * before Python even starts, and passes the helper's pid and pipe on (BOOT
 * reaps it).
 *
 * Every command, `state` included, is Python's: the launcher holds no policy.
 *
 * PYTHON_VERSION ("3.11") and BUILD_PYTHON are defined by setup.py.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef PYTHON_VERSION
#error "PYTHON_VERSION must be defined (setup.py does)"
#endif
#ifndef BUILD_PYTHON
#error "BUILD_PYTHON must be defined (setup.py does)"
#endif

/* argv after BOOT: <site-packages> <warm-up helper "PID:FD" or "0"> args... */
#ifdef FLOOR_BOOT
/* benchmarks/lifecycle.py's floor row builds a copy with BOOT = "pass": the
 * interpreter's start-up through this very path, without the runtime. */
static const char BOOT[] = FLOOR_BOOT;
#else
static const char BOOT[] =
    "import sys;sys.path.insert(0,sys.argv.pop(1));"
    "from oci_runtime.launch import main;sys.exit(main(sys.argv.pop(1)))";
#endif
static const char FALLBACK_BOOT[] =
    "import sys;from oci_runtime.launch import main;sys.exit(main(sys.argv.pop(1)))";

/* The cgroup.procs of this process's own cgroup v2 cgroup, or 0. */
static int own_v2_procs(char *out, size_t size)
{
    char line[4096], mount[PATH_MAX] = "", own[PATH_MAX] = "";
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return 0;
    while (!mount[0] && fgets(line, sizeof line, f)) {
        char *dash = strstr(line, " - cgroup2 ");
        char *field = line;
        if (!dash)
            continue;
        for (int i = 0; i < 4 && field; i++) { /* the 5th field is the mount point */
            field = strchr(field, ' ');
            field = field ? field + 1 : NULL;
        }
        char *end = field ? strchr(field, ' ') : NULL;
        if (end && (size_t)(end - field) < sizeof mount && !memchr(field, '\\', (size_t)(end - field))) {
            memcpy(mount, field, (size_t)(end - field));
            mount[end - field] = '\0';
        }
    }
    fclose(f);
    f = fopen("/proc/self/cgroup", "re");
    if (!f)
        return 0;
    while (!own[0] && fgets(line, sizeof line, f))
        if (strncmp(line, "0::", 3) == 0 && strlen(line + 3) < sizeof own) {
            strcpy(own, line + 3);
            own[strcspn(own, "\n")] = '\0';
        }
    fclose(f);
    return mount[0] && own[0] && snprintf(out, size, "%s%s/cgroup.procs", mount, own) < (int)size;
}

/* Write this process's pid into its own cgroup v2 cgroup (a no-op move), through
 * ``procs_fd`` (that cgroup's cgroup.procs, opened once).  Returns 0 if the
 * kernel refused it (then there is nothing to keep open). */
static int poke_own_cgroup(int procs_fd)
{
    char text[32];
    int n = snprintf(text, sizeof text, "%d", (int)getpid());
    return write(procs_fd, text, (size_t)n) == n;  /* an optimisation only: nothing to report */
}

/*
 * In the helper: move ``keep`` to fd 3 and close every other fd.  Engines pass
 * their own pipes and sockets as fds 3 and up (sync pipes, --preserve-fds,
 * LISTEN_FDS); a copy held here would delay the EOF their readers wait for,
 * for as long as the helper lives.  Returns 3, or -1 if that could not be
 * done (then the helper must not go on).
 */
static int keep_only(int keep)
{
    if (keep != 3 && dup2(keep, 3) < 0)
        return -1;
    for (int fd = 0; fd < 3; fd++)
        close(fd);
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 4U, ~0U, 0U) == 0)
        return 3;
#endif
    /* Before Linux 5.9 (no close_range): the open fds, as /proc lists them. */
    DIR *dir = opendir("/proc/self/fd");
    if (!dir)
        return -1;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        int fd = atoi(entry->d_name);  /* "." and "..": 0 */
        if (fd > 3 && fd != dirfd(dir))
            close(fd);
    }
    closedir(dir);
    return 3;
}

/*
 * For create/run/exec: fork a helper that writes its own pid into the cgroup v2
 * cgroup it is already in (a no-op migration).  The first cgroup.procs write
 * after a quiet spell blocks for an RCU grace period (8-30 ms here, longer
 * on a busy machine) while holding the kernel's cgroup_mutex; started now,
 * that wait overlaps the interpreter's start-up instead of delaying the
 * container's attach.  For about two grace periods after a write, another is
 * fast (the kernel's rcu_sync stays in its writer mode), so the helper then
 * writes again every KEEP_OPEN_MS until Python closes the pipe (warmup.py:
 * once the container's first process has joined its cgroups, or at exit):
 * the attach never finds the fast path closed, and no new grace period is
 * started while create makes the cgroups (a write after the window closed
 * would hold cgroup_mutex for a whole grace period, and every mkdir of the
 * container's cgroups would wait for it).  Each such write takes a few
 * microseconds.  Writes "PID:FD" (the helper, the pipe's write end; Python
 * reaps the one and closes the other) or "0".  Any argument equal to a
 * command name counts: a false hit only costs a fork.
 */
/* The window lasts ~15 ms after a write on an idle machine (longer when busy):
 * 5 ms keeps it open with room to spare, and with eight creates at once (eight
 * helpers) costs less than 3 ms did: each write briefly holds off every fork
 * and exit on the host while it takes the rwsem. */
#define KEEP_OPEN_MS 5
#define KEEP_OPEN_AT_MOST_MS 10000  /* a command stuck (in a hook, say) stops it */
static void warm_cgroups(int argc, char **argv, char *out, size_t size)
{
    int wanted = 0, pipe_fds[2];
    snprintf(out, size, "0");
    for (int i = 1; i < argc; i++)
        wanted |= !strcmp(argv[i], "create") || !strcmp(argv[i], "run") || !strcmp(argv[i], "exec");
    if (!wanted || pipe(pipe_fds) < 0)
        return;
    pid_t pid = fork();
    if (pid < 0) {
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        return;
    }
    if (pid > 0) {
        close(pipe_fds[0]);
        snprintf(out, size, "%d:%d", (int)pid, pipe_fds[1]);
        return;
    }
    close(pipe_fds[1]);
    int done = keep_only(pipe_fds[0]);  /* hold none of the caller's fds open */
    char procs[PATH_MAX];
    int procs_fd = -1;
    if (done >= 0 && own_v2_procs(procs, sizeof procs))
        procs_fd = open(procs, O_WRONLY | O_CLOEXEC);
    if (procs_fd >= 0 && poke_own_cgroup(procs_fd)) {
        struct pollfd closed = {.fd = done, .events = POLLIN};
        for (int waited = 0; waited < KEEP_OPEN_AT_MOST_MS; waited += KEEP_OPEN_MS) {
            if (poll(&closed, 1, KEEP_OPEN_MS) != 0 || !poke_own_cgroup(procs_fd))
                break;  /* EOF (or a byte): Python is done with it, or gone */
        }
    }
    _exit(0);
}

/* The directory holding this program (symlinks resolved), or 0. */
static int own_dir(char *dir, size_t size)
{
    ssize_t n = readlink("/proc/self/exe", dir, size - 1);
    if (n <= 0)
        return 0;
    dir[n] = '\0';
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    return 1;
}

/* Room for ``extra`` leading arguments, argv[1..] and the terminating NULL. */
static char **exec_argv(int argc, int extra)
{
    char **out = calloc((size_t)argc + (size_t)extra, sizeof(char *));
    if (!out) {
        perror("oci-runtime: calloc");
        exit(1);
    }
    return out;
}

int main(int argc, char **argv)
{
    char bin[PATH_MAX], python[PATH_MAX], site[PATH_MAX], probe[PATH_MAX], helper[32];
    warm_cgroups(argc, argv, helper, sizeof helper);
    if (own_dir(bin, sizeof bin)
        && snprintf(python, sizeof python, "%s/python3", bin) < (int)sizeof python
        && snprintf(site, sizeof site, "%s/../lib/python%s/site-packages", bin, PYTHON_VERSION)
               < (int)sizeof site
        && snprintf(probe, sizeof probe, "%s/oci_runtime/cli.py", site) < (int)sizeof probe
        && access(python, X_OK) == 0 && access(probe, R_OK) == 0) {
        char **args = exec_argv(argc, 7);
        int i = 0;
        args[i++] = python;
        args[i++] = "-I";
        args[i++] = "-S";
        args[i++] = "-c";
        args[i++] = (char *)BOOT;
        args[i++] = site;
        args[i++] = helper;
        for (int k = 1; k < argc; k++)
            args[i++] = argv[k];
        execv(python, args);
    }
    char **args = exec_argv(argc, 5);
    int i = 0;
    args[i++] = BUILD_PYTHON;
    args[i++] = "-I";
    args[i++] = "-c";
    args[i++] = (char *)FALLBACK_BOOT;
    args[i++] = helper;
    for (int k = 1; k < argc; k++)
        args[i++] = argv[k];
    execv(BUILD_PYTHON, args);
    fprintf(stderr, "oci-runtime: cannot exec %s: ", BUILD_PYTHON);
    perror(NULL);
    return 1;
}
