// Output shaping for what the model and the event log see. The head of an output usually says what
// ran and the tail says how it ended, so both are kept and the middle is dropped.

/** Keep at most `max` characters: the first ~40% and the last ~60%, with a marker between. */
export function truncateMiddle(text: string, max: number): string {
  if (text.length <= max) return text;
  const headLen = Math.floor(max * 0.4);
  const tailLen = max - headLen;
  const omitted = text.length - headLen - tailLen;
  return `${text.slice(0, headLen)}\n[... ${omitted} characters omitted ...]\n${text.slice(text.length - tailLen)}`;
}

/** Cut a single line to `max` characters; search results and listings must not carry minified files. */
export function clipLine(line: string, max: number): string {
  return line.length <= max ? line : `${line.slice(0, max)}… [${line.length - max} more characters]`;
}

/** A fence of backticks longer than any run inside `text`, so quoted code cannot close it. */
export function fenceFor(text: string): string {
  let longest = 0;
  for (const m of text.matchAll(/`+/g)) longest = Math.max(longest, m[0].length);
  return '`'.repeat(Math.max(3, longest + 1));
}
