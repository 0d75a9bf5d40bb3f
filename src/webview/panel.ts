// The task panel's script (runs in the webview, bundled to media/dist/panel.js). It renders what
// the extension sends and posts user intent back; both directions are validated (messages.ts).
import type { Task } from '../../protocol/task';
import { attemptRows, describeAttempt, hasAttempts } from '../model/attempts';
import { canFollowUpFrom, canViewCheckpoint } from '../model/checkpoints';
import { describeApplied, taskActions } from '../model/taskActions';
import { HostMessage, PanelState, type PanelAction, type TimelineItem, type WebviewMessage } from './messages';
import { el, renderItemBody, runningFor } from './timelineItems';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const restored = PanelState.safeParse(vscode.getState());
const state: PanelState = restored.success ? restored.data : { view: 'compose' };
const expanded = new Set(state.expanded ?? []);
/** Running commands the user folded (they are open by default). */
const collapsed = new Set(state.collapsed ?? []);
let currentTask: Task | undefined;

function send(message: WebviewMessage): void {
  vscode.postMessage(message);
}

function save(): void {
  vscode.setState({ ...state, expanded: [...expanded].slice(-200), collapsed: [...collapsed].slice(-200) } satisfies PanelState);
}

// ---- static layout, built once so typed text survives re-renders -------------------------------
const app = document.getElementById('app')!;
const connection = el('div', { class: 'connection', role: 'status' });
const errorBox = el('div', { class: 'error', role: 'alert', hidden: '' });
const noticeBox = el('div', { class: 'notice', role: 'alert', hidden: '' });
// Nothing is shown until the extension says what (a restored panel may wait for the server).
const waitingView = el('p', { class: 'waiting muted' }, 'Loading…');

const promptInput = el('textarea', { id: 'prompt', rows: '8', placeholder: 'What should the agent do?', 'aria-label': 'Prompt' });
const selectionBox = el('div', { class: 'selection' });
const includeSelection = el('input', { type: 'checkbox', id: 'include-selection', checked: '' });
const modelInput = el('input', { id: 'model', placeholder: 'default model', 'aria-label': 'Model' });
const attemptsInput = el('select', { id: 'attempts', 'aria-label': 'Attempts' }, ...[1, 2, 3, 4].map((n) => el('option', { value: String(n) }, String(n))));
const networkInput = el('select', { id: 'network', 'aria-label': 'Network' },
  el('option', { value: 'off' }, 'off'), el('option', { value: 'setup' }, 'during setup only'), el('option', { value: 'on' }, 'on'));
const submitButton = el('button', { class: 'primary', id: 'submit' }, 'Delegate');
const composeView = el('section', { class: 'compose', 'aria-label': 'New task', hidden: '' },
  el('h2', {}, 'New task'),
  noticeBox,
  promptInput,
  selectionBox,
  el('div', { class: 'options' },
    el('label', {}, 'Model ', modelInput),
    el('label', {}, 'Attempts ', attemptsInput),
    el('label', {}, 'Network ', networkInput)),
  el('div', { class: 'actions' }, submitButton, el('span', { class: 'hint' }, 'Ctrl+Enter')));

const taskHeader = el('header', { class: 'task-header' });
const timeline = el('ol', { class: 'timeline', 'aria-label': 'Timeline' });
const messageInput = el('textarea', { id: 'message', rows: '3', 'aria-label': 'Message to the agent' });
const sendButton = el('button', { class: 'primary', id: 'send' }, 'Send');
const taskView = el('section', { class: 'task', hidden: '' },
  taskHeader, timeline, el('div', { class: 'composer' }, messageInput, el('div', { class: 'actions' }, sendButton)));

app.append(connection, errorBox, waitingView, composeView, taskView);

function submitPrompt(): void {
  const prompt = promptInput.value.trim();
  if (!prompt) return showError('Describe the task first.');
  submitButton.disabled = true;
  send({
    type: 'submit',
    prompt,
    includeSelection: includeSelection.checked,
    options: {
      ...(modelInput.value.trim() ? { model: modelInput.value.trim() } : {}),
      attempts: Number(attemptsInput.value),
      network: networkInput.value === 'on' || networkInput.value === 'setup' ? networkInput.value : 'off',
    },
  });
}
submitButton.addEventListener('click', submitPrompt);
promptInput.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) submitPrompt();
});
promptInput.addEventListener('input', () => {
  state.draft = promptInput.value;
  save();
});

