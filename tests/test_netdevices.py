"""linux.netDevices with veth pairs the test makes itself (no dummy links on this kernel)."""
import subprocess

import pytest

ADDRESS = "198.51.100.7"  # TEST-NET-2 (documentation range); nothing is ever sent to it


@pytest.fixture
def veth(rt):
    host_name, peer = f"ov{rt.tag[:6]}a", f"ov{rt.tag[:6]}b"
    subprocess.run(["ip", "link", "add", host_name, "type", "veth", "peer", "name", peer], check=True)
    subprocess.run(["ip", "addr", "add", f"{ADDRESS}/24", "dev", host_name], check=True)
    yield host_name
    # Whichever end is left on the host takes the pair with it.
    for name in (peer, host_name):
        subprocess.run(["ip", "link", "delete", name], capture_output=True)


def links_on_host():
    return subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout


def test_device_is_moved_renamed_addressed_and_up(rt, veth):
    bundle = rt.bundle(["sh", "-c", "ip -o addr show dev eth1; cat /sys/class/net/eth1/flags"],
                       edit=lambda c: c["linux"].update(netDevices={veth: {"name": "eth1"}}))
    out = rt.run(bundle).stdout
    assert f"inet {ADDRESS}/24" in out
    assert int(out.split()[-1], 16) & 0x1  # IFF_UP
    assert f" {veth}:" not in links_on_host() and f" {veth}@" not in links_on_host()


def test_name_clash_is_an_error(rt, veth):
    bundle = rt.bundle(edit=lambda c: c["linux"].update(netDevices={veth: {"name": "lo"}}))
    result = rt.cmd("create", "-b", str(bundle), rt.new_id())
    assert result.returncode == 1
    assert f"linux.netDevices.{veth}" in result.stderr and "already exists" in result.stderr
    assert veth in links_on_host()  # refused before it was moved


def test_missing_host_device(rt):
    bundle = rt.bundle(edit=lambda c: c["linux"].update(netDevices={"nosuchif0": {}}))
    result = rt.cmd("create", "-b", str(bundle), rt.new_id())
    assert result.returncode == 1 and "no such network interface" in result.stderr
