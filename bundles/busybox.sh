#!/bin/sh
# Build a busybox OCI bundle from Debian's busybox-static package.
#
#   sh bundles/busybox.sh OUTDIR [OCI_RUNTIME]
#
# OUTDIR/rootfs gets the static busybox with every applet linked under /bin,
# /etc/passwd and /etc/group with root and a non-root user (1000:1000
# "user"), and the directories a container expects.  OUTDIR/config.json is
# written by `oci-runtime spec` (OCI_RUNTIME, default: oci-runtime on PATH)
# and adjusted for non-interactive use: no terminal, a writable root, and an
# absolute cgroupsPath under /oci-runtime-bundles (never the caller's cgroup).
# Needs: busybox-static (apt-get install busybox-static).
set -eu
out=${1:?usage: busybox.sh OUTDIR [OCI_RUNTIME]}
runtime=${2:-oci-runtime}
busybox=/bin/busybox
[ -x "$busybox" ] || busybox=/usr/bin/busybox
if [ ! -x "$busybox" ]; then
  echo "busybox.sh: $busybox not found: apt-get install busybox-static" >&2
  exit 1
fi
if ldd "$busybox" >/dev/null 2>&1; then
  echo "busybox.sh: $busybox is dynamically linked; install busybox-static" >&2
  exit 1
fi

rm -rf "$out"
mkdir -p "$out/rootfs"
root="$out/rootfs"
for d in bin sbin etc proc sys dev tmp root home/user usr/bin usr/sbin var/tmp run; do
  mkdir -p "$root/$d"
done
chmod 1777 "$root/tmp" "$root/var/tmp"
cp "$busybox" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
cat > "$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$root/etc/group" <<'GROUP'
root:x:0:
tty:x:5:
user:x:1000:
nogroup:x:65534:
GROUP
chown 1000:1000 "$root/home/user"
echo "oci-runtime busybox bundle" > "$root/etc/motd"

"$runtime" spec --bundle "$out"
# Non-interactive defaults: tests and `make demo` read the output over pipes.
python3 - "$out/config.json" <<'PY'
import json, sys
path = sys.argv[1]
with open(path) as f:
    config = json.load(f)
config["process"]["terminal"] = False
config["root"]["readonly"] = False
config["linux"]["cgroupsPath"] = "/oci-runtime-bundles/busybox"
with open(path, "w") as f:
    json.dump(config, f, indent="\t")
    f.write("\n")
PY
echo "busybox bundle ready in $out"
