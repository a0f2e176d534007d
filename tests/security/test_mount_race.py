"""CVE-2021-30465 class: a process swaps a mount destination's parent between a
directory and a symlink out of the rootfs while `create` mounts onto it.  Every
mount must still land inside the container (or create must fail cleanly)."""
import os
import shutil
import threading

MARK = "mode=1741"  # a tmpfs option that names our mount in mountinfo


def racer(rootfs, escape, stop):
    """Swap rootfs/race between a real directory and a symlink leading out."""
    real, link = os.path.join(rootfs, "race.dir"), os.path.join(rootfs, "race.link")
    race = os.path.join(rootfs, "race")
    while not stop.is_set():
        for a, b in ((race, real), (link, race), (race, link), (real, race)):
            try:
                os.rename(a, b)
            except OSError:
                pass


def test_a_racing_symlink_cannot_move_a_mount_out_of_the_rootfs(rt, tmp_path):
    escape = tmp_path / "host-side"
    (escape / "target").mkdir(parents=True)

    def edit(config):
        config["mounts"].append({"destination": "/race/target", "type": "tmpfs", "source": "tmpfs",
                                 "options": [MARK]})

    for n, link_target in enumerate([str(escape), "../../../../../../../.." + str(escape)] * 8):
        bundle = rt.bundle(["sleep", "60"], edit=edit, name=f"race{n}")
        rootfs = str(bundle / "rootfs")
        os.makedirs(os.path.join(rootfs, "race.dir", "target"))
        os.symlink(link_target, os.path.join(rootfs, "race.link"))
        stop = threading.Event()
        thread = threading.Thread(target=racer, args=(rootfs, str(escape), stop), daemon=True)
        thread.start()
        container_id = rt.new_id()
        try:
            result = rt.cmd("create", "--bundle", str(bundle), container_id)
        finally:
            stop.set()
            thread.join()
        if result.returncode != 0:  # a clean refusal is fine; an escape is not
            assert "Traceback" not in result.stderr
            assert not os.path.exists(rt.state_dir(container_id))
            continue
        pid = rt.state(container_id)["pid"]
        with open(f"/proc/{pid}/mountinfo") as f:
            ours = [line for line in f if MARK in line]
        # mountinfo names mount points relative to the container's root, and shows
        # only those under it: visible means confined (the symlink may have been
        # followed, but as if the rootfs were "/").
        assert ours, "the tmpfs is not visible inside the container: it was mounted elsewhere"
        assert all(os.path.isdir(rootfs + line.split()[4]) for line in ours), ours
        rt.cmd("delete", "--force", container_id, check=True)
        shutil.rmtree(bundle, ignore_errors=True)
    assert os.listdir(escape / "target") == []
