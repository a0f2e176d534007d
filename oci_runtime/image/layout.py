"""Finding the image to unpack: OCI layouts (directory or tar archive) and
docker-archive tars, the manifest for this machine's platform, its config and layers.

Everything read here is verified before it is parsed: an index entry's digest
and size check the manifest, the manifest's check the config, and the config's
``rootfs.diff_ids`` check every layer's uncompressed content as it is applied.
Only ``index.json`` (OCI) and ``manifest.json`` (docker-archive) are trusted as
the roots of that chain: they are what the user pointed us at.
"""
import json
import os
import platform
import posixpath
import re
import tarfile

from oci_runtime.image.blobs import MAX_DOCUMENT_SIZE, check_digest, read_document
from oci_runtime.image.errors import ImageError

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
REF_NAME = "org.opencontainers.image.ref.name"

# uname's machine names in Go's GOARCH spelling (the spec's platform.architecture).
_GOARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
           "i386": "386", "i686": "386", "ppc64le": "ppc64le", "s390x": "s390x",
           "riscv64": "riscv64", "armv7l": "arm", "armv6l": "arm", "mips64": "mips64le"}


def host_platform():
    machine = platform.machine()
    return {"os": "linux", "architecture": _GOARCH.get(machine, machine)}


class Layer:
    """One layer to apply: ``open()`` gives its raw bytes; ``digest``/``size`` check
    them (digest None: docker-archive, checked through ``diff_id`` only)."""

    def __init__(self, source, path, digest, size, media_type, diff_id):
        self.source, self.path = source, path
        self.digest, self.size, self.media_type, self.diff_id = digest, size, media_type, diff_id

    def open(self):
        return self.source.open(self.path)[0]

    @property
    def name(self):
        return self.digest or self.diff_id


class Image:
    """The chosen image: its config (a dict) and layers, bottom first."""

    def __init__(self, config, layers, description):
        self.config = config
        self.layers = layers
        self.description = description


# ------------------------------------------------------------------ sources
class DirSource:
    """Files of an OCI layout directory."""

    def __init__(self, path):
        self.path = path

    def exists(self, name):
        return os.path.isfile(os.path.join(self.path, _safe_member(name)))

    def open(self, name):
        path = os.path.join(self.path, _safe_member(name))
        try:
            f = open(path, "rb")
        except FileNotFoundError:
            raise ImageError(f"{self.path}: {name} is missing") from None
        return f, os.fstat(f.fileno()).st_size

    def close(self):
        pass


class TarSource:
    """Members of an archive (oci-archive or docker-archive).  tarfile indexes the
    headers once, then each member is a stream read straight from the archive."""

    def __init__(self, path):
        self.path = path
        try:
            self.tar = tarfile.open(path, "r:*")
            self.members = {_normal(m.name): m for m in self.tar.getmembers()}
        except (tarfile.TarError, EOFError) as exc:
            raise ImageError(f"{path}: not a readable tar archive: {exc}") from None

    def exists(self, name):
        return _safe_member(name) in self.members

    def open(self, name):
        member = self._resolve(self.members.get(_safe_member(name)))
        f = self.tar.extractfile(member) if member is not None and member.isfile() else None
        if f is None:
            raise ImageError(f"{self.path}: {name} is missing (or is not a file)")
        return f, member.size

    def _resolve(self, member, hops=8):
        """Follow links between members (docker-archive's <id>/layer.tar -> ../<hex>.tar)."""
        while member is not None and (member.issym() or member.islnk()) and hops:
            target = member.linkname
            if member.issym():
                target = posixpath.normpath(posixpath.join(posixpath.dirname(_normal(member.name)), target))
            member = self.members.get(_normal(target)) if not target.startswith("..") else None
            hops -= 1
        return member

    def close(self):
        self.tar.close()


def _normal(name):
    return "/".join(p for p in name.split("/") if p not in ("", "."))


def _safe_member(name):
    """Paths named by manifest.json are data: never let them climb out."""
    normal = _normal(name)
    if not normal or name.startswith("/") or ".." in normal.split("/"):
        raise ImageError(f"refusing the path {name!r} named in the image")
    return normal


