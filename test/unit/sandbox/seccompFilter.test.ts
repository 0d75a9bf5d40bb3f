// The seccomp program is checked by running it: a small classic-BPF interpreter evaluates the
// encoded bytes (what the kernel gets) against seccomp_data for each architecture.
import assert from 'node:assert/strict';
import {
  AUDIT_ARCH_AARCH64, AUDIT_ARCH_X86_64, CLONE_NAMESPACE_FLAGS, DENIED_SYSCALLS, ENOSYS, EPERM,
  SECCOMP_RET_ALLOW, SYSCALLS_AARCH64, SYSCALLS_X86_64, encodeSeccompFilter,
} from '../../../server/src/sandbox/seccomp';

const ERRNO = (e: number): number => (0x00050000 | e) >>> 0;

function runFilter(program: Buffer, data: { nr: number; arch: number; args?: number[] }): number {
  const mem = Buffer.alloc(64);
  mem.writeInt32LE(data.nr, 0);
  mem.writeUInt32LE(data.arch, 4);
  (data.args ?? []).forEach((a, i) => mem.writeBigUInt64LE(BigInt(a), 16 + i * 8));
  let acc = 0;
  for (let pc = 0; pc < program.length / 8; ) {
    const code = program.readUInt16LE(pc * 8);
    const jt = program.readUInt8(pc * 8 + 2);
    const jf = program.readUInt8(pc * 8 + 3);
    const k = program.readUInt32LE(pc * 8 + 4);
    pc++;
    switch (code) {
      case 0x20: acc = mem.readUInt32LE(k); break; // ld [k]
      case 0x05: pc += k; break; // ja
      case 0x15: pc += acc === k ? jt : jf; break; // jeq
      case 0x35: pc += acc >= k ? jt : jf; break; // jge
      case 0x45: pc += (acc & k) !== 0 ? jt : jf; break; // jset
      case 0x06: return k >>> 0; // ret
      default: throw new Error(`unexpected opcode ${code.toString(16)}`);
    }
  }
  throw new Error('program fell off the end');
}

describe('seccomp filter', () => {
  const program = encodeSeccompFilter();

  for (const table of [SYSCALLS_X86_64, SYSCALLS_AARCH64]) {
    const arch = table.audit === AUDIT_ARCH_X86_64 ? 'x86_64' : 'aarch64';
    it(`denies every listed syscall with EPERM on ${arch}`, () => {
      for (const name of DENIED_SYSCALLS) {
        assert.equal(runFilter(program, { nr: table.numbers[name], arch: table.audit }), ERRNO(EPERM), name);
      }
    });

    it(`allows ordinary syscalls on ${arch}`, () => {
      const denied = new Set<number>(Object.values(table.numbers));
      for (let nr = 0; nr < 450; nr++) {
        if (denied.has(nr)) continue;
        assert.equal(runFilter(program, { nr, arch: table.audit }), SECCOMP_RET_ALLOW, `syscall ${nr}`);
      }
    });

    it(`allows clone for threads and processes but not new namespaces on ${arch}`, () => {
      const clone = table.numbers.clone;
      const threadFlags = 0x3d0f00; // what glibc's pthread_create passes
      assert.equal(runFilter(program, { nr: clone, arch: table.audit, args: [threadFlags] }), SECCOMP_RET_ALLOW);
      assert.equal(runFilter(program, { nr: clone, arch: table.audit, args: [17] }), SECCOMP_RET_ALLOW); // fork
      for (const flag of [0x10000000, 0x20000, 0x20000000, 0x40000000]) {
        assert.ok((CLONE_NAMESPACE_FLAGS & flag) !== 0);
        assert.equal(runFilter(program, { nr: clone, arch: table.audit, args: [17 | flag] }), ERRNO(EPERM));
      }
      assert.equal(runFilter(program, { nr: table.numbers.clone3, arch: table.audit }), ERRNO(ENOSYS));
    });
  }

  it('denies x32 syscalls and foreign architectures', () => {
    assert.equal(runFilter(program, { nr: 0x40000000 + 1, arch: AUDIT_ARCH_X86_64 }), ERRNO(EPERM));
    const AUDIT_ARCH_I386 = 0x40000003;
    assert.equal(runFilter(program, { nr: 1, arch: AUDIT_ARCH_I386 }), ERRNO(EPERM));
    assert.notEqual(AUDIT_ARCH_AARCH64, AUDIT_ARCH_I386);
  });

  it('encodes 8-byte little-endian instructions', () => {
    assert.equal(program.length % 8, 0);
    assert.equal(program.readUInt16LE(0), 0x20);
    assert.equal(program.readUInt32LE(4), 4, 'starts by loading the arch field');
  });
});
