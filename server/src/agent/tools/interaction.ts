// ask_user and finish: the two tools that talk to the user rather than the workspace.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { QuestionChoices, type TestResult } from '../../../../protocol';
import { truncateMiddle } from '../truncate';
import { defineTool } from './types';

const AskArgs = z.object({
  question: z.string().min(1).describe('One precise question; say what you will do with each likely answer.'),
  choices: QuestionChoices.optional().describe(
    'Optional: 2 to 4 short suggested answers (at most 80 characters each), shown to the user as buttons; they may still answer in their own words.',
  ),
});

export const askUserTool = defineTool<z.infer<typeof AskArgs>>({
  name: 'ask_user',
  description:
    'Ask the user a question and wait for the answer. Only for real ambiguity that changes what you build; the task pauses until they answer.',
  schema: AskArgs,
  changesFiles: false,
  async run(args, ctx) {
    ctx.emit({ type: 'question', questionId: randomUUID(), text: args.question, ...(args.choices ? { choices: args.choices } : {}) });
    try {
      const answer = await ctx.ask(args.question, ctx.signal);
      return { ok: true, output: `The user answered: ${answer}` };
    } catch (err) {
      if (ctx.signal.aborted) return { ok: false, output: 'aborted', aborted: true };
      throw err;
    }
  },
});

const FinishArgs = z.object({
  summary: z.string().min(1).describe('For the reviewer: what you changed and why, and how you verified it.'),
  test_command: z.string().optional().describe('The command you ran to test the change.'),
  tests_passed: z.boolean().optional().describe('Whether that command passed.'),
  test_output: z.string().optional().describe('The relevant end of the test output.'),
});

export const finishTool = defineTool<z.infer<typeof FinishArgs>>({
  name: 'finish',
  description: 'End the task with a summary for the reviewer and, when you ran tests, their result. Call it once, last.',
  schema: FinishArgs,
  changesFiles: false,
  async run(args) {
    let testResult: TestResult | undefined;
    if (args.test_command) {
      testResult = {
        command: args.test_command,
        passed: args.tests_passed === true,
        ...(args.test_output ? { summary: truncateMiddle(args.test_output, 4000) } : {}),
      };
    }
    return { ok: true, output: 'Finished.', finish: { summary: args.summary, testResult } };
  },
});
