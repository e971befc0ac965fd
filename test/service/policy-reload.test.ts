import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { approveRequest } from '../../src/app/approve-request';
import type { Origin } from '../../src/app/origin';
import type { Outcome } from '../../src/app/outcome';
import { requestAccess } from '../../src/app/request-access';
import { loadConfig } from '../../src/config/env';
import type { AccessRequest } from '../../src/domain/access-request';
import { email } from '../../src/domain/email';
import { startService, type RunningService } from '../../src/service/start-service';
import { repoRoot } from '../support/processes';
import { createPostgresDatabase } from '../support/test-database';

jest.setTimeout(60_000);

const chat: Origin = { via: 'slack', platformUserId: 'U0TEST', platformTeamId: 'T0TEST' };

describe('a policy change in the running service', () => {
  let dir: string;
  let policyFile: string;
  let database: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let service: RunningService;
  const original = readFileSync(path.join(repoRoot, 'manifests/policy.example.yaml'), 'utf8');

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'prod-access-reload-'));
    policyFile = path.join(dir, 'policy.yaml');
    writeFileSync(policyFile, original);
    database = await createPostgresDatabase({ migrate: false });
    const env = { DATABASE_URL: database.url, POLICY_FILE: policyFile, POLICY_POLL_MS: '100', PORT: '0', HOST: '127.0.0.1', AUDIT_LOG_FILE: 'off' };
    const loaded = loadConfig(env);
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    service = await startService(loaded.config, pino({ level: 'silent' }), { env });
  });
  afterAll(async () => {
    await service?.close();
    await database?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function granted(role: string, duration: string, approvers: string[]): Promise<AccessRequest> {
    const { ctx } = service.app;
    const opened = await requestAccess(ctx, { requester: email('dave@example.com'), role, duration, ticket: 'OPS-1', reason: 'policy reload test access', breakGlass: false }, chat);
    if (!opened.ok) throw new Error(opened.refusal.message);
    let last: Outcome<AccessRequest> = opened;
    for (const who of approvers) last = await approveRequest(ctx, opened.value.id, email(who), chat);
    if (!last.ok || last.value.state !== 'active') throw new Error(`not granted: ${JSON.stringify(last)}`);
    return last.value;
  }

  async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('the change did not reach the grants in time');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('shortens live grants past a lowered maximum and revokes grants of a removed role, without a restart', async () => {
    // Given a 3h grant of sandbox-admin and a live grant of prod-readonly
    const long = await granted('sandbox-admin', '3h', ['alice@example.com', 'bob@example.com']);
    const readonly = await granted('prod-readonly', '1h', ['alice@example.com']);

    // When the file lowers sandbox-admin's maximum to 1h and removes prod-readonly
    const withoutReadonly = original.slice(0, original.indexOf('  prod-readonly:')) + original.slice(original.indexOf('  # A PostgreSQL role'));
    writeFileSync(policyFile, withoutReadonly.replace('maxDuration: 4h', 'maxDuration: 1h'));

    // Then, with no restart, the 3h grant ends an hour after it began and the removed role's grant is revoked
    const { store } = service.app.ctx;
    const grantedAt = long.grant?.grantedAt.getTime() ?? 0;
    await eventually(async () => (await store.findRequest(long.id))?.grant?.expiresAt.getTime() === grantedAt + 60 * 60_000);
    await eventually(async () => (await store.findRequest(readonly.id))?.state === 'revoked');
    expect((await store.findRequest(readonly.id))?.endCause).toBe('policy_changed');
  });
});
