/*
 * maxrss OUTFILE COMMAND [ARGS...]: run COMMAND, write its peak RSS in KiB
 * (ru_maxrss from wait4, which includes the children it reaped) to OUTFILE,
 * exit with its status.
 *
 * Why not wait4 straight from the Python benchmark: the kernel carries the
 * peak RSS of the process that forked (and then exec'd) into the child's
 * ru_maxrss, so every command would report the benchmark's own ~14 MiB.
 * Forked from this small program, the figure is the runtime's own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: maxrss OUTFILE COMMAND [ARGS...]\n");
        return 2;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("maxrss: fork");
        return 2;
    }
    if (pid == 0) {
        execv(argv[2], argv + 2);
        perror("maxrss: exec");
        _exit(127);
    }
    int status;
    struct rusage usage;
    if (wait4(pid, &status, 0, &usage) < 0) {
        perror("maxrss: wait4");
        return 2;
    }
    FILE *out = fopen(argv[1], "w");
    if (!out || fprintf(out, "%ld\n", usage.ru_maxrss) < 0 || fclose(out) != 0) {
        perror("maxrss: writing the result");
        return 2;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
