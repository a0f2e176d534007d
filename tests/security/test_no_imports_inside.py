"""Issue 16, finding 4: no Python import once a process of the runtime has entered the
container's namespaces (oci_runtime/importguard.py).

The image plants a module under every stdlib name and every oci_runtime module
name at every place the runtime's interpreter imports from, as the rootfs sees
those paths.  Each planted module, if it ever ran, would append its name to
/PLANTED-RAN.  Then every subcommand is driven against the container, error
paths and every kind of hook included, plus a fault that makes the runtime
import a new module right after pivot_root (create) and right after setns
(exec), as a lazy import in an error path would.  None may run; the faulted
commands must fail with the guard's clear message.
"""
import os
import subprocess
import sys

import pytest

from conftest import RUNTIME
from oci_runtime.faults import ENV as FAULT_ENV

MARKER = "PLANTED-RAN"
PLANTED = ('open(__import__("os").environ.get("PLANTED_MARKER", "/' + MARKER + '"), "a")'
           '.write(__name__ + "\\n")\n')
RUNTIME_PYTHON = os.path.join(os.path.dirname(RUNTIME), "python3")


def search_dirs():
    """Where the runtime's interpreter looks for modules: the launcher's
    site-packages first, then the interpreter's own paths (runtime run with -I -S)."""
    code = "import sys, sysconfig; print(sysconfig.get_paths()['purelib']); print('\\n'.join(sys.path))"
    out = subprocess.run([RUNTIME_PYTHON, "-I", "-S", "-c", code], capture_output=True, text=True,
                         check=True).stdout.split("\n")
    return [d for d in dict.fromkeys(out) if d.startswith("/") and not d.endswith(".zip")]


def oci_runtime_modules():
    """Relative paths of every module file of the installed oci_runtime package."""
    import oci_runtime

    top = os.path.dirname(oci_runtime.__file__)
    found = []
    for directory, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if name.endswith((".py", ".so")):
                module = os.path.join(os.path.relpath(directory, top), name.split(".")[0] + ".py")
                found.append(os.path.normpath(os.path.join("oci_runtime", module)))
    return found


def plant(rootfs):
    dirs = search_dirs()
    for directory in dirs:
        inside = rootfs / directory.lstrip("/")
        inside.mkdir(parents=True, exist_ok=True)
        for name in sys.stdlib_module_names:
            (inside / f"{name}.py").write_text(PLANTED)
        for module in oci_runtime_modules():
            path = inside / module
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(PLANTED)
    return dirs


def hook(path, *args):
    return {"path": path, "args": [os.path.basename(path), *args]}


def with_every_hook(config):
    config["hooks"] = {name: [hook("/bin/true")] for name in
                       ("prestart", "createRuntime", "createContainer", "startContainer", "poststart",
                        "poststop")}


def ran(bundle):
    marker = bundle / "rootfs" / MARKER
    host = f"/{MARKER}"
    text = (marker.read_text() if marker.exists() else "") + (open(host).read() if os.path.exists(host) else "")
    if os.path.exists(host):
        os.unlink(host)
    return text


def test_the_planted_modules_would_run_if_imported(tmp_path):
    """The control: the planted files are real modules that record themselves."""
    (tmp_path / "csv.py").write_text(PLANTED)
    marker = tmp_path / "marker"
    subprocess.run([RUNTIME_PYTHON, "-I", "-S", "-c", f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import csv"],
                   env=dict(os.environ, PLANTED_MARKER=str(marker)), check=True)
    assert marker.read_text() == "csv\n"


@pytest.fixture
def planted(rt):
    bundle = rt.bundle(["sleep", "60"], edit=with_every_hook)
    dirs = plant(bundle / "rootfs")
    assert len(dirs) >= 3, dirs
    yield bundle
    assert ran(bundle) == "", "a module planted in the image ran inside the runtime"


def test_no_subcommand_imports_from_the_image(rt, planted, tmp_path):
    container_id = rt.create(planted)
    for args in (["state", container_id], ["start", container_id], ["ps", container_id],
                 ["exec", container_id, "true"], ["exec", "--user", "1000:1000", "--cwd", "/tmp", container_id, "id"],
                 ["pause", container_id], ["events", "--stats", container_id], ["resume", container_id],
                 ["update", "--pids-limit", "50", container_id]):
        result = rt.cmd(*args)
        assert result.returncode == 0, (args, result.stderr)
    for args, phrase in ((["exec", container_id, "/no/such/program"], "no such file or directory"),
                         (["exec", "--cwd", "/no/such/dir", container_id, "true"], "chdir"),
                         (["exec", "-t", "-d", container_id, "true"], "console socket")):
        result = rt.cmd(*args)
        assert result.returncode != 0 and phrase in result.stderr, (args, result.stderr)
    assert rt.cmd("kill", container_id, "KILL").returncode == 0
    assert rt.cmd("delete", "--force", container_id).returncode == 0


def test_error_paths_inside_the_container_import_nothing(rt, planted):
    config = rt.read_config(planted)
    config["process"]["args"] = ["/no/such/program"]
    rt.write_config(planted, config)
    for extra in ((), ("--no-pivot",)):
        result = rt.run(planted, *extra, check=False)
        assert result.returncode == 1 and "no such file or directory" in result.stderr, result.stderr
    config["process"]["args"] = ["true"]
    config["hooks"]["createContainer"] = [hook("/bin/false")]
    rt.write_config(planted, config)
    result = rt.run(planted, check=False)
    assert result.returncode == 1 and "createContainer hook #0" in result.stderr, result.stderr
    config["hooks"]["createContainer"] = [hook("/bin/true")]
    config["process"]["terminal"] = True
    config["process"]["args"] = ["tty"]
    rt.write_config(planted, config)
    assert "/dev/pts/0" in rt.run(planted).stdout     # the pty path, after pivot_root


def test_a_first_import_after_pivot_root_or_setns_is_refused(rt, planted):
    """A lazy import where the image's files are the runtime's sys.path: refused
    loudly, and the image's module of that name does not run."""
    refused = "import of 'csv' refused"
    container_id = rt.new_id()
    result = rt.cmd("create", "-b", str(planted), container_id,
                    env=dict(os.environ, **{FAULT_ENV: "create:after-pivot=import:csv"}))
    assert result.returncode == 1 and refused in result.stderr, result.stderr
    assert not os.path.exists(rt.state_dir(container_id))
    container_id = rt.create(planted)
    result = rt.cmd("exec", container_id, "true", env=dict(os.environ, **{FAULT_ENV: "exec:in-container=import:csv"}))
    assert result.returncode == 255 and refused in result.stderr, result.stderr


def test_a_crash_inside_the_container_imports_nothing(rt, planted):
    """The fault 'kill' once imported `signal` lazily: after exec's setns that was the
    image's signal.py, run as root (found by this test on the old main)."""
    container_id = rt.create(planted)
    result = rt.cmd("exec", container_id, "true", env=dict(os.environ, **{FAULT_ENV: "exec:in-container=kill"}))
    assert result.returncode == 255, result.stderr
