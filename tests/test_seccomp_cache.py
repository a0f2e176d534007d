"""Compiled seccomp programs kept by their digest (oci_runtime/seccomp_cache.py).

A second create with the same profile reads the program instead of compiling
it; the container must get the same filter either way (read back from inside:
mkdir is refused), and an entry the runtime must not trust (a wrong checksum,
group-writable, a symlink) is never loaded: the forged entries here allow
everything, so a container that could mkdir would prove it was used.
Each test's profile is its own (a unique unknown syscall name, skipped by the
compiler); conftest removes the programs a test's containers left.
"""
import os
import uuid

import pytest

from oci_runtime import seccomp_cache

CACHE = seccomp_cache.directory("/unused-for-the-hosts-root")  # the host root's: /run/oci-runtime.cache/...
PROBE = ["sh", "-c", "mkdir /tmp/x 2>&1; echo rc=$?"]
# struct sock_filter {BPF_RET|BPF_K, 0, 0, SECCOMP_RET_ALLOW}: a program that allows everything
ALLOW_ALL = (0x06).to_bytes(2, "little") + bytes(2) + (0x7FFF0000).to_bytes(4, "little")


def _profile():
    return {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"},
                         {"names": [f"no_such_syscall_{uuid.uuid4().hex}"], "action": "SCMP_ACT_ERRNO"}]}


@pytest.fixture
def profile():
    """A profile of this test's own, and where its program will be kept."""
    made = _profile()
    return made, os.path.join(CACHE, seccomp_cache.key(made))


def _run(rt, profile, log):
    bundle = rt.bundle(PROBE, edit=lambda c: c["linux"].update(seccomp=profile))
    result = rt.cmd("run", "--bundle", str(bundle), rt.new_id(), global_args=("--debug", "--log", str(log)),
                    check=True)
    with open(log) as f:
        from_cache = "from the cache" in f.read()
    os.unlink(log)
    return result.stdout, from_cache


def _blocked(out):
    return "Operation not permitted" in out and "rc=1" in out


def test_a_second_create_takes_the_program_from_the_cache(rt, profile, tmp_path):
    seccomp, entry = profile
    out, from_cache = _run(rt, seccomp, tmp_path / "log")
    assert _blocked(out) and not from_cache
    assert os.stat(entry).st_mode & 0o777 == 0o600 and os.stat(CACHE).st_mode & 0o777 == 0o700
    out, from_cache = _run(rt, seccomp, tmp_path / "log")
    assert _blocked(out) and from_cache


def test_exec_takes_the_containers_program_from_the_cache(rt, profile, tmp_path):
    seccomp, entry = profile
    bundle = rt.bundle(["sleep", "100"], edit=lambda c: c["linux"].update(seccomp=seccomp))
    cid = rt.create(bundle)
    assert os.path.exists(entry)
    rt.cmd("start", cid, check=True)
    log = tmp_path / "log"
    result = rt.cmd("exec", cid, *PROBE, global_args=("--debug", "--log", str(log)), check=True)
    assert _blocked(result.stdout)
    assert "from the cache" in log.read_text()
    rt.cmd("delete", "--force", cid, check=True)


def _forge(entry, program, checksum=None):
    """An entry holding ``program`` (and its right checksum unless one is given)."""
    with open(entry, "wb") as f:
        f.write((checksum or seccomp_cache._sha256(program)) + program)
    os.chmod(entry, 0o600)


@pytest.mark.parametrize("how", ["checksum", "group-writable", "symlink"])
def test_an_entry_not_to_be_trusted_is_compiled_anew(rt, profile, tmp_path, how):
    seccomp, entry = profile
    os.makedirs(CACHE, 0o700, exist_ok=True)
    if how == "checksum":
        _forge(entry, ALLOW_ALL, checksum=bytes(32))
    elif how == "group-writable":
        _forge(entry, ALLOW_ALL)
        os.chmod(entry, 0o660)
    else:
        target = tmp_path / "forged"
        _forge(target, ALLOW_ALL)
        os.symlink(target, entry)
    out, from_cache = _run(rt, seccomp, tmp_path / "log")
    assert _blocked(out), out  # the forged allow-all program was not loaded
    assert not from_cache
    # compiled anew and stored in its place: the next create takes it
    assert not os.path.islink(entry) and os.stat(entry).st_mode & 0o777 == 0o600
    out, from_cache = _run(rt, seccomp, tmp_path / "log")
    assert _blocked(out) and from_cache


def test_the_cache_keeps_at_most_max_entries(tmp_path):
    cache = str(tmp_path / "cache")
    names = [f"{n:064x}" for n in range(seccomp_cache.MAX_ENTRIES + 6)]
    for name in names:
        seccomp_cache.store(cache, name, ALLOW_ALL)
        os.utime(os.path.join(cache, name), ns=(names.index(name) * 10**9, names.index(name) * 10**9))
    kept = sorted(os.listdir(cache))
    assert len(kept) == seccomp_cache.MAX_ENTRIES
    assert kept == names[-seccomp_cache.MAX_ENTRIES:]  # the least recently stored went first
    assert seccomp_cache.load(cache, names[-1]) == ALLOW_ALL


def test_the_key_changes_with_the_profile_and_not_with_nothing():
    first = _profile()
    assert seccomp_cache.key(first) == seccomp_cache.key(dict(first))
    assert seccomp_cache.key(first) != seccomp_cache.key(_profile())
    assert seccomp_cache.key(first) != seccomp_cache.key({**first, "defaultErrnoRet": 1})


def test_a_program_from_the_cache_logs_the_skipped_names_as_compiling_did(rt, profile, tmp_path):
    """runc writes its debug line for each unknown syscall on every create; so does a
    create whose program comes from the cache."""
    seccomp, entry = profile
    seccomp["syscalls"].append({"names": ["no_such_syscall_logged"], "action": "SCMP_ACT_ERRNO"})
    skipped = []
    for _ in range(2):
        bundle = rt.bundle(["true"], edit=lambda c: c["linux"].update(seccomp=seccomp))
        log = tmp_path / "log"
        rt.cmd("run", "--bundle", str(bundle), rt.new_id(), global_args=("--debug", "--log", str(log)), check=True)
        text = log.read_text()
        log.unlink()
        skipped.append([line.split("msg=")[1] for line in text.splitlines() if "unknown syscall" in line])
        assert ("from the cache" in text) == (len(skipped) == 2)
    assert skipped[0] == skipped[1] and len(skipped[0]) == 2, skipped
