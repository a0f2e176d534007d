"""A minimal client of Kubernetes' CRI (runtime.v1.RuntimeService), the API the
kubelet speaks to containerd: enough to drive pods and containers the way a
node does, for tests/engines/test_kubernetes_cri.py.

No package ships a CRI client or its generated messages here, and containerd's
CRI server has no reflection; so the messages this test needs are written by
hand from the public API definition (k8s.io/cri-api, pkg/apis/runtime/v1/
api.proto: field names, numbers and types), in protobuf's wire format, and
sent with grpcio's generic unary calls (bytes in, bytes out).  Only facts of the
protocol are used; nothing is copied.

A message to send is a list of (field number, value): str and bytes are
length-delimited, bool and int are varints (negative ints as 64-bit two's
complement), a Message is a nested message, a list repeats its field, and a
dict is a map<string,string>.  A received message decodes to {number: [raw
values]}: varints as int, length-delimited fields as bytes (decode() them
again for a nested message, or .decode() for a string).
"""


class Message(list):
    """A nested message: a list of (field number, value)."""


def _varint(value):
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode(fields):
    out = bytearray()
    for number, value in fields:
        if value is None:
            continue
        if isinstance(value, dict):  # map<string,string>: repeated {key = 1, value = 2}
            for key, item in value.items():
                out += _field(number, Message([(1, key), (2, item)]))
        elif isinstance(value, list) and not isinstance(value, Message):
            for item in value:
                out += _field(number, item)
        else:
            out += _field(number, value)
    return bytes(out)


def _field(number, value):
    if isinstance(value, bool) or isinstance(value, int):
        return _varint(number << 3) + _varint(int(value))
    if isinstance(value, Message):
        data = encode(value)
    elif isinstance(value, str):
        data = value.encode()
    elif isinstance(value, bytes):
        data = value
    else:
        raise TypeError(f"field {number}: cannot encode {type(value).__name__}")
    return _varint((number << 3) | 2) + _varint(len(data)) + data


def decode(data):
    fields, at = {}, 0
    while at < len(data):
        key, at = _read_varint(data, at)
        number, kind = key >> 3, key & 7
        if kind == 0:
            value, at = _read_varint(data, at)
        elif kind == 2:
            size, at = _read_varint(data, at)
            value, at = data[at:at + size], at + size
        elif kind == 1:
            value, at = int.from_bytes(data[at:at + 8], "little"), at + 8
        elif kind == 5:
            value, at = int.from_bytes(data[at:at + 4], "little"), at + 4
        else:
            raise ValueError(f"wire type {kind} of field {number} is not read here")
        fields.setdefault(number, []).append(value)
    return fields


def _read_varint(data, at):
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def text(fields, number, default=""):
    return fields[number][0].decode() if number in fields else default


def number(fields, field, default=0):
    return fields[field][0] if field in fields else default


def nested(fields, field):
    return decode(fields[field][0]) if field in fields else {}


# ------------------------------------------------------------------ the service

NODE = 2  # NamespaceMode: the host's namespace (a host-network pod needs no CNI)
CONTAINER_RUNNING, CONTAINER_EXITED = 1, 2


class RuntimeService:
    """runtime.v1.RuntimeService on a unix socket (grpcio)."""

    def __init__(self, socket_path, timeout=60):
        import grpc

        self.grpc = grpc
        self.channel = grpc.insecure_channel(f"unix://{socket_path}")
        self.timeout = timeout

    def close(self):
        self.channel.close()

    def call(self, method, fields, timeout=None):
        stub = self.channel.unary_unary(f"/runtime.v1.RuntimeService/{method}",
                                        request_serializer=lambda b: b, response_deserializer=lambda b: b)
        return decode(stub(encode(fields), timeout=timeout or self.timeout))

    def version(self):
        reply = self.call("Version", [(1, "v1")])
        return {"runtime_name": text(reply, 2), "runtime_version": text(reply, 3),
                "runtime_api_version": text(reply, 4)}

    # PodSandboxConfig: metadata = 1, hostname = 2, log_directory = 3, labels = 6, linux = 8
    @staticmethod
    def sandbox_config(name, uid, namespace, log_directory, cgroup_parent):
        """A host-network pod's config, as the kubelet makes it: no hostname (the kubelet
        sets one only for a pod with its own network, and so its own UTS namespace;
        containerd would pass it on, and a runtime must refuse a hostname without one)."""
        metadata = Message([(1, name), (2, uid), (3, namespace), (4, 0)])
        # LinuxSandboxSecurityContext.namespace_options (1): network = 1, pid = 2, ipc = 3
        security = Message([(1, Message([(1, NODE)]))])
        linux = Message([(1, cgroup_parent), (2, security)])
        return Message([(1, metadata), (3, log_directory), (8, linux)])

    def run_pod_sandbox(self, config, handler):
        return text(self.call("RunPodSandbox", [(1, config), (2, handler)]), 1)

    def pod_sandbox_state(self, sandbox_id):
        status = nested(self.call("PodSandboxStatus", [(1, sandbox_id)]), 1)
        return number(status, 3)  # SANDBOX_READY = 0

    def stop_pod_sandbox(self, sandbox_id):
        self.call("StopPodSandbox", [(1, sandbox_id)])

    def remove_pod_sandbox(self, sandbox_id):
        self.call("RemovePodSandbox", [(1, sandbox_id)])

    def create_container(self, sandbox_id, sandbox_config, name, image, command, log_path, memory=None,
                         cpu_quota=None, cpu_period=None, cpu_shares=None):
        """ContainerConfig: metadata = 1, image = 2, command = 3, log_path = 11, linux = 15
        (LinuxContainerConfig.resources = 1: cpu_period 1, cpu_quota 2, cpu_shares 3,
        memory_limit_in_bytes 4)."""
        resources = Message([(1, cpu_period), (2, cpu_quota), (3, cpu_shares), (4, memory)])
        config = Message([(1, Message([(1, name), (2, 0)])), (2, Message([(1, image)])), (3, list(command)),
                          (11, log_path), (15, Message([(1, resources)]))])
        return text(self.call("CreateContainer", [(1, sandbox_id), (2, config), (3, sandbox_config)]), 1)

    def start_container(self, container_id):
        self.call("StartContainer", [(1, container_id)])

    def container_state(self, container_id):
        status = nested(self.call("ContainerStatus", [(1, container_id)]), 1)
        return number(status, 3), number(status, 7)  # state, exit_code

    def exec_sync(self, container_id, cmd, timeout=30):
        reply = self.call("ExecSync", [(1, container_id), (2, list(cmd)), (3, timeout)], timeout=timeout + 30)
        code = number(reply, 3)
        return (reply.get(1, [b""])[0].decode(), reply.get(2, [b""])[0].decode(),
                code - (1 << 32) if code >= 1 << 31 else code)

    def container_stats(self, container_id):
        stats = nested(self.call("ContainerStats", [(1, container_id)]), 1)
        cpu, memory = nested(stats, 2), nested(stats, 3)
        return {"cpu_ns": number(nested(cpu, 2), 1), "working_set": number(nested(memory, 2), 1)}

    def stop_container(self, container_id, timeout=5):
        self.call("StopContainer", [(1, container_id), (2, timeout)], timeout=timeout + 60)

    def remove_container(self, container_id):
        self.call("RemoveContainer", [(1, container_id)])
