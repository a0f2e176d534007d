"""`oci-runtime bundle`: images built here (by hand with tarfile, and by podman from
the busybox rootfs) unpacked and compared file by file with what they should give."""
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile

import pytest

from conftest import RUNTIME
from imagekit import (Layout, archive, dir_, entry, hard, opaque, reg, single_image, sym,
                      whiteout, MTIME)
from oci_runtime.image import imageconfig
from oci_runtime.image.errors import ImageError
from oci_runtime.image.layout import host_platform, parse_reference
from oci_runtime.image.progress import Progress
from oci_runtime.image.unpack import make_bundle

IS_ROOT = os.geteuid() == 0
ROOTFS_BASE = [dir_("etc"), reg("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"
                                 b"app:x:1000:1001:app:/home/app:/bin/sh\n"),
               reg("etc/group", b"root:x:0:\napp:x:1001:\nwheel:x:10:app,other\naudio:x:29:app\n")]


def bundle(tmp_path, layers, name="b", **kw):
    image = single_image(tmp_path / f"img-{name}", layers, **kw)
    out = tmp_path / name
    make_bundle(image, str(out), warn=lambda line: None)
    return out


# ------------------------------------------------------------------ node types
def test_bsdtar_xattrs_are_read_too(tmp_path):
    """bsdtar writes LIBARCHIVE.xattr.<url-encoded name> = base64 (and usually SCHILY too)."""
    import base64

    only_libarchive, data = reg("libarchive-only", b"x")
    only_libarchive.pax_headers = {
        "LIBARCHIVE.xattr.user.with%20space": base64.b64encode(b"\x00binary\xff").decode()}
    both, data2 = reg("both", b"y")
    both.pax_headers = {"SCHILY.xattr.user.note": "same",
                        "LIBARCHIVE.xattr.user.note": base64.b64encode(b"same").decode()}
    root = bundle(tmp_path, [[(only_libarchive, data), (both, data2)]]) / "rootfs"
    assert os.getxattr(root / "libarchive-only", "user.with space") == b"\x00binary\xff"
    assert os.getxattr(root / "both", "user.note") == b"same"


def test_runs_of_zeros_stay_holes(tmp_path):
    size = 8 << 20
    content = bytes(size - 1) + b"!"  # 8 MiB of zeros, one byte at the end
    root = bundle(tmp_path, [[reg("sparse.img", content), reg("small-zeros", bytes(100))]]) / "rootfs"
    st = os.stat(root / "sparse.img")
    assert st.st_size == size and (root / "sparse.img").read_bytes() == content
    assert st.st_blocks * 512 <= 2 << 20, f"{st.st_blocks * 512} bytes allocated for {size}"
    assert (root / "small-zeros").read_bytes() == bytes(100)  # a trailing hole keeps the size


