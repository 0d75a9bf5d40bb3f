// One wall clock with sub-millisecond resolution, comparable with `date +%s%N` run in a sandbox
// (both read CLOCK_REALTIME; sandboxes get no time namespace).
import { readFileSync } from 'node:fs';

export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** `date +%s%N` output (nanoseconds since the epoch) as milliseconds. */
export function nsToMs(text: string): number {
  const ns = BigInt(text.trim());
  return Number(ns / 1000n) / 1000;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function loadAverage(): [number, number, number] {
  const [a = NaN, b = NaN, c = NaN] = readFileSync('/proc/loadavg', 'utf8').split(' ').map(Number);
  return [a, b, c];
}
