"""linux.seccomp.listenerPath: SCMP_ACT_NOTIFY rules, with a real agent.

The agent here is the test itself: it listens on a unix socket, receives the
container process state and the notify fd (runtime.md "containerProcessState"),
then answers the container's notified syscalls through the kernel's
SECCOMP_IOCTL_NOTIF_RECV / _SEND.  The container sees the agent's answer.
"""
import errno
import fcntl
import json
import os
import select
import socket
import struct
import threading

import pytest

from conftest import wait_for
from test_seccomp import profile

NOTIF_SIZE = 80  # struct seccomp_notif
NOTIF_RECV = (3 << 30) | (NOTIF_SIZE << 16) | (ord("!") << 8) | 0
NOTIF_SEND = (3 << 30) | (24 << 16) | (ord("!") << 8) | 1


class Agent:
    """A seccomp agent answering every notification with -ENOMEDIUM."""

    def __init__(self, path):
        self.path = path
        self.states = []
        self.syscalls = []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(4)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop.is_set():
            if not select.select([self.server], [], [], 0.1)[0]:
                continue
            conn, _ = self.server.accept()
            with conn:
                data, fds, _, _ = socket.recv_fds(conn, 65536, 4)
            self.states.append(json.loads(data))
            threading.Thread(target=self._answer, args=(fds[0],), daemon=True).start()

    def _answer(self, fd):
        try:
            while not self.stop.is_set():
                ready, _, broken = select.select([fd], [], [fd], 0.1)
                if not ready:
                    continue
                notif = bytearray(NOTIF_SIZE)
                try:
                    fcntl.ioctl(fd, NOTIF_RECV, notif)
                except OSError:
                    return  # every process using the filter has gone
                notif_id, _pid, _flags, nr = struct.unpack_from("=QIIi", notif)
                self.syscalls.append(nr)
                response = struct.pack("=QqiI", notif_id, 0, -errno.ENOMEDIUM, 0)
                try:
                    fcntl.ioctl(fd, NOTIF_SEND, bytearray(response))
                except OSError:
                    pass
        finally:
            os.close(fd)

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.server.close()


@pytest.fixture
def agent(tmp_path):
    a = Agent(str(tmp_path / "agent.sock"))
    yield a
    a.close()


def notify_profile(agent, **extra):
    return profile(listenerPath=agent.path, listenerMetadata="meta-1",
                   syscalls=[{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}], **extra)


@pytest.mark.parametrize("nnp", [True, False])
def test_the_agent_gets_the_container_process_state(rt, agent, nnp):
    seccomp = notify_profile(agent)
    bundle = rt.bundle(["sh", "-c", "mkdir /tmp/x"], noNewPrivileges=nnp,
                       edit=lambda c: c["linux"].update(seccomp=seccomp))
    container_id = rt.create(bundle)
    init_pid = rt.state(container_id)["pid"]
    rt.cmd("start", container_id, check=True)
    assert wait_for(lambda: rt.state(container_id)["status"] == "stopped", 10)
    (message,) = agent.states
    assert message["fds"] == ["seccompFd"] and message["metadata"] == "meta-1"
    assert message["pid"] == init_pid
    assert message["state"]["id"] == container_id and message["state"]["status"] == "creating"
    assert agent.syscalls, "the agent saw no notification"


def test_run_shows_the_agents_errno(rt, agent):
    seccomp = notify_profile(agent, flags=["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"])
    bundle = rt.bundle(["sh", "-c", "mkdir /tmp/x 2>&1; echo rc=$?; touch /tmp/f && echo touch-ok"],
                       noNewPrivileges=True, edit=lambda c: c["linux"].update(seccomp=seccomp))
    out = rt.run(bundle).stdout
    assert "No medium found" in out and "rc=1" in out  # ENOMEDIUM: the agent's answer
    assert "touch-ok" in out
    assert set(agent.syscalls) <= {83, 258}  # mkdir, mkdirat on x86_64


def test_exec_hands_its_own_listener_fd_over(rt, agent):
    seccomp = notify_profile(agent)
    bundle = rt.bundle(["sleep", "60"], edit=lambda c: c["linux"].update(seccomp=seccomp))
    container_id = rt.create(bundle)
    rt.cmd("start", container_id, check=True)
    result = rt.cmd("exec", container_id, "sh", "-c", "mkdir /tmp/y 2>&1; echo rc=$?")
    assert "No medium found" in result.stdout and "rc=1" in result.stdout
    assert [m["state"]["status"] for m in agent.states] == ["creating", "running"]


def test_an_absent_listener_fails_create_and_leaves_nothing(rt, tmp_path):
    seccomp = profile(listenerPath=str(tmp_path / "nobody.sock"),
                      syscalls=[{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}])
    bundle = rt.bundle(["true"], edit=lambda c: c["linux"].update(seccomp=seccomp))
    container_id = rt.new_id()
    result = rt.cmd("create", "--bundle", str(bundle), container_id)
    assert result.returncode == 1
    assert "linux.seccomp.listenerPath" in result.stderr and "nobody.sock" in result.stderr
    assert "failed to connect with seccomp agent" in result.stderr  # runc's phrase
    assert not os.path.exists(rt.state_dir(container_id))


@pytest.mark.parametrize("seccomp, field", [
    (profile(syscalls=[{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]), "linux.seccomp.listenerPath"),
    (profile(default="SCMP_ACT_NOTIFY", listenerPath="/x"), "linux.seccomp.defaultAction"),
    (profile(listenerPath="/x", syscalls=[{"names": ["sendmsg"], "action": "SCMP_ACT_NOTIFY"}]),
     "linux.seccomp.syscalls[0].names"),
    (profile(listenerPath="/x", syscalls=[{"names": ["mkdir", "write"], "action": "SCMP_ACT_NOTIFY"}]),
     "linux.seccomp.syscalls[0].names"),  # refused by runc too
    (profile(flags=["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]), "linux.seccomp.flags"),
])
def test_notify_configs_that_cannot_work_are_refused(seccomp, field):
    from oci_runtime import seccomp as seccomp_mod
    from oci_runtime.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        seccomp_mod.check(seccomp)
    assert str(caught.value).startswith(f"invalid configuration: config.json: {field}")


@pytest.mark.parametrize("nnp", [True, False])
def test_no_seccomp_descriptor_reaches_the_process(rt, agent, nnp):
    """The compiled program's memfd and the listener fd are the runtime's: neither
    may cross the exec (the agent holds the only listener)."""
    seccomp = notify_profile(agent)
    bundle = rt.bundle(["ls", "/proc/self/fd"], noNewPrivileges=nnp,
                       edit=lambda c: c["linux"].update(seccomp=seccomp))
    out = rt.run(bundle).stdout
    assert sorted(out.split()) == ["0", "1", "2", "3"], out  # stdio and ls's own directory fd
