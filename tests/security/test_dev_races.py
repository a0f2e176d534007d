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


def test_a_swapped_dev_null_never_unmasks_a_path(rt):
    """CVE-2025-31133: masked files get /dev/null bound over them.  The image's /dev
    (no tmpfs) has its null swapped with a symlink to /proc/sys/kernel/core_pattern
    over and over; a masked file must end up as the real null device (1:3), or
    create must refuse -- never as a writable view of a host sysctl."""
    def edit(config):
        config["mounts"] = [m for m in config["mounts"] if not m["destination"].startswith("/dev")]
        config["linux"]["maskedPaths"] = ["/proc/timer_list"]
        config["process"]["args"] = ["stat", "-L", "-c", "%F %t:%T", "/proc/timer_list"]

    bundle = rt.bundle(edit=edit)
    dev = bundle / "rootfs" / "dev"
    dev.mkdir(exist_ok=True)
    evil = dev / "evil"
    os.symlink("/proc/sys/kernel/core_pattern", evil)
    with open("/proc/sys/kernel/core_pattern") as f:
        core_pattern = f.read()
    runs = masked = 0
    deadline = time.monotonic() + min(DURATION / 2, 20)
    while time.monotonic() < deadline:
        if not os.path.lexists(dev / "null"):
            os.mknod(dev / "null", 0o20666, os.makedev(1, 3))
        racer = subprocess.Popen([sys.executable, "-c", RACER, str(dev / "null"), str(evil)])
        try:
            result = rt.run(bundle, check=False)
        finally:
            racer.kill()
            racer.wait()
        runs += 1
        if result.returncode == 0:
            masked += 1
            assert result.stdout.strip() == "character special file 1:3", result.stdout
        else:
            assert "Traceback" not in result.stderr and "Errno" not in result.stderr, result.stderr
    with open("/proc/sys/kernel/core_pattern") as f:
        assert f.read() == core_pattern
    assert runs >= 10 and masked, (runs, masked)
