/*
 * A runtime stand-in that engines call instead of the runtime: it runs the real
 * one (TARGET) with the same arguments, descriptors and environment, waits for
 * it, appends "<call> <wall ms> <exit status>" to LOG, and exits as it did.
 * benchmarks/engines.py builds one per runtime (cc -DTARGET=... -DLOG=...) and
 * hands it to containerd, podman and dockerd, to show an engine's time call by
 * call.  The fork and exec it adds (~0.3 ms) are the same for every runtime.
 *
 * <call> is the subcommand (the first word that is not a global flag or a flag's
 * value), "delete --force" for a forced delete.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if !defined(TARGET) || !defined(LOG)
#error "TARGET and LOG must be defined"
#endif

static pid_t child;

static void forward(int sig)
{
    if (child > 0)
        kill(child, sig);
}

/* runc's global flags that take a value (given as "--flag value"). */
static int takes_value(const char *flag)
{
    static const char *const with_value[] = {"--root", "--log", "--log-format", "--criu", "--rootless", NULL};
    for (int i = 0; with_value[i]; i++)
        if (strcmp(flag, with_value[i]) == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    child = fork();
    if (child < 0)
        return 127;
    if (child == 0) {
        argv[0] = TARGET;
        execv(TARGET, argv);
        _exit(127);
    }
    int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
    for (unsigned i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
        signal(forwarded[i], forward);
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    clock_gettime(CLOCK_MONOTONIC, &end);

    const char *call = "?";
    int force = 0, i = 1;
    for (; i < argc; i++) {
        if (argv[i][0] != '-')
            break;
        if (!strchr(argv[i], '=') && takes_value(argv[i]))
            i++;
    }
    if (i < argc) {
        call = argv[i];
        for (int k = i + 1; k < argc; k++)
            force |= strcmp(argv[k], "--force") == 0 || strcmp(argv[k], "-f") == 0;
    }
    double ms = (end.tv_sec - start.tv_sec) * 1e3 + (end.tv_nsec - start.tv_nsec) / 1e6;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    int fd = open(LOG, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
        dprintf(fd, "%s%s %.3f %d\n", call, force && strcmp(call, "delete") == 0 ? " --force" : "", ms, code);
        close(fd);
    }
    if (WIFSIGNALED(status)) {
        signal(WTERMSIG(status), SIG_DFL);
        kill(getpid(), WTERMSIG(status));
    }
    return code;
}
