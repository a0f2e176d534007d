"""Damage from outside and from the kernel's limits (issue 16, "reliability under faults"):
a command killed in the middle of a write, a state.json that is truncated or
garbage, a bundle that was removed, no file descriptors left, and two --roots
whose containers share a parent cgroup.  In every case: a clear one-line error
naming the cause, and `delete --force` leaves nothing behind."""
import os
import resource
import subprocess

from conftest import CGROUP_ROOT, RUNTIME, cgroup_dirs_named, wait_for
from oci_runtime.cgroups.parents import HOST_DIR, REGISTRY

from .helpers import light_bundle, status_or_missing, with_fault


def clean_error(result):
    assert result.returncode != 0
    text = result.stderr
    assert "Traceback" not in text and "[Errno" not in text, text
    assert len(text.strip().splitlines()) == 1, text
    return text


def registry_temporaries():
    return [n for n in os.listdir(HOST_DIR) if n.startswith(REGISTRY + ".tmp")] if os.path.isdir(HOST_DIR) else []


def test_a_create_killed_between_link_and_rename_strands_no_temporary(rt):
    """The one window atomicfile.py leaves: SIGKILL after the registry's temporary got
    its name; the next command that takes the registry lock sweeps it."""
    def in_new_parent(config):
        config["linux"]["cgroupsPath"] = f"/{rt.cgroup_parent}/new-parent/c"

    bundle = light_bundle(rt, "b", edit=in_new_parent)
    container_id = rt.new_id()
    result = rt.cmd("create", "--bundle", str(bundle), container_id,
                    env=with_fault(f"write:{REGISTRY}=kill"))
    assert result.returncode == -9, result.stderr
    assert registry_temporaries(), "the fault did not hit the registry's write"
    assert rt.cmd("delete", "--force", container_id).returncode == 0
    assert registry_temporaries() == []
    assert not cgroup_dirs_named(f"{rt.cgroup_parent}/new-parent")


def test_a_state_write_killed_midway_leaves_the_root_clean(rt):
    bundle = light_bundle(rt, "b")
    container_id = rt.new_id()
    result = rt.cmd("create", "--bundle", str(bundle), container_id, env=with_fault("write:state.json=kill"))
    assert result.returncode == -9
    assert rt.cmd("delete", "--force", container_id).returncode == 0
    assert os.listdir(rt.root) == []


def damaged_container(rt, damage, name):
    container_id = rt.create(light_bundle(rt, name))
    rt.cmd("start", container_id, check=True)
    path = os.path.join(rt.state_dir(container_id), "state.json")
    with open(path, "rb") as f:
        good = f.read()
    with open(path, "wb") as f:
        f.write(damage(good))
    return container_id, path