def test_every_node_type_with_its_metadata(tmp_path):
    layers = [[
        dir_("d", mode=0o750, uid=12, gid=34, mtime=MTIME + 5),
        reg("d/file", b"hello", mode=0o4755, uid=1000, gid=1000, mtime=MTIME + 1,
            xattrs={"user.note": "café"}),
        hard("d/hard", "d/file"),
        sym("d/abs-link", "/etc/passwd", uid=7, gid=8),
        sym("d/rel-link", "../etc/x"),
        entry("d/fifo", tarfile.FIFOTYPE, mode=0o640),
        entry("d/null", tarfile.CHRTYPE, mode=0o666, dev=(1, 3)),
        entry("d/loop", tarfile.BLKTYPE, mode=0o660, dev=(7, 0)),
        reg("implicit/parent/file", b"x"),
    ]]
    root = bundle(tmp_path, layers) / "rootfs"
    d = root / "d"
    st = os.lstat(d)
    assert stat.S_IMODE(st.st_mode) == 0o750 and st.st_mtime == MTIME + 5
    f = os.lstat(d / "file")
    assert (d / "file").read_bytes() == b"hello" and stat.S_IMODE(f.st_mode) == 0o4755
    assert f.st_mtime == MTIME + 1 and f.st_nlink == 2
    assert os.lstat(d / "hard").st_ino == f.st_ino
    assert os.getxattr(d / "file", "user.note") == "café".encode()
    assert os.readlink(d / "abs-link") == "/etc/passwd" and os.readlink(d / "rel-link") == "../etc/x"
    assert stat.S_ISFIFO(os.lstat(d / "fifo").st_mode) and stat.S_IMODE(os.lstat(d / "fifo").st_mode) == 0o640
    assert (root / "implicit" / "parent" / "file").read_bytes() == b"x"
    if IS_ROOT:
        assert (f.st_uid, f.st_gid) == (1000, 1000) and (st.st_uid, st.st_gid) == (12, 34)
        assert (os.lstat(d / "abs-link").st_uid, os.lstat(d / "abs-link").st_gid) == (7, 8)
        null = os.lstat(d / "null")
        assert stat.S_ISCHR(null.st_mode) and os.major(null.st_rdev) == 1 and os.minor(null.st_rdev) == 3
        assert stat.S_ISBLK(os.lstat(d / "loop").st_mode)


def test_not_root_skips_devices_and_ownership(tmp_path, monkeypatch):
    monkeypatch.setattr("oci_runtime.image.layers.os.geteuid", lambda: 1000)
    warnings = []
    image = single_image(tmp_path / "img", [[reg("f", b"x", uid=5, gid=5),
                                             entry("null", tarfile.CHRTYPE, dev=(1, 3))]])
    make_bundle(image, str(tmp_path / "b"), warn=warnings.append)
    assert not os.path.lexists(tmp_path / "b" / "rootfs" / "null")
    assert os.lstat(tmp_path / "b" / "rootfs" / "f").st_uid == os.getuid()
    assert warnings == ["warning: skipped device nodes (not root): 1 entry"]


@pytest.mark.parametrize("compression", ["gzip", "zstd", None])
def test_compressions(tmp_path, compression):
    root = bundle(tmp_path, [[reg("a", b"A" * 100000)], [reg("b", b"B")]], compression=compression) / "rootfs"
    assert (root / "a").read_bytes() == b"A" * 100000 and (root / "b").read_bytes() == b"B"


def test_zstd_without_the_zstandard_package_is_a_clear_error(tmp_path):
    image = single_image(tmp_path / "img", [[reg("a", b"x")]], compression="zstd")
    code = ("import sys; sys.modules['zstandard'] = None\n"
            "from oci_runtime.cli import main\n"
            f"sys.exit(main(['bundle', '--image', {image!r}, '--bundle', {str(tmp_path / 'b')!r}]))")
    # cwd elsewhere: the installed package, not the source tree (which has no built shim).
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 1
    assert "zstd-compressed: install the zstandard Python package" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "b").exists()


# ------------------------------------------------------------------ whiteouts
LOWER = [dir_("a"), reg("a/x", b"x"), reg("a/y", b"y"), dir_("b"), reg("b/old", b"o"),
         dir_("b/sub"), reg("b/sub/deep", b"d"), reg("c", b"c"), dir_("tree"), reg("tree/leaf", b"l")]


