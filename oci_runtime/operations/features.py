"""`oci-runtime features`: the runtime-spec features document (features.md).

Every list is built from the tables the runtime itself uses (mount option
tables, namespace flags, capability names, hook names), so the document
cannot drift from what `create` accepts.  Things the runtime does not do
yet (AppArmor, SELinux, systemd cgroups...) are
reported as disabled rather than left out, so callers need not guess.
"""
import json
import sys

from oci_runtime import OCI_VERSION, __version__, capabilities, namespaces

OCI_VERSION_MIN = "1.0.0"
DEFAULT_HOOK_NAMES = ("prestart", "createRuntime", "createContainer", "startContainer",
                      "poststart", "poststop")
# Namespace types create does not fully handle (none today; kept so the list can shrink honestly).
UNSUPPORTED_NAMESPACES = ()


def hook_names():
    """Hook names from the hooks module when it exists, so the list follows the code."""
    try:
        from oci_runtime.hooks import HOOK_NAMES
    except ImportError:
        return list(DEFAULT_HOOK_NAMES)
    return list(HOOK_NAMES)


def mount_options():
    """Options the runtime itself acts on: mount(2) flags, propagation, recursive
    mount_setattr attributes and extensions (data options are filesystem-specific)."""
    from oci_runtime.rootfs.mount_options import EXTENSIONS, MOUNT_FLAGS, PROPAGATION_FLAGS, RECURSIVE_ATTRS

    return sorted(set(MOUNT_FLAGS) | set(PROPAGATION_FLAGS) | set(RECURSIVE_ATTRS) | set(EXTENSIONS))


def namespace_types():
    """Namespace types `create` fully handles: namespaces.SUPPORTED if declared, else
    FLAGS minus UNSUPPORTED_NAMESPACES."""
    supported = getattr(namespaces, "SUPPORTED", None)
    if supported is not None:
        return list(supported)
    return [name for name in namespaces.FLAGS if name not in UNSUPPORTED_NAMESPACES]


def capability_names():
    """Capability names both this runtime and the running kernel know (others are skipped)."""
    return list(capabilities.NAMES[: capabilities.last_cap() + 1])


ARCH_NAMES = ("SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
              "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",
              "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64",
              "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_RISCV64")


def seccomp_features():
    """What oci_runtime.seccomp accepts; architectures as this libseccomp resolves them."""
    from oci_runtime import seccomp
    from oci_runtime._libseccomp import lib as libseccomp
    from oci_runtime._shim import lib

    archs = [name for name in ARCH_NAMES
             if libseccomp.seccomp_arch_resolve_name(name.lower().replace("scmp_arch_", "").encode()) != 0]
    supported = [name for name, flag in sorted(seccomp.FLAGS.items())
                 if lib.oci_seccomp_flag_known(flag | _needs(name, seccomp))]
    return {"enabled": True, "actions": sorted(seccomp.ACTIONS), "operators": sorted(seccomp.OPERATORS),
            "archs": archs, "knownFlags": sorted(seccomp.FLAGS), "supportedFlags": supported}


def _needs(flag_name, seccomp):
    """The kernel accepts WAIT_KILLABLE_RECV only together with NEW_LISTENER."""
    return seccomp.NEW_LISTENER if flag_name == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" else 0


def linux_features():
    """The "linux" object (features-linux.md)."""
    disabled = {"enabled": False}
    return {
        "namespaces": namespace_types(),
        "capabilities": capability_names(),
        "cgroup": {"v1": True, "v2": True, "systemd": True, "systemdUser": False, "rdma": True},
        "seccomp": seccomp_features(),
        # Supported by the runtime (features-linux.md), whether or not this host runs them.
        "apparmor": {"enabled": True},
        "selinux": {"enabled": True},
        "intelRdt": dict(disabled),
        "mountExtensions": {"idmap": {"enabled": True}},
        "netDevices": {"enabled": True},
    }


def document():
    """The whole features document, as a dict."""
    return {
        "ociVersionMin": OCI_VERSION_MIN,
        "ociVersionMax": OCI_VERSION,
        "hooks": hook_names(),
        "mountOptions": mount_options(),
        "linux": linux_features(),
        "annotations": {
            "org.opencontainers.runtime-spec.features.implementation": "oci-runtime",
            "io.github.oci-runtime.version": __version__,
        },
    }


def main(g, opts, args):
    """Print the document with indent 4, as `runc features` does."""
    sys.stdout.write(json.dumps(document(), indent=4) + "\n")
    return 0
