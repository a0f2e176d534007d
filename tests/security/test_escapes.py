"""The attacker's view: bundles and processes that try to reach the host."""
import hashlib
import os

from oci_runtime.process import waiter_plan


def test_mount_destination_with_dotdot_stays_in_the_rootfs(rt, tmp_path):
    outside = tmp_path / "host-side"
    relative_escape = "/../../../../../../.." + str(outside)
    bundle = rt.bundle(["true"], edit=lambda c: c["mounts"].append(
        {"destination": relative_escape, "type": "tmpfs", "source": "tmpfs"}))
    assert rt.run(bundle).returncode == 0
    assert not outside.exists()                                  # nothing made on the host
    assert (bundle / "rootfs" / str(outside).lstrip("/")).is_dir()  # it landed inside


def test_device_path_through_a_symlinked_dev_stays_in_the_rootfs(rt, tmp_path):
    target = tmp_path / "host-dev"
    target.mkdir()
    bundle = rt.bundle(["true"], edit=lambda c: (
        c["mounts"].__setitem__(slice(None), [m for m in c["mounts"] if not m["destination"].startswith("/dev")]),
        c["linux"].update(devices=[{"path": "/dev/evil", "type": "c", "major": 1, "minor": 3}])))
    rootfs_dev = bundle / "rootfs" / "dev"
    os.rmdir(rootfs_dev)
    os.symlink(str(target), rootfs_dev)   # the image's /dev points at a host directory
    rt.run(bundle, check=False)
    assert not (target / "evil").exists() and not (target / "null").exists()


def test_the_waiting_init_is_a_sealed_memfd_not_the_installed_file(rt):
    before = hashlib.sha256(open(waiter_plan.WAITER, "rb").read()).hexdigest()
    container_id = rt.create(rt.bundle(["sleep", "60"]))
    pid = rt.state(container_id)["pid"]
    assert os.readlink(f"/proc/{pid}/exe").startswith("/memfd:oci-runtime-init")
    try:
        fd = os.open(f"/proc/{pid}/exe", os.O_WRONLY)
    except OSError as exc:
        assert exc.errno in (1, 13, 26)  # EPERM (sealed), EACCES, ETXTBSY
    else:
        os.close(fd)
        raise AssertionError("the waiting init's executable could be opened for writing")
    assert hashlib.sha256(open(waiter_plan.WAITER, "rb").read()).hexdigest() == before
