import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { approveRequest } from '../../src/app/approve-request';
import type { Origin } from '../../src/app/origin';
import { requestAccess } from '../../src/app/request-access';
import { loadConfig } from '../../src/config/env';
import { email } from '../../src/domain/email';
import { DrizzleAccessStore } from '../../src/adapters/store/drizzle-access-store';
import { openDatabase } from '../../src/adapters/store/open-database';
import { startService } from '../../src/service/start-service';
import { repoRoot } from '../support/processes';
import { createPostgresDatabase } from '../support/test-database';

jest.setTimeout(60_000);

const chat: Origin = { via: 'slack', platformUserId: 'U0TEST', platformTeamId: 'T0TEST' };

describe('a clean shutdown', () => {
  it('leaves no lease behind, so the next start has no dead process to report', async () => {
    // Given a service that granted access (the approval leases the first grant attempt)
    const dir = mkdtempSync(path.join(os.tmpdir(), 'prod-access-shutdown-'));
    const database = await createPostgresDatabase({ migrate: false });
    try {
      const policyFile = path.join(dir, 'policy.yaml');
      writeFileSync(policyFile, readFileSync(path.join(repoRoot, 'manifests/policy.example.yaml'), 'utf8'));
      const env = { DATABASE_URL: database.url, POLICY_FILE: policyFile, PORT: '0', HOST: '127.0.0.1', AUDIT_LOG_FILE: 'off' };
      const loaded = loadConfig(env);
      if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
      const service = await startService(loaded.config, pino({ level: 'silent' }), { env });
      const { ctx } = service.app;
      const opened = await requestAccess(ctx, { requester: email('dave@example.com'), role: 'prod-readonly', duration: '1h', ticket: 'OPS-1', reason: 'clean shutdown test', breakGlass: false }, chat);
      if (!opened.ok) throw new Error(opened.refusal.message);
      const approved = await approveRequest(ctx, opened.value.id, email('alice@example.com'), chat);
      expect(approved.ok && approved.value.state).toBe('active');

      // When it stops cleanly
      await service.close();

      // Then the database holds no lease of any process
      const reopened = await openDatabase({ databaseUrl: database.url, dataDir: dir, migrate: false });
      try {
        expect(await new DrizzleAccessStore(reopened.db).leaseOwners()).toEqual([]);
      } finally {
        await reopened.close();
      }
    } finally {
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
