import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { createAwsIamProvider, type AwsIamProvider, type AwsIamProviderOptions } from '../../../../src/adapters/iam/aws/aws-iam-provider';
import type { Email } from '../../../../src/domain/email';
import { requestIdFromBytes } from '../../../../src/domain/request-id';
import type { GrantSpec } from '../../../../src/ports/iam-provider';
import { startFakeAws, type FakeAws, type FakeAwsSeed } from '../../../fakes/fake-aws';

export const INSTANCE_ARN = 'arn:aws:sso:::instance/ssoins-1234567890abcdef';
export const IDENTITY_STORE_ID = 'd-1234567890';
export const ACCOUNT_ID = '111122223333';
export const PERMISSION_SET_ARN = 'arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-1234567890abcdef';
/** A permission set whose sessions last 8 hours. */
export const LONG_SESSION_SET_ARN = 'arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-abcdef1234567890';
/** A permission set with no SessionDuration (AWS's default: PT1H). */
export const DEFAULT_SESSION_SET_ARN = 'arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-0000111122223333';

export const TARGET = { instanceArn: INSTANCE_ARN, identityStoreId: IDENTITY_STORE_ID, accountId: ACCOUNT_ID, permissionSetArn: PERMISSION_SET_ARN };

export const DAVE_ID = '906712345a-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
export const ERIN_ID = '906712345a-11111111-2222-3333-4444-555555555555';

export const SEED: FakeAwsSeed = {
  instances: [{ instanceArn: INSTANCE_ARN, identityStoreId: IDENTITY_STORE_ID }],
  users: [
    { identityStoreId: IDENTITY_STORE_ID, userId: DAVE_ID, userName: 'dave', email: 'dave@example.com' },
    { identityStoreId: IDENTITY_STORE_ID, userId: ERIN_ID, userName: 'erin', email: 'erin@example.com' },
  ],
  permissionSets: [
    { permissionSetArn: PERMISSION_SET_ARN, name: 'ProdReadOnly', sessionDuration: 'PT1H' },
    { permissionSetArn: LONG_SESSION_SET_ARN, name: 'ProdAdmin', sessionDuration: 'PT8H' },
    { permissionSetArn: DEFAULT_SESSION_SET_ARN, name: 'ProdDefault' },
  ],
};

export interface Harness {
  readonly fake: FakeAws;
  readonly provider: AwsIamProvider;
  /** Every wait the provider asked for (retries and polls), in order: nobody sleeps. */
  readonly waits: number[];
  /** Log lines the provider wrote, parsed. */
  readonly logs: Record<string, unknown>[];
  close(): Promise<void>;
}

/** The real SDK clients against a fresh fake, with time taken out: waits are recorded, not slept. */
export async function startHarness(overrides: Partial<AwsIamProviderOptions> = {}, seed: FakeAwsSeed = SEED): Promise<Harness> {
  const fake = await startFakeAws({ seed });
  const waits: number[] = [];
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const provider = createAwsIamProvider({
    env: {},
    resolvePrincipal: () => undefined,
    logger: pino({ level: 'debug' }, sink),
    credentials: { accessKeyId: 'AKIDFAKEFAKEFAKE', secretAccessKey: 'fake-secret-key-never-logged' },
    endpoints: { ssoAdmin: fake.url, identityStore: fake.url },
    region: 'eu-central-1',
    timing: {
      sleep: async (ms) => {
        waits.push(ms);
      },
      random: () => 0.5,
    },
    ...overrides,
  });
  return {
    fake,
    provider,
    waits,
    logs,
    close: async () => {
      await provider.close();
      await fake.close();
    },
  };
}

export function grantSpec(principal: Email, overrides: Partial<GrantSpec> = {}): GrantSpec {
  return {
    requestId: requestIdFromBytes(randomBytes(5)),
    role: 'prod-readonly-aws',
    principal,
    provider: 'aws',
    target: TARGET,
    expiresAt: new Date(Date.now() + 60 * 60_000),
    reason: 'payouts stuck, reading the ledger',
    ticket: 'INC-4211',
    ...overrides,
  };
}

export function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}
