"""oci-runtime: an OCI runtime-spec container runtime with runc's command-line contract.

Module map (one concern each):
  cli         argument parsing and dispatch, error reporting, exit codes
  operations  one module per subcommand (create, start, state, kill, delete, run, ...)
  config      typed, complete and fast checking of config.json
  state       the state store under --root: state.json, locks, status from the kernel
  process     the create path: parent/child protocol, the forks, the init's last steps
  rootfs      the container's filesystem view: every path through a descriptor of the
              root (inroot), mounts built detached and the /proc, /sys rules (mounts),
              /dev (dev), the order, pivot_root and masked paths (assemble), the pty
              (console)
  importguard no Python import once a child enters the container's namespaces
  atomicfile  files replaced whole (O_TMPFILE + linkat), pid files
  mountinfo   /proc/self/mountinfo with its octal escapes decoded
  namespaces  namespace flags, joining by path, type checks
  cgroups     cgroup placement and removal
  capabilities capability names and masks
  shim        the cffi syscall wrappers, turned into OSError
  procfs      the runtime's own procfs handle for writes to /proc (docs/security.md)
  seccomp     linux.seccomp compiled with libseccomp; notify listener hand-over
  sync        messages between create and its children
  log         --log / --log-format output
  faults      named fault points (crash/stall at a step) for the reliability tests
"""

__version__ = "0.1.0"
OCI_VERSION = "1.3.0"
