#!/bin/bash
# Build and run the opencontainers runtime-tools validation suite against a runtime.
#
#   tests/runtime_tools/run.sh [PROGRAM ...]
#
# Environment:
#   RUNTIMES      space-separated runtime binaries (default: .venv/bin/oci-runtime)
#   RTOOLS_GOPATH where the suite's sources are: $RTOOLS_GOPATH/src/github.com/
#                 opencontainers/runtime-tools is an unmodified upstream tree (with its
#                 vendor/ directory, which brings every dependency, tap-go included).
#                 Default: /work/rtools-src. Debian's
#                 golang-github-opencontainers-runtime-tools-dev ships only the library
#                 packages, not validation/ or cmd/runtimetest/; see docs/validation.md.
#   RTOOLS_GIT    a git directory (or clone) of the upstream runtime-tools repository;
#                 when the sources are missing, RTOOLS_COMMIT is extracted from it into
#                 RTOOLS_GOPATH (git archive, nothing else changed)
#   RTOOLS_COMMIT the pinned upstream commit (default below: the last one whose go.mod
#                 says go 1.19, the Go of Debian 12; later ones need Go >= 1.21)
#   OUT           output directory (default: build/validation)
#   PROG_TIMEOUT  seconds per program (default 180)
# Results: $OUT/results/<runtime>/<program>.{tap,err,rc}, $OUT/summary.{json,md}.
# Container-creating steps take /tmp/ocirt-suite.lock one program at a time.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
RUNTIMES=${RUNTIMES:-$repo/.venv/bin/oci-runtime}
RTOOLS_GOPATH=${RTOOLS_GOPATH:-/work/rtools-src}
RTOOLS_GIT=${RTOOLS_GIT:-}
RTOOLS_COMMIT=${RTOOLS_COMMIT:-260e151b8552afa2678ef6d41820ea0f31cd8be1}
OUT=${OUT:-$repo/build/validation}
PROG_TIMEOUT=${PROG_TIMEOUT:-180}
LOCK=${LOCK:-/tmp/ocirt-suite.lock}
pkg=github.com/opencontainers/runtime-tools
src=$RTOOLS_GOPATH/src/$pkg

if [ ! -d "$src/validation" ] && [ -n "$RTOOLS_GIT" ]; then
  echo "== extracting runtime-tools $RTOOLS_COMMIT from $RTOOLS_GIT into $src"
  mkdir -p "$src" && git --git-dir="$(git -C "$RTOOLS_GIT" rev-parse --absolute-git-dir 2>/dev/null || echo "$RTOOLS_GIT")" \
    archive "$RTOOLS_COMMIT" | tar -x -C "$src" || { rm -rf "$src"; exit 2; }
  echo "$RTOOLS_COMMIT" > "$src/.rtools-commit"
fi
if [ ! -d "$src/validation" ] || [ ! -d "$src/cmd/runtimetest" ] || [ ! -f "$src/vendor/modules.txt" ]; then
  echo "run.sh: no runtime-tools sources (with vendor/) under $src" >&2
  echo "  (set RTOOLS_GIT to a runtime-tools clone, or RTOOLS_GOPATH; see docs/validation.md)" >&2
  exit 2
fi
if [ "$(cat "$src/.rtools-commit" 2>/dev/null)" != "$RTOOLS_COMMIT" ]; then
  echo "run.sh: warning: $src is not marked as runtime-tools $RTOOLS_COMMIT" >&2
fi

mkdir -p "$OUT/bin" "$OUT/work"
# upstream's own module build, offline, from its vendor/ directory (no Debian -dev
# library package is used, so the libraries match the programs)
export GO111MODULE=on GOFLAGS=-mod=vendor GOPROXY=off GOTOOLCHAIN=local CGO_ENABLED=0
export GOPATH=${GOPATH:-$OUT/gopath}
export GOCACHE=${GOCACHE:-$OUT/gocache}

# 1. build
echo "== building runtimetest and validation programs"
( cd "$src" && go build -o "$OUT/work/runtimetest" ./cmd/runtimetest ) || exit 1
progs=("$@")
if [ ${#progs[@]} -eq 0 ]; then
  for d in "$src"/validation/*/; do
    n=$(basename "$d"); [ "$n" = util ] || progs+=("$n")
  done
fi
built=()
for n in "${progs[@]}"; do
  if ( cd "$src" && go build -o "$OUT/bin/$n" ./validation/$n ); then built+=("$n"); else echo "build of $n failed" >&2; fi
done

# 2. rootfs: the busybox bundle of bundles/busybox.sh, tarred as the suite expects
arch=$(cd "$src" && go env GOARCH)
if [ ! -f "$OUT/work/rootfs-$arch.tar.gz" ]; then
  sh "$repo/bundles/busybox.sh" "$OUT/bundle" "${RUNTIMES%% *}" >/dev/null || exit 1
  tar -C "$OUT/bundle/rootfs" -czf "$OUT/work/rootfs-$arch.tar.gz" .
fi

state_root() {  # where a runtime keeps its container state by default
  case "$(basename "$1")" in
    runc) echo /run/runc ;;
    *) echo /run/oci-runtime ;;
  esac
}

cgroup_dirs() {  # cgroup directories the suite may create (absolute and relative paths)
  ls -d /sys/fs/cgroup/*/cgrouptest /sys/fs/cgroup/*/testdir /sys/fs/cgroup/unified/*/cgrouptest 2>/dev/null
}

cleanup_after() {  # $1 runtime, $2 file listing containers present before
  local rt=$1 before=$2 root id
  root=$(state_root "$rt")
  for id in $(ls "$root" 2>/dev/null); do
    grep -qx "$id" "$before" && continue
    echo "cleanup: leftover container $id" >&2
    "$rt" delete --force "$id" >/dev/null 2>&1
  done
  # remove (bottom-up) empty cgroup directories created by the suite's fixed paths
  for d in $(cgroup_dirs); do
    find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  for d in /tmp/ocitest* /tmp/oci-pid*; do
    [ -e "$d" ] || continue
    grep -qs "^$d\$" "$before.tmp" && continue
    umount -R "$d" 2>/dev/null; rm -rf "$d"
  done
}

start=$(date +%s)
dirs=()
for rt in $RUNTIMES; do
  name=$(basename "$rt")
  res="$OUT/results/$name"; rm -rf "$res"; mkdir -p "$res"; dirs+=("$res")
  echo "== running ${#built[@]} programs against $rt"
  for n in "${built[@]}"; do
    before=$(mktemp); ls "$(state_root "$rt")" 2>/dev/null > "$before"
    ls -d /tmp/ocitest* /tmp/oci-pid* 2>/dev/null > "$before.tmp"
    t0=$(date +%s.%N)
    ( cd "$OUT/work" && RUNTIME=$rt flock "$LOCK" timeout -k 10 "$PROG_TIMEOUT" "$OUT/bin/$n" ) \
      >"$res/$n.tap" 2>"$res/$n.err"
    echo $? > "$res/$n.rc"
    cleanup_after "$rt" "$before"
    rm -f "$before" "$before.tmp"
    printf '  %-40s rc=%s %5.1fs\n' "$n" "$(cat "$res/$n.rc")" "$(echo "$(date +%s.%N) - $t0" | bc)"
  done
done
echo "== total $(( $(date +%s) - start ))s"
"$repo/.venv/bin/python" "$here/summarize.py" "${dirs[@]}" --json "$OUT/summary.json" --markdown "$OUT/summary.md"
