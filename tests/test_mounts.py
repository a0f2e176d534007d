"""Mount options as the container sees them in /proc/self/mountinfo and by trying."""
import os


def mountinfo(text):
    """{mount point: (per-mount options, optional fields, fstype, super options)}."""
    result = {}
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        parts = left.split()
        if len(parts) < 6:
            continue
        fstype, _source, super_opts = right.split()[:3]
        result[parts[4]] = (parts[5].split(","), parts[6:], fstype, super_opts.split(","))
    return result


def data_mounts(*extra):
    def edit(config):
        config["mounts"] += [
            {"destination": "/data", "type": "tmpfs", "source": "tmpfs"},
            {"destination": "/data/sub", "type": "tmpfs", "source": "tmpfs"},
            *extra,
        ]
    return edit


def test_rro_is_recursive_and_ro_is_not(rt):
    bundle = rt.bundle(
        ["sh", "-c", "for d in /rec /rec/sub /flat /flat/sub; do "
                     "touch $d/x 2>/dev/null && echo $d:rw || echo $d:ro; done"],
        edit=data_mounts({"destination": "/rec", "type": "bind", "source": "/data", "options": ["rbind", "rro"]},
                         {"destination": "/flat", "type": "bind", "source": "/data", "options": ["rbind", "ro"]}))
    # The binds' sources are container paths here: make them host paths of the rootfs copies.
    config = rt.read_config(bundle)
    for m in config["mounts"]:
        if m["destination"] in ("/rec", "/flat"):
            m["source"] = str(bundle / "rootfs" / "data")
    rt.write_config(bundle, config)
    (bundle / "rootfs" / "data").mkdir(exist_ok=True)
    out = rt.run(bundle).stdout.split()
    # The bind of the rootfs' /data dir happens after the tmpfs mounts there and
    # therefore carries them (rbind): the recursive option reaches the submount.
    assert out == ["/rec:ro", "/rec/sub:ro", "/flat:ro", "/flat/sub:rw"]


def test_recursive_flags_show_in_mountinfo(rt):
    bundle = rt.bundle(["cat", "/proc/self/mountinfo"], edit=data_mounts())
    config = rt.read_config(bundle)
    config["mounts"].append({"destination": "/view", "type": "bind", "source": str(bundle / "rootfs" / "data"),
                             "options": ["rbind", "rnoexec", "rnosuid", "rnodev", "rnosymfollow"]})
    rt.write_config(bundle, config)
    (bundle / "rootfs" / "data").mkdir(exist_ok=True)
    mounts = mountinfo(rt.run(bundle).stdout)
    for point in ("/view", "/view/sub"):
        options = mounts[point][0]
        for flag in ("noexec", "nosuid", "nodev", "nosymfollow"):
            assert flag in options, (point, options)


def test_plain_flags_and_fs_data(rt):
    bundle = rt.bundle(["cat", "/proc/self/mountinfo"], edit=lambda c: c["mounts"].append(
        {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "noexec", "nodev", "noatime", "ro", "size=1m", "mode=0750"]}))
    options, _, fstype, super_opts = mountinfo(rt.run(bundle).stdout)["/scratch"]
    assert fstype == "tmpfs"
    for flag in ("ro", "nosuid", "nodev", "noexec", "noatime"):
        assert flag in options
    assert "size=1024k" in super_opts and "mode=750" in super_opts


def test_propagation_options(rt):
    bundle = rt.bundle(["cat", "/proc/self/mountinfo"], edit=lambda c: c["mounts"] + [
        c["mounts"].append({"destination": "/shared", "type": "tmpfs", "source": "tmpfs",
                            "options": ["rshared"]}),
        c["mounts"].append({"destination": "/private", "type": "tmpfs", "source": "tmpfs",
                            "options": ["private"]})])
    mounts = mountinfo(rt.run(bundle).stdout)
    assert any(f.startswith("shared:") for f in mounts["/shared"][1])
    assert not any(f.startswith(("shared:", "master:")) for f in mounts["/private"][1])


def test_tmpcopyup_starts_with_the_image_content(rt):
    bundle = rt.bundle(["sh", "-c", "cat /etc/motd; grep ' /etc ' /proc/self/mounts | cut -d' ' -f3; "
                                    "echo changed > /etc/motd"],
                       edit=lambda c: c["mounts"].append({"destination": "/etc", "type": "tmpfs",
                                                          "source": "tmpfs", "options": ["tmpcopyup"]}))
    out = rt.run(bundle).stdout.splitlines()
    assert out == ["oci-runtime busybox bundle", "tmpfs"]
    assert (bundle / "rootfs" / "etc" / "motd").read_text() == "oci-runtime busybox bundle\n"


def test_idmapped_bind_mount(rt, tmp_path):
    shared = tmp_path / "owned-by-root"
    shared.mkdir()
    (shared / "file").write_text("x")
    os.chown(shared / "file", 0, 0)
    bundle = rt.bundle(["stat", "-c", "%u:%g", "/idmapped/file", "/plain/file"],
                       edit=lambda c: c["mounts"] + [
                           c["mounts"].append({"destination": "/idmapped", "type": "bind", "source": str(shared),
                                               "options": ["bind", "idmap"],
                                               "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
                                               "gidMappings": [{"containerID": 0, "hostID": 2000, "size": 1}]}),
                           c["mounts"].append({"destination": "/plain", "type": "bind", "source": str(shared),
                                               "options": ["bind"]})])
    assert rt.run(bundle).stdout.split() == ["1000:2000", "0:0"]
    assert os.stat(shared / "file").st_uid == 0  # the files themselves are untouched


def test_idmap_without_mappings_is_an_error(rt, tmp_path):
    bundle = rt.bundle(edit=lambda c: c["mounts"].append(
        {"destination": "/x", "type": "bind", "source": str(tmp_path), "options": ["bind", "idmap"]}))
    result = rt.cmd("create", "-b", str(bundle), rt.new_id())
    assert result.returncode == 1 and "idmap needs both uidMappings and gidMappings" in result.stderr


def test_container_mounts_never_reach_the_host(rt):
    bundle = rt.bundle(["sleep", "60"], edit=lambda c: c["mounts"].append(
        {"destination": "/shared", "type": "tmpfs", "source": "tmpfs", "options": ["rshared"]}),
        )
    config = rt.read_config(bundle)
    config["linux"]["rootfsPropagation"] = "rshared"
    rt.write_config(bundle, config)
    container_id = rt.create(bundle)
    rt.cmd("start", container_id, check=True)
    with open("/proc/self/mountinfo") as f:
        assert str(bundle) not in f.read()
    pid = rt.state(container_id)["pid"]
    with open(f"/proc/{pid}/mountinfo") as f:
        inside = mountinfo(f.read())
    assert any(x.startswith("shared:") for x in inside["/"][1])


def test_dotdot_in_a_destination_comes_after_its_symlinks(rt):
    """runc's securejoin: "/link/../x" with link -> /a/b is /a/x, not /x."""
    def edit(config):
        config["mounts"].append({"destination": "/link/../x", "type": "tmpfs", "source": "tmpfs",
                                 "options": ["mode=1751"]})

    bundle = rt.bundle(["sh", "-c", "stat -c %a /a/x; [ -e /x ] && echo also-at-root; true"], edit=edit)
    (bundle / "rootfs" / "a" / "b").mkdir(parents=True)
    os.symlink("/a/b", bundle / "rootfs" / "link")
    assert rt.run(bundle).stdout.split() == ["1751"]
