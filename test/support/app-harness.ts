import { readFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { LocalIamProvider } from '../../src/adapters/iam/local/local-iam-provider';
import { DrizzleAccessStore } from '../../src/adapters/store/drizzle-access-store';
import type { Database } from '../../src/adapters/store/open-database';
import type { AppContext } from '../../src/app/app-context';
import type { Origin } from '../../src/app/origin';
import { defaultWorkSettings } from '../../src/app/work-settings';
import { parsePolicy, type LoadedPolicy } from '../../src/domain/policy';
import { requestIdFromBytes, type RequestId } from '../../src/domain/request-id';
import type { Clock } from '../../src/ports/clock';
import type { GrantSpec, IamProvider } from '../../src/ports/iam-provider';
import type { IdGenerator } from '../../src/ports/id-generator';

/** A clock that moves only when the test says so. */
export class ManualClock implements Clock {
  constructor(private at: Date = new Date('2026-03-03T10:00:00.000Z')) {}
  now(): Date {
    return new Date(this.at.getTime());
  }
  advance(minutes: number): void {
    this.at = new Date(this.at.getTime() + minutes * 60_000);
  }
  set(at: Date): void {
    this.at = at;
  }
}

/** Deterministic, distinct ids: 00000001, 00000002, … */
export class SequentialIds implements IdGenerator {
  private next = 1;
  newRequestId(): RequestId {
    const n = this.next++;
    return requestIdFromBytes(Uint8Array.from([0, 0, (n >> 16) & 255, (n >> 8) & 255, n & 255]));
  }
}

export const examplePolicyText = readFileSync(path.resolve(__dirname, '../../manifests/policy.example.yaml'), 'utf8');

export function loadPolicy(text: string, providers: readonly string[] = ['local', 'flaky']): LoadedPolicy {
  const parsed = parsePolicy(text, providers);
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  return parsed.loaded;
}

/** An IAM provider whose next calls fail on demand, recording every call. */
export class FlakyProvider implements IamProvider {
  readonly kind = 'flaky';
  readonly calls: { op: 'grant' | 'revoke'; spec: GrantSpec }[] = [];
  failNext: Error | undefined;
  private readonly held = new Set<string>();

  async grant(spec: GrantSpec): Promise<void> {
    this.calls.push({ op: 'grant', spec });
    this.throwIfFailing();
    this.held.add(`${spec.principal}/${spec.role}`);
  }
  async revoke(spec: GrantSpec): Promise<{ removed: boolean }> {
    this.calls.push({ op: 'revoke', spec });
    this.throwIfFailing();
    return { removed: this.held.delete(`${spec.principal}/${spec.role}`) };
  }
  private throwIfFailing(): void {
    const error = this.failNext;
    this.failNext = undefined;
    if (error) throw error;
  }
}

/** The CLI run by OS user `tester`; decisions through it need the role's `cli` block (sandbox-admin has one). */
export const cliOrigin: Origin = { via: 'cli', osUser: 'tester', osUserFrom: 'process' };
/** A click in Slack: decisions need no `cli` block. */
export const chatOrigin: Origin = { via: 'slack', platformUserId: 'U0TEST' };

export interface Harness {
  readonly ctx: AppContext;
  readonly clock: ManualClock;
  readonly local: LocalIamProvider;
  readonly flaky: FlakyProvider;
  readonly database: Database;
  setPolicy(text: string): void;
}

/**
 * An app on a real store with a manual clock, the local provider and a flaky one, plus any
 * `providers` given (by kind; the policy may name their kinds).
 */
export function createHarness(database: Database, policyText: string = examplePolicyText, providers: readonly IamProvider[] = []): Harness {
  const clock = new ManualClock();
  const local = new LocalIamProvider(database.db, clock);
  const flaky = new FlakyProvider();
  const kinds = ['local', 'flaky', ...providers.map((p) => p.kind)];
  let loaded = loadPolicy(policyText, kinds);
  const ctx: AppContext = {
    store: new DrizzleAccessStore(database.db),
    iam: new Map<string, IamProvider>([['local', local], ['flaky', flaky], ...providers.map((p): [string, IamProvider] => [p.kind, p])]),
    clock,
    ids: new SequentialIds(),
    policy: { current: () => loaded },
    logger: pino({ level: 'silent' }),
    // NB: jitter fixed at the middle, so backoff delays are exact in tests.
    work: defaultWorkSettings({ instance: 'test-process', random: { next: () => 0.5 } }),
  };
  return {
    ctx,
    clock,
    local,
    flaky,
    database,
    setPolicy: (text) => {
      loaded = loadPolicy(text, kinds);
    },
  };
}

/** Raw SQL on either driver, for tests that tamper behind the app's back. */
export async function rawSql(database: Database, statement: string): Promise<void> {
  if (database.dialect === 'pglite') await database.client.exec(statement);
  else await database.client.query(statement);
}

/** Raw SQL rows on either driver, for tests that read behind the store's back. */
export async function queryRows<T>(database: Database, statement: string, params: unknown[] = []): Promise<T[]> {
  // NB: the two drivers' query() have the same shape but no common type.
  const result = database.dialect === 'pglite' ? await database.client.query<T>(statement, params) : await database.client.query(statement, params);
  return result.rows as T[];
}
