"""What the container process sees: user, capabilities, rlimits, env, cwd, fds, paths."""
import os
import socket
import shutil
import subprocess

import pytest

from conftest import RUNTIME, ConsoleSocket, read_pty


def status_field(text, name):
    return next(line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith(name + ":"))


def test_user_and_groups(rt):
    bundle = rt.bundle(["id"], user={"uid": 1000, "gid": 1000, "additionalGids": [5, 65534]})
    out = rt.run(bundle).stdout.strip()
    assert out.startswith("uid=1000(user) gid=1000(user)")
    assert "5(tty)" in out and "65534(nogroup)" in out


def test_env_cwd_and_home(rt):
    bundle = rt.bundle(["sh", "-c", "pwd; echo $FOO; echo $HOME"], cwd="/tmp",
                       env=["PATH=/bin", "FOO=bar baz"], user={"uid": 1000, "gid": 1000})
    assert rt.run(bundle).stdout.splitlines() == ["/tmp", "bar baz", "/home/user"]


def test_cwd_is_entered_as_root_before_the_user_switch(rt):
    """runc's order: a cwd only root may enter (here a 0700 tmpfs) still becomes the
    user's working directory; a cwd that is not a directory is still an error."""
    secret = {"destination": "/secret", "type": "tmpfs", "source": "tmpfs", "options": ["mode=700"]}
    bundle = rt.bundle(["sh", "-c", "pwd; id -u; ls . 2>&1 || echo cannot-list"], cwd="/secret",
                       user={"uid": 1000, "gid": 1000}, edit=lambda c: c["mounts"].append(secret))
    assert rt.run(bundle).stdout.splitlines()[:2] == ["/secret", "1000"]
    a_file = rt.bundle(["true"], cwd="/bin/busybox", user={"uid": 1000, "gid": 1000})
    result = rt.run(a_file, check=False)
    assert result.returncode != 0 and 'chdir to cwd ("/bin/busybox")' in result.stderr


def test_a_missing_cwd_is_created_as_runc_does(rt):
    bundle = rt.bundle(["sh", "-c", "pwd; stat -c '%a %u' ."], cwd="/work/dir", user={"uid": 1000, "gid": 1000})
    assert rt.run(bundle).stdout.splitlines() == ["/work/dir", "755 0"]
    assert (bundle / "rootfs" / "work" / "dir").is_dir()
    readonly = rt.bundle(["true"], cwd="/nowhere", edit=lambda c: c["root"].update(readonly=True))
    result = rt.run(readonly, check=False)  # made before the root turns read-only
    assert result.returncode == 0, result.stderr


def test_capabilities_are_whitelists(rt):
    caps = {
        "bounding": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN"],
        "effective": ["CAP_KILL", "CAP_CHOWN"],
        "permitted": ["CAP_KILL", "CAP_CHOWN"],
        "inheritable": ["CAP_KILL"],
        "ambient": ["CAP_KILL"],
    }
    bundle = rt.bundle(["cat", "/proc/self/status"], capabilities=caps,
                       user={"uid": 1000, "gid": 1000})
    status = rt.run(bundle).stdout
    kill, chown, bind = 1 << 5, 1 << 0, 1 << 10
    assert int(status_field(status, "CapBnd"), 16) == kill | chown | bind
    # cat is exec'd as uid 1000: only the ambient set survives exec into P and E.
    assert int(status_field(status, "CapPrm"), 16) == kill
    assert int(status_field(status, "CapEff"), 16) == kill
    assert int(status_field(status, "CapInh"), 16) == kill
    assert int(status_field(status, "CapAmb"), 16) == kill


def test_root_keeps_exactly_the_listed_capabilities(rt):
    caps = {name: ["CAP_AUDIT_WRITE", "CAP_KILL"] for name in ("bounding", "effective", "permitted")}
    bundle = rt.bundle(["cat", "/proc/self/status"], capabilities=caps)
    status = rt.run(bundle).stdout
    expected = (1 << 29) | (1 << 5)
    for field in ("CapBnd", "CapPrm", "CapEff"):
        assert int(status_field(status, field), 16) == expected


