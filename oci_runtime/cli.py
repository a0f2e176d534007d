"""The `oci-runtime` command: runc's global flags, subcommands, errors and exit codes.

Each subcommand lives in ``oci_runtime.operations.<name>`` and is imported only
when it runs, so `state` or `kill` never pay for what `create` needs.
Errors meant for the user (OCIError, OSError) print their text on stderr and,
with --log, an "error" line in the log; exit status is 1, as runc's.
"""
import sys

from oci_runtime import __version__, OCI_VERSION, log, rootless
from oci_runtime.cliparse import Command, Flag, format_flags, parse
from oci_runtime.errors import OCIError, UsageError, message_of, one_line

# $XDG_RUNTIME_DIR/oci-runtime when rootless (rootless.py), as runc's default follows the caller
DEFAULT_ROOT = rootless.default_root()
# Commands that move a new process into cgroups (see oci_runtime/cgroups/warmup.py).
_ATTACHING = frozenset(("create", "run", "exec"))

GLOBAL_FLAGS = (
    Flag(("root",), "str", "root directory for storage of container state", DEFAULT_ROOT),
    Flag(("log",), "str", "set the log file to write oci-runtime logs to (default is stderr)", ""),
    Flag(("log-format",), "str", "set the log format ('text' or 'json')", "text"),
    Flag(("debug",), "bool", "enable debug logging", False),
    Flag(("systemd-cgroup",), "bool", "the container's cgroup is a systemd scope unit "
         "(linux.cgroupsPath slice:prefix:name)", False),
    Flag(("rootless",), "str", "ignore cgroup permission errors ('true', 'false', or 'auto')", "auto"),
    Flag(("criu",), "str", "path to the criu binary (checkpoint/restore only check for it)", "criu"),
    Flag(("version", "v"), "bool", "print the version", False),
)

_CREATE_FLAGS = (
    Flag(("bundle", "b"), "str", "path to the root of the bundle directory", "", "path"),
    Flag(("console-socket",), "str", "path to an AF_UNIX socket that receives the pty master fd", "", "path"),
    Flag(("pidfd-socket",), "str", "path to an AF_UNIX socket that receives a pidfd of the init", "", "path"),
    Flag(("pid-file",), "str", "file to write the process id to", "", "path"),
    Flag(("no-pivot",), "bool", "do not use pivot_root to jail the process (chroot instead)", False),
    Flag(("no-new-keyring",), "bool", "do not create a new session keyring for the container", False),
    Flag(("preserve-fds",), "int", "pass N additional file descriptors to the container (3..3+N-1)", 0, "N"),
)

# runc update's flags, names and words (--cpu-shares is an alias kept from before).
_UPDATE_FLAGS = tuple(Flag(names, "str", help, "") for names, help in (
    (("blkio-weight",), "Specifies per cgroup weight, range is from 10 to 1000"),
    (("cpu-period",), "CPU CFS period to be used for hardcapping (in usecs). 0 to use system default"),
    (("cpu-quota",), "CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period"),
    (("cpu-share", "cpu-shares"), "CPU shares (relative weight vs. other containers)"),
    (("cpu-rt-period",), "CPU realtime period to be used for hardcapping (in usecs). 0 to use system default"),
    (("cpu-rt-runtime",), "CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period"),
    (("cpuset-cpus",), "CPU(s) to use"),
    (("cpuset-mems",), "Memory node(s) to use"),
    (("kernel-memory",), "(obsoleted; do not use)"),
    (("kernel-memory-tcp",), "(obsoleted; do not use)"),
    (("memory",), "Memory limit (in bytes)"),
    (("memory-reservation",), "Memory reservation or soft_limit (in bytes)"),
    (("memory-swap",), "Total memory usage (memory + swap); set '-1' to enable unlimited swap"),
    (("pids-limit",), "Maximum number of pids allowed in the container"),
    (("l3-cache-schema",), "The string of Intel RDT/CAT L3 cache schema"),
    (("mem-bw-schema",), "The string of Intel RDT/MBA memory bandwidth schema"),
))

