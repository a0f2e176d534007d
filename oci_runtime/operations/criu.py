"""What `checkpoint` and `restore` share: runc's CRIU flags, their argument checks,
and the answer about CRIU itself.

The flags (cli.py) are runc 1.1's, checked as runc checks them (same conditions, and the
flag named in the message), before anything is looked at or made: a script that
passes a bad --parent-path learns it from the flag, not from CRIU.  oci-runtime
does not drive CRIU yet, so once the arguments and the container pass, the
command ends with one error saying whether CRIU is missing, cannot run on this
host (``criu check``'s own reason), or is present but not supported here.
"""
import os

from oci_runtime.errors import OCIError

def image_path(opts):
    """--image-path, or runc's default: ./checkpoint."""
    return opts["image_path"] or os.path.join(os.getcwd(), "checkpoint")


def check_shared(opts):
    """The checks runc makes on the flags both commands have."""
    mode = opts["manage_cgroups_mode"]
    if mode and mode not in ("soft", "full", "strict"):
        raise OCIError(f"--manage-cgroups-mode {mode!r}: Invalid manage cgroups mode "
                       "(one of soft, full, strict)")
    for kind in opts["empty_ns"] or ():
        if kind != "network":
            raise OCIError(f"--empty-ns {kind!r}: namespace {kind!r} is not supported (only network)")


def check_parent_path(opts):
    """runc's --parent-path rule: relative to --image-path, naming a directory there."""
    parent = opts["parent_path"]
    if not parent:
        return
    if os.path.isabs(parent):
        raise OCIError(f"--parent-path {parent}: --parent-path must be relative (to --image-path)")
    real = os.path.join(image_path(opts), parent)
    if not os.path.isdir(real):
        why = "not a directory" if os.path.exists(real) else "no such file or directory"
        raise OCIError(f"invalid --parent-path: {real}: {why} (a previous --pre-dump's images, "
                       "relative to --image-path)")


def check_page_server(opts):
    text = opts["page_server"]
    if not text:
        return
    address, _, port = text.rpartition(":")
    if not address or not port:
        raise OCIError(f"--page-server {text!r}: Use --page-server ADDRESS:PORT to specify page server")
    if not port.isdigit():
        raise OCIError(f"--page-server {text!r}: Invalid port number")


def unsupported(g, command):
    """The error that ends `checkpoint` and `restore`: what is wrong with CRIU here."""
    import shutil
    import subprocess

    criu = g.get("criu") or "criu"
    found = shutil.which(criu)
    if not found:
        raise OCIError(f"{command}: the CRIU binary {criu!r} was not found (install criu, or name it with "
                       "the global --criu flag); oci-runtime does not support checkpoint/restore yet either")
    try:
        check = subprocess.run([found, "check"], capture_output=True, text=True, timeout=30)
        reasons = [line for line in (check.stderr + check.stdout).splitlines() if line.strip()]
        failed = check.returncode != 0
    except (OSError, subprocess.TimeoutExpired) as exc:
        reasons, failed = [str(getattr(exc, "strerror", None) or "timed out")], True
    if failed:
        reason = reasons[-1] if reasons else "criu check failed"
        raise OCIError(f"{command}: CRIU cannot run on this host (`{found} check`: {reason}); "
                       "oci-runtime does not support checkpoint/restore yet either")
    raise OCIError(f"{command}: checkpoint/restore is not supported by oci-runtime yet (CRIU at {found} works)")
