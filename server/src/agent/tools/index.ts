// The tool set, dispatched through a name → tool map. Bad input from the model (unknown tool,
// invalid JSON, wrong argument types) becomes a tool result that says what was wrong.
import { z } from 'zod';
import type { ToolDefinition } from '../wire/turn';
import { applyPatchTool } from './applyPatch';
import { listFilesTool, readFileTool, searchTool } from './files';
import { askUserTool, finishTool } from './interaction';
import { shellTool } from './shell';
import type { Tool, ToolContext, ToolOutcome } from './types';

export type { Tool, ToolContext, ToolOutcome } from './types';

export const TOOLS: readonly Tool[] = [shellTool, applyPatchTool, readFileTool, listFilesTool, searchTool, askUserTool, finishTool];

export function toolMap(tools: readonly Tool[] = TOOLS): ReadonlyMap<string, Tool> {
  return new Map(tools.map((t) => [t.name, t]));
}

/** The standard set's definitions, made once: zod's JSON Schema of seven tools costs ~1 ms a run. */
let standard: readonly ToolDefinition[] | undefined;

export function toolDefinitions(tools: readonly Tool[] = TOOLS): readonly ToolDefinition[] {
  if (tools === TOOLS) return (standard ??= Object.freeze(definitionsOf(TOOLS)));
  return definitionsOf(tools);
}

function definitionsOf(tools: readonly Tool[]): ToolDefinition[] {
  return tools.map((t) => {
    const { $schema: _ignored, ...parameters } = z.toJSONSchema(t.schema) as Record<string, unknown>;
    return { name: t.name, description: t.description, parameters };
  });
}

/** Parsed arguments for events: the object when it parses, else the raw text. */
export function parseArgsForDisplay(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

export type PreparedCall =
  | { ok: true; tool: Tool; args: unknown }
  | { ok: false; output: string };

export function prepareCall(tools: ReadonlyMap<string, Tool>, name: string, rawArgs: string): PreparedCall {
  const tool = tools.get(name);
  if (!tool) {
    return { ok: false, output: `Unknown tool "${name}". Available tools: ${[...tools.keys()].join(', ')}.` };
  }
  let json: unknown;
  try {
    json = rawArgs.trim() === '' ? {} : JSON.parse(rawArgs);
  } catch (err) {
    return {
      ok: false,
      output: `The arguments for ${name} are not valid JSON (${(err as Error).message}). Send one JSON object matching the tool's schema.`,
    };
  }
  const parsed = tool.schema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(arguments)'}: ${i.message}`).join('; ');
    return { ok: false, output: `Invalid arguments for ${name}: ${issues}.` };
  }
  return { ok: true, tool, args: parsed.data };
}

export async function runPrepared(call: Extract<PreparedCall, { ok: true }>, ctx: ToolContext): Promise<ToolOutcome> {
  return call.tool.run(call.args, ctx);
}
