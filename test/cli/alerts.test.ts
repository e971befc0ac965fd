import type { Database } from '../../src/adapters/store/open-database';
import { EXIT_OK, EXIT_REFUSED, EXIT_USAGE } from '../../src/cli/program';
import { raiseAnomalies } from '../../src/app/raise-alert';
import { createHarness, examplePolicyText, type Harness } from '../support/app-harness';
import { runCliIn } from '../support/cli-harness';
import { createPgliteDatabase } from '../support/test-database';

/** As OS user `tester`, of the OS group `secops`. */
const cli = (h: Harness, ...argv: string[]) => runCliIn(h, argv, { osGroups: ['secops'] });

describe('prod-access alerts', () => {
  let database: Database;
  let h: Harness;
  let ids: number[];

  beforeEach(async () => {
    database = await createPgliteDatabase();
    h = createHarness(database);
    const raised = await raiseAnomalies(
      h.ctx,
      [
        { rule: 'breakGlass', severity: 'high', key: 'break_glass:AAAAAAAA', message: 'dave used break-glass for sandbox-admin.' },
        { rule: 'offHours', severity: 'low', key: 'off_hours:AAAAAAAA', message: 'dave asked for sandbox-admin at Sat 23:10.' },
      ],
      { via: 'scheduler' },
    );
    ids = raised.map((a) => a.id).sort((a, b) => a - b);
  });
  afterEach(async () => {
    await database.close();
  });

  it('lists alerts newest first, open ones only with --open, as a table or JSON lines', async () => {
    // Given one alert acknowledged
    h.setPolicy(`${examplePolicyText}\ndetection:\n  cliOperators: ["group:secops"]\n`);
    expect((await cli(h, 'alerts', 'ack', String(ids[0]), '--as', 'erin@example.com')).code).toBe(EXIT_OK);

    // When both lists are printed
    const all = await cli(h, 'alerts', 'list');
    const open = await cli(h, 'alerts', 'list', '--open', '--json');

    // Then the table shows both with their status, and --open only the other one
    expect(all.code).toBe(EXIT_OK);
    const lines = all.out.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+RAISED\s+SEVERITY\s+ALERT\s+STATUS\s+MESSAGE$/);
    expect(lines.slice(1).map((l) => l.split(/\s{2,}/).slice(2, 5))).toEqual([
      ['low', 'Outside business hours', 'open'],
      ['high', 'Break-glass used', 'acknowledged by erin@example.com'],
    ]);
    expect(open.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      { id: ids[1], rule: 'offHours', severity: 'low', key: 'off_hours:AAAAAAAA', message: 'dave asked for sandbox-admin at Sat 23:10.', requestId: null, raisedAt: h.clock.now().toISOString(), acknowledged: null },
    ]);
  });

  it('says so when there is nothing to list', async () => {
    expect((await cli(h, 'alerts', 'list', '--limit', '0')).code).toBe(EXIT_USAGE);
    const fresh = await createPgliteDatabase();
    try {
      expect(await cli(createHarness(fresh), 'alerts', 'list', '--open')).toMatchObject({ code: EXIT_OK, out: 'no open alerts\n' });
    } finally {
      await fresh.close();
    }
  });

  it('acknowledges as a member of the security group where detection.cliOperators names the OS user, once', async () => {
    h.setPolicy(`${examplePolicyText}\ndetection:\n  cliOperators: [tester]\n`);
    const first = await cli(h, 'alerts', 'ack', String(ids[0]), '--as', 'Erin@Example.com');
    const again = await cli(h, 'alerts', 'ack', String(ids[0]), '--as', 'erin@example.com');
    expect(first).toEqual({ code: EXIT_OK, out: `Alert ${ids[0]} acknowledged by erin@example.com (via CLI, by OS user tester).\n`, err: '' });
    expect(again.code).toBe(EXIT_OK);
    expect(again.out).toContain(`Alert ${ids[0]} was already acknowledged by erin@example.com (via CLI, by OS user tester) at`);
  });

  it('refuses with exit 1 while CLI acknowledgements are off, and for people outside the security group', async () => {
    const off = await cli(h, 'alerts', 'ack', String(ids[0]), '--as', 'erin@example.com');
    expect(off).toMatchObject({ code: EXIT_REFUSED, out: '' });
    expect(off.err).toContain('refused (cli_not_allowed): Acknowledging alerts from the CLI is off');
    expect(off.err).toContain('detection.cliOperators');
    h.setPolicy(`${examplePolicyText}\ndetection:\n  cliOperators: [tester]\n`);
    const outsider = await cli(h, 'alerts', 'ack', String(ids[0]), '--as', 'dave@example.com');
    expect(outsider.err).toContain('refused (not_authorised): Only members of the security group security may acknowledge alerts');
    const missing = await cli(h, 'alerts', 'ack', '999999', '--as', 'erin@example.com');
    expect(missing).toMatchObject({ code: EXIT_REFUSED, err: 'refused (no_such_alert): There is no alert 999999.\n' });
    expect((await h.ctx.store.findAlert(ids[0] ?? 0))?.acknowledged).toBeUndefined();
  });

  it.each([
    ['a missing --as', ['alerts', 'ack', '1'], "required option '--as <email>' not specified"],
    ['an id that is not a number', ['alerts', 'ack', '<!here>', '--as', 'erin@example.com'], '"<!here>" is not an alert id'],
    ['a zero id', ['alerts', 'ack', '0', '--as', 'erin@example.com'], '"0" is not an alert id'],
  ])('exits 2 with a usage message on %s', async (_name, argv, says) => {
    const r = await cli(h, ...argv);
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.err).toContain(says);
  });
});
