import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readSigningKeyFile } from '../../src/adapters/crypto/signing-key-file';
import type { Database } from '../../src/adapters/store/open-database';
import { requestAccess } from '../../src/app/request-access';
import { EXIT_OK, EXIT_REFUSED, EXIT_USAGE } from '../../src/cli/program';
import { email } from '../../src/domain/email';
import type { CheckpointSigner } from '../../src/ports/checkpoint-signer';
import { cliOrigin, createHarness, queryRows, type Harness } from '../support/app-harness';
import { runCliIn } from '../support/cli-harness';
import { createPgliteDatabase } from '../support/test-database';

const cli = (h: Harness, signer: CheckpointSigner | undefined, ...argv: string[]) => runCliIn(h, argv, signer ? { signer } : {});

describe('the digest and checkpoint commands', () => {
  let database: Database;
  let h: Harness;
  let dir: string;

  beforeEach(async () => {
    database = await createPgliteDatabase();
    h = createHarness(database);
    dir = mkdtempSync(path.join(os.tmpdir(), 'prod-access-digest-cli-'));
    // Given a request on Wednesday 25 February, and the clock on Wednesday 4 March
    h.clock.set(new Date('2026-02-25T10:00:00.000Z'));
    const opened = await requestAccess(h.ctx, { requester: email('dave@example.com'), role: 'sandbox-admin', duration: '1h', ticket: 'OPS-1', reason: 'rotate the sandbox signing keys' }, cliOrigin);
    if (!opened.ok) throw new Error(opened.refusal.message);
    h.clock.set(new Date('2026-03-04T10:00:00.000Z'));
  });
  afterEach(async () => {
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function signer(): Promise<CheckpointSigner> {
    const made = await cli(h, undefined, 'keys', 'generate', '--out', path.join(dir, 'key.pem'));
    expect(made.code).toBe(EXIT_OK);
    writeFileSync(path.join(dir, 'pub.pem'), made.out);
    return readSigningKeyFile(path.join(dir, 'key.pem'));
  }

  it("prints the last full period of the policy's schedule by default, as text or as figures, posting nothing", async () => {
    const text = await cli(h, undefined, 'digest');
    expect(text.code).toBe(EXIT_OK);
    expect(text.out.split('\n')[0]).toBe('Access digest for Mon 23 Feb 2026 09:00 to Mon 2 Mar 2026 09:00 (Europe/Berlin)');
    expect(text.out).toContain('Requests: 1 opened');
    const json = await cli(h, undefined, 'digest', '--json');
    expect(JSON.parse(json.out)).toMatchObject({ period: { since: '2026-02-23T08:00:00.000Z', until: '2026-03-02T08:00:00.000Z' }, requests: { opened: 1 } });
    expect(await queryRows(database, 'SELECT * FROM digests')).toEqual([]);
  });

  it('posts once with the key, and says when the period was posted already', async () => {
    const key = await signer();
    const posted = await cli(h, key, 'digest', '--post');
    expect(posted.code).toBe(EXIT_OK);
    expect(posted.out).toContain(`key-id: ${key.keyId}\n`);
    expect(posted.err).toContain('posted: recorded as a digest_published audit event with its signed checkpoint');
    const again = await cli(h, key, 'digest', '--post');
    expect(again).toMatchObject({ code: EXIT_OK, out: 'the digest of 2026-02-23T08:00:00.000Z/2026-03-02T08:00:00.000Z was posted already at 2026-03-04T10:00:00.000Z (late); nothing was posted again\n' });
  });

  it('refuses to post without a key unless told to post it unsigned', async () => {
    const refused = await cli(h, undefined, 'digest', '--post');
    expect(refused.code).toBe(EXIT_REFUSED);
    expect(refused.err).toContain('no signing key: set AUDIT_SIGNING_KEY_FILE so the head is signed');
    expect(await queryRows(database, 'SELECT * FROM digests')).toEqual([]);
    const unsigned = await cli(h, undefined, 'digest', '--post', '--unsigned');
    expect(unsigned.code).toBe(EXIT_OK);
    expect(unsigned.out).toContain('Not signed: AUDIT_SIGNING_KEY_FILE is not set');
  });

  it('refuses to post a window that has not ended, and bad windows with usage', async () => {
    const open = await cli(h, undefined, 'digest', '--since', '2026-03-02', '--until', '2026-03-09', '--post', '--unsigned');
    expect(open.code).toBe(EXIT_REFUSED);
    expect(open.err).toContain('the period 2026-03-02T00:00:00.000Z/2026-03-09T00:00:00.000Z has not ended; it can be posted from 2026-03-09T00:00:00.000Z');
    expect((await cli(h, undefined, 'digest', '--until', '2026-03-09')).code).toBe(EXIT_USAGE);
    const backwards = await cli(h, undefined, 'digest', '--since', '2026-03-09', '--until', '2026-03-02');
    expect(backwards).toMatchObject({ code: EXIT_USAGE });
    expect(backwards.err).toContain('--since must be before --until');
    expect((await cli(h, undefined, 'digest', '--since', 'last monday', '--until', '2026-03-02')).err).toContain('"last monday" is not a date like 2026-11-01');
  });

  it('makes a checkpoint on demand with the key, and checks it with the public key', async () => {
    const key = await signer();
    const made = await cli(h, key, 'audit', 'checkpoint');
    expect(made.code).toBe(EXIT_OK);
    expect(made.out).toMatch(/^prod-access audit checkpoint v1\nperiod: on-demand\nseq: 1\n/);
    expect(made.err).toBe('stored as checkpoint #1 and audited as event 2; the security channel gets it from the audit log\n');
    const verified = await cli(h, key, 'audit', 'verify', '--checkpoints', '--public-key', path.join(dir, 'pub.pem'));
    expect(verified.code).toBe(EXIT_OK);
    expect(verified.out).toContain(`1 signed checkpoint verified with key ${key.keyId}`);
  });

  it('refuses a checkpoint without a key, and --checkpoints without a public key or with --file', async () => {
    const noKey = await cli(h, undefined, 'audit', 'checkpoint');
    expect(noKey).toMatchObject({ code: EXIT_REFUSED, err: 'no signing key: set AUDIT_SIGNING_KEY_FILE (make one with: prod-access keys generate --out <file>)\n' });
    expect((await cli(h, undefined, 'audit', 'verify', '--checkpoints')).err).toContain('--checkpoints needs the public key to check them with');
    expect((await cli(h, undefined, 'audit', 'verify', '--checkpoints', '--public-key', 'p.pem', '--file', 'x.jsonl')).code).toBe(EXIT_USAGE);
    expect((await cli(h, undefined, 'audit', 'verify', '--public-key', 'p.pem')).err).toContain('--public-key is for --checkpoints');
    const missing = await cli(h, undefined, 'audit', 'verify', '--checkpoints', '--public-key', path.join(dir, 'none.pem'));
    expect(missing).toMatchObject({ code: EXIT_REFUSED, err: `${path.join(dir, 'none.pem')} cannot be read (ENOENT)\n` });
  });

  it('writes the key readable by its owner only, and refuses to overwrite it', async () => {
    await signer();
    const file = path.join(dir, 'key.pem');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const before = readFileSync(file, 'utf8');
    const again = await cli(h, undefined, 'keys', 'generate', '--out', file);
    expect(again.code).toBe(EXIT_REFUSED);
    expect(readFileSync(file, 'utf8')).toBe(before);
  });
});
