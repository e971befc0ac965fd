import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServiceProcess } from '../support/processes';

jest.setTimeout(60_000);

describe('npm start with a .env file', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'prod-access-dotenv-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('takes DATA_DIR from the file, keeps what the environment sets, and says so', async () => {
    // Given a settings file naming a DATA_DIR and a LOG_LEVEL, while the environment sets LOG_LEVEL
    const dataDir = path.join(dir, 'data-from-dotenv');
    const envFile = path.join(dir, 'settings.env');
    writeFileSync(envFile, `DATA_DIR=${dataDir}\nLOG_LEVEL=silent\n`);

    // When the service starts with it
    const service = await startServiceProcess({ ENV_FILE: envFile, LOG_LEVEL: 'info' });
    try {
      // Then the database is where the file says, the log level is the environment's, and the log says which came from where
      expect(existsSync(path.join(dataDir, 'pgdata'))).toBe(true);
      expect(service.output()).toContain(`read 1 setting(s) from ${envFile}; already set in the environment, so not taken from it: LOG_LEVEL`);
    } finally {
      expect(await service.stop()).toBe(0);
    }
  });
});