function sendMessage(): void {
  const text = messageInput.value.trim();
  if (!text || !currentTask) return;
  send({ type: 'send', taskId: currentTask.id, text });
  messageInput.value = '';
}
sendButton.addEventListener('click', sendMessage);
messageInput.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) sendMessage();
});

function showError(message: string | null): void {
  errorBox.hidden = message === null;
  errorBox.textContent = message ?? '';
}

// ---- rendering -----------------------------------------------------------------------------------
function showView(view: 'compose' | 'task' | 'waiting'): void {
  composeView.hidden = view !== 'compose';
  taskView.hidden = view !== 'task';
  waitingView.hidden = view !== 'waiting';
  if (view !== 'waiting') state.view = view;
  save();
}

function renderCompose(message: Extract<HostMessage, { type: 'compose' }>): void {
  showView('compose');
  showError(null);
  currentTask = undefined;
  delete state.taskId;
  submitButton.disabled = false;
  renderNotice(message.notice);
  if (message.prompt && !promptInput.value) promptInput.value = message.prompt;
  else if (!promptInput.value && state.draft) promptInput.value = state.draft;
  modelInput.value = message.defaults.model ?? '';
  attemptsInput.value = String(message.defaults.attempts);
  networkInput.value = message.defaults.network;
  selectionBox.replaceChildren();
  const sel = message.selection;
  if (sel) {
    const label = `${sel.path}:${sel.startLine}${sel.endLine !== sel.startLine ? `-${sel.endLine}` : ''}`;
    selectionBox.append(
      el('label', {}, includeSelection, ` Include the selection ${label}`),
      el('pre', { class: 'code' }, sel.text.length > 2000 ? `${sel.text.slice(0, 2000)}\n…` : sel.text),
    );
  } else {
    selectionBox.append(el('p', { class: 'muted' }, message.repoName ? `Repository: ${message.repoName} (no selection)` : 'No selection'));
  }
  promptInput.focus();
}

/** Why delegating failed, above the kept prompt, with buttons for the ways forward. */
function renderNotice(notice: Extract<HostMessage, { type: 'compose' }>['notice']): void {
  noticeBox.hidden = !notice;
  noticeBox.replaceChildren();
  if (!notice) return;
  const buttons = notice.actions.map((a) => {
    const b = el('button', a === 'retry' ? { class: 'primary' } : {}, a === 'retry' ? 'Retry' : 'Start Local Server');
    b.addEventListener('click', () => (a === 'retry' ? submitPrompt() : send({ type: 'startLocalServer' })));
    return b;
  });
  noticeBox.append(el('p', {}, notice.text), el('div', { class: 'actions' }, ...buttons));
}

const ACTIVE = ['queued', 'preparing', 'running', 'waiting_for_input'];

function button(label: string, action: PanelAction, taskId: string, primary = false): HTMLButtonElement {
  const b = el('button', primary ? { class: 'primary' } : {}, label);
  b.addEventListener('click', () => send({ type: 'action', taskId, action }));
  return b;
}

