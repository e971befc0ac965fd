import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createAwsIamProvider } from '../../../../src/adapters/iam/aws/aws-iam-provider';
import { ProviderError } from '../../../../src/app/errors';
import { email } from '../../../../src/domain/email';
import { startFakeAws } from '../../../fakes/fake-aws';
import { repoRoot } from '../../../support/processes';
import { ACCOUNT_ID, DAVE_ID, grantSpec, INSTANCE_ARN, PERMISSION_SET_ARN, SEED } from './aws-fixtures';

const dave = email('dave@example.com');

describe('AWS endpoints from the environment', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const name of ['AWS_ENDPOINT_URL_SSO_ADMIN', 'AWS_ENDPOINT_URL_IDENTITYSTORE', 'AWS_REGION']) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  it('the SDK itself reads AWS_ENDPOINT_URL_SSO_ADMIN and AWS_ENDPOINT_URL_IDENTITYSTORE: the factory leaves them in force', async () => {
    // Test setup: two fakes, so each variable is seen to steer its own service.
    const sso = await startFakeAws({ seed: SEED });
    const identity = await startFakeAws({ seed: SEED });
    process.env['AWS_ENDPOINT_URL_SSO_ADMIN'] = sso.url;
    process.env['AWS_ENDPOINT_URL_IDENTITYSTORE'] = identity.url;
    process.env['AWS_REGION'] = 'eu-west-1';
    const provider = createAwsIamProvider({
      env: process.env,
      resolvePrincipal: () => undefined,
      logger: pino({ level: 'silent' }),
      credentials: { accessKeyId: 'AKIDFAKEFAKEFAKE', secretAccessKey: 'fake-secret' },
      timing: { sleep: async () => {} },
    });
    try {
      // Test execution
      await provider.grant(grantSpec(dave));
      // Validating
      expect(identity.requests.map((r) => r.op)).toEqual(['GetUserId']);
      expect(sso.requests.map((r) => r.op)).toContain('CreateAccountAssignment');
      expect(sso.requests[0]?.region).toBe('eu-west-1');
      expect(sso.hasAssignment({ instanceArn: INSTANCE_ARN, accountId: ACCOUNT_ID, permissionSetArn: PERMISSION_SET_ARN, principalId: DAVE_ID })).toBe(true);
    } finally {
      await provider.close();
      await sso.close();
      await identity.close();
    }
  });

  it('a target region overrides the process region in the signature', async () => {
    const fake = await startFakeAws({ seed: SEED });
    process.env['AWS_REGION'] = 'eu-west-1';
    const provider = createAwsIamProvider({
      env: {},
      resolvePrincipal: () => DAVE_ID,
      logger: pino({ level: 'silent' }),
      credentials: { accessKeyId: 'AKIDFAKEFAKEFAKE', secretAccessKey: 'fake-secret' },
      endpoints: { ssoAdmin: fake.url, identityStore: fake.url },
      timing: { sleep: async () => {} },
    });
    try {
      await provider.grant(grantSpec(dave, { target: { ...grantSpec(dave).target, region: 'us-east-2' } }));
      expect(new Set(fake.requests.map((r) => r.region))).toEqual(new Set(['us-east-2']));
    } finally {
      await provider.close();
      await fake.close();
    }
  });

  it('the factory refuses bad pacing or endpoint variables, naming them', () => {
    const build = (env: Record<string, string>) => () =>
      createAwsIamProvider({ env, resolvePrincipal: () => undefined, logger: pino({ level: 'silent' }) });
    expect(build({ PROD_ACCESS_AWS_CALLS_PER_SECOND: '-3' })).toThrow(/PROD_ACCESS_AWS_CALLS_PER_SECOND must be a positive integer/);
    expect(build({ AWS_ENDPOINT_URL_SSO_ADMIN: 'sso.internal' })).toThrow(ProviderError);
    expect(build({ AWS_ENDPOINT_URL_SSO_ADMIN: 'sso.internal' })).toThrow(/AWS_ENDPOINT_URL_SSO_ADMIN/);
    expect(createAwsIamProvider({ env: { PROD_ACCESS_AWS_CONCURRENCY: '3' }, resolvePrincipal: () => undefined, logger: pino({ level: 'silent' }) }).limits).toEqual({
      concurrency: 3,
      callsPerSecond: 10,
    });
  });
});

describe('fake-aws as a separate process', () => {
  it('prints {"listening": port}, serves the seed and its state over HTTP, takes failures, and stops on SIGTERM', async () => {
    // Test setup
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fake-aws-'));
    const seedFile = path.join(dir, 'seed.json');
    writeFileSync(seedFile, JSON.stringify(SEED));
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'test/fakes/fake-aws.ts'), '--port', '0', '--seed', seedFile], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const firstLine = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) resolve(out.split('\n')[0] ?? '');
        });
        child.on('exit', () => reject(new Error(`fake exited before listening: ${out}`)));
      });
      // Test execution
      const { listening } = JSON.parse(firstLine) as { listening: number };
      const base = `http://127.0.0.1:${listening}`;
      const state = (await (await fetch(`${base}/__fake/state`)).json()) as { users: { email?: string }[]; permissionSets: unknown[] };
      const seeded = await fetch(`${base}/__fake/seed`, {
        method: 'POST',
        body: JSON.stringify({ users: [{ identityStoreId: 'd-1234567890', userId: '906712345a-77777777-2222-3333-4444-555555555555', userName: 'olga', email: 'olga@example.com' }] }),
      });
      const failing = await fetch(`${base}/__fake/fail`, { method: 'POST', body: JSON.stringify({ kind: 'throttle', count: 10 }) });
      const provider = createAwsIamProvider({
        env: {},
        resolvePrincipal: () => undefined,
        logger: pino({ level: 'silent' }),
        credentials: { accessKeyId: 'AKIDFAKEFAKEFAKE', secretAccessKey: 'fake-secret' },
        endpoints: { ssoAdmin: base, identityStore: base },
        region: 'eu-central-1',
        timing: { sleep: async () => {} },
      });
      const throttled = await provider.grant(grantSpec(email('olga@example.com'))).then(
        () => undefined,
        (e: unknown) => e,
      );
      await provider.close();
      const requests = (await (await fetch(`${base}/__fake/requests`)).json()) as { op: string }[];
      // Validating
      expect(state.users.map((u) => u.email)).toEqual(['dave@example.com', 'erin@example.com']);
      expect(state.permissionSets).toHaveLength(3);
      expect(seeded.status).toBe(200);
      expect(failing.status).toBe(200);
      expect((throttled as ProviderError).code).toBe('unavailable');
      expect(requests.map((r) => r.op)).toEqual(['GetUserId', 'GetUserId', 'GetUserId', 'GetUserId']);
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
