import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { notOwnerOnly } from '../support/file-modes';
import { repoRoot, runCliProcess, runServiceExpectingExit, startServiceProcess, type ServiceProcess } from '../support/processes';

jest.setTimeout(120_000);

describe('prod-access service and CLI on the embedded database', () => {
  let dir: string;
  let env: Record<string, string>;
  let policyFile: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'prod-access-e2e-'));
    policyFile = path.join(dir, 'policy.yaml');
    copyFileSync(path.join(repoRoot, 'manifests/policy.example.yaml'), policyFile);
    env = { DATA_DIR: path.join(dir, 'data'), POLICY_FILE: policyFile, POLICY_POLL_MS: '200' };
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  describe('while the service runs', () => {
    let service: ServiceProcess;

    beforeAll(async () => {
      service = await startServiceProcess(env);
    });
    afterAll(async () => {
      if (service.child.exitCode === null) await service.stop();
    });

    it('answers health and readiness', async () => {
      const health = await fetch(`http://127.0.0.1:${service.port}/healthz`);
      const ready = await fetch(`http://127.0.0.1:${service.port}/readyz`);
      expect(health.status).toBe(200);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready', roles: 2 });
    });

    it('keeps the admin file readable by its owner only', () => {
      expect(statSync(path.join(env.DATA_DIR ?? '', 'admin.json')).mode & 0o777).toBe(0o600);
    });

    it('runs the README tour through the running service', async () => {
      // When dave requests and alice and bob approve, each through a separate CLI process
      const requested = await runCliProcess(['request', 'sandbox-admin', '1h', 'OPS-1', 'rotate', 'the', 'sandbox', 'keys', '--as', 'dave@example.com'], env);
      expect(requested.stderr).toBe('');
      expect(requested.code).toBe(0);
      const id = requested.stdout.trim().split('\n').at(-1) ?? '';
      expect(id).toMatch(/^[0-9A-Z]{8}$/);
      expect((await runCliProcess(['approve', id, '--as', 'alice@example.com'], env)).code).toBe(0);
      const approved = await runCliProcess(['approve', id, '--as', 'bob@example.com'], env);

      // Then the grant is live, listed, and the chain verifies
      expect(approved).toMatchObject({ code: 0 });
      expect(approved.stdout).toContain('approved and granted until');
      const grants = await runCliProcess(['grants', 'list', '--json'], env);
      expect(grants.code).toBe(0);
      expect(JSON.parse(grants.stdout.trim())).toMatchObject({ id, state: 'active', requester: 'dave@example.com' });
      const verified = await runCliProcess(['audit', 'verify'], env);
      expect(verified).toMatchObject({ code: 0 });
      expect(verified.stdout).toMatch(/audit chain intact: \d+ events verified/);

      // And it went through the service, which holds the database
      expect(service.output()).toContain('cli command run through the service');
      const events = (await runCliProcess(['audit', 'export'], env)).stdout.trim().split('\n').map((l) => JSON.parse(l) as { action: string; data: { origin?: { via: string; osUser?: string } } });
      // NB: the OS user comes from the owner of the CLI's socket, not from anything the CLI sent.
      expect(events.find((e) => e.action === 'request_opened')?.data.origin).toEqual({ via: 'cli', osUser: os.userInfo().username, osUserFrom: 'peer_socket' });
    });

    it('refuses a second service on the same DATA_DIR with a clear message', async () => {
      const second = await runServiceExpectingExit(env);
      expect(second.code).toBe(1);
      expect(second.stderr).toContain('another prod-access process already uses DATA_DIR');
    });

    it('exits 1 with the reason on a refusal and 2 with usage on bad arguments', async () => {
      const refused = await runCliProcess(['request', 'sandbox-admin', '1h', 'NOPE', 'rotate the sandbox keys', '--as', 'dave@example.com'], env);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('is not a ticket for sandbox-admin');
      const usage = await runCliProcess(['approve', 'ABCDEFGH'], env);
      expect(usage.code).toBe(2);
      expect(usage.stderr).toContain("required option '--as <email>' not specified");
      const badEmail = await runCliProcess(['approve', 'ABCDEFGH', '--as', 'dave @example.com'], env);
      expect(badEmail.code).toBe(2);
      expect(badEmail.stderr).toContain('is not an e-mail address');
    });

    it('reloads a changed policy without a restart, and keeps the old one when the change is invalid', async () => {
      const original = readFileSync(policyFile, 'utf8');
      // When the file gets an invalid duration
      writeFileSync(policyFile, original.replace('maxDuration: 4h', 'maxDuration: 5x'));
      await waitFor(() => service.output().includes('policy change refused'));
      // Then the old policy is still in force
      const stillOk = await runCliProcess(['request', 'sandbox-admin', '3h', 'OPS-1', 'rotate the sandbox keys', '--as', 'dave@example.com'], env);
      expect(stillOk.code).toBe(0);

      // When a valid change lowers the maximum
      writeFileSync(policyFile, original.replace('maxDuration: 4h', 'maxDuration: 2h'));
      await waitFor(() => service.output().includes('policy reloaded'));
      // Then it applies at once
      const tooLong = await runCliProcess(['request', 'sandbox-admin', '3h', 'OPS-1', 'rotate the sandbox keys', '--as', 'dave@example.com'], env);
      expect(tooLong.code).toBe(1);
      expect(tooLong.stderr).toContain('longer than the 2h maximum');
      const actions = (await runCliProcess(['audit', 'export'], env)).stdout.trim().split('\n').map((l) => (JSON.parse(l) as { action: string }).action);
      expect(actions.filter((a) => a === 'policy_rejected')).toHaveLength(1);
      expect(actions.filter((a) => a === 'policy_activated')).toHaveLength(2);
      writeFileSync(policyFile, original);
      await waitFor(() => service.output().split('policy reloaded').length > 2);
    });

    it('keeps DATA_DIR and every file under it private to its owner while it runs', () => {
      // Given the service started on a fresh DATA_DIR and wrote requests, approvals and grants
      // Then every directory under it is 0700 and every file 0600
      expect(notOwnerOnly(env.DATA_DIR ?? '')).toEqual([]);
    });

    it('stops cleanly on SIGTERM', async () => {
      expect(await service.stop()).toBe(0);
      expect(notOwnerOnly(env.DATA_DIR ?? '')).toEqual([]);
    });
  });

  it('opens DATA_DIR directly when no service holds it', async () => {
    // Given the service has stopped
    // When the CLI runs on its own
    const grants = await runCliProcess(['grants', 'list'], env);
    const verified = await runCliProcess(['audit', 'verify'], env);

    // Then it sees the data the service wrote
    expect(grants.code).toBe(0);
    expect(grants.stdout).toContain('dave@example.com');
    expect(verified.code).toBe(0);
  });

  it('refuses to start, and the CLI to open it, when DATA_DIR is readable by others, printing the chmod that fixes it', async () => {
    // Given the stopped service's DATA_DIR made world-readable
    const dataDir = env.DATA_DIR ?? '';
    chmodSync(dataDir, 0o755);

    // When the service starts and the CLI opens it
    const service = await runServiceExpectingExit(env);
    const cli = await runCliProcess(['grants', 'list'], env);

    // Then both refuse, on one line that names the fix
    const fix = `chmod -R go-rwx ${dataDir}`;
    expect(service.code).toBe(1);
    expect(service.stderr).toContain(fix);
    expect(service.stderr.trim().split('\n')).toHaveLength(1);
    expect(cli.code).toBe(3); // EXIT_FAILED, as for a database it cannot reach
    expect(cli.stderr).toContain(fix);
    expect(cli.stdout).toBe('');

    // And the printed command is the fix: the CLI works again
    execFileSync('sh', ['-c', fix]);
    expect((await runCliProcess(['grants', 'list'], env)).code).toBe(0);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