def test_unknown_capability_is_warned_and_skipped(rt):
    caps = {name: ["CAP_KILL", "CAP_DOES_NOT_EXIST"] for name in ("bounding", "effective", "permitted")}
    bundle = rt.bundle(["cat", "/proc/self/status"], capabilities=caps)
    result = rt.run(bundle)
    assert "CAP_DOES_NOT_EXIST" in result.stderr
    assert int(status_field(result.stdout, "CapEff"), 16) == 1 << 5


def test_no_new_privileges(rt):
    on = rt.run(rt.bundle(["cat", "/proc/self/status"], noNewPrivileges=True)).stdout
    off = rt.run(rt.bundle(["cat", "/proc/self/status"], noNewPrivileges=False)).stdout
    assert status_field(on, "NoNewPrivs") == "1"
    assert status_field(off, "NoNewPrivs") == "0"


def test_rlimits_and_umask(rt):
    bundle = rt.bundle(["sh", "-c", "ulimit -n; ulimit -Hn; umask"],
                       rlimits=[{"type": "RLIMIT_NOFILE", "soft": 256, "hard": 512}],
                       user={"uid": 0, "gid": 0, "umask": 0o27})
    assert rt.run(bundle).stdout.split() == ["256", "512", "0027"]


def test_umask_is_inherited_when_unset(rt):
    bundle = rt.bundle(["sh", "-c", "umask"])
    result = rt.run(bundle, preexec_fn=lambda: os.umask(0o077))
    assert result.stdout.strip() == "0077"


def test_relative_bind_source_is_relative_to_the_bundle(rt):
    def edit(config):
        config["mounts"].append({"destination": "/from-bundle", "type": "bind",
                                 "source": "shared-data", "options": ["bind", "ro"]})
    bundle = rt.bundle(["cat", "/from-bundle/file"], edit=edit)
    (bundle / "shared-data").mkdir()
    (bundle / "shared-data" / "file").write_text("relative\n")
    assert rt.run(bundle, cwd="/").stdout == "relative\n"


def test_oom_score_adj(rt):
    bundle = rt.bundle(["cat", "/proc/self/oom_score_adj"], oomScoreAdj=123)
    assert rt.run(bundle).stdout.strip() == "123"


def test_executable_found_by_path_lookup_inside_the_rootfs(rt):
    bundle = rt.bundle(["busybox", "echo", "found"], env=["PATH=/nowhere:/bin"])
    assert rt.run(bundle).stdout == "found\n"


def test_only_stdio_reaches_the_container(rt, tmp_path):
    bundle = rt.bundle(["ls", "/proc/self/fd"])
    extra = open(tmp_path / "extra", "w")
    try:
        # fd 3 in the runtime (containerd's shim passes its socket like this).
        result = subprocess.run([RUNTIME, "--root", rt.root, "run", "-b", str(bundle), rt.new_id()],
                                capture_output=True, text=True, pass_fds=(extra.fileno(),), timeout=30)
    finally:
        extra.close()
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.split()) == ["0", "1", "2", "3"]  # 3 is ls's own dir fd


def test_preserve_fds_passes_extra_fds(rt, tmp_path):
    bundle = rt.bundle(["sh", "-c", "echo through-fd-3 >&3; ls /proc/self/fd"])
    read_end, write_end = os.pipe()
    try:
        result = subprocess.run(
            [RUNTIME, "--root", rt.root, "run", "--preserve-fds", "1", "-b", str(bundle), rt.new_id()],
            capture_output=True, text=True, timeout=30, close_fds=False,
            preexec_fn=lambda: os.dup2(write_end, 3),
        )
    finally:
        os.close(write_end)
    data = os.read(read_end, 100).decode()
    os.close(read_end)
    assert result.returncode == 0, result.stderr
    assert data == "through-fd-3\n"
    assert "3" in result.stdout.split()


def test_listen_fds_are_passed_with_their_environment(rt):
    """Socket activation: fds 3.. and LISTEN_FDS reach the container when LISTEN_PID
    names the runtime itself (a shell that execs it keeps its pid)."""
    bundle = rt.bundle(["sh", "-c", "echo $LISTEN_FDS $LISTEN_PID; echo via-listen-fd >&3"])
    read_end, write_end = os.pipe()
    try:
        result = subprocess.run(
            ["sh", "-c", 'LISTEN_PID=$$ exec "$@"', "sh", RUNTIME, "--root", rt.root, "run", "-b", str(bundle),
             rt.new_id()],
            capture_output=True, text=True, timeout=30, close_fds=False,
            preexec_fn=lambda: os.dup2(write_end, 3), env=dict(os.environ, LISTEN_FDS="1"),
        )
    finally:
        os.close(write_end)
    data = os.read(read_end, 100).decode()
    os.close(read_end)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "1"]
    assert data == "via-listen-fd\n"


