// A classic-BPF seccomp program for the bwrap driver, built here so running a sandbox needs no
// libseccomp or python. bwrap reads the raw `struct sock_filter[]` from the fd given to --seccomp.
//
// Policy: allow everything except syscalls a build/test command never needs and that widen the
// kernel attack surface or undo the namespace setup (mounting, new namespaces, tracing, keyrings,
// io_uring, module loading, ...). Denied calls fail with EPERM so programs see an ordinary error.

export interface SockFilter {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

const BPF_LD_W_ABS = 0x20;
const BPF_JMP_JA = 0x05;
const BPF_JMP_JEQ_K = 0x15;
const BPF_JMP_JGE_K = 0x35;
const BPF_JMP_JSET_K = 0x45;
const BPF_RET_K = 0x06;

// Offsets in struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; }.
const OFFSET_NR = 0;
const OFFSET_ARCH = 4;
/** Low 32 bits of args[0]; both supported architectures are little-endian. */
const OFFSET_ARG0_LOW = 16;

export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const AUDIT_ARCH_AARCH64 = 0xc00000b7;

export const SECCOMP_RET_ALLOW = 0x7fff0000;
const SECCOMP_RET_ERRNO = 0x00050000;
export const EPERM = 1;
export const ENOSYS = 38;

/** x32 syscalls share AUDIT_ARCH_X86_64 but carry this bit; they would bypass the table. */
const X32_SYSCALL_BIT = 0x40000000;

/** CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET | NEWTIME. */
export const CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x00000080;

export const DENIED_SYSCALLS = [
  'ptrace', 'mount', 'umount2', 'unshare', 'setns', 'bpf', 'keyctl', 'add_key', 'request_key',
  'io_uring_setup', 'io_uring_enter', 'io_uring_register', 'init_module', 'finit_module',
  'delete_module', 'kexec_load', 'kexec_file_load', 'perf_event_open', 'pivot_root', 'swapon',
  'swapoff', 'reboot',
  // The new mount API reaches what mount(2) does; handles reach files outside the mount tree.
  'open_tree', 'move_mount', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'mount_setattr',
  'open_by_handle_at', 'name_to_handle_at', 'userfaultfd', 'acct', 'syslog', 'quotactl',
  'lookup_dcookie', 'vhangup', 'process_vm_readv', 'process_vm_writev',
] as const;

export type DeniedSyscall = (typeof DENIED_SYSCALLS)[number];

interface ArchTable {
  audit: number;
  x32Bit: boolean;
  numbers: Record<DeniedSyscall | 'clone' | 'clone3', number>;
}

// From <asm/unistd_64.h> (x86_64) and <asm-generic/unistd.h> (aarch64).
export const SYSCALLS_X86_64: ArchTable = {
  audit: AUDIT_ARCH_X86_64,
  x32Bit: true,
  numbers: {
    ptrace: 101, mount: 165, umount2: 166, unshare: 272, setns: 308, bpf: 321, keyctl: 250,
    add_key: 248, request_key: 249, io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427,
    init_module: 175, finit_module: 313, delete_module: 176, kexec_load: 246, kexec_file_load: 320,
    perf_event_open: 298, pivot_root: 155, swapon: 167, swapoff: 168, reboot: 169, open_tree: 428,
    move_mount: 429, fsopen: 430, fsconfig: 431, fsmount: 432, fspick: 433, mount_setattr: 442,
    open_by_handle_at: 304, name_to_handle_at: 303, userfaultfd: 323, acct: 163, syslog: 103,
    quotactl: 179, lookup_dcookie: 212, vhangup: 153, process_vm_readv: 310, process_vm_writev: 311,
    clone: 56, clone3: 435,
  },
};

export const SYSCALLS_AARCH64: ArchTable = {
  audit: AUDIT_ARCH_AARCH64,
  x32Bit: false,
  numbers: {
    ptrace: 117, mount: 40, umount2: 39, unshare: 97, setns: 268, bpf: 280, keyctl: 219,
    add_key: 217, request_key: 218, io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427,
    init_module: 105, finit_module: 273, delete_module: 106, kexec_load: 104, kexec_file_load: 294,
    perf_event_open: 241, pivot_root: 41, swapon: 224, swapoff: 225, reboot: 142, open_tree: 428,
    move_mount: 429, fsopen: 430, fsconfig: 431, fsmount: 432, fspick: 433, mount_setattr: 442,
    open_by_handle_at: 265, name_to_handle_at: 264, userfaultfd: 282, acct: 89, syslog: 116,
    quotactl: 60, lookup_dcookie: 18, vhangup: 58, process_vm_readv: 270, process_vm_writev: 271,
    clone: 220, clone3: 435,
  },
};

const stmt = (code: number, k: number): SockFilter => ({ code, jt: 0, jf: 0, k });
const jump = (code: number, k: number, jt: number, jf: number): SockFilter => ({ code, jt, jf, k });
const errno = (value: number): number => SECCOMP_RET_ERRNO | value;

function archBlock(table: ArchTable): SockFilter[] {
  const deny = stmt(BPF_RET_K, errno(EPERM));
  const out: SockFilter[] = [stmt(BPF_LD_W_ABS, OFFSET_NR)];
  if (table.x32Bit) out.push(jump(BPF_JMP_JGE_K, X32_SYSCALL_BIT, 0, 1), deny);
  for (const name of DENIED_SYSCALLS) out.push(jump(BPF_JMP_JEQ_K, table.numbers[name], 0, 1), deny);
  // clone3 passes its flags in memory the filter cannot read; ENOSYS makes libc fall back to clone.
  out.push(jump(BPF_JMP_JEQ_K, table.numbers.clone3, 0, 1), stmt(BPF_RET_K, errno(ENOSYS)));
  // clone with namespace flags would be unshare by another name.
  out.push(
    jump(BPF_JMP_JEQ_K, table.numbers.clone, 0, 3),
    stmt(BPF_LD_W_ABS, OFFSET_ARG0_LOW),
    jump(BPF_JMP_JSET_K, CLONE_NAMESPACE_FLAGS, 0, 1),
    deny,
    stmt(BPF_RET_K, SECCOMP_RET_ALLOW),
  );
  return out;
}

/** The filter as instructions: dispatch on the audit arch, deny every foreign ABI (i386, x32). */
export function buildSeccompFilter(): SockFilter[] {
  const x86 = archBlock(SYSCALLS_X86_64);
  const arm = archBlock(SYSCALLS_AARCH64);
  // A jump's k counts from the next instruction.
  return [
    stmt(BPF_LD_W_ABS, OFFSET_ARCH),
    jump(BPF_JMP_JEQ_K, AUDIT_ARCH_X86_64, 0, 1),
    stmt(BPF_JMP_JA, 3),
    jump(BPF_JMP_JEQ_K, AUDIT_ARCH_AARCH64, 0, 1),
    stmt(BPF_JMP_JA, 1 + x86.length),
    stmt(BPF_RET_K, errno(EPERM)),
    ...x86,
    ...arm,
  ];
}

/** The filter in the kernel's binary layout (little-endian struct sock_filter, 8 bytes each). */
export function encodeSeccompFilter(program: SockFilter[] = buildSeccompFilter()): Buffer {
  const buf = Buffer.alloc(program.length * 8);
  program.forEach((insn, i) => {
    buf.writeUInt16LE(insn.code, i * 8);
    buf.writeUInt8(insn.jt, i * 8 + 2);
    buf.writeUInt8(insn.jf, i * 8 + 3);
    buf.writeUInt32LE(insn.k >>> 0, i * 8 + 4);
  });
  return buf;
}
