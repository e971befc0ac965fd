import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../../../src/adapters/store/open-database';
import { StoreError } from '../../../src/app/errors';
import { modesUnder, notOwnerOnly } from '../../support/file-modes';

jest.setTimeout(120_000);

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** Runs the fix a refusal prints, as the operator would paste it (the shell splits it). */
function runPrintedFix(message: string): void {
  const command = /(?:chmod|chown) -R \S+ \S+$/.exec(message)?.[0];
  if (!command) throw new Error(`no command at the end of: ${message}`);
  execFileSync('sh', ['-c', command]);
}

describe('the embedded database directory', () => {
  let root: string;
  let dataDir: string;

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'prod-access-perms-'));
    dataDir = path.join(root, 'data');
  });
  afterEach(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('creates DATA_DIR, pgdata and every file beneath owner-only, WAL segments written later included', async () => {
    // Given a process whose umask lets group and others read what it creates
    const previous = process.umask(0o022);
    try {
      // When the embedded database is created and written to well past one WAL segment
      const database = await openDatabase({ dataDir });
      if (database.dialect !== 'pglite') throw new Error('expected the embedded database');
      await database.client.exec("CREATE TABLE filler (t text); INSERT INTO filler SELECT repeat('x', 1000) FROM generate_series(1, 40000); CHECKPOINT;");
      const whileOpen = notOwnerOnly(dataDir);
      const walWhileOpen = fs.readdirSync(path.join(dataDir, 'pgdata/pg_wal')).filter((n) => /^[0-9A-F]{24}$/.test(n));
      await database.close();

      // Then every directory is 0700 and every file 0600, owned by this process's user, open or closed
      expect(walWhileOpen.length).toBeGreaterThan(1);
      expect(whileOpen).toEqual([]);
      expect(notOwnerOnly(dataDir)).toEqual([]);
      expect(modesUnder(dataDir).filter((e) => e.uid !== process.getuid?.())).toEqual([]);
      expect(modesUnder(dataDir).length).toBeGreaterThan(100);
    } finally {
      process.umask(previous);
    }
  });

  it.each([
    ['DATA_DIR itself is world-readable', (dir: string) => fs.chmodSync(dir, 0o755)],
    ['pgdata is group-readable', (dir: string) => fs.chmodSync(path.join(dir, 'pgdata'), 0o750)],
    ['a file deep in pgdata is readable by others', (dir: string) => fs.chmodSync(path.join(dir, 'pgdata/PG_VERSION'), 0o644)],
    ['a WAL directory is world-writable', (dir: string) => fs.chmodSync(path.join(dir, 'pgdata/pg_wal'), 0o777)],
  ])('refuses to open when %s, naming the chmod that fixes it', async (_case, loosen) => {
    // Given an embedded database that was created, then loosened
    await (await openDatabase({ dataDir })).close();
    loosen(dataDir);

    // When it is opened
    const error = await rejection(openDatabase({ dataDir }));

    // Then it is refused with one line that ends in the command that fixes it, and nothing was opened
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).code).toBe('exposed');
    const message = (error as StoreError).message;
    expect(message).not.toContain('\n');
    expect(message.endsWith(`chmod -R go-rwx ${dataDir}`)).toBe(true);
    expect(fs.existsSync(path.join(dataDir, 'pgdata.lock'))).toBe(false);

    // And once the operator runs that command, it opens again
    runPrintedFix(message);
    expect(notOwnerOnly(dataDir)).toEqual([]);
    await (await openDatabase({ dataDir })).close();
  });

  it('refuses an existing DATA_DIR that is open to others before writing anything into it', async () => {
    // Given an empty DATA_DIR made with a permissive umask
    fs.mkdirSync(dataDir, { mode: 0o755 });
    fs.chmodSync(dataDir, 0o755);

    // When it is opened, then it is refused and left empty
    const error = await rejection(openDatabase({ dataDir }));
    expect((error as StoreError).code).toBe('exposed');
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });

  const asRoot = process.getuid?.() === 0 ? it : it.skip;
  asRoot('refuses, as root, a DATA_DIR owned by another user, telling to run as that user', async () => {
    // Given an embedded database whose directory another user owns (a service's), opened as root
    await (await openDatabase({ dataDir })).close();
    fs.chownSync(dataDir, 4242, 4242);

    // When it is opened, then it is refused with the owner named and how to run as them
    const error = await rejection(openDatabase({ dataDir }));
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).code).toBe('exposed');
    const message = (error as StoreError).message;
    expect(message).not.toContain('\n');
    expect(message).toContain(`${dataDir} belongs to uid 4242`);
    expect(message).toContain("sudo -u '#4242'");
    // And it suggests no chown, which would take the directory from its owner
    expect(message).not.toContain('chown');
    expect(fs.existsSync(path.join(dataDir, 'pgdata.lock'))).toBe(false);
  });
});
