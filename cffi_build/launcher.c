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
 * Before any of that, `oci-runtime state <id>` in its common form is answered
 * in C (fast_state.c): a Python process cannot even start in the time runc
 * needs for the whole command.  Anything unusual still goes to Python.
 *
 * PYTHON_VERSION ("3.11") and BUILD_PYTHON are defined by setup.py.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fast_state.h"

#ifndef PYTHON_VERSION
#error "PYTHON_VERSION must be defined (setup.py does)"
#endif
#ifndef BUILD_PYTHON
#error "BUILD_PYTHON must be defined (setup.py does)"
#endif

static const char BOOT[] =
    "import sys;sys.path.insert(0,sys.argv.pop(1));"
    "from oci_runtime.launch import main;sys.exit(main())";
static const char FALLBACK_BOOT[] = "import sys;from oci_runtime.launch import main;sys.exit(main())";

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
    int status = fast_state(argc, argv);
    if (status != FALLBACK)
        return status;
    char bin[PATH_MAX], python[PATH_MAX], site[PATH_MAX], probe[PATH_MAX];
    if (own_dir(bin, sizeof bin)
        && snprintf(python, sizeof python, "%s/python3", bin) < (int)sizeof python
        && snprintf(site, sizeof site, "%s/../lib/python%s/site-packages", bin, PYTHON_VERSION)
               < (int)sizeof site
        && snprintf(probe, sizeof probe, "%s/oci_runtime/cli.py", site) < (int)sizeof probe
        && access(python, X_OK) == 0 && access(probe, R_OK) == 0) {
        char **args = exec_argv(argc, 6);
        int i = 0;
        args[i++] = python;
        args[i++] = "-I";
        args[i++] = "-S";
        args[i++] = "-c";
        args[i++] = (char *)BOOT;
        args[i++] = site;
        for (int k = 1; k < argc; k++)
            args[i++] = argv[k];
        execv(python, args);
    }
    char **args = exec_argv(argc, 4);
    int i = 0;
    args[i++] = BUILD_PYTHON;
    args[i++] = "-I";
    args[i++] = "-c";
    args[i++] = (char *)FALLBACK_BOOT;
    for (int k = 1; k < argc; k++)
        args[i++] = argv[k];
    execv(BUILD_PYTHON, args);
    fprintf(stderr, "oci-runtime: cannot exec %s: ", BUILD_PYTHON);
    perror(NULL);
    return 1;
}
