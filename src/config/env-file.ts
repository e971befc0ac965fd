import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';

/** What reading the `.env` file did, to say at start. */
export type EnvFileLoad =
  | { readonly loaded: false; readonly file: string }
  | {
      readonly loaded: true;
      readonly file: string;
      /** Variables taken from the file (names only: values may be secrets). */
      readonly applied: readonly string[];
      /** Variables the file also sets but the environment already had: the environment wins. */
      readonly kept: readonly string[];
    };

/**
 * Reads `ENV_FILE` (default `.env` in the working directory; empty: none) into `env`, never
 * overriding a variable that is already set, as twelve-factor tools and container runtimes do.
 * A missing file is fine; an unreadable one is an error that names it.
 */
export function loadEnvFile(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): EnvFileLoad {
  const named = env.ENV_FILE;
  if (named !== undefined && named.trim() === '') return { loaded: false, file: '' };
  const file = path.resolve(cwd, named?.trim() ?? '.env');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // NB: no .env is the normal case; a file named on purpose must exist.
    if (code === 'ENOENT' && named === undefined) return { loaded: false, file };
    throw new Error(`cannot read the settings file ${file} (${code ?? (error as Error).message}); fix it, or unset ENV_FILE`, { cause: error });
  }
  const applied: string[] = [];
  const kept: string[] = [];
  for (const [key, value] of Object.entries(parseEnv(text))) {
    if (env[key] !== undefined) kept.push(key);
    else {
      env[key] = value;
      applied.push(key);
    }
  }
  return { loaded: true, file, applied, kept };
}