function renderTask(message: Extract<HostMessage, { type: 'task' }>): void {
  const task = message.task;
  const switched = currentTask?.id !== task.id;
  currentTask = task;
  if (switched && state.taskId !== task.id) delete state.attemptFilter;
  if (!hasAttempts(task)) delete state.attemptFilter;
  state.taskId = task.id;
  showView('task');
  showError(null);
  const active = ACTIVE.includes(task.status);
  const hasChanges = task.changedFiles.length > 0;
  const buttons: HTMLElement[] = taskActions(task, { rejected: message.review?.rejected ?? 0, applied: message.applied })
    .map((a) => button(a.label, a.action, task.id, a.primary));
  const newTask = el('button', {}, 'New Task');
  newTask.addEventListener('click', () => send({ type: 'compose' }));
  buttons.push(newTask);
  const u = task.usage;
  const usage = `${u.inputTokens.toLocaleString()} in · ${u.outputTokens.toLocaleString()} out${u.costUsd !== null ? ` · $${u.costUsd.toFixed(2)}` : ''}`;
  const adds = task.changedFiles.reduce((n, f) => n + f.additions, 0);
  const dels = task.changedFiles.reduce((n, f) => n + f.deletions, 0);
  const header: (Node | null)[] = [
    el('h2', {}, task.prompt.split('\n', 1)[0] ?? task.id),
    el('div', { class: 'meta' },
      el('span', { class: `badge status-${task.status}`, 'data-status': task.status }, task.status.replace(/_/g, ' ')),
      el('span', {}, `${task.repo.name}${task.repo.branch ? ` · ${task.repo.branch}` : ''}`),
      el('span', { title: 'token usage' }, usage),
      hasChanges ? el('span', {}, `${task.changedFiles.length} ${task.changedFiles.length === 1 ? 'file' : 'files'} +${adds} −${dels}`) : null,
      message.review ? el('span', { class: 'review' }, message.review.label) : null,
      message.applied ? el('span', { class: 'applied', title: message.applied.join('\n') }, describeApplied(message.applied)) : null),
    task.error ? el('p', { class: 'error' }, task.error.message) : null,
    el('div', { class: 'actions' }, ...buttons),
    renderAttempts(task),
  ];
  taskHeader.replaceChildren(...header.filter((n): n is Node => n !== null));
  messageInput.placeholder =
    task.status === 'waiting_for_input' ? 'Answer the question…' : active ? 'Steer the agent (read at its next turn)…' : 'Follow up (same workspace)…';
  sendButton.textContent = task.status === 'waiting_for_input' ? 'Answer' : active ? 'Steer' : 'Follow Up';
  lastItems = message.items;
  renderTimeline(filterItems(message.items), switched);
}

let lastItems: TimelineItem[] = [];

/** Best-of-N: one row per attempt with its result and "Use this one"; nothing for one attempt. */
function renderAttempts(task: Task): HTMLElement | null {
  const rows = attemptRows(task);
  if (rows.length === 0) return null;
  const list = el('ol', { class: 'attempts', 'aria-label': 'Attempts' });
  for (const row of rows) {
    const use = el('button', row.selectable ? { class: 'use-attempt' } : { class: 'use-attempt', disabled: '' }, row.selected ? 'Selected' : 'Use this one');
    use.setAttribute('aria-label', row.selected ? `${row.title} is selected` : `Use ${row.title}`);
    use.addEventListener('click', () => send({ type: 'selectAttempt', taskId: task.id, attempt: row.index }));
    const note = row.error ?? row.summary;
    list.append(el('li', { class: `attempt${row.selected ? ' selected' : ''}`, 'data-attempt': String(row.index) },
      el('div', { class: 'attempt-head' },
        el('strong', {}, row.title),
        el('span', { class: `badge status-${row.status}` }, row.status.replace(/_/g, ' ')),
        el('span', { class: 'muted' }, describeAttempt(row).split(' · ').slice(1).join(' · ')),
        use),
      note ? el('div', { class: row.error ? 'attempt-note attempt-error' : 'attempt-note' }, note.split('\n', 1)[0] ?? '') : null));
  }
  const filter = el('select', { 'aria-label': 'Timeline of' },
    el('option', { value: '' }, 'all attempts'),
    ...rows.map((r) => el('option', { value: String(r.index) }, r.title)));
  filter.value = state.attemptFilter === undefined ? '' : String(state.attemptFilter);
  filter.addEventListener('change', () => {
    if (filter.value === '') delete state.attemptFilter;
    else state.attemptFilter = Number(filter.value);
    save();
    renderTimeline(filterItems(lastItems), true);
  });
  return el('section', { class: 'attempts-box', 'aria-label': 'Best of N' }, list, el('label', { class: 'muted' }, 'Timeline of ', filter));
}

/** With the attempt filter on, the other attempts' items go; task-wide items always stay. */
function filterItems(items: TimelineItem[]): TimelineItem[] {
  const only = state.attemptFilter;
  return only === undefined ? items : items.filter((i) => !('attempt' in i) || i.attempt === only);
}

/** "A2" before an item of attempt 2 when the task ran several attempts. */
function attemptTag(item: TimelineItem): HTMLElement | null {
  if (!currentTask || !hasAttempts(currentTask) || !('attempt' in item)) return null;
  return el('span', { class: 'attempt-tag', title: `attempt ${item.attempt + 1}` }, `A${item.attempt + 1}`);
}

