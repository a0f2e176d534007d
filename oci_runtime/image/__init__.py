"""OCI images to runtime bundles (`oci-runtime bundle`), standard library only.

One concern per module:
  errors       ImageError, the user-facing error of this package
  blobs        digest- and size-verified streaming reads of blobs
  layout       OCI layout (dir or archive) and docker-archive reading, platform choice
  layers       applying layer tars safely inside a rootfs, with whiteouts
  imageconfig  image config -> runtime config.json, with user resolution
  progress     progress line on a terminal for long unpacks

Nothing here is imported by create/start/state/kill/delete/exec.
"""
