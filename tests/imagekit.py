"""Building OCI images by hand for the image tests: layers as lists of tar entries,
written as an OCI layout directory (optionally tarred into an oci-archive)."""
import gzip
import hashlib
import io
import json
import os
import tarfile

from oci_runtime.image.layout import host_platform

MTIME = 1_600_000_000


def entry(name, kind=tarfile.REGTYPE, data=b"", mode=0o644, uid=0, gid=0, linkname="",
          mtime=MTIME, xattrs=None, dev=(0, 0)):
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.uid, info.gid, info.mtime = kind, mode, uid, gid, mtime
    info.linkname = linkname
    info.devmajor, info.devminor = dev
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    if xattrs:
        info.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in xattrs.items()}
    return info, data


def reg(name, data=b"", **kw):
    return entry(name, data=data, **kw)


def dir_(name, mode=0o755, **kw):
    return entry(name, tarfile.DIRTYPE, mode=mode, **kw)


def sym(name, target, **kw):
    return entry(name, tarfile.SYMTYPE, linkname=target, mode=0o777, **kw)


def hard(name, target, **kw):
    return entry(name, tarfile.LNKTYPE, linkname=target, **kw)


def whiteout(path):
    head, _, base = path.rpartition("/")
    return reg(f"{head}/.wh.{base}" if head else f".wh.{base}")


def opaque(directory):
    return reg(f"{directory}/.wh..wh..opq")


def tar_bytes(entries):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return out.getvalue()


def compress(data, compression):
    if compression == "gzip":
        return gzip.compress(data, compresslevel=1, mtime=0)
    if compression == "zstd":
        import zstandard
        return zstandard.ZstdCompressor().compress(data)
    return data


MEDIA = {"gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
         "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
         None: "application/vnd.oci.image.layer.v1.tar"}


def digest_of(data, algorithm="sha256"):
    return f"{algorithm}:" + hashlib.new(algorithm, data).hexdigest()


class Layout:
    """An OCI layout directory under construction."""

    def __init__(self, path, algorithm="sha256"):
        self.path = str(path)
        self.algorithm = algorithm
        os.makedirs(os.path.join(self.path, "blobs", algorithm), exist_ok=True)
        with open(os.path.join(self.path, "oci-layout"), "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)

    def blob(self, data):
        digest = digest_of(data, self.algorithm)
        with open(self.blob_path(digest), "wb") as f:
            f.write(data)
        return digest

    def blob_path(self, digest):
        algorithm, _, hex_ = digest.partition(":")
        return os.path.join(self.path, "blobs", algorithm, hex_)

    def json_blob(self, document, media_type):
        data = json.dumps(document).encode()
        return {"mediaType": media_type, "digest": self.blob(data), "size": len(data)}

    def image(self, layers, compression="gzip", config=None, platform=None):
        """A manifest descriptor for ``layers`` (lists of entries)."""
        descriptors, diff_ids = [], []
        for entries in layers:
            plain = tar_bytes(entries)
            diff_ids.append(digest_of(plain, self.algorithm))
            blob = compress(plain, compression)
            descriptors.append({"mediaType": MEDIA[compression], "digest": self.blob(blob),
                                "size": len(blob)})
        plat = platform or host_platform()
        image_config = {**plat, "config": config or {},
                        "rootfs": {"type": "layers", "diff_ids": diff_ids}}
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": self.json_blob(image_config, "application/vnd.oci.image.config.v1+json"),
                    "layers": descriptors}
        descriptor = self.json_blob(manifest, "application/vnd.oci.image.manifest.v1+json")
        descriptor["platform"] = plat
        return descriptor

    def index(self, descriptors, tags=None):
        for descriptor, tag in zip(descriptors, tags or []):
            if tag:
                descriptor.setdefault("annotations", {})["org.opencontainers.image.ref.name"] = tag
        with open(os.path.join(self.path, "index.json"), "w") as f:
            json.dump({"schemaVersion": 2, "manifests": descriptors}, f)
        return self.path


def single_image(path, layers, **kw):
    layout = Layout(path)
    return layout.index([layout.image(layers, **kw)])


def archive(layout_dir, out):
    """The layout directory as an oci-archive tar."""
    with tarfile.open(out, "w") as tar:
        for name in sorted(os.listdir(layout_dir)):
            tar.add(os.path.join(layout_dir, name), arcname=name)
    return str(out)
