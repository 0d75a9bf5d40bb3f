// Which toolchains a bwrap sandbox has: it runs the host's own /usr (read-only), so they are the
// host's. Looked up once at start by file (no process started): a name counts when an executable
// of that name is on the sandbox's PATH (/usr/local/bin, /usr/bin) and resolves inside /usr, the
// only part of the host's file system bound into the sandbox. For /healthz and the docs.
import { realpath, stat } from 'node:fs/promises';

/** The commands a repository's setup and tests usually need, in the order /healthz lists them. */
export const TOOLCHAINS = ['node', 'npm', 'npx', 'python3', 'pip3', 'git', 'make', 'cc', 'c++', 'go', 'cargo', 'rustc', 'java', 'ruby', 'rg', 'jq', 'curl', 'unzip'] as const;

const SANDBOX_PATH = ['/usr/local/bin', '/usr/bin'];

export async function hostToolchains(): Promise<string[]> {
  const found: (string | null)[] = await Promise.all(TOOLCHAINS.map(async (name) => ((await onSandboxPath(name)) ? name : null)));
  return found.filter((n): n is string => n !== null);
}

async function onSandboxPath(name: string): Promise<boolean> {
  for (const dir of SANDBOX_PATH) {
    const target = await realpath(`${dir}/${name}`).catch(() => null);
    if (!target?.startsWith('/usr/')) continue;
    const st = await stat(target).catch(() => null);
    if (st?.isFile() && (st.mode & 0o111) !== 0) return true;
  }
  return false;
}
