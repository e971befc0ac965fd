import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, runCliProcess, runServiceExpectingExit, startServiceProcess, type RunResult, type ServiceProcess } from '../support/processes';

jest.setTimeout(180_000);

/** `prod-access <args>` as a separate process, run from `cwd` (not the checkout), as an auditor would. */
const cli = (args: readonly string[], env: Record<string, string>, cwd: string): Promise<RunResult> => runCliProcess(args, env, { cwd });

describe('signing keys, checkpoints and the digest from the CLI, through the running service', () => {
  let dir: string;
  let keyFile: string;
  let env: Record<string, string>;

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'prod-access-checkpoints-'));
    keyFile = path.join(dir, 'audit-signing.pem');
    const policyFile = path.join(dir, 'policy.yaml');
    copyFileSync(path.join(repoRoot, 'manifests/policy.example.yaml'), policyFile);
    env = { DATA_DIR: path.join(dir, 'data'), POLICY_FILE: policyFile };
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('generates a key: the private key 0600, the public key and its key id printed, and never over an existing file', async () => {
    const made = await cli(['keys', 'generate', '--out', 'audit-signing.pem'], {}, dir);
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\nkey id: [0-9a-f]{16}\n$/);
    expect(made.stderr).toContain('wrote the private key to audit-signing.pem (mode 0600)');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    // NB: what it printed works as the public key file as it is, key id line and all.
    writeFileSync(path.join(dir, 'pub.pem'), made.stdout);

    const again = await cli(['keys', 'generate', '--out', keyFile], {}, dir);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`${keyFile} already exists; prod-access never overwrites a key`);
  });

  it('refuses to start the service when the key file is open to others, naming the fix', async () => {
    chmodSync(keyFile, 0o644);
    try {
      const refused = await runServiceExpectingExit({ ...env, AUDIT_SIGNING_KEY_FILE: keyFile });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toBe(`prod-access: cannot start: AUDIT_SIGNING_KEY_FILE ${keyFile} can be read or written by others than its owner (mode 0644); run: chmod 600 ${keyFile}\n`);
    } finally {
      chmodSync(keyFile, 0o600);
    }
  });

  describe('with the service running with the key', () => {
    let service: ServiceProcess;
    beforeAll(async () => {
      service = await startServiceProcess({ ...env, AUDIT_SIGNING_KEY_FILE: keyFile });
    });
    afterAll(async () => {
      if (service.child.exitCode === null) await service.stop();
    });

    it("signs a checkpoint on demand with the service's key, even for a CLI that has none, and verifies it with the public key", async () => {
      const keyId = /key id: ([0-9a-f]{16})/.exec(readFileSync(path.join(dir, 'pub.pem'), 'utf8'))?.[1];
      // When a CLI without AUDIT_SIGNING_KEY_FILE asks for a checkpoint
      const made = await cli(['audit', 'checkpoint'], env, dir);
      expect(made.code).toBe(0);
      expect(made.stdout).toMatch(/^prod-access audit checkpoint v1\nperiod: on-demand\nseq: \d+\nhash: [0-9a-f]{64}\nsigned-at: \S+\nkey-id: [0-9a-f]{16}\nsignature: \S+\n$/);
      expect(made.stdout).toContain(`key-id: ${keyId ?? '?'}\n`);

      // Then an auditor in another directory checks every checkpoint with the public key, given relative to it
      const verified = await cli(['audit', 'verify', '--checkpoints', '--public-key', 'pub.pem'], env, dir);
      expect(verified.stderr).toBe('');
      expect(verified.code).toBe(0);
      expect(verified.stdout).toContain(`1 signed checkpoint verified with key ${keyId ?? '?'}, every head still in the chain`);

      // And without the key, or with the private key, it is refused
      expect(await cli(['audit', 'verify', '--checkpoints'], env, dir)).toMatchObject({ code: 2 });
      const privateGiven = await cli(['audit', 'verify', '--checkpoints', '--public-key', keyFile], env, dir);
      expect(privateGiven.code).toBe(1);
      expect(privateGiven.stderr).toContain('is a private key; give the public key');
    });

    it('prints the digest, posts it once, and says so when it was posted already', async () => {
      const printed = await cli(['digest', '--since', '2026-01-05', '--until', '2026-01-12'], env, dir);
      expect(printed.code).toBe(0);
      expect(printed.stdout.split('\n')[0]).toBe('Access digest for Mon 5 Jan 2026 01:00 to Mon 12 Jan 2026 01:00 (Europe/Berlin)');
      const posted = await cli(['digest', '--since', '2026-01-05', '--until', '2026-01-12', '--post'], env, dir);
      expect(posted.code).toBe(0);
      expect(posted.stdout).toContain('prod-access audit checkpoint v1\nperiod: 2026-01-05T00:00:00.000Z/2026-01-12T00:00:00.000Z\n');
      expect(posted.stderr).toContain('posted: recorded as a digest_published audit event with its signed checkpoint');
      const again = await cli(['digest', '--since', '2026-01-05', '--until', '2026-01-12', '--post'], env, dir);
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/^the digest of 2026-01-05T00:00:00.000Z\/2026-01-12T00:00:00.000Z was posted already at \S+ \(late\); nothing was posted again\n$/);
      const usage = await cli(['digest', '--since', '2026-01-05'], env, dir);
      expect(usage.code).toBe(2);
      expect(usage.stderr).toContain('give both --since and --until, or neither');
    });
  });
});
