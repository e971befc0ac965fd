import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { DAVE_ID, READER, SCOPE } from './azure-fixture';

const ROOT = path.resolve(__dirname, '../../../..');

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => resolve(line));
    child.once('exit', (code) => reject(new Error(`exited with ${code}`)));
  });
}

function call(port: number, ca: string, method: string, pathname: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, method, path: pathname, ca, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

describe('fake Azure as a separate process', () => {
  let fake: ChildProcess;
  let port: number;
  let ca: string;
  let caFile: string;
  beforeAll(async () => {
    fake = spawn(process.execPath, ['--import', 'tsx', 'test/fakes/fake-azure.ts', '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    const ready = JSON.parse(await firstLine(fake)) as { listening: number; caFile: string };
    port = ready.listening;
    caFile = ready.caFile;
    ca = readFileSync(caFile, 'utf8');
  });
  afterAll(async () => {
    const exited = new Promise((resolve) => fake.once('exit', resolve));
    fake.kill('SIGTERM');
    await exited;
  });

  it('is seeded and inspected over HTTP, and serves the production credential chain and provider of another process', async () => {
    // Given a seeded directory
    expect((await call(port, ca, 'POST', '/__fake/seed', { users: [{ id: DAVE_ID, userPrincipalName: 'dave@example.com' }], roleDefinitions: [{ guid: READER, roleName: 'Reader' }] })).status).toBe(200);
    // When a separate process grants with DefaultAzureCredential (client secret from the environment) against the fake
    const url = `https://127.0.0.1:${port}`;
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/adapters/iam/azure/azure-grant-script.ts', 'dave@example.com', DAVE_ID, SCOPE, READER], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        PATH: process.env['PATH'],
        NODE_EXTRA_CA_CERTS: caFile,
        AZURE_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47',
        AZURE_CLIENT_ID: 'prod-access-bot',
        AZURE_CLIENT_SECRET: 'not-a-real-secret',
        AZURE_AUTHORITY_HOST: url,
        AZURE_RESOURCE_MANAGER_ENDPOINT: url,
        AZURE_GRAPH_ENDPOINT: url,
        PROD_ACCESS_AZURE_DISABLE_INSTANCE_DISCOVERY: 'true',
      },
    });
    const outcome = JSON.parse(await firstLine(child)) as { ok: boolean; error?: string };
    // Then it got a token from the fake's token endpoint and made the assignment
    expect(outcome).toEqual({ ok: true });
    const state = (await call(port, ca, 'GET', '/__fake/state')).json as { assignments: { properties: { principalId: string; endDateTime: string } }[]; requests: { op: string; bearer: boolean }[] };
    expect(state.assignments.map((a) => a.properties.principalId)).toEqual([DAVE_ID]);
    expect(state.requests.map((r) => r.op)).toEqual(['token.discovery', 'token', 'scheduleRequests.create']);
    expect(state.requests[2]?.bearer).toBe(true);
    // And failure injection and the clock are reachable over HTTP
    expect((await call(port, ca, 'POST', '/__fake/fail', { count: 1, status: 503 })).status).toBe(200);
    const advanced = await call(port, ca, 'POST', '/__fake/clock', { advanceMs: 2 * 3_600_000 });
    expect(Date.parse(String(advanced.json['now']))).toBeGreaterThan(Date.now() + 3_600_000);
    const after = (await call(port, ca, 'GET', '/__fake/state')).json as { assignments: unknown[] };
    expect(after.assignments).toEqual([]);
  });
});

describe('fake Azure settings over HTTP', () => {
  let fake: ChildProcess;
  let port: number;
  let ca: string;
  beforeAll(async () => {
    fake = spawn(process.execPath, ['--import', 'tsx', 'test/fakes/fake-azure.ts', '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    const ready = JSON.parse(await firstLine(fake)) as { listening: number; caFile: string };
    port = ready.listening;
    ca = readFileSync(ready.caFile, 'utf8');
  });
  afterAll(async () => {
    const exited = new Promise((resolve) => fake.once('exit', resolve));
    fake.kill('SIGTERM');
    await exited;
  });

  it('shortens Azure\'s two 5-minute rules (shortest assignment, earliest removal) through /__fake/settings', async () => {
    // Given a user and a role, and a 2-minute AdminAssign
    const ERIN = 'e0000000-0000-4000-8000-0000000000e2';
    await call(port, ca, 'POST', '/__fake/seed', { users: [{ id: ERIN, userPrincipalName: 'erin2@example.com' }], roleDefinitions: [{ guid: READER, roleName: 'Reader' }] });
    const bearer = { authorization: 'Bearer t' };
    const path = (name: string) => `${SCOPE}/providers/Microsoft.Authorization/roleAssignmentScheduleRequests/${name}?api-version=2020-10-01`;
    const properties = (requestType: string) => ({
      principalId: ERIN,
      roleDefinitionId: `/subscriptions/${SCOPE.split('/')[2]}/providers/Microsoft.Authorization/roleDefinitions/${READER}`,
      requestType,
      scheduleInfo: { startDateTime: new Date().toISOString(), expiration: { type: 'AfterDateTime', endDateTime: new Date(Date.now() + 2 * 60_000).toISOString() } },
    });
    // When it is sent with Azure's rules, then with them shortened
    const tooShort = await call(port, ca, 'PUT', path('00000000-0000-4000-8000-000000000001'), { properties: properties('AdminAssign') }, bearer);
    const settings = await call(port, ca, 'POST', '/__fake/settings', { minimumDurationMs: 30_000 }, {});
    const assigned = await call(port, ca, 'PUT', path('00000000-0000-4000-8000-000000000002'), { properties: properties('AdminAssign') }, bearer);
    const earlyRemove = await call(port, ca, 'PUT', path('00000000-0000-4000-8000-000000000003'), { properties: properties('AdminRemove') }, bearer);
    await call(port, ca, 'POST', '/__fake/settings', { minimumActiveMs: 0 }, {});
    const removed = await call(port, ca, 'PUT', path('00000000-0000-4000-8000-000000000004'), { properties: properties('AdminRemove') }, bearer);
    // Then the 5-minute rules hold until shortened, each on its own
    expect(tooShort.status).toBe(400);
    expect(tooShort.json['error']).toMatchObject({ code: 'RoleAssignmentRequestPolicyValidationFailed' });
    expect(settings.json).toEqual({ ok: true, minimumActiveMs: 5 * 60_000, minimumDurationMs: 30_000 });
    expect(assigned.status).toBe(201);
    expect(earlyRemove.json['error']).toMatchObject({ code: 'ActiveDurationTooShort' });
    expect(removed.status).toBe(201);
    expect((await call(port, ca, 'POST', '/__fake/settings', { minimumActiveMs: -1 }, {})).status).toBe(400);
  });
});
