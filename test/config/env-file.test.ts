import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadEnvFile } from '../../src/config/env-file';

describe('loadEnvFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'prod-access-envfile-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads .env from the working directory and never overrides what the environment has', () => {
    // Given a .env setting PORT and DATA_DIR, and an environment that already sets PORT
    writeFileSync(path.join(dir, '.env'), '# settings\nPORT=4000\nDATA_DIR="/srv/prod access"\nexport LOG_LEVEL=debug\n');
    const env: NodeJS.ProcessEnv = { PORT: '5000' };

    // When it is loaded
    const load = loadEnvFile(env, dir);

    // Then the file fills the gaps, the environment wins, and the load says which was which
    expect(env).toEqual({ PORT: '5000', DATA_DIR: '/srv/prod access', LOG_LEVEL: 'debug' });
    expect(load).toEqual({ loaded: true, file: path.join(dir, '.env'), applied: ['DATA_DIR', 'LOG_LEVEL'], kept: ['PORT'] });
  });

  it('is nothing at all when there is no .env', () => {
    const env: NodeJS.ProcessEnv = {};
    expect(loadEnvFile(env, dir)).toEqual({ loaded: false, file: path.join(dir, '.env') });
    expect(env).toEqual({});
  });

  it('reads the file ENV_FILE names, and refuses one that does not exist', () => {
    writeFileSync(path.join(dir, 'prod.env'), 'DATA_DIR=/srv/data\n');
    const env: NodeJS.ProcessEnv = { ENV_FILE: 'prod.env' };
    expect(loadEnvFile(env, dir)).toMatchObject({ loaded: true, applied: ['DATA_DIR'] });
    expect(() => loadEnvFile({ ENV_FILE: 'missing.env' }, dir)).toThrow(`cannot read the settings file ${path.join(dir, 'missing.env')} (ENOENT)`);
  });

  it('reads no file when ENV_FILE is set empty', () => {
    writeFileSync(path.join(dir, '.env'), 'PORT=4000\n');
    const env: NodeJS.ProcessEnv = { ENV_FILE: '' };
    expect(loadEnvFile(env, dir)).toEqual({ loaded: false, file: '' });
    expect(env.PORT).toBeUndefined();
  });
});
