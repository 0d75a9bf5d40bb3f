// apply_patch: the Codex patch format, checked completely before any write.
import { z } from 'zod';
import { planPatch } from '../patch/apply';
import { parsePatch, type PatchOp } from '../patch/parse';
import type { ConfinedFiles } from '../../workspace/types';
import { defineTool, describeFileError, normalizeToolPath } from './types';

const PatchArgs = z.object({
  patch: z.string().min(1).describe("The whole patch, from '*** Begin Patch' to '*** End Patch'."),
});

function normalizeOp(op: PatchOp): PatchOp {
  if (op.kind === 'update') {
    return { ...op, path: normalizeToolPath(op.path), moveTo: op.moveTo === undefined ? undefined : normalizeToolPath(op.moveTo) };
  }
  return { ...op, path: normalizeToolPath(op.path) };
}

/** Thrown by the read callback so the plan stops with a message for the model. */
class UnreadableFile extends Error {}

async function readText(files: ConfinedFiles, path: string): Promise<string | null> {
  if (!path) throw new UnreadableFile('A patch path is empty; give each file path relative to the repository root.');
  let data: Buffer;
  try {
    if (!(await files.exists(path))) return null;
    data = await files.readFile(path);
  } catch (err) {
    throw new UnreadableFile(describeFileError(err, path));
  }
  if (data.subarray(0, 8192).includes(0)) throw new UnreadableFile(`${path} is a binary file; apply_patch edits text files only.`);
  return data.toString('utf8');
}

export const applyPatchTool = defineTool<z.infer<typeof PatchArgs>>({
  name: 'apply_patch',
  description:
    "Create, change, rename or delete files with a patch in the '*** Begin Patch' format described in the instructions. Every context (' ') and removed ('-') line must match the file exactly. The whole patch is applied or nothing is.",
  schema: PatchArgs,
  changesFiles: true,
  async run(args, ctx) {
    const parsed = parsePatch(args.patch);
    if (!parsed.ok) return { ok: false, output: parsed.error };
    const ops = parsed.ops.map(normalizeOp);
    let planned;
    try {
      planned = await planPatch(ops, (path) => readText(ctx.files, path));
    } catch (err) {
      if (err instanceof UnreadableFile) return { ok: false, output: err.message };
      throw err;
    }
    if (!planned.ok) return { ok: false, output: planned.error };
    const written: string[] = [];
    for (const write of planned.plan.writes) {
      try {
        if (write.content === null) await ctx.files.deleteFile(write.path);
        else await ctx.files.writeFile(write.path, write.content);
        written.push(write.path);
      } catch (err) {
        const partial = written.length ? ` Already written: ${written.join(', ')}.` : '';
        return { ok: false, output: `${describeFileError(err, write.path)}${partial}` };
      }
    }
    return { ok: true, output: `Success. Updated the following files:\n${planned.plan.summary.join('\n')}` };
  },
});
