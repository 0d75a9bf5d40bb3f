// Stops a queued or running task; the server keeps the work done so far.
import { isFinished } from '../../protocol';
import { resolveTaskId, showFailure } from './args';
import type { Command, Services } from './types';

export const cancelTask: Command = {
  id: 'delegate.cancelTask',
  async run(s: Services, arg?: unknown): Promise<boolean> {
    const taskId = await resolveTaskId(s, arg, (status) => !isFinished(status as never));
    if (!taskId) return false;
    const r = await s.api.cancel(taskId);
    if (!r.ok) showFailure('cancel failed', r.error.message);
    return r.ok;
  },
};
