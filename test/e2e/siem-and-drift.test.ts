import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, runCliProcess, startServiceProcess, type ServiceProcess } from '../support/processes';

jest.setTimeout(120_000);

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('the service writes SIEM lines, and runs drift and reports for the CLI', () => {
  let dir: string;
  let env: Record<string, string>;
  let auditFile: string;
  let service: ServiceProcess;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'prod-access-siem-e2e-'));
    const policyFile = path.join(dir, 'policy.yaml');
    copyFileSync(path.join(repoRoot, 'manifests/policy.example.yaml'), policyFile);
    auditFile = path.join(dir, 'audit.jsonl');
    env = { DATA_DIR: path.join(dir, 'data'), POLICY_FILE: policyFile, AUDIT_LOG_FILE: auditFile };
    service = await startServiceProcess(env);
  });
  afterAll(async () => {
    if (service && service.child.exitCode === null) await service.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('appends one JSON line per audit event to AUDIT_LOG_FILE, and none to stdout', async () => {
    // When dave opens a request through the running service
    const requested = await runCliProcess(['request', 'prod-readonly', '1h', 'OPS-1', 'check', 'the', 'nightly', 'export', '--as', 'dave@example.com'], env);
    expect(requested.code).toBe(0);
    const id = requested.stdout.trim().split('\n').at(-1) ?? '';

    // Then its line reaches the file
    const lines = () => (existsSync(auditFile) ? readFileSync(auditFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : []);
    await until(() => lines().some((l) => l.requestId === id), 'the request_opened line');
    expect(lines().find((l) => l.requestId === id)).toMatchObject({ schema: 'prod-access.audit.v1', action: 'request_opened', actor: 'dave@example.com', ticket: 'OPS-1', reason: 'check the nightly export' });
    expect(service.output()).not.toContain('"schema":"prod-access.audit.v1"');
  });

  it('runs a drift check and a report through the service', async () => {
    const drift = await runCliProcess(['drift', 'check'], env);
    expect(drift).toMatchObject({ code: 0, stderr: '' });
    expect(drift.stdout).toContain('no drift found');
    const report = await runCliProcess(['report', '--since', '2000-01-01', '--format', 'csv', '--no-bom'], env);
    expect(report.code).toBe(0);
    expect(report.stdout.split('\r\n')[1]).toContain(',dave@example.com,prod-readonly,');
  });
});