# checkpoint's and restore's flags: runc 1.1's (operations/criu.py checks them)
_CRIU_FLAGS = (
    Flag(("image-path",), "str", "path for the criu image files", "", "path"),
    Flag(("work-path",), "str", "path for saving work files and logs", "", "path"),
    Flag(("tcp-established",), "bool", "allow open tcp connections", False),
    Flag(("ext-unix-sk",), "bool", "allow external unix sockets", False),
    Flag(("shell-job",), "bool", "allow shell jobs", False),
    Flag(("file-locks",), "bool", "handle file locks, for safety", False),
    Flag(("manage-cgroups-mode",), "str", "cgroups mode: 'soft' (default), 'full' and 'strict'", ""),
    Flag(("empty-ns",), "list", "create a namespace, but don't restore its properties", None, "type"),
    Flag(("auto-dedup",), "bool", "enable auto deduplication of memory images", False),
    Flag(("lazy-pages",), "bool", "use userfaultfd to lazily restore memory pages", False),
)

_CHECKPOINT_FLAGS = _CRIU_FLAGS + (
    Flag(("parent-path",), "str", "path for previous criu image files in pre-dump", "", "path"),
    Flag(("leave-running",), "bool", "leave the process running after checkpointing", False),
    Flag(("status-fd",), "int", "criu writes \\0 to this FD once lazy-pages is ready", -1, "fd"),
    Flag(("page-server",), "str", "ADDRESS:PORT of the page server", "", "address:port"),
    Flag(("pre-dump",), "bool", "dump the container's memory only, leave it running", False),
)

_RESTORE_FLAGS = _CRIU_FLAGS + (
    Flag(("console-socket",), "str", "AF_UNIX socket that receives the pty master", "", "path"),
    Flag(("bundle", "b"), "str", "path to the root of the bundle directory", "", "path"),
    Flag(("detach", "d"), "bool", "detach from the container's process", False),
    Flag(("pid-file",), "str", "file to write the process id to", "", "path"),
    Flag(("no-subreaper",), "bool", "accepted for runc compatibility", False),
    Flag(("no-pivot",), "bool", "do not use pivot_root to jail the process", False),
    Flag(("lsm-profile",), "str", "LSM profile for the restore, TYPE:NAME", ""),
    Flag(("lsm-mount-context",), "str", "LSM mount context for the restore", ""),
)


