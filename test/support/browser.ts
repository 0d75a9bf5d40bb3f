// A real browser for the web tier: Debian's Chromium driven by playwright-core, headless, with a
// fresh profile per launch (playwright-core makes a new --user-data-dir in the temp dir and removes
// it on close) and nothing that talks to the network on its own.
// Every request the page makes beyond the server under test is recorded, so a test can check that
// the web interface makes no external requests.
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export interface TestBrowser {
  browser: Browser;
  /** A new context (cookies, storage) and page; `colorScheme` emulates the system's. */
  page(options?: { colorScheme?: 'light' | 'dark'; viewport?: { width: number; height: number } }): Promise<{ context: BrowserContext; page: Page }>;
  /** Requests to origins other than the allowed ones (the server, and those a test adds). */
  readonly foreignRequests: string[];
  /** Uncaught errors of the pages and Content-Security-Policy violations they reported. */
  readonly pageErrors: string[];
  allowOrigin(origin: string): void;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
    ],
  });
  const allowed = new Set<string>();
  const foreign: string[] = [];
  const pageErrors: string[] = [];
  return {
    browser,
    foreignRequests: foreign,
    pageErrors,
    allowOrigin: (origin) => void allowed.add(origin),
    async page(options = {}) {
      const context = await browser.newContext({ colorScheme: options.colorScheme ?? 'light', viewport: options.viewport ?? { width: 1200, height: 860 } });
      context.on('request', (req) => {
        const url = new URL(req.url());
        if (url.protocol === 'data:' || url.protocol === 'blob:') return;
        const origin = `${url.protocol === 'ws:' ? 'http:' : url.protocol === 'wss:' ? 'https:' : url.protocol}//${url.host}`;
        if (!allowed.has(origin)) foreign.push(req.url());
      });
      const page = await context.newPage();
      page.on('pageerror', (err) => void pageErrors.push(err.message));
      page.on('console', (msg) => {
        if (/Content Security Policy/i.test(msg.text())) pageErrors.push(msg.text());
      });
      return { context, page };
    },
    async close() {
      await browser.close().catch(() => undefined);
    },
  };
}
