"""oci-runtime: an OCI runtime-spec container runtime with runc's command-line contract.

Module map (one concern each; docs/architecture.md draws the layers):

  cli, cliparse  the command line: parsing, dispatch, error reporting, exit codes
  operations/   one thin module per subcommand: flags in, a lifecycle call, output
  api           the public Python API (Runtime): the same lifecycle calls, typed
  lifecycle/    the library: one module per operation (create, start, run,
                execute, kill, delete, pause, update, events, query); no
                printing, no flag parsing
  process/      the forks and what passes between them: spawn (fork + channel,
                shared by create and exec), messages, container_init (create's
                children), waiter_plan (what the C waiter does), terminal,
                mount_sources (bind sources a user-namespaced init cannot reach),
                id_maps (a new user namespace's uid/gid maps, newuidmap when rootless)
  config        typed, complete and fast checking of config.json
  state         the state store under --root: state.json, locks, status from the kernel
  rootfs/       the container's filesystem view: every path through a descriptor of the
                root (inroot), mounts built detached and the /proc, /sys rules (mounts),
                /dev (dev), the order, pivot_root and masked paths (assemble), the pty
                (console), the host's mounts of a container without a mount
                namespace (host_mounts)
  cgroups/      cgroup placement, limits, stats, freezing, removal; drivers fs_v1,
                fs_v2 and systemd (a transient scope per container, over D-Bus),
                systemd_user (the same in a rootless caller's systemd --user)
  rootless      what "rootless" means (runc's rules), the default --root it gets
  dbus          a small D-Bus client (the systemd driver's), written from the spec
  namespaces    namespace flags, joining by path, type checks
  capabilities  capability names and masks
  namespace_settings sysctls, time namespace offsets, the loopback interface
  process_attributes personality, scheduler, I/O priority, LSM labels
  seccomp       linux.seccomp compiled with libseccomp (_libseccomp, loaded only for a
                profile); notify listener hand-over
  seccomp_cache compiled programs kept by the digest of what made them
  hooks         the runtime-spec hooks and the state they are given
  importguard   no Python import once a child enters the container's namespaces
  atomicfile    files replaced whole (O_TMPFILE + linkat), pid files
  mountinfo     /proc/self/mountinfo with its octal escapes decoded
  procfs        the runtime's own procfs handle for writes to /proc (docs/security.md)
  netdevices    linux.netDevices moved into the container's network namespace
  shim          the cffi syscall wrappers (_shim), turned into OSError
  log           --log / --log-format output
  errors        the exception types and how they are shown
  spec_default  the config.json `spec` writes (runc spec's)
  faults        named fault points (crash/stall at a step) for the reliability tests
  image/        OCI image layouts unpacked into bundles (`bundle`)
  launch        the installed command's entry point (after the C launcher)
  fastimport    the command line's modules made from their .pyc (and its C modules
                found) without the import system's finders
  lazyos, fileio  os without os.py on the command line; small files in four syscalls
  fastjson, signals, sockets  light stand-ins for json, signal, socket (start-up time);
                              fastjson.go_dumps writes JSON as runc (Go) prints it
"""

__version__ = "0.1.0"
OCI_VERSION = "1.3.0"
