import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { Database } from '../../src/adapters/store/open-database';
import { DrizzleAccessStore } from '../../src/adapters/store/drizzle-access-store';
import { recordPolicyRefusal } from '../../src/app/activate-policy';
import { PolicyFile, type PolicyChangeHandlers } from '../../src/config/policy-file';
import { examplePolicyText, ManualClock } from '../support/app-harness';
import { logSink } from '../support/log-sink';
import { createPgliteDatabase } from '../support/test-database';

describe('PolicyFile reload', () => {
  let dir: string;
  let database: Database;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'prod-access-policy-file-'));
    database = await createPgliteDatabase();
  });
  afterEach(async () => {
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a changed file naming every problem at once, in the log and in the audit trail', async () => {
    // Given the service's policy file, watched, with refusals recorded as the service records them
    const file = path.join(dir, 'policy.yaml');
    writeFileSync(file, examplePolicyText);
    const sink = logSink();
    const opened = await PolicyFile.open(file, ['local'], pino({ level: 'info' }, sink.stream));
    if (!opened.ok || !opened.source) throw new Error('the example policy should load');
    const source = opened.source;
    const inForce = source.current().sha256;
    const deps = { store: new DrizzleAccessStore(database.db), clock: new ManualClock() };
    const refused: string[][] = [];
    const handlers: PolicyChangeHandlers = {
      onActivated: async () => {
        throw new Error('an invalid policy must not be activated');
      },
      onInForce: async () => {},
      onRefused: async (errors, sha) => {
        refused.push(errors);
        await recordPolicyRefusal(deps, sha ?? '', errors, source.current().sha256, { via: 'service' }, file);
      },
    };

    // When the file changes to one with a malformed maximum and an unknown approver group
    writeFileSync(file, examplePolicyText.replace('maxDuration: 4h', 'maxDuration: 5x').replace('approvers: [group:leads]', 'approvers: [group:oncall]'));
    await source.check(handlers);

    // Then both problems are named everywhere the refusal shows, and the old policy stays in force
    const both = [
      'roles.sandbox-admin.approvers.0: unknown group "oncall" (defined groups: leads, engineering, security)',
      'roles.sandbox-admin.maxDuration: "5x" is not a duration like 30m, 2h or 1d',
    ];
    expect(refused).toEqual([both]);
    expect(sink.lines().find((l) => l.msg === 'policy change refused; the previous policy stays in force')).toMatchObject({ errors: both, policySha: inForce });
    const [event] = await deps.store.readAudit(1, 1);
    expect(event).toMatchObject({ action: 'policy_rejected', data: { errors: both, policySha: inForce } });
    expect(source.current().sha256).toBe(inForce);
  });
});
