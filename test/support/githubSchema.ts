// GitHub's published OpenAPI description (@octokit/openapi) as the fake GitHub uses it: the
// operations it serves, validators for their requests and responses, and GitHub's own example
// objects filled in with the double's values.
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import type { FakePull } from './githubDouble';

export type Spec = { paths: Record<string, Record<string, Operation>>; components: Record<string, Record<string, unknown>> };
export type Operation = { parameters?: Array<{ $ref?: string; name?: string; in?: string; schema?: unknown }>; requestBody?: { content: Record<string, { schema: unknown }> }; responses: Record<string, unknown> };

export const OPS = {
  'pulls/create': { path: '/repos/{owner}/{repo}/pulls', method: 'post' },
  'pulls/list': { path: '/repos/{owner}/{repo}/pulls', method: 'get' },
  'pulls/get': { path: '/repos/{owner}/{repo}/pulls/{pull_number}', method: 'get' },
  'pulls/update': { path: '/repos/{owner}/{repo}/pulls/{pull_number}', method: 'patch' },
} as const;
export type OpName = keyof typeof OPS;
/** Who-am-I operations: answered for the tokens in `users` (see startFakeGitHub). */
export const USER_OPS = {
  'users/get-authenticated': { path: '/user', method: 'get' },
  'orgs/get-membership-for-authenticated-user': { path: '/user/memberships/orgs/{org}', method: 'get' },
} as const;

/** A GitHub user the double knows by token: their login and the organisations they belong to. */
export interface FakeUser {
  login: string;
  id: number;
  orgs?: string[];
}

