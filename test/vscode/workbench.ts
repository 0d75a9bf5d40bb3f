// Debian's Chromium driven by playwright-core, pointed at a code-server workbench. The page's
// console carries the extension host's console (VS Code forwards it in development mode), so it
// is both where the suite's report arrives and what we print when something goes wrong.
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';

export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
  // Nothing but loopback: names the workbench may look up (CDNs, marketplaces) resolve to nothing.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
];

export async function launchBrowser(): Promise<Browser> {
  // launch() gives every run a fresh temporary profile and kills the browser's process group on close.
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: chromiumArgs });
}

/** Workbench URL for a folder, optionally loading an extension under development and its tests. */
export function workbenchUrl(base: string, folder: string, dev?: { extensionPath: string; testsPath?: string }): string {
  const params = new URLSearchParams({ folder });
  if (dev) {
    // The authority of the remote the workbench talks to is literally "remote".
    const payload: [string, string][] = [['extensionDevelopmentPath', `vscode-remote://remote${dev.extensionPath}`]];
    if (dev.testsPath) payload.push(['extensionTestsPath', `vscode-remote://remote${dev.testsPath}`]);
    params.set('payload', JSON.stringify(payload));
  }
  return `${base}?${params.toString()}`;
}

export interface WorkbenchPage {
  page: Page;
  /** Resolves with the code the workbench passes to codeAutomationExit (extension tests done). */
  exited: Promise<number>;
  /** Every console message and page error so far, one per line. */
  consoleLines(): string[];
}

/** Opens a page on the workbench; `onLine` sees each console line as it arrives. */
export async function openWorkbench(browser: Browser, url: string, onLine?: (line: string) => void): Promise<WorkbenchPage> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  const lines: string[] = [];
  const push = (line: string): void => {
    lines.push(line);
    onLine?.(line);
  };
  // Formatting a message needs its arguments from the page (async): chain to keep the order.
  let chain = Promise.resolve();
  page.on('console', (msg) => {
    chain = chain.then(async () => push(`[${msg.type()}] ${await consoleText(msg)}`));
  });
  page.on('pageerror', (err) => push(`[pageerror] ${err.stack ?? err.message}`));
  let resolveExit!: (code: number) => void;
  const exited = new Promise<number>((res) => (resolveExit = res));
  // Must exist before the workbench script runs: it looks the function up when tests end.
  await page.exposeFunction('codeAutomationExit', (code: unknown) => {
    resolveExit(typeof code === 'number' ? code : Number(code) || 0);
  });
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  return { page, exited, consoleLines: () => lines };
}

/**
 * The message as the browser's console would show it. VS Code forwards extension host messages
 * as ("%c[Extension Host] %c<format>", css, css, ...args): msg.text() alone drops the arguments.
 */
async function consoleText(msg: ConsoleMessage): Promise<string> {
  const values = await Promise.all(msg.args().map((a) => a.jsonValue().catch(() => undefined)));
  if (values.length === 0 || typeof values[0] !== 'string') return msg.text();
  const rest = values.slice(1);
  const head = (values[0]).replace(/%[csdifoO]/g, (spec) => {
    const v = rest.shift();
    return spec === '%c' ? '' : show(v);
  });
  return [head, ...rest.map(show)].join(' ').trim();
}

function show(v: unknown): string {
  if (typeof v === 'string') return v;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
