// What the scripted model plays in the UI smoke test. The smoke types plain prompts (no
// [[script:…]] markers, so the screenshots look like real use): its steps are functions of the
// request that tell the tasks apart by their prompt.
import { inspectRequest, type RecordedRequest, type Step, type StepObject } from '../support/fakeModel';

/** The task the smoke delegates through the UI, with a selection in src/math.js. */
export const mainPrompt = 'Make add and mul reject arguments that are not numbers';
export const question = 'Should sub get the same check?';
/** The agent's suggested answers; the smoke answers with the first one's button. */
export const choices = ['No, only add and mul.', 'Yes, sub too.'];
export const answer = choices[0]!;
export const summary = 'add and mul now throw a TypeError when an argument is not a number; sub is unchanged, as you asked. node test.js passes.';
export const addCheck = "  if (typeof a !== 'number' || typeof b !== 'number') throw new TypeError('add expects two numbers');";
export const mulCheck = "  if (typeof a !== 'number' || typeof b !== 'number') throw new TypeError('mul expects two numbers');";

/** Two more tasks the runner delegates through the REST API, so the queue has company. */
export const backgroundTasks: readonly { prompt: string; file: string; patch: string }[] = [
  {
    prompt: 'Document greet with a JSDoc comment',
    file: 'src/greet.js',
    patch: ['*** Begin Patch', '*** Update File: src/greet.js', '@@', '+/** Greets someone by name. */', ' function greet(name) {', '*** End Patch'].join('\n'),
  },
  {
    prompt: 'Explain how to run the tests in the README',
    file: 'README.md',
    patch: [
      '*** Begin Patch',
      '*** Update File: README.md',
      '@@',
      ' A tiny project that the Delegate VS Code tests hand to an agent.',
      '+',
      '+## Testing',
      '+',
      '+Run `npm test`.',
      '*** End Patch',
    ].join('\n'),
  },
];

const twoHunks = [
  '*** Begin Patch',
  '*** Update File: src/math.js',
  '@@',
  ' function add(a, b) {',
  `+${addCheck}`,
  '   return a + b;',
  ' }',
  '@@',
  ' function mul(a, b) {',
  `+${mulCheck}`,
  '   return a * b;',
  ' }',
  '*** End Patch',
].join('\n');

const mainSteps: StepObject[] = [
  // Slow enough that the queue screenshot catches it running.
  { text: 'Running the tests first to see where things stand.', toolCalls: [{ name: 'shell', arguments: { command: 'sleep 3; node test.js' } }] },
  { text: 'Adding a type check to add and mul.', toolCalls: [{ name: 'apply_patch', arguments: { patch: twoHunks } }] },
  { toolCalls: [{ name: 'ask_user', arguments: { question, choices } }] },
  { toolCalls: [{ name: 'finish', arguments: { summary, test_command: 'node test.js', tests_passed: true, test_output: 'ok' } }] },
];

function backgroundSteps(task: (typeof backgroundTasks)[number]): StepObject[] {
  return [
    { text: 'Reading the code first.', toolCalls: [{ name: 'shell', arguments: { command: 'sleep 5; cat package.json' } }] },
    { toolCalls: [{ name: 'apply_patch', arguments: { patch: task.patch } }] },
    { toolCalls: [{ name: 'finish', arguments: { summary: `Done: ${task.prompt.toLowerCase()}.` } }] },
  ];
}

/**
 * A task of two turns that change files (so two checkpoints), then a follow-up from the first.
 * Its prompt names neither file, so a tab's title says nothing about which files it shows.
 */
export const checkpointTask = {
  prompt: 'Comment the two helpers, one per step',
  followUp: 'Leave the greeting as it was',
  firstFile: 'math.js',
  secondFile: 'greet.js',
} as const;

const checkpointSteps: StepObject[] = [
  { text: 'First the arithmetic.', toolCalls: [{ name: 'apply_patch', arguments: { patch: ['*** Begin Patch', '*** Update File: src/math.js', '@@', '+/** Adds two numbers. */', ' function add(a, b) {', '*** End Patch'].join('\n') } }] },
  // After the first turn's checkpoint, as with a real model (a zero-latency turn would share it).
  { delayMs: 1000, text: 'Then the greeting.', toolCalls: [{ name: 'apply_patch', arguments: { patch: ['*** Begin Patch', '*** Update File: src/greet.js', '@@', '+/** Greets someone by name. */', ' function greet(name) {', '*** End Patch'].join('\n') } }] },
  { toolCalls: [{ name: 'finish', arguments: { summary: 'Commented add and greet.' } }] },
  // The follow-up from the first checkpoint: the greeting's comment is already gone.
  { toolCalls: [{ name: 'finish', arguments: { summary: 'Only add is commented now.' } }] },
];

/** The "default" script (requests without a marker): the reply for the request's task and turn. */
export function smokeDefaultScript(): Step[] {
  const pick = (turn: number) => (request: RecordedRequest): StepObject => {
    const prompt = inspectRequest(request.api, request.body).firstUser;
    const background = backgroundTasks.find((t) => prompt.includes(t.prompt));
    const steps = background ? backgroundSteps(background) : prompt.includes(mainPrompt) ? mainSteps : prompt.includes(checkpointTask.prompt) ? checkpointSteps : [];
    return steps[turn] ?? { text: `[smoke model] nothing scripted for turn ${turn} of this prompt.` };
  };
  return [0, 1, 2, 3].map(pick);
}
