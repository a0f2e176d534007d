"""Hostile layers: tar entries that try to write, link or read outside the rootfs.

Each case builds an image whose layers aim at a directory outside the rootfs
(``host``, standing for the host's /), then checks that the host side is
untouched and that the unpack either refused the layer (and removed the bundle)
or kept what it made inside the rootfs.
"""
import hashlib
import os

import pytest

from imagekit import dir_, hard, reg, single_image, sym, whiteout
from oci_runtime.image.errors import ImageError
from oci_runtime.image.imageconfig import resolve_user
from oci_runtime.image.unpack import make_bundle


@pytest.fixture
def host(tmp_path):
    """A stand-in for host files: a directory with a victim file the image must not touch."""
    path = tmp_path / "host"
    path.mkdir()
    (path / "victim").write_text("host data\n")
    (path / "shadow").write_text("root:secret\n")
    return path


def snapshot(path):
    return {p: hashlib.sha256(open(os.path.join(d, p), "rb").read()).hexdigest() if os.path.isfile(os.path.join(d, p))
            else None for d, _, files in os.walk(path) for p in files} | {"names": sorted(
        os.path.relpath(os.path.join(d, n), path) for d, dirs, files in os.walk(path) for n in dirs + files)}


def unpack(tmp_path, layers):
    image = single_image(tmp_path / "img", layers)
    out = tmp_path / "bundle"
    make_bundle(image, str(out), warn=lambda line: None)
    return out / "rootfs"


@pytest.mark.parametrize("name", ["../escape", "a/../../escape", "./../../../../../../../../tmp/escape",
                                  "a/b/../../../escape"])
def test_dotdot_entries_are_refused(tmp_path, host, name):
    before = snapshot(tmp_path)
    with pytest.raises(ImageError, match="'..' would leave the rootfs"):
        unpack(tmp_path, [[reg(name, b"pwned")]])
    assert not (tmp_path / "bundle").exists()
    assert not (tmp_path / "escape").exists() and not os.path.exists("/tmp/escape")
    assert snapshot(host) == snapshot(host)  # sanity
    assert before["names"] == [n for n in snapshot(tmp_path)["names"] if not n.startswith("img")]


@pytest.mark.parametrize("link", ["ABS", "../../../../../../../..", "/"])
def test_writes_through_a_symlinked_directory_land_inside(tmp_path, host, link):
    target = str(host) if link == "ABS" else link
    before = snapshot(host)
    inside = str(host).lstrip("/") if link != "ABS" else ""
    layers = [[sym("evil", target)], [reg(f"evil/{inside}/victim".replace("//", "/"), b"pwned"),
                                      reg(f"evil/{inside}/new".replace("//", "/"), b"pwned")]]
    rootfs = unpack(tmp_path, layers)
    assert snapshot(host) == before
    landed = rootfs / str(host).lstrip("/")
    assert (landed / "victim").read_bytes() == b"pwned" and (landed / "new").read_bytes() == b"pwned"


def test_a_file_replacing_a_symlink_does_not_write_through_it(tmp_path, host):
    before = snapshot(host)
    rootfs = unpack(tmp_path, [[sym("passwd", str(host / "victim"))], [reg("passwd", b"pwned")]])
    assert snapshot(host) == before
    assert not os.path.islink(rootfs / "passwd") and (rootfs / "passwd").read_bytes() == b"pwned"


@pytest.mark.parametrize("target", ["../host/victim", "ABS", "hostdir/victim", "up/host/victim"])
def test_hardlinks_cannot_reach_host_files(tmp_path, host, target):
    target = str(host / "victim") if target == "ABS" else target
    layers = [[sym("hostdir", str(host)), sym("up", "../../../../../../../" + str(tmp_path).lstrip("/")),
               hard("stolen", target)]]
    with pytest.raises(ImageError, match="'..' would leave|is not in the rootfs"):
        unpack(tmp_path, layers)
    assert not (tmp_path / "bundle").exists()
    assert os.stat(host / "victim").st_nlink == 1


def test_hardlink_through_a_symlink_links_the_rootfs_file(tmp_path, host):
    layers = [[dir_("etc"), reg("etc/victim", b"image's own"), sym("hostdir", "/etc")],
              [hard("copy", "hostdir/victim")]]
    rootfs = unpack(tmp_path, layers)
    assert os.stat(rootfs / "copy").st_ino == os.stat(rootfs / "etc" / "victim").st_ino
    assert os.stat(host / "victim").st_nlink == 1


@pytest.mark.parametrize("name", ["evil/victim", "evil/shadow"])
def test_whiteouts_through_symlinks_remove_nothing_outside(tmp_path, host, name):
    before = snapshot(host)
    unpack(tmp_path, [[sym("evil", str(host))], [whiteout(name)]])
    assert snapshot(host) == before


def test_opaque_directory_through_a_symlink_empties_nothing_outside(tmp_path, host):
    before = snapshot(host)
    unpack(tmp_path, [[sym("evil", str(host))], [reg("evil/.wh..wh..opq")]])
    assert snapshot(host) == before


@pytest.mark.parametrize("name", [".wh..", ".wh..."])
def test_whiteouts_of_dot_names_are_refused(tmp_path, host, name):
    with pytest.raises(ImageError, match="invalid name"):
        unpack(tmp_path, [[dir_("d")], [reg(f"d/{name}")]])


def test_the_image_user_database_is_read_inside_the_rootfs(tmp_path, host):
    (host / "passwd").write_text("hostonly:x:4321:4321::/:/bin/sh\n")
    rootfs = unpack(tmp_path, [[dir_("etc"), sym("etc/passwd", str(host / "passwd")),
                                sym("etc/group", "../../../../../../" + str(host / "passwd").lstrip("/"))]])
    with pytest.raises(ImageError, match="not in the image's /etc/passwd"):
        resolve_user(str(rootfs), "hostonly")


def test_a_fifo_as_etc_passwd_does_not_hang(tmp_path):
    rootfs = unpack(tmp_path, [[dir_("etc")]])
    os.mkfifo(rootfs / "etc" / "passwd")
    with pytest.raises(ImageError, match="not a regular file"):
        resolve_user(str(rootfs), "app")


def test_overlay_xattrs_are_refused(tmp_path):
    rootfs = unpack(tmp_path, [[reg("f", b"x", xattrs={"trusted.overlay.opaque": "y"})]])
    assert "trusted.overlay.opaque" not in os.listxattr(rootfs / "f")


def test_docker_archive_member_paths_cannot_climb(tmp_path):
    import io
    import json
    import tarfile
    out = tmp_path / "evil.tar"
    with tarfile.open(out, "w") as tar:
        data = json.dumps([{"Config": "../../etc/passwd", "Layers": []}]).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(ImageError, match="cannot verify the config|refusing the path"):
        make_bundle(str(out), str(tmp_path / "b"))
    assert not (tmp_path / "b").exists()


def test_symlink_loops_in_a_parent_are_an_error_not_a_hang(tmp_path):
    with pytest.raises(ImageError, match="too many levels|not a directory"):
        unpack(tmp_path, [[sym("a", "b"), sym("b", "a")], [reg("a/x", b"x")]])
    assert not (tmp_path / "bundle").exists()


def test_a_dangling_relative_symlink_parent_is_made_inside(tmp_path, host):
    rootfs = unpack(tmp_path, [[dir_("x"), sym("x/l", "../../../../y/z")], [reg("x/l/f", b"f")]])
    assert (rootfs / "y" / "z" / "f").read_bytes() == b"f"
