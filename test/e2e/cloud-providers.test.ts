/**
 * The three cloud providers end to end: the service as a separate process, configured for AWS, GCP
 * and Azure only through its environment (as an operator would), against the three cloud fakes, each
 * a separate process too; requests opened and approved through the CLI; the expiry revocation done by
 * the service's own scheduler. The clouds run side by side in one service, so the test waits for one
 * minute of expiry, not three.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot, runCliProcess, startServiceProcess, type RunResult, type ServiceProcess } from '../support/processes';
import { anomalyRules } from '../../src/domain/alert';

// NB: one minute of expiry plus the service's start and a dozen CLI processes on two shared cores.
jest.setTimeout(150_000);

const DAVE = 'dave@example.com';
const ERIN = 'erin@example.com'; // an engineer with no principal in any of the three clouds
const ALICE = 'alice@example.com';

const AWS = {
  instanceArn: 'arn:aws:sso:::instance/ssoins-1234567890abcdef',
  identityStoreId: 'd-1234567890',
  accountId: '111122223333',
  permissionSetArn: 'arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-1234567890abcdef',
  daveUserId: '906712345a-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
};
const GCP = { resource: 'projects/payments-prod', role: 'roles/cloudsql.viewer', bot: 'prod-access-bot@payments-prod.iam.gserviceaccount.com' };
const AZURE = {
  scope: '/subscriptions/11111111-2222-4333-8444-555555555555/resourceGroups/payments-prod',
  reader: 'acdd72a7-3385-48ef-bd42-f606fba81ae7',
  daveObjectId: 'd0000000-0000-4000-8000-00000000da7e',
};

const ROLES = { aws: 'aws-prod-readonly', gcp: 'gcp-sql-viewer', azure: 'azure-prod-reader' } as const;
type Cloud = keyof typeof ROLES;
const CLOUDS: readonly Cloud[] = ['aws', 'gcp', 'azure'];

interface FakeProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly url: string;
  readonly ready: Record<string, unknown>;
}

interface AuditLine {
  readonly seq: number;
  readonly action: string;
  readonly actor: string;
  readonly requestId: string | null;
  readonly data: Record<string, unknown>;
}

interface RequestJson {
  readonly id: string;
  readonly state: string;
  readonly endCause?: string;
  readonly requester: string;
  readonly grant?: { readonly grantedAt: string; readonly expiresAt: string };
}

describe('aws, gcp and azure through the CLI and the service, against the cloud fakes as processes', () => {
  const children: ChildProcess[] = [];
  let dir: string;
  let service: ServiceProcess | undefined;
  let aws: FakeProcess;
  let gcp: FakeProcess;
  let azure: FakeProcess;
  let azureCa: string;
  /** What the CLI needs: only where the service's data is. The clouds are the service's business. */
  let cliEnv: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'prod-access-clouds-'));

    // The bot's own GCP service account: a key made here; the fake knows only its public half.
    const key = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const seeds = {
      aws: {
        instances: [{ instanceArn: AWS.instanceArn, identityStoreId: AWS.identityStoreId }],
        users: [{ identityStoreId: AWS.identityStoreId, userId: AWS.daveUserId, userName: 'dave', email: DAVE }],
        permissionSets: [{ permissionSetArn: AWS.permissionSetArn, name: 'ProdReadOnly', sessionDuration: 'PT1H' }],
      },
      gcp: {
        resources: { [GCP.resource]: { bindings: [{ role: 'roles/logging.viewer', members: ['group:sre@example.com'] }] } },
        users: [DAVE, ALICE],
        serviceAccounts: [{ email: GCP.bot, publicKey: key.publicKey.export({ type: 'spki', format: 'pem' }).toString(), keyId: 'e2e-key-1' }],
      },
      azure: {
        users: [{ id: AZURE.daveObjectId, userPrincipalName: DAVE, mail: DAVE }],
        roleDefinitions: [{ guid: AZURE.reader, roleName: 'Reader' }],
      },
    };
    const started = await Promise.all(
      CLOUDS.map((cloud) => {
        const seedFile = path.join(dir, `seed-${cloud}.json`);
        writeFileSync(seedFile, JSON.stringify(seeds[cloud]));
        return startFake(cloud, seedFile, children);
      }),
    );
    [aws, gcp, azure] = started as [FakeProcess, FakeProcess, FakeProcess];
    const caFile = String(azure.ready['caFile']);
    azureCa = readFileSync(caFile, 'utf8');
    // NB: Azure refuses an assignment shorter than 5 minutes, and its removal within 5 minutes of its
    // start (the Azure provider's own tests cover both, with the real 5 minutes). Both are shortened
    // to 30 s here: the first so that a 1-minute grant is accepted at all, the second so that a
    // removal at expiry is never deferred past this test (at expiry Azure has ended the assignment
    // by itself already, so the bot's AdminRemove finds nothing; see the audit below).
    expect((await azureCall('POST', '/__fake/settings', { minimumDurationMs: 30_000, minimumActiveMs: 30_000 })).status).toBe(200);

    // NB: token_uri points at the fake so that nothing could reach Google, though the client never
    // asks it: under a GAPIC client google-auth-library signs its own JWT (see fake-gcp.ts).
    const keyFile = path.join(dir, 'gcp-service-account.json');
    writeFileSync(
      keyFile,
      JSON.stringify({
        type: 'service_account',
        project_id: 'payments-prod',
        private_key_id: 'e2e-key-1',
        private_key: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        client_email: GCP.bot,
        client_id: '100000000000000000001',
        token_uri: `${gcp.url}/token`,
      }),
      { mode: 0o600 },
    );

    const policyFile = path.join(dir, 'policy.yaml');
    writeFileSync(policyFile, policyYaml());
    cliEnv = { DATA_DIR: path.join(dir, 'data'), POLICY_FILE: policyFile };
    service = await startServiceProcess({
      ...cliEnv,
      AWS_ENDPOINT_URL_SSO_ADMIN: aws.url,
      AWS_ENDPOINT_URL_IDENTITYSTORE: aws.url,
      AWS_ACCESS_KEY_ID: 'AKIDE2EFAKEFAKEFAKE',
      AWS_SECRET_ACCESS_KEY: 'e2e-not-a-real-secret',
      AWS_REGION: 'eu-central-1',
      GCP_RESOURCE_MANAGER_ENDPOINT: gcp.url,
      GOOGLE_APPLICATION_CREDENTIALS: keyFile,
      AZURE_RESOURCE_MANAGER_ENDPOINT: azure.url,
      AZURE_GRAPH_ENDPOINT: azure.url,
      AZURE_AUTHORITY_HOST: azure.url,
      AZURE_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47',
      AZURE_CLIENT_ID: 'prod-access-bot',
      AZURE_CLIENT_SECRET: 'e2e-not-a-real-secret',
      PROD_ACCESS_AZURE_DISABLE_INSTANCE_DISCOVERY: 'true',
      NODE_EXTRA_CA_CERTS: caFile,
    });
    children.push(service.child);
  });

  afterAll(async () => {
    // NB: the service first (it holds the fakes' connections), then the fakes; each waited for, so the
    // Azure fake removes its certificate directory; SIGKILL if one does not stop.
    for (const child of [...children].reverse()) await stop(child);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const azureCall = (method: string, pathname: string, body?: unknown) => httpsJson(azure.port, azureCa, method, pathname, body);
  const cli = (...args: string[]) => runCliProcess(args, cliEnv);

  it('grants each cloud through the CLI, revokes it at expiry from the scheduler, audits it all, and refuses people the cloud does not know', async () => {
    // When dave asks for each cloud's role for 1 minute and alice approves, each through the CLI (the clouds side by side)
    const opened = await Promise.all(CLOUDS.map((cloud, i) => cli('request', ROLES[cloud], '1m', `OPS-${i + 1}`, 'check', 'the', 'payments', 'database', 'replica', '--as', DAVE)));
    const ids = Object.fromEntries(CLOUDS.map((cloud, i) => [cloud, lastLine(opened[i]!)])) as Record<Cloud, string>;
    for (const result of opened) expect(result).toMatchObject({ code: 0, stderr: '' });
    const approvingFrom = Date.now();
    const approved = await Promise.all(CLOUDS.map((cloud) => cli('approve', ids[cloud], '--as', ALICE)));

    // Then each is granted at once, until one minute on
    for (const [i, result] of approved.entries()) {
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`${ids[CLOUDS[i]!]} approved and granted until`);
    }
    const shown = Object.fromEntries(await Promise.all(CLOUDS.map(async (cloud) => [cloud, await showRequest(ids[cloud])] as const))) as Record<Cloud, RequestJson>;
    for (const cloud of CLOUDS) {
      const grant = shown[cloud].grant!;
      expect(shown[cloud].state).toBe('active');
      expect(Date.parse(grant.expiresAt) - Date.parse(grant.grantedAt)).toBe(60_000);
    }
    // NB: the provider is given an expiry computed just before its call, and the bot records its own
    // from the moment the call returned (src/app/grant-access.ts), so a cloud's end (GCP's condition,
    // Azure's schedule) is earlier than the bot's by the grant's latency: one minute from a moment
    // within the approval, up to the bot's grantedAt.
    const startedWithinApproval = (cloudEnd: string, cloud: Cloud) => {
      const start = Date.parse(cloudEnd) - 60_000;
      return start >= approvingFrom && start <= Date.parse(shown[cloud].grant!.grantedAt);
    };

    // And AWS holds the permission set assignment for dave's Identity Center user (AWS has no expiry of its own)
    const awsState = await getJson<{ assignments: Record<string, unknown>[] }>(`${aws.url}/__fake/state`);
    expect(awsState.assignments).toEqual([
      { instanceArn: AWS.instanceArn, accountId: AWS.accountId, permissionSetArn: AWS.permissionSetArn, principalType: 'USER', principalId: AWS.daveUserId },
    ]);
    // And GCP a conditional binding for dave that ends one minute after the grant, titled with the request id, beside the binding that was there
    const gcpState = await getJson<GcpState>(`${gcp.url}/__fake/state`);
    expect(gcpState.resources[GCP.resource]?.bindings).toEqual([
      { role: 'roles/logging.viewer', members: ['group:sre@example.com'] },
      {
        role: GCP.role,
        members: [`user:${DAVE}`],
        condition: {
          title: `prod-access ${ids.gcp}`,
          expression: expect.stringMatching(/^request\.time < timestamp\("[0-9T:.-]+Z"\)$/) as unknown,
          description: expect.stringContaining('ticket OPS-2') as unknown,
        },
      },
    ]);
    const gcpEnd = /timestamp\("([^"]+)"\)/.exec(String(gcpState.resources[GCP.resource]?.bindings[1]?.condition?.['expression']))?.[1] ?? '';
    expect(startedWithinApproval(gcpEnd, 'gcp')).toBe(true);
    // (signed in with the service account's key from GOOGLE_APPLICATION_CREDENTIALS: the fake verified its JWT)
    const gcpBearer = gcpState.requests.find((r) => r.op === 'setIamPolicy')?.authorization ?? '';
    expect(JSON.parse(Buffer.from(gcpBearer.split('.')[1] ?? '', 'base64url').toString())).toMatchObject({ iss: GCP.bot, sub: GCP.bot });
    // And Azure an active PIM assignment for dave's object id ending one minute after the grant, its request justified with the request id
    const azureState = (await azureCall('GET', '/__fake/state')).json as unknown as AzureState;
    expect(azureState.assignments.map((a) => a.properties)).toEqual([
      expect.objectContaining({ principalId: AZURE.daveObjectId, scope: AZURE.scope, roleDefinitionId: expect.stringMatching(new RegExp(`/roleDefinitions/${AZURE.reader}$`)) as unknown }),
    ]);
    expect(startedWithinApproval(String(azureState.assignments[0]?.properties['endDateTime']), 'azure')).toBe(true);
    const assign = azureState.scheduleRequests.find((r) => r.properties.requestType === 'AdminAssign');
    expect(assign?.properties).toMatchObject({ principalId: AZURE.daveObjectId, justification: `prod-access ${ids.azure} · OPS-3 · check the payments database replica` });
    expect(azureState.requests.filter((r) => r.op === 'token').length).toBeGreaterThan(0); // DefaultAzureCredential's client secret, from the environment

    // When erin, who has no principal in any of the clouds, asks for each role
    const refusedAws = await cli('request', ROLES.aws, '1m', 'OPS-4', 'check', 'the', 'payments', 'database', '--as', ERIN);
    const refusedAzure = await cli('request', ROLES.azure, '1m', 'OPS-6', 'check', 'the', 'payments', 'database', '--as', ERIN);
    const erinGcp = await cli('request', ROLES.gcp, '1m', 'OPS-5', 'check', 'the', 'payments', 'database', '--as', ERIN);
    const erinGcpId = lastLine(erinGcp);
    const erinGcpApproved = await cli('approve', erinGcpId, '--as', ALICE);

    // Then AWS and Azure refuse before anyone is asked to approve, naming what is missing
    expect(refusedAws.code).toBe(1);
    expect(refusedAws.stdout).toBe('');
    expect(refusedAws.stderr).toContain(`${ERIN} has no IAM Identity Center user with that e-mail in identity store ${AWS.identityStoreId}`);
    expect(refusedAzure.code).toBe(1);
    expect(refusedAzure.stdout).toBe('');
    expect(refusedAzure.stderr).toContain(`${ERIN} has no user in Microsoft Entra ID`);
    // And GCP (which has no account look-up) opens it and fails the grant on Google's answer (the why is in the audit, below)
    expect(erinGcp.code).toBe(0);
    expect(erinGcpApproved.stdout).toContain(`${erinGcpId} approved, but the gcp provider refused the grant (erin@example.com has no Google account that Google knows of`);
    expect(erinGcpApproved.stdout).toContain('; the request failed and security has been alerted.');
    const erinGcpShown = await showRequest(erinGcpId);
    expect(erinGcpShown).toMatchObject({ state: 'failed', endCause: 'grant_failed' });
    expect((await getJson<GcpState>(`${gcp.url}/__fake/state`)).resources[GCP.resource]?.bindings.some((b) => b.members.includes(`user:${ERIN}`))).toBe(false);

    // When the minute is over, the service's scheduler revokes all three
    const lastExpiry = Math.max(...CLOUDS.map((cloud) => Date.parse(shown[cloud].grant!.expiresAt)));
    await sleep(Math.max(0, lastExpiry - Date.now() + 1_000));
    const ended = await waitFor(async () => {
      const all = await Promise.all(CLOUDS.map((cloud) => showRequest(ids[cloud])));
      return all.every((r) => r.state === 'revoked') ? all : undefined;
    }, 30_000);

    // Then the bot shows each revoked because it expired
    for (const r of ended) expect(r).toMatchObject({ state: 'revoked', endCause: 'expired' });
    // And each cloud's state shows the access gone
    expect((await getJson<{ assignments: unknown[] }>(`${aws.url}/__fake/state`)).assignments).toEqual([]);
    const awsCalls = await getJson<{ op: string; body: Record<string, unknown> }[]>(`${aws.url}/__fake/requests`);
    expect(awsCalls.filter((r) => r.op === 'DeleteAccountAssignment').map((r) => r.body['PrincipalId'])).toEqual([AWS.daveUserId]);
    const gcpAfter = await getJson<GcpState>(`${gcp.url}/__fake/state`);
    expect(gcpAfter.resources[GCP.resource]?.bindings).toEqual([{ role: 'roles/logging.viewer', members: ['group:sre@example.com'] }]);
    const azureAfter = (await azureCall('GET', '/__fake/state')).json as unknown as AzureState;
    expect(azureAfter.assignments).toEqual([]);
    expect(azureAfter.requests.filter((r) => r.op === 'scheduleRequests.create').map((r) => (r.body?.['properties'] as { requestType?: string } | undefined)?.requestType)).toEqual(['AdminAssign', 'AdminRemove']);

    // And the audit log tells each story in order, and its chain verifies
    const exported = await cli('audit', 'export');
    expect(exported.code).toBe(0);
    // NB: the anomaly detector also alerts about these requests (first grants; grants at night,
    // depending on when the test runs): the stories here are the requests' own events.
    const events = exported.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditLine)
      .filter((e) => !(e.action === 'alert_raised' && (anomalyRules as readonly unknown[]).includes(e.data['rule'])));
    for (const cloud of CLOUDS) {
      const story = events.filter((e) => e.requestId === ids[cloud]);
      expect(story.map((e) => e.action)).toEqual(['request_opened', 'approval_recorded', 'request_approved', 'access_granted', 'access_expiring_soon', 'revocation_started', 'access_revoked']);
      expect(story.map((e) => e.actor)).toEqual([DAVE, ALICE, ALICE, 'system', 'system', 'system', 'system']);
      expect(story.every((e, i) => i === 0 || e.seq > story[i - 1]!.seq)).toBe(true);
      expect(story[5]?.data).toMatchObject({ cause: 'expired' });
      // NB: Azure ends the assignment itself at its end time (AfterDateTime), which is not later than
      // the bot's; the bot's AdminRemove then finds nothing left to remove.
      expect(story[6]?.data).toMatchObject({ cause: 'expired', accessRemoved: cloud !== 'azure' });
    }
    const erinStory = events.filter((e) => e.requestId === erinGcpId);
    expect(erinStory.map((e) => e.action)).toEqual(['request_opened', 'approval_recorded', 'request_approved', 'grant_failed', 'alert_raised']);
    expect(erinStory[3]?.data['error']).toContain(`${ERIN} has no Google account that Google knows of, so ${GCP.role} cannot be granted on ${GCP.resource}`);
    // (nothing at all for erin's refused AWS and Azure requests: they were never opened)
    expect(events.filter((e) => e.actor === ERIN).map((e) => e.requestId)).toEqual([erinGcpId]);
    const verified = await cli('audit', 'verify');
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/audit chain intact: \d+ events verified/);

    // And all of it went through the service, which alone held the cloud settings
    expect(service?.output()).toContain('cli command run through the service');
    // And the service stops cleanly with the three cloud clients open
    expect(await service?.stop()).toBe(0);
  });

  async function showRequest(id: string): Promise<RequestJson> {
    const shown = await cli('requests', 'show', id, '--json');
    if (shown.code !== 0) throw new Error(`requests show ${id} failed: ${shown.stderr}`);
    return JSON.parse(shown.stdout) as RequestJson;
  }
});

