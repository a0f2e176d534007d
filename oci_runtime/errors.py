"""Errors meant for the user: the CLI prints their text (no traceback) and exits 1."""


class OCIError(Exception):
    """An error for the user: its text is printed as is."""


class ConfigError(OCIError):
    """config.json is malformed; the message names the JSON path of the problem."""

    def __init__(self, path, message):
        super().__init__(f"config.json: {path}: {message}" if path else f"config.json: {message}")
        self.json_path = path


class NotExist(OCIError):
    """runc's wording, which containerd and podman match on."""

    def __init__(self):
        super().__init__("container does not exist")


class UsageError(OCIError):
    """Bad command line; printed with a hint to --help, exit status 1 (runc's)."""
