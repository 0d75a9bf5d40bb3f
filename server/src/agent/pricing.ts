// Token accounting and a small list-price table for cost estimates. Prices change; an unknown model
// gets a null cost rather than a wrong number.
import type { Usage } from '../../../protocol';

/** Tokens of one model response. `cached` is part of `input`; `reasoning` is part of `output`. */
export interface TurnUsage {
  input: number;
  cached: number;
  output: number;
  reasoning: number;
}

/** USD per million tokens. */
interface Price {
  input: number;
  cachedInput: number;
  output: number;
}

// Longest matching prefix wins, so 'gpt-5-mini' is found before 'gpt-5'.
const PRICES: ReadonlyArray<readonly [string, Price]> = [
  ['gpt-5.1-codex-mini', { input: 0.25, cachedInput: 0.025, output: 2 }],
  ['gpt-5.1-codex', { input: 1.25, cachedInput: 0.125, output: 10 }],
  ['gpt-5.1', { input: 1.25, cachedInput: 0.125, output: 10 }],
  ['gpt-5-codex', { input: 1.25, cachedInput: 0.125, output: 10 }],
  ['gpt-5-nano', { input: 0.05, cachedInput: 0.005, output: 0.4 }],
  ['gpt-5-mini', { input: 0.25, cachedInput: 0.025, output: 2 }],
  ['gpt-5', { input: 1.25, cachedInput: 0.125, output: 10 }],
  ['gpt-4.1-nano', { input: 0.1, cachedInput: 0.025, output: 0.4 }],
  ['gpt-4.1-mini', { input: 0.4, cachedInput: 0.1, output: 1.6 }],
  ['gpt-4.1', { input: 2, cachedInput: 0.5, output: 8 }],
  ['gpt-4o-mini', { input: 0.15, cachedInput: 0.075, output: 0.6 }],
  ['gpt-4o', { input: 2.5, cachedInput: 1.25, output: 10 }],
  ['o4-mini', { input: 1.1, cachedInput: 0.275, output: 4.4 }],
  ['o3-mini', { input: 1.1, cachedInput: 0.55, output: 4.4 }],
  ['o3', { input: 2, cachedInput: 0.5, output: 8 }],
  ['codex-mini-latest', { input: 1.5, cachedInput: 0.375, output: 6 }],
];

function priceFor(model: string): Price | null {
  // Router-style names ("openai/gpt-5") carry the provider first.
  const name = model.toLowerCase().replace(/^.*\//, '');
  let best: readonly [string, Price] | null = null;
  for (const entry of PRICES) {
    const [prefix] = entry;
    const boundary = name.length === prefix.length || /[-:@]/.test(name[prefix.length] ?? '');
    if (name.startsWith(prefix) && boundary && (!best || prefix.length > best[0].length)) best = entry;
  }
  return best ? best[1] : null;
}

/** Estimated list-price cost in USD, or null for a model not in the table. */
export function estimateCostUsd(model: string, usage: TurnUsage): number | null {
  const price = priceFor(model);
  if (!price) return null;
  const cached = Math.min(usage.cached, usage.input);
  const usd = ((usage.input - cached) * price.input + cached * price.cachedInput + usage.output * price.output) / 1e6;
  return Math.round(usd * 1e9) / 1e9;
}

export function emptyTurnUsage(): TurnUsage {
  return { input: 0, cached: 0, output: 0, reasoning: 0 };
}

export function addTurnUsage(a: TurnUsage, b: TurnUsage): TurnUsage {
  return { input: a.input + b.input, cached: a.cached + b.cached, output: a.output + b.output, reasoning: a.reasoning + b.reasoning };
}

/**
 * The task's cumulative usage: what it had before this run plus this run's tokens. The cost stays
 * null once any part of it is unknown, so a partial sum is never shown as the total.
 */
export function combineUsage(before: Usage, model: string, run: TurnUsage, requests: number): Usage {
  const runCost = estimateCostUsd(model, run);
  const beforeUnknown = before.costUsd === null && before.modelRequests > 0;
  const costUsd =
    runCost === null || beforeUnknown ? null : Math.round(((before.costUsd ?? 0) + runCost) * 1e9) / 1e9;
  return {
    inputTokens: before.inputTokens + run.input,
    cachedInputTokens: before.cachedInputTokens + run.cached,
    outputTokens: before.outputTokens + run.output,
    reasoningTokens: before.reasoningTokens + run.reasoning,
    costUsd: requests === 0 && before.modelRequests === 0 ? null : costUsd,
    modelRequests: before.modelRequests + requests,
  };
}