COMMANDS = {
    c.name: c
    for c in (
        Command("create", "create [command options] <container-id>",
                "create a container (set up, but do not run the user process)",
                _CREATE_FLAGS, 1, 1, module="create"),
        Command("start", "start <container-id>", "run the user process of a created container",
                (), 1, 1, module="start"),
        Command("state", "state <container-id>", "print the state of a container as JSON",
                (), 1, 1, module="state"),
        Command("kill", "kill [--all] <container-id> [signal]",
                "send a signal (default SIGTERM) to the container's init",
                (Flag(("all", "a"), "bool", "send the signal to all processes in the container", False),),
                1, 2, module="kill"),
        Command("delete", "delete [--force] <container-id>",
                "delete a container and everything it holds",
                (Flag(("force", "f"), "bool", "kill the container first if it is still running", False),),
                1, 1, module="delete"),
        Command("run", "run [command options] <container-id>",
                "create and start a container, wait for it and return its exit status",
                _CREATE_FLAGS + (
                    Flag(("detach", "d"), "bool", "detach from the container's process", False),
                    Flag(("keep",), "bool", "do not delete the container after it exits", False),
                    Flag(("no-subreaper",), "bool", "accepted for runc compatibility", False),
                ), 1, 1, module="run"),
        Command("list", "list [command options]", "list the containers under --root",
                (Flag(("format", "f"), "str", "'table' or 'json'", "table"),
                 Flag(("quiet", "q"), "bool", "print only the container ids", False)),
                0, 0, module="list_"),
        Command("spec", "spec [command options]", "write a default config.json into the bundle",
                (Flag(("bundle", "b"), "str", "path to the root of the bundle directory", "", "path"),
                 Flag(("rootless",), "bool", "a spec for a rootless container", False)),
                0, 0, module="spec"),
        Command("bundle", "bundle --image PATH[:TAG|@DIGEST] [--bundle DIR] [--rootless]",
                "unpack an OCI image (layout dir/archive or docker-archive) into a bundle",
                (Flag(("image", "i"), "str", "OCI layout directory or archive, or docker-archive tar; "
                      ":TAG or @sha256:DIGEST selects an image", "", "path"),
                 Flag(("bundle", "b"), "str", "the bundle directory to make (default: .)", "", "path"),
                 Flag(("rootless",), "bool", "a config.json for a rootless container", False)),
                0, 0, module="bundle"),
        Command("exec", "exec [command options] <container-id> <command> [args...]",
                "run a process in a created or running container",
                (Flag(("process", "p"), "str", "path to a process.json (replaces the command line)", "", "path"),
                 Flag(("tty", "t"), "bool", "allocate a pseudo-TTY", False),
                 Flag(("console-socket",), "str", "AF_UNIX socket that receives the pty master", "", "path"),
                 Flag(("detach", "d"), "bool", "detach from the process", False),
                 Flag(("pid-file",), "str", "file to write the process id to", "", "path"),
                 Flag(("cwd",), "str", "current working directory in the container", "", "path"),
                 Flag(("env", "e"), "list", "set an environment variable (repeatable)", None, "KEY=value"),
                 Flag(("user", "u"), "str", "UID[:GID] to run as", "", "uid[:gid]"),
                 Flag(("additional-gids", "g"), "list", "additional gid (repeatable)", None, "gid"),
                 Flag(("cap", "c"), "list", "add a capability (repeatable)", None, "CAP_NAME"),
                 Flag(("no-new-privs",), "bool", "set no_new_privs", False),
                 Flag(("preserve-fds",), "int", "pass N additional file descriptors", 0, "N"),
                 Flag(("process-label",), "str", "accepted for runc compatibility (no SELinux)", ""),
                 Flag(("apparmor",), "str", "accepted for runc compatibility (no AppArmor)", ""),
                 Flag(("ignore-paused",), "bool", "allow exec in a paused container (the process "
                      "starts when the container is resumed)", False),
                 Flag(("cgroup",), "list", "run the process in an (existing) sub-cgroup(s). Format is "
                      "[<controller>:]<cgroup>.", None)),
                1, -1, stop_at_positional=True, module="exec_"),
        Command("pause", "pause <container-id>", "suspend all processes in the container",
                (), 1, 1, module="pause"),
        Command("resume", "resume <container-id>", "resume all processes of a paused container",
                (), 1, 1, module="resume"),
        Command("ps", "ps [--format table|json] <container-id> [ps options]",
                "list the processes running inside the container",
                (Flag(("format", "f"), "str", "'table' or 'json'", "table"),), 1, -1,
                stop_at_positional=True, module="ps"),
        Command("events", "events [--stats] [--interval 5s] <container-id>",
                "print container stats (and oom events) as JSON lines",
                (Flag(("stats",), "bool", "print one stats line and exit", False),
                 Flag(("interval",), "str", "stats interval", "5s", "duration")), 1, 1, module="events"),
        Command("update", "update [--resources FILE|-] [flags] <container-id>",
                "update a container's resource limits",
                (Flag(("resources", "r"), "str", "linux.resources JSON from FILE, or - for stdin", "", "path"),
                 *_UPDATE_FLAGS), 1, 1, module="update"),
        Command("checkpoint", "checkpoint [command options] <container-id>",
                "checkpoint a running container (runc's flags; CRIU is not supported yet)",
                _CHECKPOINT_FLAGS, 1, 1, module="checkpoint"),
        Command("restore", "restore [command options] <container-id>",
                "restore a container from a checkpoint (runc's flags; CRIU is not supported yet)",
                _RESTORE_FLAGS, 1, 1, module="restore"),
        Command("validate", "validate [--bundle path | FILE]",
                "check a config.json against the project's JSON schema (needs jsonschema)",
                (Flag(("bundle", "b"), "str", "path to the root of the bundle directory", "", "path"),),
                0, 1, module="validate"),
        Command("features", "features", "show the enabled features (runtime-spec features.md)",
                (), 0, 0, module="features"),
    )
}