const rendered = new Map<string, { sig: string; node: HTMLElement }>();

function renderTimeline(items: TimelineItem[], reset: boolean): void {
  const nearBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
  if (reset) {
    rendered.clear();
    timeline.replaceChildren();
  }
  const nodes: HTMLElement[] = [];
  for (const item of items) {
    // A checkpoint's actions also depend on the task's state (no "Follow up from here" while it runs).
    const sig = JSON.stringify(item) + (item.kind === 'checkpoint' && currentTask ? `${canViewCheckpoint(item, currentTask)}${canFollowUpFrom(item, currentTask)}` : '');
    let entry = rendered.get(item.id);
    if (!entry || entry.sig !== sig) {
      const node = renderItem(item);
      followOutput(entry?.node, node);
      entry = { sig, node };
      rendered.set(item.id, entry);
    }
    nodes.push(entry.node);
  }
  const keep = new Set(items.map((i) => i.id));
  for (const id of [...rendered.keys()]) if (!keep.has(id)) rendered.delete(id);
  // Only touch the DOM where something changed, so open <details> and selections survive.
  nodes.forEach((node, i) => {
    if (timeline.children[i] !== node) timeline.insertBefore(node, timeline.children[i] ?? null);
  });
  while (timeline.children.length > nodes.length) timeline.lastElementChild?.remove();
  for (const [pre, top] of pendingScroll) pre.scrollTop = top ?? pre.scrollHeight;
  pendingScroll.clear();
  if (nearBottom || reset) window.scrollTo(0, document.body.scrollHeight);
}

/** Live output boxes to scroll once in the page: to where the user left them, or (null) to the end. */
const pendingScroll = new Map<HTMLElement, number | null>();

/** A re-rendered command keeps following its output's end, unless the user scrolled up in it. */
function followOutput(before: HTMLElement | undefined, after: HTMLElement): void {
  const old = before?.querySelector<HTMLElement>('pre.output');
  const next = after.querySelector<HTMLElement>('pre.output.live');
  if (!next) return;
  const atEnd = !old || old.scrollTop + old.clientHeight >= old.scrollHeight - 8;
  pendingScroll.set(next, atEnd ? null : old.scrollTop);
}

function renderItem(item: TimelineItem): HTMLElement {
  const node = renderItemBody(item, {
    expanded,
    collapsed,
    save,
    answer: (text) => {
      if (!currentTask) return false;
      send({ type: 'send', taskId: currentTask.id, text });
      return true;
    },
    focusMessage: () => messageInput.focus(),
    checkpoint: (version, action) => {
      if (currentTask) send({ type: 'checkpoint', taskId: currentTask.id, version, action });
    },
    canView: (checkpoint) => currentTask !== undefined && canViewCheckpoint(checkpoint, currentTask),
    canFollowUpFrom: (checkpoint) => currentTask !== undefined && canFollowUpFrom(checkpoint, currentTask),
  });
  const tag = attemptTag(item);
  // Inside a <details> the tag belongs in its one-line summary, in a message before its first word.
  const first = node.firstElementChild;
  if (tag) (node.querySelector('summary') ?? (first?.classList.contains('text') ? first : node)).prepend(tag);
  return node;
}

// A running command's timer moves on between messages (the node stays; only its text changes).
setInterval(() => {
  timeline.querySelectorAll<HTMLElement>('.timer').forEach((timer) => (timer.textContent = runningFor(Number(timer.dataset.since))));
}, 1000);

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const parsed = HostMessage.safeParse(event.data);
  if (!parsed.success) return;
  const message = parsed.data;
  switch (message.type) {
    case 'compose':
      renderCompose(message);
      return;
    case 'task':
      renderTask(message);
      return;
    case 'waiting':
      showError(null);
      waitingView.textContent = message.text;
      showView('waiting');
      return;
    case 'connection':
      connection.className = `connection ${message.connection.kind}`;
      connection.textContent =
        message.connection.kind === 'connected' ? '' : message.connection.kind === 'incompatible' ? message.connection.detail : `${message.connection.kind}: ${message.connection.detail}`;
      return;
    case 'submitted':
      promptInput.value = '';
      state.draft = '';
      save();
      return;
    case 'error':
      submitButton.disabled = false;
      showError(message.message);
      return;
  }
});

send({ type: 'ready' });
