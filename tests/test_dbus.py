"""The D-Bus client of the systemd driver (oci_runtime/dbus.py), against a real
dbus-daemon this test starts on a private socket (no systemd needed): the
EXTERNAL handshake, Hello, calls with their replies, an error reply, a signal
read after other traffic, and the wire format of the types the driver sends
(StartTransientUnit's ``ssa(sv)a(sa(sv))``) read back by the daemon itself."""
import os
import shutil
import subprocess
import time

import pytest

from oci_runtime import dbus

DBUS = ("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus")

pytestmark = pytest.mark.skipif(shutil.which("dbus-daemon") is None, reason="no dbus-daemon on this host")


@pytest.fixture
def bus(tmp_path):
    path = str(tmp_path / "bus")
    daemon = subprocess.Popen(["dbus-daemon", "--session", "--nofork", f"--address=unix:path={path}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(path) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert os.path.exists(path), "dbus-daemon did not start"
        yield path
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)


def test_calls_replies_and_errors(bus):
    with dbus.Connection(bus, bus=True) as conn:
        (names,) = conn.call(*DBUS, "ListNames")
        assert "org.freedesktop.DBus" in names
        assert any(name.startswith(":") for name in names)  # our unique name: Hello was called
        assert conn.call(*DBUS, "RequestName", "su", ("org.example.Probe", 0)) == [1]  # primary owner
        (owner,) = conn.call(*DBUS, "GetNameOwner", "s", ("org.example.Probe",))
        assert owner.startswith(":")
        with pytest.raises(dbus.DBusError) as caught:
            conn.call(*DBUS, "NoSuchMethod")
        assert caught.value.name == "org.freedesktop.DBus.Error.UnknownMethod"


def test_a_signal_is_found_among_other_messages(bus):
    with dbus.Connection(bus, bus=True) as sender, dbus.Connection(bus, bus=True) as receiver:
        receiver.call(*DBUS, "AddMatch", "s", ("type='signal',interface='org.example.Jobs'",))
        for n in range(3):
            sender.send(dbus.SIGNAL, "", "/org/example", "org.example.Jobs", "JobRemoved", "uoss",
                        (n, f"/job/{n}", f"u{n}.scope", "done"))
        assert receiver.call(*DBUS, "ListNames")  # a reply read while the signals queue up
        assert receiver.wait_for_signal("JobRemoved", lambda body: body[1] == "/job/2") == \
            [2, "/job/2", "u2.scope", "done"]
        assert receiver.wait_for_signal("JobRemoved", lambda body: body[1] == "/job/0")[0] == 0


def test_the_unit_properties_wire_format_round_trips_through_the_daemon(bus):
    """A message carrying StartTransientUnit's arguments, sent to ourselves through
    the daemon (which checks the body against its signature), arrives intact."""
    props = [("Description", ("s", "oci-runtime container x")), ("Slice", ("s", "system.slice")),
             ("Delegate", ("b", True)), ("PIDs", ("au", [1, 4242])), ("MemoryMax", ("t", 2**64 - 1)),
             ("AllowedCPUs", ("ay", b"\x05")), ("CPUWeight", ("t", 100))]
    with dbus.Connection(bus, bus=True) as conn:
        conn.call(*DBUS, "AddMatch", "s", ("type='signal',interface='org.example.Units'",))
        conn.send(dbus.SIGNAL, "", "/org/example", "org.example.Units", "Start", "ssa(sv)a(sa(sv))",
                  ("x.scope", "replace", props, []))
        body = conn.wait_for_signal("Start", lambda body: True)
    assert body[:2] == ["x.scope", "replace"] and body[3] == []
    assert [name for name, _ in body[2]] == [name for name, _ in props]
    values = dict(body[2])
    assert values["Description"] == "oci-runtime container x" and values["CPUWeight"] == 100
    assert values["PIDs"] == [1, 4242] and values["MemoryMax"] == 2**64 - 1 and values["Delegate"] is True
    assert values["AllowedCPUs"] == [5]


def test_no_daemon_is_a_clear_oserror(tmp_path):
    with pytest.raises(OSError):
        dbus.Connection(str(tmp_path / "nothing-here"), bus=True)


def test_the_system_bus_address_from_the_environment(monkeypatch):
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/run/other/bus,guid=1;tcp:host=x")
    assert dbus.system_bus_path() == "/run/other/bus"
    monkeypatch.delenv("DBUS_SYSTEM_BUS_ADDRESS")
    assert dbus.system_bus_path() == "/run/dbus/system_bus_socket"


def test_the_session_bus_and_the_user_managers_socket_from_the_environment(monkeypatch):
    """systemd_user.py's addresses: DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/bus."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1234")
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/tmp/session-bus")
    assert dbus.session_bus_path() == "/tmp/session-bus"
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS")
    assert dbus.session_bus_path() == "/run/user/1234/bus"
    assert dbus.user_manager_private_path() == "/run/user/1234/systemd/private"


def test_authentication_names_the_uid_the_daemon_sees(bus):
    """A rootless podman runtime is uid 0 in its user namespace; the daemon sees the
    host uid, so that is the one to name (host_uid): another uid is refused."""
    with dbus.Connection(bus, bus=True, uid=os.geteuid()) as conn:
        assert conn.call(*DBUS, "ListNames")
    with pytest.raises(dbus.DBusError) as refused:
        dbus.Connection(bus, bus=True, uid=os.geteuid() + 4242)
    assert "authentication refused" in str(refused.value)


def test_host_uid_is_the_uid_one_user_namespace_up():
    """As root of a user namespace made by nobody (what rootless podman does), the
    uid the host sees is nobody's, not 0."""
    import pwd
    import sys

    assert dbus.host_uid() == os.geteuid()  # the initial namespace: the identity map
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root (to become nobody) and unshare(1)")
    nobody = pwd.getpwnam("nobody").pw_uid
    code = "import os; from oci_runtime import dbus; print(os.geteuid(), dbus.host_uid())"
    inside = subprocess.run(["runuser", "-u", "nobody", "--", "unshare", "--user", "--map-root-user",
                             sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=os.path.dirname(os.path.dirname(dbus.__file__)))
    if inside.returncode != 0 and "Operation not permitted" in inside.stderr:
        pytest.skip(f"users may not make user namespaces here: {inside.stderr.strip()}")
    assert inside.stdout.split() == ["0", str(nobody)], inside.stderr
