"""The runtime's writes to /proc and its /dev/console bind cannot be redirected by
what the bundle mounts or the image holds (CVE-2019-16884, CVE-2025-52881,
CVE-2025-52565).  A bundle that replaces /proc itself is refused outright:
test_kernel_filesystems.py."""
import os
import subprocess

from conftest import ConsoleSocket


def test_sysctl_goes_to_the_containers_own_network_namespace(rt):
    """Sysctls are written through the runtime's own procfs (procfs.py), never the
    container's /proc path; read back from the host with nsenter."""
    def edit(config):
        config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}

    container_id = rt.create(rt.bundle(["sleep", "60"], edit=edit))
    pid = rt.state(container_id)["pid"]
    real = subprocess.run(["nsenter", "-t", str(pid), "-n", "cat", "/proc/sys/net/ipv4/ip_forward"],
                          capture_output=True, text=True, check=True).stdout
    assert real.strip() == "1"


def test_a_symlinked_dev_console_is_refused(rt, tmp_path):
    def edit(config):
        config["mounts"] = [m for m in config["mounts"] if m["destination"] != "/dev"]
        config["process"]["terminal"] = True

    bundle = rt.bundle(["true"], edit=edit)
    dev = bundle / "rootfs" / "dev"
    dev.mkdir(exist_ok=True)
    if os.path.lexists(dev / "console"):
        os.unlink(dev / "console")
    os.symlink("/proc/sys/kernel/core_pattern", dev / "console")
    listener = ConsoleSocket(str(tmp_path / "console.sock"))
    container_id = rt.new_id()
    result = rt.cmd("create", "--bundle", str(bundle), "--console-socket", listener.path, container_id)
    master, _ = listener.close()
    if master is not None:
        os.close(master)
    assert result.returncode == 1
    assert "/dev/console in the container is not a file or a device" in result.stderr
    assert not os.path.exists(rt.state_dir(container_id))
