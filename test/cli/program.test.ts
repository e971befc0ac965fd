import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Database } from '../../src/adapters/store/open-database';
import { EXIT_FAILED, EXIT_OK, EXIT_REFUSED, EXIT_USAGE, runCli } from '../../src/cli/program';
import { createHarness, examplePolicyText, rawSql, type Harness } from '../support/app-harness';
import { runCliIn } from '../support/cli-harness';
import { createPgliteDatabase } from '../support/test-database';

const cli = (h: Harness | undefined, ...argv: string[]) => runCliIn(h, argv);

describe('prod-access CLI', () => {
  let database: Database;
  let h: Harness;
  let dir: string;

  beforeEach(async () => {
    database = await createPgliteDatabase();
    h = createHarness(database);
    dir = mkdtempSync(path.join(os.tmpdir(), 'prod-access-cli-'));
  });
  afterEach(async () => {
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function openRequest(): Promise<string> {
    const r = await cli(h, 'request', 'sandbox-admin', '1h', 'OPS-1', 'rotate', 'the', 'sandbox', 'keys', '--as', 'Dave@Example.com');
    expect(r.code).toBe(EXIT_OK);
    return r.out.trim().split('\n').at(-1) ?? '';
  }

  it('prints the new request id alone on the last line', async () => {
    const id = await openRequest();
    expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{8}$/);
    const shown = await cli(h, 'requests', 'show', id.toLowerCase(), '--json');
    expect(shown.code).toBe(EXIT_OK);
    expect(JSON.parse(shown.out)).toMatchObject({ id, requester: 'dave@example.com', reason: 'rotate the sandbox keys', state: 'pending' });
  });

  it('exits 1 with the reason when a rule refuses', async () => {
    const id = await openRequest();
    const self = await cli(h, 'approve', id, '--as', 'dave@example.com');
    expect(self).toMatchObject({ code: EXIT_REFUSED, out: '' });
    expect(self.err).toContain('refused (self_approval)');
  });

  it('refuses a decision from the CLI on a role that does not allow CLI decisions, saying what to do', async () => {
    // Given dave's prod-readonly request (the example policy allows CLI decisions only on sandbox-admin)
    const opened = await cli(h, 'request', 'prod-readonly', '1h', 'OPS-1', 'inspect', 'the', 'billing', 'account', '--as', 'dave@example.com');
    const id = opened.out.trim().split('\n').at(-1) ?? '';
    // When alice's approval is typed in a terminal
    const r = await cli(h, 'approve', id, '--as', 'alice@example.com');
    // Then it is refused, and nothing was approved
    expect(r).toMatchObject({ code: EXIT_REFUSED, out: '' });
    expect(r.err).toContain('refused (cli_not_allowed): CLI decisions are off for prod-readonly');
    expect(r.err).toContain('roles.prod-readonly.cli.operators');
    expect((await h.ctx.store.findRequest(id as never))?.approvals).toEqual([]);
  });

  it('refuses an approval from the OS user who opened the request, where the role does not allow it', async () => {
    // Given sandbox-admin allows CLI decisions by OS user tester, once per request
    h.setPolicy(examplePolicyText.replace('cli: { operators: ["*any-os-user*"], sameOperatorMayActTwice: true }', 'cli: { operators: [tester] }'));
    const id = await openRequest();
    // When tester approves dave's request, claiming to be alice
    const r = await cli(h, 'approve', id, '--as', 'alice@example.com');
    // Then
    expect(r.code).toBe(EXIT_REFUSED);
    expect(r.err).toContain('refused (same_operator): OS user tester opened request');
    expect((await h.ctx.store.findRequest(id as never))?.approvals).toEqual([]);
  });

  it('shows which approvals came from the CLI, and from which OS user', async () => {
    // Given
    const id = await openRequest();
    await cli(h, 'approve', id, '--as', 'alice@example.com');
    // When
    const shown = await cli(h, 'requests', 'show', id);
    // Then
    expect(shown.out).toContain('alice@example.com (via CLI, by OS user tester)');
  });

  it.each([
    ['a missing --as', ['approve', 'ABCDEFGH']],
    ['an e-mail with spaces', ['approve', 'ABCDEFGH', '--as', 'dave @example.com']],
    ['a malformed request id', ['approve', 'nope', '--as', 'alice@example.com']],
    ['deny without --reason', ['deny', 'ABCDEFGH', '--as', 'alice@example.com']],
    ['an unknown command', ['frobnicate']],
    ['a malformed --head', ['audit', 'verify', '--head', '12:abc']],
    ['a malformed --since', ['audit', 'export', '--since', 'yesterday']],
  ])('exits 2 with a usage message on %s, and changes nothing', async (_name, argv) => {
    const before = await h.ctx.store.auditHead();
    const r = await cli(h, ...argv);
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.err.length).toBeGreaterThan(0);
    expect(await h.ctx.store.auditHead()).toEqual(before);
  });

  it('does not echo markup from bad input back raw', async () => {
    const r = await cli(h, 'approve', '<!channel>', '--as', 'alice@example.com');
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.err).toContain('"<!channel>" is not a request id');
  });

  it('shows help for every command and exits 0', async () => {
    for (const argv of [['--help'], ['request', '--help'], ['audit', 'verify', '--help'], ['grants', 'list', '--help']]) {
      const r = await cli(undefined, ...argv);
      expect(r.code).toBe(EXIT_OK);
      expect(r.out).toContain('Usage: prod-access');
    }
  });

  it('validates a policy file without the database, naming each problem', async () => {
    const good = path.join(dir, 'good.yaml');
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(good, examplePolicyText);
    writeFileSync(bad, examplePolicyText.replace('maxDuration: 4h', 'maxDuration: 5x'));
    const ok = await cli(undefined, 'policy', 'validate', good);
    const refused = await cli(undefined, 'policy', 'validate', bad);
    const missing = await cli(undefined, 'policy', 'validate', path.join(dir, 'nope.yaml'));
    expect(ok.code).toBe(EXIT_OK);
    expect(ok.out).toContain('is valid: 2 roles (sandbox-admin, prod-readonly)');
    expect(refused.code).toBe(EXIT_REFUSED);
    expect(refused.err).toContain('roles.sandbox-admin.maxDuration: "5x" is not a duration like 30m, 2h or 1d');
    expect(missing.code).toBe(EXIT_REFUSED);
    expect(missing.err).toContain('cannot be read (ENOENT)');
  });

  it('lists every problem of a policy file in one run, not only the first', async () => {
    // Given a file with a malformed maximum and an approver group nobody defined
    const bad = path.join(dir, 'two-problems.yaml');
    writeFileSync(bad, examplePolicyText.replace('maxDuration: 4h', 'maxDuration: 5x').replace('approvers: [group:leads]', 'approvers: [group:oncall]'));
    // When
    const refused = await cli(undefined, 'policy', 'validate', bad);
    // Then both are listed, in file order
    expect(refused.code).toBe(EXIT_REFUSED);
    expect(refused.err.split('\n').filter((l) => l.startsWith('  - '))).toEqual([
      '  - roles.sandbox-admin.approvers.0: unknown group "oncall" (defined groups: leads, engineering, security)',
      '  - roles.sandbox-admin.maxDuration: "5x" is not a duration like 30m, 2h or 1d',
    ]);
  });

  it('exports, verifies the export with no database, and proves a recorded head', async () => {
    // Given some history and its head
    await openRequest();
    await openRequest();
    const head = (await cli(h, 'audit', 'head')).out.trim();
    expect(head).toMatch(/^2:[0-9a-f]{64}$/);

    // When the log is exported to a file and verified without the database
    const exported = await cli(h, 'audit', 'export');
    const file = path.join(dir, 'audit.jsonl');
    writeFileSync(file, exported.out);
    const fromFile = await cli(undefined, 'audit', 'verify', '--file', file);

    // Then both checks pass
    expect(fromFile).toMatchObject({ code: EXIT_OK });
    expect(fromFile.out).toContain('export intact: 2 events verified from the first event of the log');
    expect((await cli(h, 'audit', 'verify', '--head', head)).code).toBe(EXIT_OK);

    // And a tampered export is refused with the link named
    writeFileSync(file, exported.out.replace('OPS-1', 'OPS-2'));
    const tampered = await cli(undefined, 'audit', 'verify', '--file', file);
    expect(tampered.code).toBe(EXIT_REFUSED);
    expect(tampered.err).toContain('event 1 was altered');
  });

  describe('progress', () => {
    /** The CLI on a terminal (progress recorded, undefined: erased), with a clock that moves a second per reading. */
    async function onTerminal(...argv: string[]): Promise<{ code: number; out: string; err: string; progress: (string | undefined)[] }> {
      let out = '';
      let err = '';
      let now = 0;
      const progress: (string | undefined)[] = [];
      const code = await runCli(argv, {
        io: { out: (t) => void (out += t), err: (t) => void (err += t), progress: (line) => void progress.push(line) },
        app: async () => ({ ctx: h.ctx }),
        operator: { osUser: 'tester', osUserFrom: 'process', osGroups: [] },
        knownProviders: ['local'],
        monotonicMs: () => (now += 1_000),
      });
      return { code, out, err, progress };
    }

    it('shows how far verify and export are on a terminal, and erases it before the result', async () => {
      // Given two events
      await openRequest();
      await openRequest();

      // When the log is verified, exported and the export verified, on a terminal
      const verified = await onTerminal('audit', 'verify');
      const exported = await onTerminal('audit', 'export');
      const file = path.join(dir, 'audit.jsonl');
      writeFileSync(file, exported.out);
      const fromFile = await onTerminal('audit', 'verify', '--file', file);

      // Then each showed its count (against the total where known) and rate, then erased it
      expect(verified.progress).toEqual(['verified 2 of 2 events (2/s)', undefined]);
      expect(verified.out).toContain('audit chain intact: 2 events verified');
      expect(exported.progress).toEqual(['exported 2 of 2 events (2/s)', undefined]);
      expect(exported.err).toBe('exported 2 events\n');
      expect(fromFile.code).toBe(EXIT_OK);
      expect(fromFile.progress).toEqual([]); // NB: an export is counted every 2,000 lines
    });

    it('shows progress when verify fails too, and erases it before the reason', async () => {
      // Given an edited event
      await openRequest();
      await rawSql(database, `ALTER TABLE audit_events DISABLE TRIGGER USER; UPDATE audit_events SET actor = 'mallory@example.com'; ALTER TABLE audit_events ENABLE TRIGGER USER`);
      // When / Then
      const r = await onTerminal('audit', 'verify');
      expect(r).toMatchObject({ code: EXIT_REFUSED, progress: ['verified 0 of 1 events (0/s)', undefined] });
      expect(r.err).toContain('event 1 was altered');
    });

    it('prints no progress when output is piped', async () => {
      // Given two events, and a CLI whose io has no progress (stderr is not a terminal)
      await openRequest();
      await openRequest();
      // When
      const verified = await cli(h, 'audit', 'verify');
      const exported = await cli(h, 'audit', 'export');
      // Then stderr holds only the final count, with no line drawing
      expect(verified).toMatchObject({ code: EXIT_OK, err: '' });
      expect(exported.err).toBe('exported 2 events\n');
    });
  });

  it('refuses (exit 1) when a state row has no event that created it, naming the row', async () => {
    // Given a request opened through the bot, and a copy of it written behind the bot's back
    await openRequest();
    await rawSql(database, `CREATE TEMP TABLE forged AS SELECT * FROM access_requests; UPDATE forged SET id = 'FORGED01'; INSERT INTO access_requests SELECT * FROM forged; DROP TABLE forged`);

    // When the log is verified, then the chain is intact but the forged row is named
    const r = await cli(h, 'audit', 'verify');
    expect(r.code).toBe(EXIT_REFUSED);
    expect(r.err).toContain('audit chain intact (1 event), but the state tables disagree with it in 1 place: request FORGED01 has no request_opened event');
  });

  describe('reads: roles, list, pending', () => {
    it('lists the roles a person may request, as text and as one JSON object per line', async () => {
      // Given the example policy (both roles open to anyone @example.com)
      // When
      const text = await cli(h, 'roles', '--as', 'dave@example.com');
      const json = await cli(h, 'roles', '--as', 'dave@example.com', '--json');
      const outsider = await cli(h, 'roles', '--as', 'mallory@elsewhere.org');
      // Then
      expect(text.code).toBe(EXIT_OK);
      expect(text.out).toContain('sandbox-admin');
      expect(text.out).toContain('Admin on the sandbox environment');
      const roles = json.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(roles.map((r) => r.name)).toEqual(['sandbox-admin', 'prod-readonly']);
      expect(roles[0]).toMatchObject({ maxDuration: '4h', defaultDuration: '1h', approvals: 2, breakGlass: { allowed: true, reviewWithin: '1d' }, cliDecisions: true });
      expect(roles[1]).toMatchObject({ maxDuration: '8h', approvals: 1, breakGlass: { allowed: false }, cliDecisions: false });
      expect(outsider).toMatchObject({ code: EXIT_OK, out: 'No role in the policy lists mallory@elsewhere.org as a requester. Ask your security team.\n' });
    });

    it('lists my own requests, newest first', async () => {
      // Given two requests of dave's and none of alice's
      const first = await openRequest();
      const second = await openRequest();
      // When
      const mine = await cli(h, 'list', '--as', 'dave@example.com', '--json');
      const text = await cli(h, 'list', '--as', 'dave@example.com');
      const none = await cli(h, 'list', '--as', 'alice@example.com');
      // Then
      expect(mine.code).toBe(EXIT_OK);
      expect(mine.out.trim().split('\n').map((l) => (JSON.parse(l) as { id: string; state: string }).id)).toEqual([second, first]);
      expect(text.out).toContain(first);
      expect(text.out).toContain('0 of 2');
      expect(none.out).toBe('You have no requests yet. Run `prod-access roles --as alice@example.com` to see the roles you may request.\n');
    });

    it('lists the requests waiting for my approval: not my own, not those I approved', async () => {
      // Given dave's pending request, which alice has approved and bob has not
      const id = await openRequest();
      await cli(h, 'approve', id, '--as', 'alice@example.com');
      // When
      const bob = await cli(h, 'pending', '--as', 'bob@example.com', '--json');
      const bobText = await cli(h, 'pending', '--as', 'bob@example.com');
      const alice = await cli(h, 'pending', '--as', 'alice@example.com');
      const dave = await cli(h, 'pending', '--as', 'dave@example.com');
      // Then
      expect(bob.code).toBe(EXIT_OK);
      expect(JSON.parse(bob.out.trim())).toMatchObject({ id, requester: 'dave@example.com', state: 'pending' });
      expect(bobText.out).toContain(id);
      expect(bobText.out).toContain('1 of 2');
      expect(alice.out).toBe('Nothing waits for your approval.\n');
      expect(dave.out).toBe('Nothing waits for your approval.\n');
    });

    it('needs --as for list and pending', async () => {
      expect((await cli(h, 'list')).code).toBe(EXIT_USAGE);
      expect((await cli(h, 'pending')).code).toBe(EXIT_USAGE);
    });
  });

  describe('refusals and outcomes in the words of the CLI', () => {
    it('names the CLI command to run, not a chat command, when a role is unknown or an id is wrong', async () => {
      // When
      const role = await cli(h, 'request', 'no-such-role', '1h', 'OPS-1', 'rotate', 'the', 'sandbox', 'keys', '--as', 'dave@example.com');
      const id = await cli(h, 'approve', 'ZZZZZZZZ', '--as', 'alice@example.com');
      // Then
      expect(role.code).toBe(EXIT_REFUSED);
      expect(role.err).toBe('refused (unknown_role): There is no role "no-such-role". Run `prod-access roles --as dave@example.com` to see the roles you may request.\n');
      expect(id.code).toBe(EXIT_REFUSED);
      expect(id.err).toBe('refused (not_pending): There is no request ZZZZZZZZ. Run `prod-access list --as alice@example.com` to see your requests and their ids.\n');
      expect(role.err + id.err).not.toContain('/prod-access');
    });

    it('says when a second cancel changed nothing', async () => {
      // Given dave's pending request
      const id = await openRequest();
      // When he cancels it twice
      const first = await cli(h, 'cancel', id, '--as', 'dave@example.com');
      const second = await cli(h, 'cancel', id, '--as', 'dave@example.com');
      // Then
      expect(first.out).toBe(`Request ${id} is cancelled.\n`);
      expect(second).toMatchObject({ code: EXIT_OK, out: `Request ${id} was already cancelled; nothing changed.\n` });
    });

    it('says an approval of 1 of 2 was recorded, and how many more it needs', async () => {
      const id = await openRequest();
      const r = await cli(h, 'approve', id, '--as', 'alice@example.com');
      expect(r.out).toBe(`${id}: approval 1 of 2 recorded; it needs 1 more.\n`);
    });

    it('says a break-glass review of 1 of 2 was recorded, not that access was approved and granted', async () => {
      // Given dave's break-glass access, live at once
      const opened = await cli(h, 'request', 'sandbox-admin', '1h', 'OPS-1', 'prod', 'is', 'on', 'fire', '--break-glass', '--as', 'dave@example.com');
      const id = opened.out.trim().split('\n').at(-1) ?? '';
      expect(opened.out).toContain('Break-glass access to sandbox-admin granted until 2026-03-03T11:00:00.000Z');
      // When alice reviews it, then bob
      const first = await cli(h, 'approve', id, '--as', 'alice@example.com');
      const second = await cli(h, 'approve', id, '--as', 'bob@example.com');
      // Then
      expect(first.out).toBe(`Break-glass request ${id}: review 1 of 2 recorded; it needs 1 more by 2026-03-04T10:00:00.000Z.\n`);
      expect(first.out).not.toContain('granted');
      expect(second.out).toBe(`Break-glass request ${id}: review 2 of 2 recorded; it is fully reviewed.\n`);
    });

    it('says an approved extension was applied to the grant, with the new expiry', async () => {
      // Given dave's live access until 11:00 and his extension of 1h
      const id = await openRequest();
      await cli(h, 'approve', id, '--as', 'alice@example.com');
      await cli(h, 'approve', id, '--as', 'bob@example.com');
      const extended = await cli(h, 'extend', id, '1h', 'the', 'rotation', 'takes', 'longer', '--as', 'dave@example.com');
      const extensionId = extended.out.trim().split('\n').at(-1) ?? '';
      expect(extended.out).toContain(`Extension ${extensionId} (1h more on ${id}) is waiting for 2 approvals.`);
      // When both approve it
      await cli(h, 'approve', extensionId, '--as', 'alice@example.com');
      const applied = await cli(h, 'approve', extensionId, '--as', 'bob@example.com');
      // Then
      expect(applied.out).toBe(`Extension ${extensionId} approved and applied: access of request ${id} (sandbox-admin) now runs until 2026-03-03T12:00:00.000Z (1h more).\n`);
      expect(applied.out).not.toContain('did not grant');
    });

    it('refuses a duration beyond any limit with the role\'s maximum', async () => {
      const r = await cli(h, 'request', 'sandbox-admin', '99999d', 'OPS-1', 'rotate', 'the', 'sandbox', 'keys', '--as', 'dave@example.com');
      expect(r.code).toBe(EXIT_REFUSED);
      expect(r.err).toBe('refused (duration_too_long): 99999d is longer than the 4h maximum for sandbox-admin.\n');
    });
  });

  it('exits 3 with a plain message when the database is unavailable', async () => {
    await database.close();
    const r = await cli(h, 'grants', 'list');
    expect(r.code).toBe(EXIT_FAILED);
    expect(r.err).toContain('The database is unavailable');
    database = await createPgliteDatabase();
  });
});
