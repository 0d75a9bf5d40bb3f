// Every Kubernetes manifest in deploy/kubernetes is checked against the Kubernetes OpenAPI schema
// (the validators kubernetes-models compiles from it), strictly: a field the schema does not know
// is an error too, as `kubectl apply --validate=strict` makes it (the schema alone accepts unknown
// fields, so a misspelt `readinesProbe` would pass unseen).
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';

const ROOT = join(__dirname, '..', '..', '..');
const DEPLOY = join(ROOT, 'deploy', 'kubernetes');

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Validator = ((data: unknown) => boolean) & { errors?: { instancePath: string; message?: string; keyword: string; params: unknown }[] | null };

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });
}

function documents(file: string): Json[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as Json;
  });
}

/** The compiled schema validator for apiVersion + kind, e.g. apps/v1 Deployment → IoK8sApiAppsV1Deployment. */
async function validatorFor(apiVersion: string, kind: string): Promise<Validator> {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['core', apiVersion];
  const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
  const name = `IoK8sApi${cap(group!.split('.')[0]!)}${cap(version!)}${kind}`;
  // The model module exists only for a real apiVersion/kind pair (a wrong pair fails here).
  await import(`kubernetes-models/${apiVersion}/${kind}`);
  const mod = (await import(`kubernetes-models/_schemas/${name}`)) as { validate: Validator };
  return mod.validate;
}

/**
 * Validates `doc` and returns its problems: the schema's errors, then every field the schema never
 * looked at. The compiled validator reads each property it knows by name and enumerates the keys
 * of maps (labels, data, ...), so a key of an object that was neither read nor enumerated is one
 * the schema does not have.
 */
export async function problemsOf(doc: Json): Promise<string[]> {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return ['not an object'];
  const { apiVersion, kind } = doc;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return ['no apiVersion/kind'];
  let validate: Validator;
  try {
    validate = await validatorFor(apiVersion, kind);
  } catch {
    return [`unknown apiVersion/kind ${apiVersion} ${kind}`];
  }
  const seen = new Map<string, { keys: Set<string>; enumerated: boolean; value: object }>();
  const wrap = (value: Json, path: string): unknown => {
    if (!value || typeof value !== 'object') return value;
    const entry = { keys: new Set<string>(), enumerated: false, value };
    seen.set(path, entry);
    const children = new Map<string, unknown>();
    return new Proxy(value, {
      get(target, prop, receiver) {
        if (typeof prop !== 'string') return Reflect.get(target, prop, receiver) as unknown;
        entry.keys.add(prop);
        if (!Object.hasOwn(target, prop)) return Reflect.get(target, prop, receiver) as unknown;
        if (!children.has(prop)) children.set(prop, wrap((target as Record<string, Json>)[prop]!, `${path}/${prop}`));
        return children.get(prop);
      },
      ownKeys(target) {
        entry.enumerated = true;
        return Reflect.ownKeys(target);
      },
    });
  };
  const ok = validate(wrap(doc, ''));
  const problems = ok ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`);
  for (const [path, entry] of seen) {
    if (Array.isArray(entry.value) || entry.enumerated) continue;
    for (const key of Object.keys(entry.value)) {
      if (path === '' && (key === 'apiVersion' || key === 'kind')) continue;
      if (!entry.keys.has(key)) problems.push(`${path}/${key}: unknown field`);
    }
  }
  return problems;
}

describe('deploy/kubernetes manifests', () => {
  const files = yamlFiles(DEPLOY);

  it('are there: a Deployment, a Service, a PodDisruptionBudget, the Secret example and an optional PostgreSQL', () => {
    const kinds = files.flatMap((f) => documents(f).map((d) => (d as { kind?: string }).kind));
    for (const kind of ['Deployment', 'Service', 'PodDisruptionBudget', 'Secret', 'StatefulSet', 'Kustomization']) assert.ok(kinds.includes(kind), `no ${kind} in ${DEPLOY}`);
  });

  it('every Kubernetes object validates against the OpenAPI schema, with no unknown field', async () => {
    let checked = 0;
    for (const file of files) {
      for (const doc of documents(file)) {
        if ((doc as { kind?: string }).kind === 'Kustomization') continue;
        assert.deepEqual(await problemsOf(doc), [], relative(ROOT, file));
        checked++;
      }
    }
    assert.ok(checked >= 8, `only ${checked} objects checked`);
  });

  it('every kustomization lists files that exist, and every manifest beside it but the example Secret', () => {
    for (const file of files.filter((f) => /kustomization\.ya?ml$/.test(f))) {
      const [k] = documents(file) as { resources: string[] }[];
      for (const r of k!.resources) assert.ok(existsSync(join(dirname(file), r)), `${relative(ROOT, file)}: ${r} does not exist`);
      const beside = readdirSync(dirname(file)).filter((n) => /\.ya?ml$/.test(n) && !/kustomization|example/.test(n));
      assert.deepEqual([...beside].sort(), [...k!.resources].sort(), relative(ROOT, file));
    }
  });

  it('the Deployment takes its secrets from Secrets, probes /healthz and leaves time for the drain', () => {
    const dep = documents(join(DEPLOY, 'deployment.yaml'))[0] as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    const c = dep.spec.template.spec.containers[0];
    const fromSecret = (name: string) => c.env.find((e: { name: string }) => e.name === name)?.valueFrom?.secretKeyRef?.name;
    assert.equal(fromSecret('DELEGATE_DATABASE_URL'), 'delegate');
    assert.equal(fromSecret('DELEGATE_TOKEN'), 'delegate');
    assert.equal(c.readinessProbe.httpGet.path, '/healthz');
    assert.equal(c.livenessProbe.httpGet.path, '/healthz');
    // The server ends its drain within 10 s of SIGTERM (server/src/main.ts), after the preStop pause.
    assert.ok(dep.spec.template.spec.terminationGracePeriodSeconds >= 10 + c.lifecycle.preStop.sleep.seconds + 5);
    assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
    assert.equal(c.securityContext.privileged, false);
  });

  describe('the check itself fails on', () => {
    const deployment = () => documents(join(DEPLOY, 'deployment.yaml'))[0] as any; // eslint-disable-line @typescript-eslint/no-explicit-any

    it('an unknown field (a misspelt probe)', async () => {
      const d = deployment();
      const c = d.spec.template.spec.containers[0];
      c.readinesProbe = c.readinessProbe;
      delete c.readinessProbe;
      assert.deepEqual(await problemsOf(d), ['/spec/template/spec/containers/0/readinesProbe: unknown field']);
    });

    it('a value of the wrong type or outside its enum', async () => {
      const d = deployment();
      d.spec.replicas = 'three';
      d.spec.template.spec.containers[0].imagePullPolicy = 'Sometimes';
      const problems = await problemsOf(d);
      assert.ok(problems.some((p) => p.startsWith('/spec/replicas:')), problems.join('\n'));
      assert.ok(problems.some((p) => p.startsWith('/spec/template/spec/containers/0/imagePullPolicy:')), problems.join('\n'));
    });

    it('a missing required field and an unknown kind', async () => {
      const d = deployment();
      delete d.spec.selector;
      assert.ok((await problemsOf(d)).some((p) => p.includes('selector')));
      assert.deepEqual(await problemsOf({ apiVersion: 'apps/v1', kind: 'Deploymnet', metadata: { name: 'x' } }), ['unknown apiVersion/kind apps/v1 Deploymnet']);
    });
  });
});
