// The smallest single replacement that turns one text into another (common prefix and suffix
// kept). Apply edits an open document with it instead of replacing the whole text, so the
// cursor, folds and markers outside the changed region stay where the user left them.

export interface Splice {
  /** Offsets into the old text: [start, end) is replaced by `text`. */
  start: number;
  end: number;
  text: string;
}

export function splice(before: string, after: string): Splice | null {
  if (before === after) return null;
  const max = Math.min(before.length, after.length);
  let start = 0;
  while (start < max && before.charCodeAt(start) === after.charCodeAt(start)) start++;
  let tail = 0;
  while (tail < max - start && before.charCodeAt(before.length - 1 - tail) === after.charCodeAt(after.length - 1 - tail)) tail++;
  // Never split a CRLF or a surrogate pair: widen to whole code units of the line ending/character.
  while (start > 0 && (isLowSurrogate(before.charCodeAt(start)) || (before[start - 1] === '\r' && before[start] === '\n'))) start--;
  while (tail > 0 && (isLowSurrogate(before.charCodeAt(before.length - tail)) || (before[before.length - tail - 1] === '\r' && before[before.length - tail] === '\n'))) tail--;
  return { start, end: before.length - tail, text: after.slice(start, after.length - tail) };
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
