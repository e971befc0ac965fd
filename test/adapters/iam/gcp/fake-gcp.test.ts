import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ProjectsClient } from '@google-cloud/resource-manager';
import { startFakeGcp, type FakeGcp } from '../../../fakes/fake-gcp';

const P = 'projects/demo-project';
const AUTH = { 'content-type': 'application/json', authorization: 'Bearer t' };
const cond = (title: string, iso: string) => ({ title, expression: `request.time < timestamp("${iso}")` });

async function call(fake: FakeGcp | string, op: string, body: unknown, resource = P): Promise<{ status: number; json: Record<string, unknown> }> {
  const base = typeof fake === 'string' ? fake : fake.url;
  const res = await fetch(`${base}/v3/${resource}:${op}?$alt=json%3Benum-encoding=int`, { method: 'POST', headers: AUTH, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('fake Resource Manager behaves as the documented API', () => {
  let fake: FakeGcp;
  beforeEach(async () => {
    fake = await startFakeGcp({
      resources: { [P]: { bindings: [{ role: 'roles/logging.viewer', members: ['user:a@example.com'], condition: cond('t', '2099-01-01T00:00:00Z') }] } },
      users: ['a@example.com', 'b@example.com'],
    });
  });
  afterEach(() => fake.close());

  it('answers a version-1 read over conditions with renamed roles and no conditions', async () => {
    const v1 = await call(fake, 'getIamPolicy', {});
    expect(v1.json['version']).toBe(1);
    expect((v1.json['bindings'] as { role: string; condition?: unknown }[])[0]).toEqual({ role: expect.stringMatching(/^roles\/logging\.viewer_withcond_[0-9a-f]+$/) as unknown, members: ['user:a@example.com'] });
    const v3 = await call(fake, 'getIamPolicy', { options: { requestedPolicyVersion: 3 } });
    expect(v3.json['version']).toBe(3);
  });

  it('refuses writes that would lose conditions, stale etags, and conditions on basic roles', async () => {
    const { json } = await call(fake, 'getIamPolicy', { options: { requestedPolicyVersion: 3 } });
    const bindings = json['bindings'] as unknown[];
    expect((await call(fake, 'setIamPolicy', { policy: { version: 3, bindings } })).status).toBe(400);
    expect((await call(fake, 'setIamPolicy', { policy: { version: 1, etag: json['etag'], bindings } })).status).toBe(400);
    const basic = [...bindings, { role: 'roles/owner', members: ['user:b@example.com'], condition: cond('x', '2099-01-01T00:00:00Z') }];
    expect((await call(fake, 'setIamPolicy', { policy: { version: 3, etag: json['etag'], bindings: basic } })).status).toBe(400);
    const ok = await call(fake, 'setIamPolicy', { policy: { version: 3, etag: json['etag'], bindings } });
    expect(ok.status).toBe(200);
    expect(ok.json['etag']).not.toBe(json['etag']);
    const stale = await call(fake, 'setIamPolicy', { policy: { version: 3, etag: json['etag'], bindings } });
    expect(stale.status).toBe(409);
    expect((stale.json['error'] as Record<string, unknown>)['status']).toBe('ABORTED');
  });

  it('refuses unknown users and more than 1,500 members', async () => {
    const { json } = await call(fake, 'getIamPolicy', { options: { requestedPolicyVersion: 3 } });
    const unknown = await call(fake, 'setIamPolicy', { policy: { version: 3, etag: json['etag'], bindings: [{ role: 'roles/x.y', members: ['user:ghost@example.com'] }] } });
    expect(unknown.status).toBe(400);
    expect((unknown.json['error'] as Record<string, unknown>)['message']).toBe('User ghost@example.com does not exist.');
    const many = Array.from({ length: 1501 }, (_, i) => `serviceAccount:sa${i}@p.iam.gserviceaccount.com`);
    expect((await call(fake, 'setIamPolicy', { policy: { version: 3, etag: json['etag'], bindings: [{ role: 'roles/x.y', members: many }] } })).status).toBe(400);
  });

  it('evaluates access by the condition time', () => {
    expect(fake.hasAccess(P, 'roles/logging.viewer', 'user:a@example.com')).toBe(true);
    expect(fake.hasAccess(P, 'roles/logging.viewer', 'user:a@example.com', new Date('2099-01-01T00:00:01Z'))).toBe(false);
    expect(fake.hasAccess(P, 'roles/logging.viewer', 'user:b@example.com')).toBe(false);
  });

  it('runs as a process: one listening line, state and failure injection over HTTP, stops on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fake-gcp-'));
    const seed = join(dir, 'seed.json');
    writeFileSync(seed, JSON.stringify({ resources: { [P]: {} }, users: ['a@example.com'] }));
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fakes/fake-gcp.ts', '--port', '0', '--seed', seed], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`fake exited with ${code}`)));
      });
      const { listening } = JSON.parse(line) as { listening: number };
      const url = `http://127.0.0.1:${listening}`;
      const state = (await (await fetch(`${url}/__fake/state`)).json()) as { resources: Record<string, unknown>; users: string[] };
      expect(Object.keys(state.resources)).toEqual([P]);
      expect(state.users).toEqual(['a@example.com']);
      await fetch(`${url}/__fake/fail`, { method: 'POST', body: JSON.stringify({ status: 503 }) });
      expect((await call(url, 'getIamPolicy', {})).status).toBe(503);
      expect((await call(url, 'getIamPolicy', {})).status).toBe(200);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });

  it('with service accounts seeded, accepts the self-signed JWT the real client makes from a key file, and only that', async () => {
    // Given a fake that knows one service account's public key, and a key file for it
    const bot = 'prod-access-bot@demo-project.iam.gserviceaccount.com';
    const key = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const strict = await startFakeGcp({
      resources: { [P]: {} },
      serviceAccounts: [{ email: bot, publicKey: key.publicKey.export({ type: 'spki', format: 'pem' }).toString(), keyId: 'k1' }],
    });
    const dir = mkdtempSync(join(tmpdir(), 'fake-gcp-sa-'));
    const keyFile = (privateKey: typeof key.privateKey, email: string) => {
      const file = join(dir, `${email}-${Math.random()}.json`);
      const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      writeFileSync(file, JSON.stringify({ type: 'service_account', project_id: 'demo-project', private_key_id: 'k1', private_key: pem, client_email: email, client_id: '1', token_uri: `${strict.url}/token` }));
      return file;
    };
    const clientWith = (file: string) => new ProjectsClient({ fallback: true, protocol: 'http', apiEndpoint: '127.0.0.1', port: strict.port, keyFilename: file });
    const good = clientWith(keyFile(key.privateKey, bot));
    const wrongKey = clientWith(keyFile(other.privateKey, bot));
    const unknown = clientWith(keyFile(key.privateKey, 'someone@demo-project.iam.gserviceaccount.com'));
    try {
      // When the real client reads the policy with each
      const [policy] = await good.getIamPolicy({ resource: P, options: { requestedPolicyVersion: 3 } });
      const refusals = await Promise.all([wrongKey, unknown].map((c) => c.getIamPolicy({ resource: P }, { retry: null }).then(() => 'accepted', (e: { code?: number }) => e.code)));
      const opaque = await call(strict, 'getIamPolicy', {});

      // Then the JWT signed with the account's key passes, with no call to any token endpoint
      expect(policy.bindings).toEqual([]);
      const sent = strict.calls('getIamPolicy')[0]?.authorization ?? '';
      const claims = JSON.parse(Buffer.from(sent.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
      expect(claims).toMatchObject({ iss: bot, sub: bot });
      expect(String(claims['scope']).split(' ')).toContain('https://www.googleapis.com/auth/cloud-platform');
      expect(strict.requests.filter((r) => r.path === '/token')).toEqual([]);
      // And a wrong key, an unknown account and an opaque token are 401
      expect(refusals).toEqual([401, 401]);
      expect(opaque.status).toBe(401);
    } finally {
      await Promise.all([good, wrongKey, unknown].map((c) => c.close()));
      await strict.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
