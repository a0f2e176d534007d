"""Issue 16, finding 2 (the CVE-2021-30465 class, for device nodes): a process with
write access to the rootfs swaps a directory on a linux.devices path with a symlink
to a host directory, atomically (renameat2 RENAME_EXCHANGE), in a tight loop,
while `run` after `run` creates the node.  No device node may ever appear
outside the rootfs.

On the path-string code this replaced, ~100 runs put a node on the host within
40 s here; the test runs for about that long (OCI_RUNTIME_RACE_SECONDS)."""
import os
import subprocess
import sys
import time

RACER = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_EXCHANGE = -100, 2
a, b = (p.encode() for p in sys.argv[1:3])
while True:
    libc.renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)
"""
DURATION = float(os.environ.get("OCI_RUNTIME_RACE_SECONDS", "40"))


def image_dev_with_race(rootfs, host_dir, relative):
    """rootfs/dev from the image (no /dev tmpfs): racedir is a directory, racelink a
    symlink to the host directory; the racer keeps exchanging the two."""
    dev = rootfs / "dev"
    dev.mkdir(exist_ok=True)
    (dev / "racedir").mkdir()
    target = ("../" * 12) + str(host_dir).lstrip("/") if relative else str(host_dir)
    os.symlink(target, dev / "racelink")
    return dev / "racedir", dev / "racelink"


def test_a_swapped_directory_never_gets_a_device_node_onto_the_host(rt, tmp_path):
    host_dir = tmp_path / "host-dir"
    host_dir.mkdir()

    def edit(config):
        config["mounts"] = [m for m in config["mounts"] if not m["destination"].startswith("/dev")]
        config["linux"]["devices"] = [{"path": "/dev/racedir/node", "type": "c", "major": 1, "minor": 3,
                                       "fileMode": 0o666}]

    runs = failures = 0
    deadline = time.monotonic() + DURATION
    for relative in (False, True):
        bundle = rt.bundle(["true"], edit=edit, name=f"race-{'rel' if relative else 'abs'}")
        racedir, racelink = image_dev_with_race(bundle / "rootfs", host_dir, relative)
        racer = subprocess.Popen([sys.executable, "-c", RACER, str(racedir), str(racelink)])
        try:
            while time.monotonic() < deadline - (DURATION / 2 if not relative else 0):
                result = rt.run(bundle, check=False)
                runs += 1
                if result.returncode != 0:  # a clean refusal is allowed; an escape is not
                    failures += 1
                    assert "Traceback" not in result.stderr and "Errno" not in result.stderr, result.stderr
                assert os.listdir(host_dir) == [], f"a node reached the host after {runs} runs"
        finally:
            racer.kill()
            racer.wait()
    assert runs >= 20, f"only {runs} runs: the race was not exercised"
    assert failures < runs, "every run failed: the device path never worked"
