// What a claimed attempt runs as. A queued attempt starts (or runs its follow-up) as on a single
// node. An attempt taken over from a node that died, was cut off or shut down mid-run goes on like
// the follow-up of an interrupted attempt: from its saved conversation, in a workspace holding its
// saved work (workTransfer.ts), told that the files may be further along. An answer the user gave
// while nobody ran it is handed to the agent with that.
import type { Logger } from '../log';
import type { Claim, Store } from '../store/types';
import type { AttemptJob } from '../tasks/runner';
import type { TaskEvents } from '../tasks/taskEvents';

export interface ClaimedJob {
  job: AttemptJob;
  owner: string | null;
}

/** Null when there is nothing to run (the task is gone or the attempt finished meanwhile). */
export async function jobFor(store: Store, events: TaskEvents, claim: Claim, nodeId: string, previousNode: string | undefined, log?: Logger): Promise<ClaimedJob | null> {
  const guard = { key: claim.key, fence: claim.fence };
  const task = await store.getTask(claim.taskId);
  const attempt = (await store.getAttempts(claim.taskId)).find((a) => a.index === claim.index);
  if (!task || !attempt) return null;
  const base = { taskId: claim.taskId, index: claim.index, key: claim.key, guard };
  const followup = (await store.peekMessages(claim.key, 'followup')).at(-1);
  // Taken from a holder whose lease ran out, or given back by one that shut down (the task still
  // names the node that ran it, and it had begun).
  const from = previousNode ?? (task.node && task.node !== nodeId && !followup && attempt.history.length > 0 ? task.node : undefined);
  if (from) {
    await events.emit(claim.taskId, claim.index, [{ type: 'task.moved', from, to: nodeId, reason: previousNode ? 'lease_expired' : 'drained' }], guard);
    log?.info('attempt moved to this node', { key: claim.key, from });
  }
  if (followup && !previousNode) return { job: { ...base, prompt: followup.text, followup: true }, owner: task.owner ?? null };
  // An answer given while nobody ran the attempt (its node had died) goes to the agent now.
  const answer = (await store.takeMessages(claim.key, 'answer')).at(-1)?.text;
  const answered = answer === undefined ? '' : `The user answered your question: ${answer}`;
  if (attempt.history.length === 0) {
    // Stopped before its first model request: it starts over (a follow-up's text, if it was one).
    const prompt = followup?.text ?? task.prompt;
    return { job: { ...base, prompt: answered ? `${prompt}\n\n${answered}` : prompt, followup: Boolean(followup) }, owner: task.owner ?? null };
  }
  const prompt = answered || (followup ? followup.text : 'Go on with the task from where you were.');
  if (followup) await store.takeMessages(claim.key, 'followup');
  return { job: { ...base, prompt, followup: true, resumed: true }, owner: task.owner ?? null };
}