def tree(root):
    """{relative path: (type, content or link target)} of everything under ``root``."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                found[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                found[rel] = ("dir", None)
            elif stat.S_ISREG(st.st_mode):
                found[rel] = ("file", open(path, "rb").read())
            else:
                found[rel] = ("other", st.st_mode)
    return found


def test_whiteouts_and_opaque_directories(tmp_path):
    upper = [whiteout("c"), whiteout("a/x"), whiteout("tree"), opaque("b"), reg("b/new", b"n"),
             whiteout("never/existed")]
    assert tree(bundle(tmp_path, [LOWER, upper]) / "rootfs") == {
        "a": ("dir", None), "a/y": ("file", b"y"), "b": ("dir", None), "b/new": ("file", b"n")}


def test_opaque_marker_after_same_layer_entries_keeps_them(tmp_path):
    upper = [reg("b/new", b"n"), dir_("b/newdir"), reg("b/newdir/f", b"f"), opaque("b"),
             reg("b2/f", b"f"), whiteout("b2/f")]  # a whiteout hides lower layers only
    got = tree(bundle(tmp_path, [LOWER, upper]) / "rootfs")
    assert {k for k in got if k.startswith("b/")} == {"b/new", "b/newdir", "b/newdir/f"}
    assert got["b2/f"] == ("file", b"f")


def test_replacements_between_types(tmp_path):
    upper = [reg("a", b"now a file"), dir_("c"), reg("c/inside", b"i"), sym("tree", "a")]
    got = tree(bundle(tmp_path, [LOWER, upper]) / "rootfs")
    assert got["a"] == ("file", b"now a file") and "a/x" not in got
    assert got["c"] == ("dir", None) and got["c/inside"] == ("file", b"i")
    assert got["tree"] == ("link", "a")


def test_existing_directory_keeps_its_content_and_takes_new_metadata(tmp_path):
    upper = [dir_("a", mode=0o700, mtime=MTIME + 99)]
    root = bundle(tmp_path, [LOWER, upper]) / "rootfs"
    assert sorted(os.listdir(root / "a")) == ["x", "y"]
    assert stat.S_IMODE(os.lstat(root / "a").st_mode) == 0o700 and os.lstat(root / "a").st_mtime == MTIME + 99


def test_a_symlinked_parent_is_followed_inside_the_rootfs(tmp_path):
    layers = [[dir_("usr"), dir_("usr/lib"), sym("lib", "/usr/lib")], [reg("lib/libc.so", b"c")]]
    root = bundle(tmp_path, layers) / "rootfs"
    assert (root / "usr" / "lib" / "libc.so").read_bytes() == b"c"
    assert os.readlink(root / "lib") == "/usr/lib"


# ------------------------------------------------------------------ verification
def _corrupt(layout, digest):
    path = layout.blob_path(digest)
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0xFF
    open(path, "wb").write(bytes(data))


def _one_layer_layout(tmp_path, compression="gzip", algorithm="sha256"):
    layout = Layout(tmp_path / "img", algorithm)
    descriptor = layout.image([ROOTFS_BASE, [reg("big", os.urandom(200000))]], compression=compression)
    layout.index([descriptor])
    manifest = json.load(open(layout.blob_path(descriptor["digest"])))
    return layout, descriptor, manifest


@pytest.mark.parametrize("compression", ["gzip", None])
def test_a_corrupt_layer_fails_and_leaves_no_bundle(tmp_path, compression):
    layout, _, manifest = _one_layer_layout(tmp_path, compression)
    bad = manifest["layers"][1]["digest"]
    _corrupt(layout, bad)
    with pytest.raises(ImageError, match=f"{bad}: digest mismatch|corrupt layer"):
        make_bundle(layout.path, str(tmp_path / "b"))
    assert not (tmp_path / "b").exists()
    (tmp_path / "mine").mkdir()  # an existing directory is kept, emptied of what we made
    with pytest.raises(ImageError):
        make_bundle(layout.path, str(tmp_path / "mine"))
    assert os.listdir(tmp_path / "mine") == []


def test_sha512_digests_are_verified_too(tmp_path):
    """image-spec: sha512 is a registered algorithm implementations SHOULD verify."""
    layout, _, manifest = _one_layer_layout(tmp_path, algorithm="sha512")
    assert manifest["layers"][1]["digest"].startswith("sha512:")
    make_bundle(layout.path, str(tmp_path / "good"), warn=lambda line: None)
    assert (tmp_path / "good" / "rootfs" / "big").stat().st_size == 200000
    bad = manifest["layers"][1]["digest"]
    _corrupt(layout, bad)
    with pytest.raises(ImageError, match=f"{bad}: digest mismatch|corrupt layer"):
        make_bundle(layout.path, str(tmp_path / "b"))
    assert not (tmp_path / "b").exists()


def test_unregistered_digest_algorithms_are_refused():
    from oci_runtime.image.blobs import check_digest

    with pytest.raises(ImageError, match="sha256:<64 hex> or sha512:<128 hex>"):
        check_digest("md5:" + "0" * 32)
    with pytest.raises(ImageError):
        check_digest("sha512:" + "0" * 64)  # the right name, the wrong length


def test_a_lying_size_or_diff_id_or_manifest_is_refused(tmp_path):
    layout, descriptor, manifest = _one_layer_layout(tmp_path)
    _corrupt(layout, descriptor["digest"])
    with pytest.raises(ImageError, match=f"manifest {descriptor['digest']}: digest mismatch"):
        make_bundle(layout.path, str(tmp_path / "b"))
    # A manifest that claims a shorter layer: caught as soon as the extra bytes come.
    layout2 = Layout(tmp_path / "img2")
    descriptor = layout2.image([[reg("f", b"x" * 5000)]], compression=None)
    manifest = json.load(open(layout2.blob_path(descriptor["digest"])))
    manifest["layers"][0]["size"] -= 512
    layout2.index([layout2.json_blob(manifest, manifest["mediaType"])])
    with pytest.raises(ImageError, match="larger than its declared size"):
        make_bundle(layout2.path, str(tmp_path / "b2"))
    # A config whose diff_id does not match the uncompressed layer.
    layout3 = Layout(tmp_path / "img3")
    descriptor = layout3.image([[reg("f", b"x")]])
    manifest = json.load(open(layout3.blob_path(descriptor["digest"])))
    config = json.load(open(layout3.blob_path(manifest["config"]["digest"])))
    config["rootfs"]["diff_ids"] = ["sha256:" + "0" * 64]
    manifest["config"] = layout3.json_blob(config, manifest["config"]["mediaType"])
    layout3.index([layout3.json_blob(manifest, manifest["mediaType"])])
    with pytest.raises(ImageError, match="diff_id.*digest mismatch"):
        make_bundle(layout3.path, str(tmp_path / "b3"))
    assert not any((tmp_path / n).exists() for n in ("b", "b2", "b3"))


def test_an_existing_bundle_is_not_overwritten(tmp_path):
    image = single_image(tmp_path / "img", [[reg("f")]])
    (tmp_path / "b" / "rootfs").mkdir(parents=True)
    with pytest.raises(ImageError, match="already has a rootfs"):
        make_bundle(image, str(tmp_path / "b"))
    assert (tmp_path / "b" / "rootfs").is_dir()


# ------------------------------------------------------------------ selection
def test_platform_tag_and_digest_selection(tmp_path):
    layout = Layout(tmp_path / "img")
    other = {"os": "linux", "architecture": "s390x" if host_platform()["architecture"] != "s390x" else "arm64"}
    foreign = layout.image([[reg("which", b"foreign")]], platform=other)
    native = layout.image([[reg("which", b"native")]])
    tagged = layout.image([[reg("which", b"tagged")]])
    inner = layout.json_blob({"schemaVersion": 2, "manifests": [foreign, native]},
                             "application/vnd.oci.image.index.v1+json")
    layout.index([inner, tagged], tags=["multi", "localhost/app:v2"])
    cases = {"": None, ":multi": b"native", ":v2": b"tagged", f"@{native['digest']}": b"native"}
    for suffix, want in cases.items():
        out = tmp_path / f"b{len(os.listdir(tmp_path))}"
        if want is None:
            with pytest.raises(ImageError, match="holds 2 images .*name one with :TAG"):
                make_bundle(layout.path + suffix, str(out))
            continue
        make_bundle(layout.path + suffix, str(out))
        assert (out / "rootfs" / "which").read_bytes() == want
    with pytest.raises(ImageError, match=f"the image is for linux/{other['architecture']}"):
        make_bundle(f"{layout.path}@{foreign['digest']}", str(tmp_path / "x"))
    with pytest.raises(ImageError, match="no image tagged 'nope'"):
        make_bundle(layout.path + ":nope", str(tmp_path / "x"))


def test_reference_parsing(tmp_path):
    digest = "sha256:" + "a" * 64
    assert parse_reference(f"/x/img@{digest}") == ("/x/img", None, digest)
    assert parse_reference("/x/img.tar:v1") == ("/x/img.tar", "v1", None)
    assert parse_reference("/x:y/img") == ("/x:y/img", None, None)
    (tmp_path / "a:b").mkdir()
    assert parse_reference(str(tmp_path / "a:b")) == (str(tmp_path / "a:b"), None, None)


def test_oci_archive_is_read_in_place(tmp_path):
    layout_dir = single_image(tmp_path / "img", [[reg("f", b"from the archive")]])
    tar = archive(layout_dir, tmp_path / "img.tar")
    make_bundle(tar, str(tmp_path / "b"))
    assert (tmp_path / "b" / "rootfs" / "f").read_bytes() == b"from the archive"


def test_docker_25_archive_with_both_manifest_json_and_an_oci_layout(tmp_path):
    """`docker save` since Docker 25 writes an OCI layout plus the old manifest.json,
    whose Config and Layers name blobs/sha256/... paths."""
    layout = Layout(tmp_path / "img")
    descriptor = layout.image([[reg("f", b"docker 25")]], compression=None)
    layout.index([descriptor], tags=["docker.io/library/app:v1"])
    manifest = json.load(open(layout.blob_path(descriptor["digest"])))
    legacy = [{"Config": "blobs/sha256/" + manifest["config"]["digest"].split(":")[1],
               "RepoTags": ["app:v1"],
               "Layers": ["blobs/sha256/" + m["digest"].split(":")[1] for m in manifest["layers"]]}]
    with open(os.path.join(layout.path, "manifest.json"), "w") as f:
        json.dump(legacy, f)
    tar = archive(layout.path, tmp_path / "docker25.tar")
    make_bundle(tar, str(tmp_path / "b"))
    assert (tmp_path / "b" / "rootfs" / "f").read_bytes() == b"docker 25"
    make_bundle(tar + ":v1", str(tmp_path / "tagged"))
    assert (tmp_path / "tagged" / "rootfs" / "f").read_bytes() == b"docker 25"


# ------------------------------------------------------------------ config.json
def test_config_from_the_image(tmp_path):
    config = {"Entrypoint": ["/bin/app", "--serve"], "Cmd": ["--port", "80"], "Env": ["A=1", "PATH=/opt/bin"],
              "WorkingDir": "/srv", "User": "app", "ExposedPorts": {"80/tcp": {}, "53/udp": {}},
              "Labels": {"org.example.team": "infra"}, "StopSignal": "SIGQUIT"}
    out = bundle(tmp_path, [ROOTFS_BASE], config=config)
    spec = json.load(open(out / "config.json"))
    process = spec["process"]
    assert process["args"] == ["/bin/app", "--serve", "--port", "80"]
    assert process["cwd"] == "/srv"
    assert process["user"] == {"uid": 1000, "gid": 1001, "additionalGids": [10, 29]}
    assert process["env"] == ["A=1", "PATH=/opt/bin", "TERM=xterm", "HOME=/home/app"]
    assert spec["annotations"]["org.opencontainers.image.exposedPorts"] == "53/udp,80/tcp"
    assert spec["annotations"]["org.example.team"] == "infra"
    assert spec["annotations"]["org.opencontainers.image.stopSignal"] == "SIGQUIT"
    assert spec["root"] == {"path": "rootfs", "readonly": True}  # spec's defaults otherwise
    from oci_runtime.spec_default import default_spec

    assert spec["linux"]["namespaces"] == default_spec()["linux"]["namespaces"]


@pytest.mark.parametrize("user,want", [
    ("", (0, 0, [])), ("0", (0, 0, [])), ("app", (1000, 1001, [10, 29])), ("1000", (1000, 1001, [10, 29])),
    ("app:wheel", (1000, 10, [])), ("4242", (4242, 0, [])), ("4242:77", (4242, 77, [])),
    ("app:1001", (1000, 1001, []))])
def test_user_resolution(tmp_path, user, want):
    root = bundle(tmp_path, [ROOTFS_BASE]) / "rootfs"
    got = imageconfig.resolve_user(str(root), user)
    assert (got.uid, got.gid, got.additional_gids) == want


@pytest.mark.parametrize("user", ["ghost", "app:nogroup"])
def test_unknown_user_or_group_is_an_error(tmp_path, user):
    root = bundle(tmp_path, [ROOTFS_BASE]) / "rootfs"
    with pytest.raises(ImageError, match="is not in the image's"):
        imageconfig.resolve_user(str(root), user)


def test_rootless_config(tmp_path):
    image = single_image(tmp_path / "img", [ROOTFS_BASE], config={"Cmd": ["sh"]})
    result = subprocess.run([RUNTIME, "bundle", "--rootless", "--image", image, "--bundle", str(tmp_path / "b")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    spec = json.load(open(tmp_path / "b" / "config.json"))
    assert {"type": "user"} in spec["linux"]["namespaces"] and spec["linux"]["uidMappings"]


def test_cli_errors_are_clear(tmp_path):
    result = subprocess.run([RUNTIME, "bundle", "--bundle", str(tmp_path / "b")], capture_output=True, text=True)
    assert result.returncode == 1 and "--image" in result.stderr
    result = subprocess.run([RUNTIME, "bundle", "--image", str(tmp_path / "none"), "--bundle", str(tmp_path / "b")],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "no such file" in result.stderr and "Traceback" not in result.stderr


def test_the_hot_path_does_not_import_the_image_package(tmp_path):
    code = ("import sys; from oci_runtime.cli import main\n"
            "main(['--root', '/nonexistent-ocirt', 'state', 'x'])\n"
            "print([m for m in sys.modules if m.startswith('oci_runtime.image')])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert result.stdout.strip() == "[]", result.stderr


# ------------------------------------------------------------------ streaming
class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_shown_on_a_terminal_only():
    ticks = iter(range(100))
    term = FakeTerminal()
    progress = Progress(2, term, clock=lambda: next(ticks))
    progress.start_layer(1, "sha256:abcdef0123456789", 3 << 20)
    progress.advance(1 << 20)
    progress.end()
    assert "layer 1/2 sha256:abcdef012345: 1.0 MiB / 3.0 MiB" in term.getvalue()
    quiet = io.StringIO()
    Progress(1, quiet).start_layer(1, "x", 10)
    assert quiet.getvalue() == ""


def _read_all(fd):
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the last slave end was closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def test_progress_reaches_a_real_terminal_and_stays_off_a_pipe(tmp_path):
    """The command itself, stderr on a pty (the isatty check is the kernel's) and then
    on a pipe: the line with the layer's size is drawn only on the terminal."""
    image = _big_layer_layout(tmp_path / "img", 8 << 20)
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen([RUNTIME, "bundle", "--image", image, "--bundle", str(tmp_path / "tty")],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
        os.close(slave)
        seen = _read_all(master)
        assert proc.wait(timeout=60) == 0, seen
    finally:
        os.close(master)
    assert "\r\x1b[Klayer 1/1 sha256:" in seen and "8.0 MiB / 8.0 MiB" in seen, repr(seen)
    piped = subprocess.run([RUNTIME, "bundle", "--image", image, "--bundle", str(tmp_path / "pipe")],
                           capture_output=True, text=True, timeout=60)
    assert piped.returncode == 0 and piped.stderr == "", piped.stderr


def _big_layer_layout(path, size):
    """An uncompressed layer holding one ``size``-byte file, written without holding it in memory."""
    layout = Layout(path)
    layer_path = os.path.join(layout.path, "layer.tmp")
    info = tarfile.TarInfo("big")
    info.size = size
    with open(layer_path, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as tar:
        tar.addfile(info, _Pattern(size))
    digest = hashlib.sha256()
    with open(layer_path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    layer_digest = "sha256:" + digest.hexdigest()
    os.rename(layer_path, layout.blob_path(layer_digest))
    config = layout.json_blob({**host_platform(), "config": {},
                               "rootfs": {"type": "layers", "diff_ids": [layer_digest]}},
                              "application/vnd.oci.image.config.v1+json")
    manifest = layout.json_blob({"schemaVersion": 2, "config": config, "layers": [
        {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest,
         "size": os.path.getsize(layout.blob_path(layer_digest))}]},
        "application/vnd.oci.image.manifest.v1+json")
    return layout.index([manifest])


class _Pattern:
    """A readable stream of ``size`` bytes that are not all zeros."""

    def __init__(self, size):
        self.left = size
        self.block = bytes(range(256)) * 4096

    def read(self, n=-1):
        n = self.left if n < 0 else min(n, self.left)
        data = (self.block * (n // len(self.block) + 1))[:n]
        self.left -= n
        return data


# Measures the peak RSS of the command it runs.  It runs in a fresh small
# interpreter, not forked from pytest: a forked child's ru_maxrss starts from the
# parent's RSS at the fork (the kernel carries the old mm's high-water mark over
# the exec), and pytest grows to hundreds of MiB over the suite.
MAXRSS = ("import os, sys\n"
          "pid = os.fork()\n"
          "if pid == 0:\n    os.execv(sys.argv[1], sys.argv[1:])\n"
          "_, status, usage = os.wait4(pid, 0)\n"
          "print(usage.ru_maxrss)\n"
          "sys.exit(os.waitstatus_to_exitcode(status))\n")


def test_a_large_layer_unpacks_with_flat_memory(tmp_path):
    size = int(os.environ.get("OCIRT_BIG_LAYER_MIB", "256")) << 20
    image = _big_layer_layout(tmp_path / "img", size)
    result = subprocess.run(["/usr/bin/python3", "-I", "-S", "-c", MAXRSS,
                             RUNTIME, "bundle", "--image", image, "--bundle", str(tmp_path / "b")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert os.path.getsize(tmp_path / "b" / "rootfs" / "big") == size
    peak_mib = int(result.stdout.split()[-1]) / 1024
    print(f"peak RSS unpacking a {size >> 20} MiB layer: {peak_mib:.1f} MiB")
    assert peak_mib < 80, f"peak RSS {peak_mib:.1f} MiB for a {size >> 20} MiB layer"


# ------------------------------------------------------------------ podman-made images
STORAGE_CONF = """[storage]
driver = "vfs"
graphroot = "{base}/root"
runroot = "{base}/runroot"
"""
CONTAINERS_CONF = """[engine]
events_logger = "file"
events_logfile_path = "{base}/events.log"
tmp_dir = "{base}/tmp"
"""
PODMAN_CHANGES = ['ENTRYPOINT ["/bin/sh", "-c"]', 'CMD ["echo hello from $GREETING; id -u; id -G; pwd"]',
                  "ENV GREETING=the-image", "WORKDIR /home/user", "USER user", "EXPOSE 8080/tcp",
                  "LABEL org.example.team=infra"]


@pytest.fixture(scope="module")
def podman_images(tmp_path_factory, busybox_template):
    """The busybox rootfs imported into a private podman storage (vfs: no mounts) and
    saved in each format podman writes; the storage is reset and removed afterwards."""
    if not shutil.which("podman"):
        pytest.skip("podman not installed (make test installs it)")
    base = tmp_path_factory.mktemp("podman")
    os.makedirs(base / "tmp")
    (base / "storage.conf").write_text(STORAGE_CONF.format(base=base))
    (base / "containers.conf").write_text(CONTAINERS_CONF.format(base=base))
    env = dict(os.environ, CONTAINERS_CONF=str(base / "containers.conf"),
               CONTAINERS_STORAGE_CONF=str(base / "storage.conf"))

    def podman(*args, **kw):
        return subprocess.run(["podman", *args], env=env, check=True, capture_output=True,
                              stdin=kw.pop("stdin", subprocess.DEVNULL), timeout=120, **kw)
    try:
        tar = subprocess.Popen(["tar", "-C", str(busybox_template / "rootfs"), "-c", "."], stdout=subprocess.PIPE)
        changes = [arg for change in PODMAN_CHANGES for arg in ("--change", change)]
        podman("import", *changes, "-", "localhost/ocirt-image-test:v1", stdin=tar.stdout)
        tar.wait()
        saved = {}
        for fmt in ("oci-dir", "oci-archive", "docker-archive"):
            saved[fmt] = str(base / fmt)
            podman("save", "--format", fmt, "-o", saved[fmt], "localhost/ocirt-image-test:v1")
        yield saved
    finally:
        subprocess.run(["podman", "system", "reset", "--force"], env=env, capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=120)
        with open("/proc/self/mountinfo") as f:
            assert str(base) not in f.read(), "podman left mounts behind"
        shutil.rmtree(base, ignore_errors=True)


def described_tree(root):
    """Everything under ``root`` as {path: (type, mode, uid, gid, content digest or link)}."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    what = hashlib.sha256(f.read()).hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                what = os.readlink(path)
            else:
                what = None
            found[os.path.relpath(path, root)] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode),
                                                  st.st_uid, st.st_gid, what)
    return found


@pytest.mark.parametrize("fmt", ["oci-dir", "oci-archive", "docker-archive"])
def test_podman_saved_images_unpack_to_the_source_rootfs(tmp_path, podman_images, busybox_template, fmt):
    reference = podman_images[fmt] + (":v1" if fmt != "oci-dir" else "")
    result = subprocess.run([RUNTIME, "bundle", "--image", reference, "--bundle", str(tmp_path / "b")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    want = described_tree(busybox_template / "rootfs")
    got = described_tree(tmp_path / "b" / "rootfs")
    assert sorted(got) == sorted(want)
    assert {p: v for p, v in got.items() if v != want[p]} == {}
    spec = json.load(open(tmp_path / "b" / "config.json"))
    assert spec["process"]["args"] == ["/bin/sh", "-c", "echo hello from $GREETING; id -u; id -G; pwd"]
    assert spec["process"]["user"] == {"uid": 1000, "gid": 1000}
    assert spec["process"]["cwd"] == "/home/user"
    assert "GREETING=the-image" in spec["process"]["env"]
    assert spec["annotations"]["org.opencontainers.image.exposedPorts"] == "8080/tcp"
    assert spec["annotations"]["org.example.team"] == "infra"


def test_a_bundle_made_from_an_image_runs(rt, tmp_path, podman_images):
    path = tmp_path / "from-image"
    rt.cmd("bundle", "--image", podman_images["oci-archive"], "--bundle", str(path), check=True)
    config = rt.read_config(path)
    config["process"]["terminal"] = False
    config["linux"]["cgroupsPath"] = f"/{rt.cgroup_parent}/from-image"
    rt.write_config(path, config)
    result = rt.run(path)
    assert result.stdout.splitlines() == ["hello from the-image", "1000", "1000", "/home/user"]
