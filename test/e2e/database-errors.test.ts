import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCliProcess, runServiceExpectingExit } from '../support/processes';
import { TEST_DATABASE_ADMIN_URL } from '../support/test-database';

jest.setTimeout(180_000);

describe('a database that is not there', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'prod-access-nodb-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const missingUrl = () => {
    const url = new URL(TEST_DATABASE_ADMIN_URL);
    url.pathname = '/prod_access_never_created';
    return url.toString();
  };

  it('CLI: names the DATA_DIR it found empty instead of answering from a new empty database, and creates one only for migrate', async () => {
    // Given a DATA_DIR with no database (say, not the one the service uses)
    const dataDir = path.join(dir, 'other-data-dir');

    // When a read command runs there
    const listed = await runCliProcess(['grants', 'list'], { DATA_DIR: dataDir });

    // Then it says so, exits 3, and creates nothing
    expect(listed.code).toBe(3);
    expect(listed.stdout).toBe('');
    expect(listed.stderr).toContain(`there is no prod-access database in DATA_DIR ${dataDir}`);
    expect(existsSync(path.join(dataDir, 'pgdata'))).toBe(false);

    // When asked to create one, it does, and later commands say which database they used
    expect((await runCliProcess(['migrate'], { DATA_DIR: dataDir })).code).toBe(0);
    const again = await runCliProcess(['grants', 'list'], { DATA_DIR: dataDir });
    expect(again).toMatchObject({ code: 0, stdout: 'no live grants\n' });
    expect(again.stderr).toContain(`no service is running on DATA_DIR ${dataDir}; using its embedded database directly`);
  });

  it('CLI: says which PostgreSQL database does not exist and how to create it, with no stack trace', async () => {
    const result = await runCliProcess(['grants', 'list'], { DATABASE_URL: missingUrl() });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('DATABASE_URL names database "prod_access_never_created"');
    expect(result.stderr).toContain('createdb -h');
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  it('service: refuses to start with the same sentence', async () => {
    const result = await runServiceExpectingExit({ DATABASE_URL: missingUrl(), DATA_DIR: path.join(dir, 'unused') });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('prod-access: cannot start: DATABASE_URL names database "prod_access_never_created"');
  });
});
