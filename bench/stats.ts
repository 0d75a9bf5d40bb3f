// Summary statistics of a sample: what every figure in results.json is reported as.

export interface Summary {
  n: number;
  min: number;
  median: number;
  p95: number;
  max: number;
}

/** Nearest-rank percentile of an ascending array (p in 0..100). */
function percentile(sorted: number[], p: number): number {
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

export function summarize(samples: number[]): Summary | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { n: sorted.length, min: round(sorted[0]!), median: round(median), p95: round(percentile(sorted, 95)), max: round(sorted.at(-1)!) };
}
