// Every error code the server produces is one of the protocol's stable codes, has its HTTP status,
// and is documented (issue #17: task error codes were free strings, a dozen without a status).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiErrorCode, ERROR_STATUS, ErrorCode, TaskErrorCode } from '../../../protocol';

const ROOT = join(__dirname, '..', '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

/** Code literals where errors are made: `code: 'x'` (also `code: c ? 'x' : 'y'`), `fail('x'`, `HttpError('x'`. */
function codesUsedIn(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/\bcode: (?:[^,'}]*\? )?'([a-z_]+)'(?: : '([a-z_]+)')?/g)) found.push(m[1]!, ...(m[2] ? [m[2]] : []));
  for (const m of text.matchAll(/\b(?:fail|HttpError)\('([a-z_]+)'/g)) found.push(m[1]!);
  return found;
}

describe('error codes', () => {
  it('gives every code a fixed 4xx or 5xx status', () => {
    for (const code of ErrorCode.options) {
      const status = ERROR_STATUS[code];
      assert.ok(status >= 400 && status < 600, `${code} → ${status}`);
    }
    assert.deepEqual(Object.keys(ERROR_STATUS).sort(), [...ErrorCode.options].sort());
  });

  it('ErrorCode is exactly the API codes and the task codes', () => {
    assert.deepEqual(new Set(ErrorCode.options), new Set([...ApiErrorCode.options, ...TaskErrorCode.options]));
    assert.equal(ErrorCode.safeParse('no_such_code').success, false);
  });

  it('knows every code the server writes into an error', () => {
    const unknown: string[] = [];
    let seen = 0;
    for (const file of sources(join(ROOT, 'server', 'src'))) {
      for (const code of codesUsedIn(readFileSync(file, 'utf8'))) {
        seen++;
        if (!ErrorCode.safeParse(code).success) unknown.push(`${code} (${file.slice(ROOT.length + 1)})`);
      }
    }
    assert.ok(seen > 50, `found only ${seen} codes: the scan no longer matches how errors are written`);
    assert.deepEqual(unknown, []);
  });

  it('documents every code with its status in docs/api.md', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'api.md'), 'utf8');
    for (const code of ErrorCode.options) assert.ok(doc.includes(`\`${code}\``), `docs/api.md does not mention ${code}`);
  });
});