interface GcpState {
  readonly resources: Record<string, { bindings: { role: string; members: string[]; condition?: Record<string, unknown> }[] }>;
  readonly requests: { op: string; authorization?: string }[];
}

interface AzureState {
  readonly assignments: { properties: Record<string, unknown> }[];
  readonly scheduleRequests: { properties: Record<string, unknown> & { requestType?: string } }[];
  readonly requests: { op: string; body?: Record<string, unknown> }[];
}

function policyYaml(): string {
  const role = (name: string, description: string, provider: Cloud, target: Record<string, string>) => `
  ${name}:
    description: ${description}
    provider: ${provider}
    target: ${JSON.stringify(target)}
    requesters: [group:engineering]
    approvers: [group:leads]
    approvals: 1
    maxDuration: 1h
    approvalTimeout: 30m
    ticket: { pattern: "^OPS-[0-9]+$", example: OPS-1 }
    cli: { operators: ["*any-os-user*"], sameOperatorMayActTwice: true }
`;
  // NB: maxDuration 1h: AWS allows no session shorter than 1h, and the AWS check refuses a role whose
  // permission set's sessions could outlive its longest grant.
  return `version: 1
timezone: UTC
businessHours: { days: [mon, tue, wed, thu, fri], start: "08:00", end: "19:00" }
groups:
  leads: { members: [${ALICE}, bob@example.com] }
  engineering: { members: ["*@example.com"] }
roles:${role(ROLES.aws, 'Read-only in the payments AWS account', 'aws', { instanceArn: AWS.instanceArn, identityStoreId: AWS.identityStoreId, accountId: AWS.accountId, permissionSetArn: AWS.permissionSetArn })}${role(
    ROLES.gcp,
    'Cloud SQL viewer on the payments project',
    'gcp',
    { resource: GCP.resource, role: GCP.role },
  )}${role(ROLES.azure, 'Reader on the payments resource group', 'azure', { scope: AZURE.scope, roleDefinitionId: AZURE.reader })}`;
}

/** Starts `test/fakes/fake-<cloud>.ts` as a process and waits for its one JSON line. */
function startFake(cloud: Cloud, seedFile: string, children: ChildProcess[]): Promise<FakeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, `test/fakes/fake-${cloud}.ts`), '--port', '0', '--seed', seedFile], {
    cwd: repoRoot,
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'] },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => {
      const ready = JSON.parse(line) as Record<string, unknown>;
      const port = Number(ready['listening']);
      resolve({ child, port, ready, url: `${cloud === 'azure' ? 'https' : 'http'}://127.0.0.1:${port}` });
    });
    child.once('exit', (code) => reject(new Error(`fake-${cloud} exited with ${code} before listening: ${stderr}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  return (await response.json()) as T;
}

/** JSON over HTTPS trusting the Azure fake's own certificate. */
function httpsJson(port: number, ca: string, method: string, pathname: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, method, path: pathname, ca, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

function lastLine(result: RunResult): string {
  return result.stdout.trim().split('\n').at(-1) ?? '';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms`);
    await sleep(1_000);
  }
}
