"""libseccomp is loaded only for a config with a seccomp profile (issue 22: "nothing
loaded that the config doesn't need").  Its binding is a cffi module of its own
(oci_runtime._libseccomp, cffi_build/build_shim.py); the syscall shim every create,
run and exec loads does not link it.

The commands run through launch.main as the launcher runs it and report, from
inside the runtime's own process just before it exits, whether libseccomp is
mapped into it.
"""
import subprocess
import sys
import sysconfig
import tempfile

SITE = sysconfig.get_paths()["purelib"]

PROBE = """
import posix, sys
sys.path.insert(0, sys.argv.pop(1))
from oci_runtime import launch
exit_now = posix._exit
def report(status):
    fd = posix.open("/proc/self/maps", posix.O_RDONLY)
    maps = b""
    while chunk := posix.read(fd, 65536):
        maps += chunk
    sys.stderr.write(f"libseccomp mapped={b'libseccomp' in maps}\\n")
    sys.stderr.flush()
    exit_now(status)
posix._exit = report
launch.main()
"""

PROFILE = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
           "syscalls": [{"names": ["swapon"], "action": "SCMP_ACT_ERRNO"}]}


def _mapped(rt, *args):
    with tempfile.TemporaryFile() as err:  # a file: a created container keeps create's stdio open
        done = subprocess.run([sys.executable, "-I", "-S", "-c", PROBE, SITE, "--root", rt.root, *args],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, timeout=60)
        err.seek(0)
        text = err.read().decode(errors="replace")
    assert done.returncode == 0, text
    line = [item for item in text.splitlines() if item.startswith("libseccomp mapped=")]
    assert line, text
    return line[-1].endswith("True")


def _with_profile(config):
    config["linux"]["seccomp"] = PROFILE


def test_only_a_config_with_a_seccomp_profile_loads_libseccomp(rt):
    plain = rt.new_id()
    assert not _mapped(rt, "create", "--bundle", str(rt.bundle(["sleep", "100"])), plain)
    assert rt.state(plain)["status"] == "created"
    assert not _mapped(rt, "run", "--bundle", str(rt.bundle(["true"])), rt.new_id())
    # The control: the profile is compiled with libseccomp, in the runtime's process.
    filtered = rt.new_id()
    assert _mapped(rt, "create", "--bundle", str(rt.bundle(["sleep", "100"], edit=_with_profile)), filtered)
    assert rt.state(filtered)["status"] == "created"
    for cid in (plain, filtered):
        rt.cmd("delete", "--force", cid, check=True)
