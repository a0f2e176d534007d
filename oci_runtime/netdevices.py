"""linux.netDevices: move host interfaces into the container's network namespace.

For each ``"hostName": {"name": "newName"}`` (name defaults to hostName):
the interface's permanent global addresses are read in the host namespace,
the interface is moved into the container's namespace, renamed there, given
those addresses back and brought up.  A name already taken in the container
is an error.  Nothing moves it back on delete (runtime-spec: when the
namespace goes, the kernel returns physical devices and destroys virtual ones).

pyroute2 costs ~100 ms to import, so this module is imported only when a
config has netDevices, never on the usual create path.
"""
import os

from oci_runtime import shim
from oci_runtime.errors import OCIError

IFA_F_PERMANENT = 0x80


def check(config, new_flags):
    devices = config["linux"].get("netDevices")
    if devices and not new_flags & shim.CLONE_NEWNET:
        raise OCIError("config.json: linux.netDevices: requires a new network namespace")


def move_all(devices, init_pid):
    from pyroute2 import IPRoute

    with IPRoute() as host:
        for host_name, spec in devices.items():
            new_name = spec.get("name") or host_name  # config.py: each value is an object
            where = f"linux.netDevices.{host_name}"
            found = host.link_lookup(ifname=host_name)
            if not found:
                raise OCIError(f"{where}: no such network interface on the host")
            index = found[0]
            addresses = _permanent_global_addresses(host, index)
            # The lambdas run at once, inside this iteration: binding the loop variables is right.
            _in_namespace(init_pid, lambda ipr: _refuse_clash(ipr, new_name, where))  # noqa: B023
            host.link("set", index=index, state="down")
            netns_fd = os.open(f"/proc/{init_pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
            try:
                host.link("set", index=index, net_ns_fd=netns_fd)
            finally:
                os.close(netns_fd)
            _in_namespace(init_pid, lambda ipr: _configure(ipr, host_name, new_name, addresses, where))  # noqa: B023


def _permanent_global_addresses(ipr, index):
    result = []
    for message in ipr.get_addr(index=index):
        flags = message.get_attr("IFA_FLAGS") or message["flags"]
        if message["scope"] == 0 and flags & IFA_F_PERMANENT:
            result.append((message.get_attr("IFA_ADDRESS"), message["prefixlen"]))
    return result


def _refuse_clash(ipr, new_name, where):
    if ipr.link_lookup(ifname=new_name):
        raise OCIError(f"{where}: an interface named {new_name} already exists in the container")


def _configure(ipr, old_name, new_name, addresses, where):
    index = ipr.link_lookup(ifname=old_name)[0]
    if new_name != old_name:
        ipr.link("set", index=index, ifname=new_name)
    for address, prefixlen in addresses:
        ipr.addr("add", index=index, address=address, prefixlen=prefixlen)
    ipr.link("set", index=index, state="up")


def _in_namespace(init_pid, action):
    """Run ``action(IPRoute)`` in the container's network namespace (a forked
    child joins it, so this process never leaves the host's)."""
    from pyroute2 import IPRoute

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        message = b""
        try:
            fd = os.open(f"/proc/{init_pid}/ns/net", os.O_RDONLY)
            shim.setns(fd, shim.CLONE_NEWNET)
            with IPRoute() as ipr:
                action(ipr)
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            message = str(exc).encode() or type(exc).__name__.encode()
        os.write(write_end, message)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as f:
        error = f.read().decode(errors="replace")
    os.waitpid(pid, 0)
    if error:
        raise OCIError(error)