def open_source(path):
    if os.path.isdir(path):
        return DirSource(path)
    if os.path.isfile(path):
        return TarSource(path)
    raise ImageError(f"image {path}: no such file or directory")


# ------------------------------------------------------------------ references
def parse_reference(text):
    """PATH, PATH:TAG or PATH@sha256:DIGEST -> (path, tag, digest).  A path that
    exists as given wins over splitting at its last colon."""
    path, at, digest = text.rpartition("@")
    if at and digest.startswith(("sha256:", "sha512:")) and "/" not in digest:
        return path, None, check_digest(digest)
    if os.path.exists(text):
        return text, None, None
    head, colon, tag = text.rpartition(":")
    if colon and head and "/" not in tag:
        return head, tag, None
    return text, None, None


def load_image(reference):
    """The Image named by ``reference``; the source stays open (close with image.source)."""
    path, tag, digest = parse_reference(reference)
    source = open_source(path)
    try:
        if source.exists("index.json"):
            image = _load_oci(source, path, tag, digest)
        elif source.exists("manifest.json"):
            if digest:
                raise ImageError("a docker-archive has no manifest digests: select the image by tag")
            image = _load_docker(source, path, tag)
        else:
            raise ImageError(f"{path}: neither an OCI layout (index.json) nor a docker-archive (manifest.json)")
    except BaseException:
        source.close()
        raise
    image.source = source
    return image


def _root_json(source, name):
    f, size = source.open(name)
    with f:
        if size > MAX_DOCUMENT_SIZE:
            raise ImageError(f"{name} is too large")
        return _parse(f.read(), name)


def _parse(data, what):
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ImageError(f"{what}: invalid JSON: {exc}") from None


def _blob_json(source, descriptor, what):
    digest = check_digest(descriptor.get("digest"))
    size = descriptor.get("size")
    if not isinstance(size, int) or size < 0:
        raise ImageError(f"{what} {digest}: descriptor without a valid size")
    f, _ = source.open(blob_path(digest))
    return _parse(read_document(f, digest, size, what), f"{what} {digest}")


def blob_path(digest):
    return "blobs/" + check_digest(digest).replace(":", "/", 1)


# ------------------------------------------------------------------ OCI layout
def _load_oci(source, path, tag, digest):
    index = _root_json(source, "index.json")
    descriptor = _select_in_index(source, index, tag, digest, path)
    manifest = _blob_json(source, descriptor, "manifest")
    if manifest.get("mediaType", descriptor.get("mediaType")) in INDEX_TYPES or "manifests" in manifest:
        # The name chose an index (a multi-platform image): pick this machine's entry.
        descriptor = _pick_platform(source, manifest.get("manifests") or [], path)
        manifest = _blob_json(source, descriptor, "manifest")
    config_descriptor = manifest.get("config") or {}
    config = _blob_json(source, config_descriptor, "config")
    layers = manifest.get("layers") or []
    diff_ids = _checked_diff_ids(config, len(layers), path)
    built = []
    for layer, diff_id in zip(layers, diff_ids):
        digest_ = check_digest(layer.get("digest"))
        if not isinstance(layer.get("size"), int):
            raise ImageError(f"layer {digest_}: descriptor without a valid size")
        built.append(Layer(source, blob_path(digest_), digest_, layer["size"],
                           layer.get("mediaType", ""), check_digest(diff_id)))
    return Image(config, built, f"{path}@{descriptor['digest']}")


def _select_in_index(source, index, tag, digest, path):
    entries = index.get("manifests") or []
    if not entries:
        raise ImageError(f"{path}: index.json lists no images")
    if digest:
        found = _find_digest(source, entries, digest)
        if found is None:
            raise ImageError(f"{path}: no manifest {digest} in the index")
        return found
    if tag:
        matches = [e for e in entries if _ref_matches((e.get("annotations") or {}).get(REF_NAME), tag)]
        if not matches:
            names = sorted({(e.get("annotations") or {}).get(REF_NAME, "?") for e in entries})
            raise ImageError(f"{path}: no image tagged {tag!r} (the index has: {', '.join(names)})")
        entries = matches
    if len(entries) == 1:
        return entries[0]
    names = sorted({(e.get("annotations") or {}).get(REF_NAME) or "<unnamed>" for e in entries})
    if len(names) > 1:  # several images, not one image for several platforms
        raise ImageError(f"{path}: holds {len(names)} images ({', '.join(names)}): name one with :TAG")
    return _pick_platform(source, entries, path)


