import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateSigningKeyPair, readPublicKeyFile, readSigningKeyFile, SigningKeyError, writePrivateKeyFile } from '../../../src/adapters/crypto/signing-key-file';
import { signCheckpoint } from '../../../src/app/sign-checkpoint';
import { checkpointMessage } from '../../../src/domain/checkpoint';
import { digestText, type DigestFigures } from '../../../src/domain/digest';

describe('signing key files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'prod-access-keys-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  async function newKey(name = 'signing.pem'): Promise<{ file: string; publicFile: string; keyId: string }> {
    const pair = generateSigningKeyPair();
    const file = path.join(dir, name);
    await writePrivateKeyFile(file, pair.privatePem);
    const publicFile = path.join(dir, `${name}.pub`);
    writeFileSync(publicFile, pair.publicPem);
    return { file, publicFile, keyId: pair.keyId };
  }

  async function refusal(work: Promise<unknown>): Promise<SigningKeyError> {
    const error = await work.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(error instanceof SigningKeyError)) throw new Error(`expected a SigningKeyError, got ${String(error)}`);
    return error;
  }

  it('writes a private key readable by its owner only, whatever the umask, and signs with it', async () => {
    const previous = process.umask(0o022);
    try {
      const { file, publicFile, keyId } = await newKey();
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const signer = await readSigningKeyFile(file);
      expect(signer.keyId).toBe(keyId);
      const key = await readPublicKeyFile(publicFile);
      expect(key.verify('hello\n', signer.sign('hello\n'))).toBe(true);
      expect(key.verify('hello!\n', signer.sign('hello\n'))).toBe(false);
    } finally {
      process.umask(previous);
    }
  });

  it('refuses to overwrite an existing key, and leaves it as it was', async () => {
    const { file } = await newKey();
    const before = readFileSync(file, 'utf8');
    const error = await refusal(writePrivateKeyFile(file, generateSigningKeyPair().privatePem));
    expect(error.code).toBe('exists');
    expect(error.message).toContain(`${file} already exists; prod-access never overwrites a key`);
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('refuses a key file that group or others may read, naming the command that fixes it', async () => {
    const { file } = await newKey();
    chmodSync(file, 0o640);
    const error = await refusal(readSigningKeyFile(file));
    expect(error.code).toBe('exposed');
    expect(error.message).toBe(`AUDIT_SIGNING_KEY_FILE ${file} can be read or written by others than its owner (mode 0640); run: chmod 600 ${file}`);
  });

  it('refuses a missing file, a directory, a file that is no key, and a key that is not Ed25519', async () => {
    const missing = path.join(dir, 'nope.pem');
    expect((await refusal(readSigningKeyFile(missing))).message).toBe(`AUDIT_SIGNING_KEY_FILE ${missing} cannot be read (ENOENT)`);
    const folder = path.join(dir, 'folder');
    mkdirSync(folder, { mode: 0o700 });
    expect((await refusal(readSigningKeyFile(folder))).code).toBe('unreadable');
    const junk = path.join(dir, 'junk.pem');
    writeFileSync(junk, 'not a key', { mode: 0o600 });
    expect((await refusal(readSigningKeyFile(junk))).message).toBe(`AUDIT_SIGNING_KEY_FILE ${junk} is not an unencrypted PEM private key; make one with: prod-access keys generate --out <file>`);
    const ec = path.join(dir, 'ec.pem');
    writeFileSync(ec, generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    expect((await refusal(readSigningKeyFile(ec))).message).toBe(`AUDIT_SIGNING_KEY_FILE ${ec} is an ec key, not Ed25519; make one with: prod-access keys generate --out <file>`);
  });

  it('refuses a private key where a public key is asked for: an auditor never needs it', async () => {
    const { file } = await newKey();
    expect((await refusal(readPublicKeyFile(file))).message).toBe(`${file} is a private key; give the public key (printed by keys generate), which is all an auditor needs`);
  });

  it('takes only the exact base64 of 64 bytes as a signature', async () => {
    const { file, publicFile } = await newKey();
    const signature = (await readSigningKeyFile(file)).sign('m\n');
    const key = await readPublicKeyFile(publicFile);
    expect(key.verify('m\n', signature)).toBe(true);
    expect(key.verify('m\n', `${signature} `)).toBe(false);
    expect(key.verify('m\n', signature.slice(0, -4))).toBe(false);
  });

  it('gives the key id openssl computes from the public key: the first 16 hex digits of SHA-256 over its DER', async () => {
    const { publicFile, keyId } = await newKey();
    const der = execFileSync('/usr/bin/openssl', ['pkey', '-pubin', '-in', publicFile, '-outform', 'DER']);
    const openssl = execFileSync('sha256sum', { input: der }).toString().slice(0, 16);
    expect(keyId).toBe(openssl);
  });
});

describe("the README's openssl check of a checkpoint copied from the chat message", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'prod-access-openssl-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** The README's shell block that checks a checkpoint, with the values of this one filled in. */
  function readmeCommands(message: string, signature: string): string {
    const readme = readFileSync(path.resolve(__dirname, '../../../README.md'), 'utf8');
    const block = /```sh\n((?:(?!```)[\s\S])*openssl pkeyutl -verify(?:(?!```)[\s\S])*)```/.exec(readme)?.[1];
    if (!block) throw new Error('the README has no sh block with `openssl pkeyutl -verify`');
    expect(block).toContain("cat > msg <<'EOF'\n");
    expect(block).toContain('openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in msg -sigfile sig\n');
    return block
      .replace(/(cat > msg <<'EOF'\n)[\s\S]*?\nEOF\n/, (_, start: string) => `${start}${message}EOF\n`)
      .replace(/echo '[^']*' \| base64 -d > sig/, `echo '${signature}' | base64 -d > sig`);
  }

  async function postedCheckpoint(): Promise<{ text: string; keyId: string }> {
    const pair = generateSigningKeyPair();
    const file = path.join(dir, 'signing.pem');
    await writePrivateKeyFile(file, pair.privatePem);
    writeFileSync(path.join(dir, 'pub.pem'), pair.publicPem);
    const signer = await readSigningKeyFile(file);
    const period = { since: new Date('2026-03-02T08:00:00.000Z'), until: new Date('2026-03-09T08:00:00.000Z') };
    const head = { seq: 4711, hash: '9c'.repeat(32) };
    const checkpoint = signCheckpoint(signer, `${period.since.toISOString()}/${period.until.toISOString()}`, head, new Date('2026-03-09T08:00:00.412Z'));
    const figures: DigestFigures = {
      period,
      asOf: period.until,
      requests: { opened: 0, breakGlass: 0, extensions: 0, approved: 0, denied: 0, cancelled: 0, timedOut: 0, approvalsGiven: 0 },
      grants: { count: 0, accessHours: 0, byRole: [], byPerson: [] },
      longestGrants: [],
      alerts: { raised: 0, byKind: [] },
      revocationFailures: { attempts: 0, grants: 0 },
      grantsPerDay: { bucketDays: 1, counts: [0, 0, 0, 0, 0, 0, 0] },
      head,
    };
    expect(checkpointMessage(checkpoint)).toContain('seq: 4711\n');
    return { text: digestText(figures, { timezone: 'Europe/Berlin', checkpoint }), keyId: pair.keyId };
  }

  /** What an auditor copies out of the posted text: the signed lines, and the signature's value. */
  function copyFromChat(text: string): { message: string; signature: string } {
    const lines = text.split('\n');
    const start = lines.indexOf('prod-access audit checkpoint v1');
    const signatureLine = lines.find((l) => l.startsWith('signature: ')) ?? '';
    return { message: `${lines.slice(start, start + 6).join('\n')}\n`, signature: signatureLine.slice('signature: '.length) };
  }

  function run(script: string): { status: number | null; stdout: string; stderr: string } {
    // NB: stdin from /dev/null and a HOME of its own: bash reads ~/.bashrc when stdin looks like a remote shell's.
    const result = spawnSync('bash', ['-e', '-c', script], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: `/usr/bin:${process.env.PATH ?? ''}`, HOME: dir },
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  it('verifies with openssl alone, and prints the key id of the public key', async () => {
    const { text, keyId } = await postedCheckpoint();
    const { message, signature } = copyFromChat(text);
    const result = run(readmeCommands(message, signature));
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('Signature Verified Successfully');
    expect(result.stdout.trim().split('\n').at(-1)).toBe(keyId);
    expect(result.status).toBe(0);
  });

  it('fails with openssl when a copied line was changed (another head)', async () => {
    const { text } = await postedCheckpoint();
    const { message, signature } = copyFromChat(text);
    const result = run(readmeCommands(message.replace('seq: 4711', 'seq: 4712'), signature));
    expect(result.stdout).toContain('Signature Verification Failure');
    expect(result.status).not.toBe(0);
  });
});