def test_a_truncated_or_garbage_state_file_is_named_and_still_deletable(rt):
    damages = (lambda good: good[:len(good) // 2], lambda good: b"[]", lambda good: b'{"id": 7}',
               lambda good: b"")
    for n, damage in enumerate(damages):
        container_id, path = damaged_container(rt, damage, f"damaged{n}")
        other = rt.create(light_bundle(rt, f"other-{container_id}"))
        for args in (["state", container_id], ["kill", container_id, "KILL"], ["exec", container_id, "true"]):
            text = clean_error(rt.cmd(*args))
            assert path in text and "delete --force" in text, text
        listed = rt.cmd("list", "-q")
        assert listed.returncode == 0 and listed.stdout.split() == [other], listed
        assert path in listed.stderr
        removed = rt.cmd("delete", "--force", container_id)
        assert removed.returncode == 0, removed.stderr
        assert path in removed.stderr              # the warning names the bad file
        assert status_or_missing(rt, container_id) == "missing"
        assert rt.cmd("delete", "--force", other).returncode == 0
        problems = rt.leftovers()                  # the init and its cgroup are gone too
        assert not problems, problems


def test_a_removed_bundle_is_named_and_the_container_still_deletable(rt, tmp_path):
    bundle = light_bundle(rt, "b")
    container_id = rt.create(bundle)
    rt.cmd("start", container_id, check=True)
    moved = tmp_path / "moved-away"
    os.rename(bundle, moved)
    text = clean_error(rt.cmd("exec", container_id, "true"))
    assert str(bundle) in text, text
    assert status_or_missing(rt, container_id) == "running"
    assert rt.cmd("delete", "--force", container_id).returncode == 0


def test_running_out_of_file_descriptors_during_create(rt):
    """Every limit from too few to start the interpreter up to plenty: success, or
    the cause named and nothing left."""
    # No process.rlimits: raising RLIMIT_NOFILE back needs CAP_SYS_RESOURCE, which root lacks here.
    bundle = light_bundle(rt, "b", edit=lambda c: c["process"].pop("rlimits", None))
    seen = set()
    for limit in range(8, 40, 2):
        container_id = rt.new_id()

        def low_nofile(limit=limit):
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

        result = rt.cmd("create", "--bundle", str(bundle), container_id, preexec_fn=low_nofile)
        if result.returncode == 0:
            seen.add("ok")
            assert rt.cmd("delete", "--force", container_id).returncode == 0
        else:
            seen.add("refused")
            text = clean_error(result)
            assert "Too many open files" in text, text
            assert status_or_missing(rt, container_id) == "missing"
        problems = rt.leftovers()
        assert not problems, (limit, problems)
    assert seen == {"ok", "refused"}, seen


def test_two_roots_sharing_a_parent_cgroup(rt, tmp_path):
    """The parent oci-runtime made goes with the last container out, whichever --root
    it belongs to; a parent that existed before stays."""
    roots = [str(tmp_path / "root-a"), str(tmp_path / "root-b")]
    shared = f"/{rt.cgroup_parent}/shared"

    def in_shared(name):
        return lambda config: config["linux"].__setitem__("cgroupsPath", f"{shared}/{name}")

    for order in ((0, 1), (1, 0)):
        ids = []
        for n, root in enumerate(roots):
            container_id = f"{rt.tag}-{n}"
            bundle = light_bundle(rt, f"b{order}{n}", edit=in_shared(f"c{n}"))
            rt.cmd("create", "--bundle", str(bundle), container_id, global_args=("--root", root), check=True)
            ids.append(container_id)
        for n in order:
            rt.cmd("delete", "--force", ids[n], global_args=("--root", roots[n]), check=True)
            still_there = bool(cgroup_dirs_named(shared.lstrip("/")))
            assert still_there == (n == order[0]), (order, n)
    pre_existing = os.path.join(CGROUP_ROOT, "pids", rt.cgroup_parent, "theirs")
    os.makedirs(pre_existing)  # made by someone else (this test), not by oci-runtime
    try:
        bundle = light_bundle(rt, "mine", edit=lambda c: c["linux"].__setitem__(
            "cgroupsPath", f"/{rt.cgroup_parent}/theirs/mine"))
        container_id = rt.create(bundle)
        rt.cmd("delete", "--force", container_id, check=True)
        assert os.path.isdir(pre_existing)
    finally:
        os.rmdir(pre_existing)
        os.rmdir(os.path.dirname(pre_existing))
    for root in roots:
        assert os.listdir(root) == []


def test_a_parent_removed_while_a_create_waits_for_the_registry_is_listed_again(rt):
    """A's delete removes the shared parent it made (A was the last one in it)
    after B's create recorded what it would make (then: only its own cgroup, the
    parent existed) but before B took the registry's lock.  B makes the parent
    again; killed right after, before anything else is written, B must still
    have listed that parent, or `delete --force` of B leaves it on the host for
    good (the kill soak found this with two callers)."""
    shared = f"{rt.cgroup_parent}/refilled"

    def in_shared(name):
        return lambda config: config["linux"].__setitem__("cgroupsPath", f"/{shared}/{name}")

    first = rt.create(light_bundle(rt, "a", edit=in_shared("a")))
    assert cgroup_dirs_named(shared)
    second = rt.new_id()
    waiting = subprocess.Popen([RUNTIME, "--root", rt.root, "create", "--bundle",
                                str(light_bundle(rt, "b", edit=in_shared("b"))), second],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env=with_fault("create:before-cgroup-lock=sleep:2,create:cgroups-made=kill"))
    try:
        assert wait_for(lambda: os.path.exists(os.path.join(rt.state_dir(second), "state.json")), timeout=10)
        rt.cmd("delete", "--force", first, check=True)
        assert not cgroup_dirs_named(shared), "the parent must be gone before the second create goes on"
        assert waiting.wait(timeout=30) == -9, waiting.stderr.read()
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait()
        waiting.stderr.close()
    assert cgroup_dirs_named(shared), "the second create did not make the parent again"
    rt.cmd("delete", "--force", second, check=True)
    assert not cgroup_dirs_named(shared)