def _ref_matches(ref_name, tag):
    """podman writes the full name ("localhost/x:latest"), the spec suggests the tag alone."""
    if not ref_name:
        return False
    return ref_name == tag or ref_name.endswith(":" + tag) or ref_name.rpartition(":")[0] == tag


def _find_digest(source, entries, digest, depth=0):
    for entry in entries:
        if entry.get("digest") == digest:
            return entry
    if depth < 4:  # nested indexes: look one level deeper each time
        for entry in entries:
            if entry.get("mediaType") in INDEX_TYPES:
                inner = _blob_json(source, entry, "index")
                found = _find_digest(source, inner.get("manifests") or [], digest, depth + 1)
                if found is not None:
                    return found
    return None


def _pick_platform(source, entries, path):
    want = host_platform()
    fitting = [e for e in entries
               if (e.get("platform") or {}).get("os") == want["os"]
               and (e.get("platform") or {}).get("architecture") == want["architecture"]]
    if not fitting:
        offered = sorted({"{os}/{architecture}".format(**(e.get("platform") or {"os": "?", "architecture": "?"}))
                          for e in entries})
        raise ImageError(f"{path}: no image for {want['os']}/{want['architecture']} "
                         f"(offered: {', '.join(offered) or 'none'})")
    choice = fitting[0]
    if choice.get("mediaType") in INDEX_TYPES:
        return _pick_platform(source, _blob_json(source, choice, "index").get("manifests") or [], path)
    return choice


def _checked_diff_ids(config, layer_count, path):
    """The config's rootfs.diff_ids, once the platform is right and there is one per layer."""
    _check_platform(config, path)
    diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
    if len(diff_ids) != layer_count:
        raise ImageError(f"{path}: the config lists {len(diff_ids)} diff_ids for {layer_count} layers")
    return diff_ids


def _check_platform(config, path):
    want = host_platform()
    os_, arch = config.get("os"), config.get("architecture")
    if (os_ and os_ != want["os"]) or (arch and arch != want["architecture"]):
        raise ImageError(f"{path}: the image is for {os_}/{arch}, this machine is "
                         f"{want['os']}/{want['architecture']}")


# ------------------------------------------------------------------ docker-archive
_HEX_NAME = re.compile(r"^(?:.*/)?([0-9a-f]{64})(?:\.json)?$")


def _load_docker(source, path, tag):
    entries = _root_json(source, "manifest.json")
    if not isinstance(entries, list) or not entries:
        raise ImageError(f"{path}: manifest.json lists no images")
    if tag:
        entries = [e for e in entries if any(_ref_matches(t, tag) for t in e.get("RepoTags") or [])]
        if not entries:
            raise ImageError(f"{path}: no image tagged {tag!r}")
    if len(entries) > 1:
        tags = [", ".join(e.get("RepoTags") or ["<untagged>"]) for e in entries]
        raise ImageError(f"{path}: holds {len(entries)} images ({'; '.join(tags)}): name one with :TAG")
    entry = entries[0]
    config_name = entry.get("Config", "")
    match = _HEX_NAME.match(config_name)
    if not match:
        raise ImageError(f"{path}: cannot verify the config {config_name!r}: its name is not its digest")
    f, size = source.open(config_name)
    config = _parse(read_document(f, "sha256:" + match.group(1), size, "config"), config_name)
    names = entry.get("Layers") or []
    diff_ids = _checked_diff_ids(config, len(names), path)
    layers = []
    for name, diff_id in zip(names, diff_ids):
        _, size = source.open(name)
        layers.append(Layer(source, name, None, size, "", check_digest(diff_id)))
    return Image(config, layers, f"{path} ({', '.join(entry.get('RepoTags') or ['untagged'])})")