def test_default_devices_and_links(rt):
    bundle = rt.bundle(["sh", "-c", "ls -l /dev; echo x > /dev/null; head -c 4 /dev/zero | wc -c"])
    out = rt.run(bundle).stdout
    for node in ("null", "zero", "full", "random", "urandom", "tty"):
        line = next(row for row in out.splitlines() if row.endswith(f" {node}"))
        assert line.startswith("crw-rw-rw-"), line
    for link, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"),
                         ("ptmx", "pts/ptmx")):
        assert f"{link} -> {target}" in out
    assert out.splitlines()[-1].strip() == "4"


def test_standard_mounts(rt):
    bundle = rt.bundle(["cat", "/proc/self/mounts"])
    mounts = {line.split()[1]: line.split() for line in rt.run(bundle).stdout.splitlines()}
    assert mounts["/proc"][2] == "proc"
    assert mounts["/dev"][2] == "tmpfs"
    assert mounts["/dev/pts"][2] == "devpts"
    assert mounts["/dev/shm"][2] == "tmpfs"
    assert mounts["/dev/mqueue"][2] == "mqueue"
    assert mounts["/sys"][2] == "sysfs" and "ro" in mounts["/sys"][3].split(",")
    assert "/sys/fs/cgroup" in mounts


def test_container_sees_its_own_cgroup_only(rt):
    bundle = rt.bundle(["sh", "-c", "cat /proc/self/cgroup; ls /sys/fs/cgroup"], edit=rt.with_cgroup_namespace)
    out = rt.run(bundle).stdout
    for line in out.splitlines():
        if line.count(":") == 2:
            assert line.endswith(":/"), f"cgroup namespace should root the container: {line}"


def test_readonly_root(rt):
    bundle = rt.bundle(["sh", "-c", "touch /x 2>&1; echo rc=$?; touch /tmp/y && echo tmp-ok"],
                       edit=lambda c: (c["root"].update(readonly=True),
                                       c["mounts"].append({"destination": "/tmp", "type": "tmpfs",
                                                           "source": "tmpfs"})))
    out = rt.run(bundle).stdout
    assert "Read-only file system" in out
    assert "rc=1" in out and "tmp-ok" in out


def test_masked_and_readonly_paths(rt):
    masked_files = [p for p in ("/proc/keys", "/proc/timer_list", "/proc/kcore", "/proc/sched_debug")
                    if os.path.isfile(p)]
    assert masked_files, "no maskable /proc file on this host"
    script = "".join(f"wc -c < {p}; " for p in masked_files)
    script += ("ls /sys/firmware | wc -l; "
               "echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null; echo write-rc=$?")
    lines = rt.run(rt.bundle(["sh", "-c", script])).stdout.split()
    assert lines[:len(masked_files)] == ["0"] * len(masked_files)  # bound to /dev/null
    assert lines[-2] == "0"            # /sys/firmware masked by an empty read-only tmpfs
    assert lines[-1] == "write-rc=1"   # /proc/sys is read-only


def test_hostname_and_domainname(rt):
    bundle = rt.bundle(["sh", "-c", "hostname; cat /proc/sys/kernel/domainname"],
                       edit=lambda c: c.update(hostname="box-1", domainname="example.test"))
    assert rt.run(bundle).stdout.split() == ["box-1", "example.test"]


def test_bind_mount_read_only(rt, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "hello").write_text("from the host\n")
    bundle = rt.bundle(["sh", "-c", "cat /data/hello; touch /data/new 2>/dev/null; echo rc=$?"],
                       edit=lambda c: c["mounts"].append(
                           {"destination": "/data", "type": "bind", "source": str(shared),
                            "options": ["rbind", "ro"]}))
    assert rt.run(bundle).stdout.split("\n")[:2] == ["from the host", "rc=1"]
    assert not (shared / "new").exists()


