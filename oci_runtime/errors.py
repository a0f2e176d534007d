"""Errors meant for the user: the CLI prints their text (no traceback) and exits 1 (or the error's exit_status)."""


class OCIError(Exception):
    """An error for the user: its text is printed as is, and the CLI exits with
    ``exit_status`` (1; `exec` uses runc's 255 for a process it could not start)."""

    exit_status = 1


class ConfigError(OCIError):
    """config.json is malformed; the message names the JSON path of the problem.

    The text starts with "invalid configuration: ", the phrase engines and scripts
    look for in a rejected config (runc's and crun's wording), then our precise
    part: ``config.json: <json path>: <what is wrong>``."""

    PHRASE = "invalid configuration: "

    def __init__(self, path, message):
        where = f"config.json: {path}: " if path else "config.json: "
        super().__init__(f"{self.PHRASE}{where}{message}")
        self.json_path = path


class ContainerNotFound(OCIError):
    """No container with that id under the root.  runc's wording, which
    containerd and podman match on."""

    def __init__(self):
        super().__init__("container does not exist")


class ContainerExists(OCIError):
    """create with an id already in use (runc's wording)."""

    def __init__(self):
        super().__init__("container with given ID already exists")


class ContainerStateError(OCIError):
    """The container is in the wrong state for the operation (runc's wordings:
    "cannot start an already running container", "container not paused", ...)."""


class ContainerNotRunning(ContainerStateError):
    """kill, pause, ps, update, events of a container that is not running."""

    def __init__(self):
        super().__init__("container not running")


class UsageError(OCIError):
    """Bad command line; printed with a hint to --help, exit status 1 (runc's)."""


class ExecFailed(OCIError):
    """`exec` could not start the process: runc's "exec failed: ..." and exit status 255,
    which engines tell apart from the exit status of a process that ran."""

    exit_status = 255

    def __init__(self, cause):
        super().__init__(f"exec failed: {cause}")


def message_of(exc):
    """The text the CLI prints for an OCIError or an OSError (strerror and path)."""
    if isinstance(exc, OSError) and not isinstance(exc, OCIError):
        text = exc.strerror or str(exc)
        return f"{text}: {exc.filename}" if exc.filename else text
    return str(exc)


def one_line(text):
    """``text`` as one printable line: control characters (a newline or a carriage
    return inside a path from the config, say) are shown escaped, as Go's %q would,
    so an error is always exactly one line for engines that read it."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch.isprintable() or ch == " ":
            out.append(ch)
        else:
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch) or f"\\x{ord(ch):02x}"
                       if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
    return "".join(out)
