// Reading one frame of the event stream. A newer server may send events of types this extension
// does not know yet: they are skipped (their seq still counts, so a resume does not ask for them
// again) instead of being dropped as invalid with a warning each time. Pure (no `vscode`).
import { ServerFrame, TaskEvent } from '../../protocol';

/** An event of a type this extension does not know: nothing to show, only its place in the log. */
export interface SkippedFrame {
  type: 'skipped';
  seq: number;
  eventType: string;
}

export type StreamFrame = ServerFrame | SkippedFrame;

const KNOWN_EVENT_TYPES: ReadonlySet<string> = new Set(TaskEvent.options.map((o) => o.shape.type.value));

export type ReadFrame = { ok: true; frame: StreamFrame } | { ok: false; message: string };

export function readFrame(data: unknown): ReadFrame {
  const parsed = ServerFrame.safeParse(data);
  if (parsed.success) return { ok: true, frame: parsed.data };
  const unknown = unknownEvent(data);
  if (unknown) return { ok: true, frame: unknown };
  return { ok: false, message: parsed.error.message };
}

/** An event frame with a sound seq whose type is not one of ours; undefined for anything else. */
function unknownEvent(data: unknown): SkippedFrame | undefined {
  if (!isRecord(data) || data.type !== 'event' || !isRecord(data.event)) return undefined;
  const { seq, type } = data.event;
  if (typeof type !== 'string' || KNOWN_EVENT_TYPES.has(type)) return undefined;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return undefined;
  return { type: 'skipped', seq, eventType: type };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