def test_mount_through_symlink_stays_inside_the_rootfs(rt, tmp_path):
    def edit(config):
        config["mounts"].append({"destination": "/escape/sub", "type": "tmpfs", "source": "tmpfs"})
    bundle = rt.bundle(["sh", "-c", "grep -c 'host-target/sub ' /proc/self/mounts"], edit=edit)
    host_target = tmp_path / "host-target"
    host_target.mkdir()
    # /escape -> an absolute path that exists on the host: must resolve in the rootfs.
    os.symlink(str(host_target), bundle / "rootfs" / "escape")
    result = rt.run(bundle, check=False)
    assert not (host_target / "sub").exists()
    assert (bundle / "rootfs" / str(host_target).lstrip("/") / "sub").is_dir()
    assert result.returncode == 0, result.stderr


def _without_mount_namespace(config):
    config["linux"]["namespaces"] = [ns for ns in config["linux"]["namespaces"] if ns["type"] != "mount"]


def _host_mounts():
    """(mount point, optional fields) of the host's mounts: "/"'s propagation included."""
    table = []
    for line in open("/proc/self/mountinfo"):
        fields = line.split(" - ")[0].split()
        table.append((fields[4], " ".join(fields[6:])))
    return table


def test_no_mount_namespace_runs_in_the_hosts_and_leaves_nothing(rt):
    """The spec: a namespace type left out is the runtime's.  The container's mounts
    are then made in the host's mount namespace (under the rootfs) and entered with
    chroot; exec enters the same root; delete detaches exactly those mounts and
    leaves the host's "/" propagation as it was (runc leaves the mounts and makes
    "/" a recursive slave)."""
    before = _host_mounts()
    bundle = rt.bundle(["sh", "-c", "cat /etc/hostname-probe; readlink /proc/self/ns/mnt; ls /dev/null; sleep 60"],
                       edit=_without_mount_namespace)
    (bundle / "rootfs" / "etc" / "hostname-probe").write_text("inside the rootfs\n")
    rootfs = str(bundle / "rootfs")
    container_id = rt.create(bundle)
    during = _host_mounts()
    made = [point for point, _ in during if point == rootfs or point.startswith(rootfs + "/")]
    assert rootfs in made and rootfs + "/proc" in made and rootfs + "/dev" in made, made
    rt.api.start(container_id)
    seen = rt.cmd("exec", container_id, "sh", "-c", "cat /etc/hostname-probe; readlink /proc/self/ns/mnt",
                  check=True).stdout.split("\n")
    assert seen[0] == "inside the rootfs" and seen[1] == os.readlink("/proc/self/ns/mnt")
    rt.api.delete(container_id, force=True)
    assert _host_mounts() == before  # every mount made is gone, "/" keeps its propagation


def test_no_mount_namespace_keeps_an_engines_own_rootfs_mount(rt, tmp_path):
    """An engine mounts the rootfs itself (overlay, here a tmpfs holding a copy):
    that mount was there before create, so delete leaves it."""
    bundle = rt.bundle(["true"], edit=_without_mount_namespace)
    rootfs = str(bundle / "rootfs")
    copy = tmp_path / "copy"
    shutil.copytree(rootfs, copy, symlinks=True)
    subprocess.run(["mount", "-t", "tmpfs", "engine-rootfs", rootfs], check=True)
    try:
        subprocess.run(["cp", "-a", f"{copy}/.", rootfs], check=True)
        before = _host_mounts()
        assert rt.run(bundle).returncode == 0
        assert _host_mounts() == before
    finally:
        subprocess.run(["umount", rootfs], check=True)


def test_namespaces_are_new_unless_joined(rt):
    names = ("pid", "uts", "ipc", "net", "mnt", "cgroup")
    script = "; ".join(f"readlink /proc/self/ns/{n}" for n in names)
    out = rt.run(rt.bundle(["sh", "-c", script], edit=rt.with_cgroup_namespace)).stdout.split()
    for name, seen in zip(names, out):
        assert seen != os.readlink(f"/proc/self/ns/{name}"), name

    def join_host_net(config):
        config["linux"]["namespaces"] = [
            ns if ns["type"] != "network" else {"type": "network", "path": "/proc/self/ns/net"}
            for ns in config["linux"]["namespaces"]]
    bundle = rt.bundle(["readlink", "/proc/self/ns/net"], edit=join_host_net)
    assert rt.run(bundle).stdout.strip() == os.readlink("/proc/self/ns/net")