/** Compiles the request, query and response validators of the operations the double serves. */
export function loadValidators(): { spec: Spec; has: (key: string) => boolean; validate: (key: string, value: unknown) => string | null } {
  const spec = JSON.parse(readFileSync(require.resolve('@octokit/openapi/generated/api.github.com.json'), 'utf8')) as Spec;
  const resolve = <T>(node: unknown): T => {
    let n = node as { $ref?: string };
    while (n && typeof n.$ref === 'string') {
      const [, section, name] = n.$ref.split('/').slice(1);
      n = spec.components[section!]![name!] as { $ref?: string };
    }
    return n as T;
  };
  const schemas: Record<string, unknown> = {};
  for (const [name, { path, method }] of Object.entries({ ...OPS, ...USER_OPS })) {
    const op = spec.paths[path]![method]!;
    const body = op.requestBody?.content['application/json']?.schema;
    if (body) schemas[`${name}:request`] = body;
    const query: Record<string, unknown> = {};
    for (const p of (op.parameters ?? []).map((x) => resolve<{ name: string; in: string; schema: unknown }>(x))) {
      if (p.in === 'query') query[p.name] = p.schema;
    }
    schemas[`${name}:query`] = { type: 'object', properties: query, additionalProperties: false };
    for (const [status, resp] of Object.entries(op.responses)) {
      const schema = resolve<{ content?: Record<string, { schema: unknown }> }>(resp).content?.['application/json']?.schema;
      if (schema) schemas[`${name}:${status}`] = schema;
    }
  }
  schemas['error'] = { $ref: '#/components/schemas/basic-error' };
  const ajv = new Ajv({ strict: false, allErrors: true, logger: false, coerceTypes: false });
  addFormats(ajv);
  ajv.addFormat('repo.nwo', /^[^/]+\/[^/]+$/);
  const query = new Ajv({ strict: false, allErrors: true, logger: false, coerceTypes: true });
  query.addSchema({ $id: 'gh', components: spec.components, ops: schemas });
  ajv.addSchema({ $id: 'gh', components: spec.components, ops: schemas });
  const compiled = new Map<string, ValidateFunction>();
  return {
    spec,
    has: (key) => key in schemas,
    validate(key, value) {
      if (!(key in schemas)) return `no schema for ${key} in the OpenAPI description`;
      let fn = compiled.get(key);
      if (!fn) {
        fn = (key.endsWith(':query') ? query : ajv).compile({ $ref: `gh#/ops/${key.replace(/\//g, '~1')}` });
        compiled.set(key, fn);
      }
      if (fn(value)) return null;
      return (fn.errors ?? []).slice(0, 5).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`).join('; ');
    },
  };
}

/** A full `pull-request` object: GitHub's own example with this PR's values put in. */
export function pullObject(spec: Spec, pr: FakePull, urls: { api: string; web: string }, headSha: string, baseSha: string): Record<string, unknown> {
  const example = (spec.components.examples!['pull-request'] as { value: Record<string, unknown> }).value;
  const rebase = (v: unknown): unknown =>
    JSON.parse(
      JSON.stringify(v)
        .replaceAll('https://api.github.com/repos/octocat/Hello-World', `${urls.api}/repos/${pr.owner}/${pr.repo}`)
        .replaceAll('https://github.com/octocat/Hello-World', `${urls.web}/${pr.owner}/${pr.repo}`)
        .replaceAll('https://api.github.com', urls.api)
        .replaceAll('https://github.com', urls.web)
        .replaceAll('octocat/Hello-World', `${pr.owner}/${pr.repo}`)
        .replaceAll('"Hello-World"', JSON.stringify(pr.repo)),
    );
  const head = example.head as Record<string, unknown>;
  const repoObj = rebase(head.repo);
  const user = rebase(example.user);
  const api = `${urls.api}/repos/${pr.owner}/${pr.repo}`;
  const web = `${urls.web}/${pr.owner}/${pr.repo}`;
  const side = (ref: string, sha: string): Record<string, unknown> => ({ label: `${pr.owner}:${ref}`, ref, sha, user, repo: repoObj });
  return {
    ...(rebase(example) as Record<string, unknown>),
    url: `${api}/pulls/${pr.number}`,
    id: 1000 + pr.number,
    node_id: Buffer.from(`PullRequest${pr.number}`).toString('base64'),
    html_url: `${web}/pull/${pr.number}`,
    diff_url: `${web}/pull/${pr.number}.diff`,
    patch_url: `${web}/pull/${pr.number}.patch`,
    issue_url: `${api}/issues/${pr.number}`,
    commits_url: `${api}/pulls/${pr.number}/commits`,
    review_comments_url: `${api}/pulls/${pr.number}/comments`,
    comments_url: `${api}/issues/${pr.number}/comments`,
    statuses_url: `${api}/statuses/${headSha}`,
    number: pr.number,
    state: pr.state,
    locked: false,
    title: pr.title,
    body: pr.body,
    user,
    labels: [],
    milestone: null,
    active_lock_reason: null,
    created_at: pr.createdAt,
    updated_at: pr.updatedAt,
    closed_at: null,
    merged_at: null,
    merge_commit_sha: null,
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    requested_teams: [],
    head: side(pr.head, headSha),
    base: side(pr.base, baseSha),
    _links: {
      self: { href: `${api}/pulls/${pr.number}` },
      html: { href: `${web}/pull/${pr.number}` },
      issue: { href: `${api}/issues/${pr.number}` },
      comments: { href: `${api}/issues/${pr.number}/comments` },
      review_comments: { href: `${api}/pulls/${pr.number}/comments` },
      review_comment: { href: `${api}/pulls/comments{/number}` },
      commits: { href: `${api}/pulls/${pr.number}/commits` },
      statuses: { href: `${api}/statuses/${headSha}` },
    },
    author_association: 'OWNER',
    auto_merge: null,
    draft: pr.draft,
    merged: false,
    mergeable: null,
    rebaseable: null,
    mergeable_state: 'unknown',
    merged_by: null,
    comments: 0,
    review_comments: 0,
    maintainer_can_modify: false,
    commits: 1,
    additions: 0,
    deletions: 0,
    changed_files: 0,
  };
}
