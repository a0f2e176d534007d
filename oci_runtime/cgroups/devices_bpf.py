"""The cgroup v2 device filter: an eBPF BPF_PROG_TYPE_CGROUP_DEVICE program.

cgroup v2 has no devices.allow/deny; the kernel instead runs an eBPF program
on every device open and mknod.  ``program(rules)`` compiles the ordered OCI
rules into one: the rules are checked last-first and the first match
decides, so a later rule overrides an earlier one, as with v1's lists;
nothing matching means deny.  The program is loaded and attached with
bpf(2) through the shim; it lives as long as the cgroup.
"""
import os
import struct

from oci_runtime.errors import OCIError

BPF_PROG_LOAD, BPF_PROG_ATTACH = 5, 8
BPF_PROG_TYPE_CGROUP_DEVICE, BPF_CGROUP_DEVICE = 15, 6
BPF_F_ALLOW_MULTI = 2
DEV_TYPE = {"b": 1, "c": 2}                 # BPF_DEVCG_DEV_BLOCK / _CHAR
ACCESS = {"m": 1, "r": 2, "w": 4}           # BPF_DEVCG_ACC_MKNOD / _READ / _WRITE

# Registers: r1 = ctx; r2 = access bits; r3 = device type; r4 = major; r5 = minor.
R0, R1, R2, R3, R4, R5, R6 = range(7)


def _insn(code, dst=0, src=0, off=0, imm=0):
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


def _ldx_w(dst, src, off):
    return _insn(0x61, dst, src, off)          # dst = *(u32 *)(src + off)


def _mov_reg(dst, src):
    return _insn(0xBF, dst, src)


def _and_imm(dst, imm):
    return _insn(0x57, dst, imm=imm)


def _rsh_imm(dst, imm):
    return _insn(0x77, dst, imm=imm)


def _jne_imm(dst, imm, off):
    return _insn(0x55, dst, off=off, imm=imm)


def _jeq_imm(dst, imm, off):
    return _insn(0x15, dst, off=off, imm=imm)


def _mov_imm(dst, imm):
    return _insn(0xB7, dst, imm=imm)


EXIT = _insn(0x95)


def _access_bits(text):
    bits = 0
    for char in text or "rwm":
        bits |= ACCESS.get(char, 0)
    return bits


def _rule_block(rule):
    """Instructions for one rule; every 'no match' jumps to the block's end."""
    tests = []  # (register, value) pairs that must all hold
    kind = rule.get("type") or "a"
    if kind != "a":
        tests.append((R3, DEV_TYPE[kind]))
        if rule.get("major") not in (None, -1):
            tests.append((R4, rule["major"]))
        if rule.get("minor") not in (None, -1):
            tests.append((R5, rule["minor"]))
    bits = _access_bits(rule.get("access"))
    allow = bool(rule.get("allow"))
    # Allow: every requested bit is granted.  Deny: any requested bit is denied.
    access_mask = (~bits & 0x7) if allow else bits
    length = len(tests) + 3 + 2          # tests, access check (3), verdict (2)
    block = []
    for i, (register, value) in enumerate(tests):
        block.append(_jne_imm(register, value, length - i - 1))
    remaining = length - len(tests)
    block.append(_mov_reg(R6, R2))
    block.append(_and_imm(R6, access_mask))
    if allow:
        block.append(_jne_imm(R6, 0, remaining - 3))
    else:
        block.append(_jeq_imm(R6, 0, remaining - 3))
    block.append(_mov_imm(R0, 1 if allow else 0))
    block.append(EXIT)
    return block


def program(rules):
    """The eBPF program (bytes) for the ordered rules."""
    insns = [
        _ldx_w(R2, R1, 0), _mov_reg(R3, R2), _and_imm(R3, 0xFFFF), _rsh_imm(R2, 16),
        _ldx_w(R4, R1, 4), _ldx_w(R5, R1, 8),
    ]
    for rule in reversed(rules):
        insns += _rule_block(rule)
    insns += [_mov_imm(R0, 0), EXIT]
    return b"".join(insns)


def load_and_attach(cgroup_dir, rules):
    from oci_runtime import shim

    code = program(rules)
    license_buf = bytearray(b"GPL\0")
    log = bytearray(65536)
    code_buf = bytearray(code)
    from oci_runtime._shim import ffi

    code_ptr = int(ffi.cast("uintptr_t", ffi.from_buffer(code_buf)))
    license_ptr = int(ffi.cast("uintptr_t", ffi.from_buffer(license_buf)))
    log_ptr = int(ffi.cast("uintptr_t", ffi.from_buffer(log)))
    # union bpf_attr for BPF_PROG_LOAD: prog_type, insn_cnt, insns, license,
    # log_level, log_size, log_buf, kern_version (zero-padded to 128 bytes).
    attr = bytearray(struct.pack("<IIQQIIQI", BPF_PROG_TYPE_CGROUP_DEVICE, len(code) // 8, code_ptr,
                                 license_ptr, 1, len(log), log_ptr, 0).ljust(128, b"\0"))
    try:
        prog_fd = shim.bpf(BPF_PROG_LOAD, attr)
    except OSError as exc:
        detail = log.split(b"\0", 1)[0].decode(errors="replace").strip()
        raise OCIError(f"linux.resources.devices: loading the eBPF device filter: {exc.strerror}"
                       + (f": {detail[-500:]}" if detail else "")) from None
    cgroup_fd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        # BPF_PROG_ATTACH: target_fd, attach_bpf_fd, attach_type, attach_flags.
        attach = bytearray(struct.pack("<IIII", cgroup_fd, prog_fd, BPF_CGROUP_DEVICE,
                                       BPF_F_ALLOW_MULTI).ljust(128, b"\0"))
        shim.bpf(BPF_PROG_ATTACH, attach)
    except OSError as exc:
        raise OCIError(f"linux.resources.devices: attaching the eBPF device filter to {cgroup_dir}: "
                       f"{exc.strerror}") from None
    finally:
        os.close(cgroup_fd)
        os.close(prog_fd)