def _usage():
    width = max(len(name) for name in COMMANDS)
    commands = "\n".join(f"   {c.name:<{width + 3}}{c.help}" for c in COMMANDS.values())
    return (
        "NAME:\n   oci-runtime - an OCI runtime with runc's command-line contract\n\n"
        "USAGE:\n   oci-runtime [global options] command [command options] [arguments...]\n\n"
        f"VERSION:\n   {__version__}\n\nCOMMANDS:\n{commands}\n\n"
        f"GLOBAL OPTIONS:\n{format_flags(GLOBAL_FLAGS)}\n   --help, -h{' ' * 26}show help\n"
    )


def _command_usage(command):
    text = f"NAME:\n   oci-runtime {command.name} - {command.help}\n\nUSAGE:\n   oci-runtime {command.usage}\n"
    if command.flags:
        text += f"\nOPTIONS:\n{format_flags(command.flags)}\n"
    return text


def _version_text():
    return f"oci-runtime version {__version__}\nspec: {OCI_VERSION}\n"


def run_command(argv):
    """Parse and run; returns the exit status.  Raises OCIError/OSError for the user."""
    top = parse(argv, GLOBAL_FLAGS, allow_positional=False)
    g = top.options
    if g["log_format"] not in ("text", "json"):
        raise UsageError(f"invalid log-format: {g['log_format']}")
    if g["rootless"].lower() not in ("auto", "true", "false", "1", "0", "t", "f"):
        raise UsageError(f"invalid value for --rootless: {g['rootless']} (use true, false or auto)")
    log.configure(g["log"] or None, g["log_format"], g["debug"])
    if g["version"]:
        sys.stdout.write(_version_text())
        return 0
    if top.help or not top.args:
        sys.stdout.write(_usage())
        return 0
    name, rest = top.args[0], top.args[1:]
    if name == "help":
        sys.stdout.write(_command_usage(COMMANDS[rest[0]]) if rest and rest[0] in COMMANDS else _usage())
        return 0
    command = COMMANDS.get(name)
    if command is None:
        raise UsageError(f"No help topic for '{name}'")
    parsed = parse(rest, command.flags, command.stop_at_positional)
    if parsed.help:
        sys.stdout.write(_command_usage(command))
        return 0
    n = len(parsed.args)
    if n < command.min_args or (command.max_args >= 0 and n > command.max_args):
        want = "exactly" if command.min_args == command.max_args else "between"
        raise UsageError(
            f"{name}: {want} {command.min_args}"
            + (f" and {command.max_args}" if want == "between" else "")
            + f" argument(s) expected, got {n}; usage: oci-runtime {command.usage}"
        )
    if name in _ATTACHING:
        from oci_runtime.cgroups import warmup

        warmup.start()
    # __import__, not importlib.import_module: importlib's package imports
    # warnings (~0.4 ms on every command).
    name_of_module = f"oci_runtime.operations.{command.module}"
    __import__(name_of_module)
    module = sys.modules[name_of_module]
    if name in _ATTACHING:
        warmup.refresh()
    return module.main(g, parsed.options, parsed.args) or 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        return run_command(argv)
    except (OCIError, OSError) as exc:
        message = one_line(message_of(exc))
        log.error(message)
        sys.stderr.write(f"{message}\n")
        return getattr(exc, "exit_status", 1)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
