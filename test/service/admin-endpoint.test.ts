import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { Database } from '../../src/adapters/store/open-database';
import { runThroughService } from '../../src/cli/service-client';
import { adminFilePath, startAdminEndpoint, type AdminFile } from '../../src/service/admin-endpoint';
import { createHarness, type Harness } from '../support/app-harness';
import { createPgliteDatabase } from '../support/test-database';

/** POSTs a command to the admin endpoint as any client could, body and all; resolves with the frames. */
function post(admin: AdminFile, body: unknown): Promise<{ status: number; frames: { out?: string; err?: string; progress?: string | null; exit?: number }[] }> {
  return new Promise((resolve, reject) => {
    const text = JSON.stringify(body);
    const req = http.request(
      { host: '127.0.0.1', port: admin.port, method: 'POST', path: '/cli', headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' } },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (data += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, frames: data.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { out?: string; exit?: number }) }));
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

/** The same POST from a child process running as another OS user (only root can start one). */
function postAs(uid: number, admin: AdminFile, body: unknown): Promise<string> {
  const script = `
    const http = require('node:http');
    const req = http.request({ host: '127.0.0.1', port: ${admin.port}, method: 'POST', path: '/cli', headers: { authorization: 'Bearer ${admin.token}' } }, (res) => {
      let data = ''; res.on('data', (c) => (data += c)); res.on('end', () => process.stdout.write(data));
    });
    req.end(${JSON.stringify(JSON.stringify(body))});`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { uid, gid: uid, cwd: '/' });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(out));
  });
}

const itAsRoot = process.getuid?.() === 0 ? it : it.skip;

describe('admin endpoint', () => {
  let database: Database;
  let h: Harness;
  let dir: string;
  let endpoint: { close(): Promise<void> };
  let admin: AdminFile;

  beforeEach(async () => {
    database = await createPgliteDatabase();
    h = createHarness(database);
    dir = mkdtempSync(path.join(os.tmpdir(), 'prod-access-admin-'));
    const app = { ctx: h.ctx, database, policyFile: undefined, knownProviders: ['local'], close: async () => undefined };
    endpoint = await startAdminEndpoint(app, dir, ['local'], pino({ level: 'silent' }));
    admin = JSON.parse(readFileSync(adminFilePath(dir), 'utf8')) as AdminFile;
  });
  afterEach(async () => {
    await endpoint.close();
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function lastOrigin(): Promise<Record<string, unknown> | undefined> {
    const head = await h.ctx.store.auditHead();
    const event = head ? await h.ctx.store.auditEventAt(head.seq) : undefined;
    return event?.data['origin'] as Record<string, unknown> | undefined;
  }

  it('records the OS user that owns the client socket, whatever the body says', async () => {
    // Given a client that claims to be another OS user in the body
    const argv = ['request', 'sandbox-admin', '1h', 'OPS-1', 'rotate', 'the', 'sandbox', 'keys', '--as', 'dave@example.com'];
    // When it runs a command through the endpoint
    const { status, frames } = await post(admin, { argv, osUser: 'mallory' });
    // Then the command ran, and the recorded OS user is the one this test process runs as
    expect(status).toBe(200);
    expect(frames.at(-1)).toEqual({ exit: 0 });
    expect(await lastOrigin()).toEqual({ via: 'cli', osUser: os.userInfo().username, osUserFrom: 'peer_socket' });
  });

  itAsRoot('records another OS user when that user connects, not the service\'s own', async () => {
    // Given a client process running as nobody (it could read the token only because this test hands it over)
    const argv = ['request', 'sandbox-admin', '1h', 'OPS-1', 'rotate', 'the', 'sandbox', 'keys', '--as', 'dave@example.com'];
    // When it runs a command claiming to be root
    const out = await postAs(65534, admin, { argv, osUser: 'root' });
    // Then the recorded OS user is nobody
    expect(out).toContain('{"exit":0}');
    expect(await lastOrigin()).toEqual({ via: 'cli', osUser: 'nobody', osUserFrom: 'peer_socket' });
  });

  describe('progress', () => {
    let clocked: { close(): Promise<void> };
    let clockedAdmin: AdminFile;
    let clockedDir: string;

    beforeEach(async () => {
      // Given an endpoint whose commands read a clock that moves a second per reading, and one event
      clockedDir = mkdtempSync(path.join(os.tmpdir(), 'prod-access-admin-clock-'));
      let now = 0;
      const app = { ctx: h.ctx, database, policyFile: undefined, knownProviders: ['local'], close: async () => undefined };
      clocked = await startAdminEndpoint(app, clockedDir, ['local'], pino({ level: 'silent' }), undefined, { monotonicMs: () => (now += 1_000) });
      clockedAdmin = JSON.parse(readFileSync(adminFilePath(clockedDir), 'utf8')) as AdminFile;
      await post(clockedAdmin, { argv: ['request', 'sandbox-admin', '1h', 'OPS-1', 'rotate', 'the', 'sandbox', 'keys', '--as', 'dave@example.com'] });
    });
    afterEach(async () => {
      await clocked.close();
      rmSync(clockedDir, { recursive: true, force: true });
    });

    it('sends progress frames only to a client that says its terminal shows them', async () => {
      // When the same export is asked for with and without progress
      const watched = await post(clockedAdmin, { argv: ['audit', 'export'], progress: true });
      const piped = await post(clockedAdmin, { argv: ['audit', 'export'] });

      // Then only the first has progress, shown and then erased, before the final count
      expect(watched.frames.filter((f) => 'progress' in f)).toEqual([{ progress: 'exported 1 of 1 events (1/s)' }, { progress: null }]);
      expect(piped.frames.filter((f) => 'progress' in f)).toEqual([]);
      expect(piped.frames.filter((f) => f.err !== undefined)).toEqual([{ err: 'exported 1 event\n' }]);
    });

    it('relays the progress to the client\'s terminal, and asks for none when the client has no terminal', async () => {
      // Given a client io on a terminal, and one piped
      const shown: (string | undefined)[] = [];
      let out = '';
      const terminal = { out: (t: string) => void (out += t), err: () => undefined, progress: (line: string | undefined) => void shown.push(line) };
      const piped = { out: () => undefined, err: () => undefined };

      // When each runs verify through the service
      const code = await runThroughService(clockedAdmin, ['audit', 'verify'], terminal);
      const pipedCode = await runThroughService(clockedAdmin, ['audit', 'verify'], piped);

      // Then the terminal saw the progress line and its erasure, then the result
      expect({ code, pipedCode, shown }).toEqual({ code: 0, pipedCode: 0, shown: ['verified 1 of 1 events (1/s)', undefined] });
      expect(out).toContain('audit chain intact: 1 event verified');
    });
  });
});
