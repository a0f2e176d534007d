"""`oci-runtime exec [flags] <id> <command> [args...]`: run another process in a container.

Exit status: the process's own, or runc's 255 with "exec failed: ..." when it
could not be started (engines tell the two apart by it).
"""
from oci_runtime.errors import ExecFailed, OCIError, message_of
from oci_runtime.lifecycle.execute import ExecOptions, execute, read_process_file


def main(g, opts, args):
    try:
        process = read_process_file(opts["process"]) if opts["process"] else None
        exec_options = ExecOptions(
            console_socket=opts["console_socket"], pid_file=opts["pid_file"], detach=bool(opts["detach"]),
            preserve_fds=opts["preserve_fds"] or 0, tty=bool(opts["tty"]), env=opts["env"] or (),
            cwd=opts["cwd"], user=opts["user"], additional_gids=opts["additional_gids"] or (),
            caps=opts["cap"] or (), no_new_privs=bool(opts["no_new_privs"]),
            ignore_paused=bool(opts["ignore_paused"]), cgroup=opts["cgroup"] or ())
        return execute(g["root"], args[0], exec_options, args=args[1:], process=process)
    except ExecFailed:
        raise
    except (OCIError, OSError) as exc:
        raise ExecFailed(message_of(exc)) from None