def test_joining_a_created_network_namespace(rt):
    name = f"ocirt-{rt.tag}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        path = f"/run/netns/{name}"

        def join(config):
            for ns in config["linux"]["namespaces"]:
                if ns["type"] == "network":
                    ns["path"] = path
        bundle = rt.bundle(["readlink", "/proc/self/ns/net"], edit=join)
        out = rt.run(bundle).stdout.strip()
        probe = subprocess.run(["ip", "netns", "exec", name, "readlink", "/proc/self/ns/net"],
                               capture_output=True, text=True, check=True).stdout.strip()
        assert out == probe
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=True)


def test_console_socket_receives_a_pty(rt, tmp_path):
    listener = ConsoleSocket(str(tmp_path / "console.sock"))
    bundle = rt.bundle(["sh", "-c", "tty; stty size; ls -l /dev/console"], terminal=True,
                       consoleSize={"height": 33, "width": 101})
    container_id = rt.create(bundle, "--console-socket", listener.path)
    master, _ = listener.close()
    rt.cmd("start", container_id, check=True)
    text = read_pty(master).decode()
    os.close(master)
    assert "/dev/pts/0" in text
    assert "33 101" in text
    assert "/dev/console" in text


def test_run_with_terminal_relays_the_pty(rt):
    bundle = rt.bundle(["sh", "-c", "tty; echo done"], terminal=True)
    out = rt.run(bundle).stdout
    assert "/dev/pts/0" in out and "done" in out


@pytest.mark.parametrize("no_new_keyring", [False, True])
def test_session_keyring(rt, no_new_keyring):
    def edit(config):
        config["linux"]["maskedPaths"] = [p for p in config["linux"]["maskedPaths"] if p != "/proc/keys"]
    bundle = rt.bundle(["cat", "/proc/keys"], edit=edit)
    extra = ["--no-new-keyring"] if no_new_keyring else []
    keys = rt.run(bundle, *extra).stdout
    container_id = rt.ids[-1]
    assert (f"_ses.{container_id}" in keys) is not no_new_keyring


def test_notify_socket_is_passed_through(rt, tmp_path):
    path = str(tmp_path / "notify.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    try:
        bundle = rt.bundle(["sh", "-c", 'echo $NOTIFY_SOCKET; [ -S "$NOTIFY_SOCKET" ] && echo is-a-socket'])
        result = rt.run(bundle, env=dict(os.environ, NOTIFY_SOCKET=path))
    finally:
        server.close()
    assert result.stdout.split() == ["/run/notify/notify.sock", "is-a-socket"]


def test_device_that_conflicts_with_an_existing_node_is_an_error(rt):
    def edit(config):
        config["linux"]["devices"] = [{"path": "/dev/null", "type": "c", "major": 1, "minor": 5}]
    result = rt.cmd("create", "-b", str(rt.bundle(edit=edit)), rt.new_id())
    assert result.returncode == 1 and "/dev/null already exists" in result.stderr
    same = rt.bundle(["ls", "-l", "/dev/null"], edit=lambda c: c["linux"].update(
        devices=[{"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o600}]))
    assert rt.run(same).stdout.startswith("crw-------")


def test_the_process_starts_with_default_signals(rt):
    """Python ignores SIGPIPE and SIGXFSZ; none of that may reach the container
    (ignored dispositions and the blocked mask survive execve)."""
    out = rt.run(rt.bundle(["grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"])).stdout
    assert "SigIgn:\t0000000000000000" in out and "SigBlk:\t0000000000000000" in out


def test_exec_starts_with_default_signals(rt):
    container_id = rt.create(rt.bundle(["sleep", "60"]))
    rt.cmd("start", container_id, check=True)
    out = rt.cmd("exec", container_id, "grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status", check=True).stdout
    assert "SigIgn:\t0000000000000000" in out and "SigBlk:\t0000000000000000" in out


def test_no_mount_namespace_failed_create_detaches_what_it_made(rt):
    before = _host_mounts()

    def edit(config):
        _without_mount_namespace(config)
        config["mounts"].append({"destination": "/late", "type": "bind", "source": "/no/such/source",
                                 "options": ["bind"]})
    result = rt.cmd("create", "-b", str(rt.bundle(edit=edit)), rt.new_id())
    assert result.returncode == 1 and "/no/such/source" in result.stderr, result.stderr
    assert _host_mounts() == before
    assert not os.path.isdir(rt.root) or os.listdir(rt.root) == []
