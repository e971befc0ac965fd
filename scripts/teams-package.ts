/**
 * `npm run teams:package [-- --out <file>]`: checks manifests/teams/ (the manifest, both icons),
 * fills in MICROSOFT_APP_ID and writes the app package for upload to Teams, by default
 * dist/teams/prod-access-teams.zip. Reads .env like the service (ENV_FILE names another file).
 *
 * Exit codes: 0 written; 1 a problem with the settings, manifest or icons (each one listed); 2 bad arguments.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadEnvFile } from '../src/config/env-file';
import { buildTeamsAppPackage, PACKAGE_FILES } from './teams/teams-app-package';

const repoRoot = path.resolve(__dirname, '..');
const USAGE = 'usage: npm run teams:package [-- --out <file.zip>]';

function main(argv: readonly string[]): number {
  let out = path.join(repoRoot, 'dist/teams/prod-access-teams.zip');
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--out' && argv[i + 1] !== undefined) out = path.resolve(argv[++i] as string);
    else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      return 0;
    } else {
      console.error(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
      return 2;
    }
  }
  try {
    loadEnvFile();
  } catch (error) {
    console.error(`Cannot package the Teams app: ${(error as Error).message}`);
    return 1;
  }
  const dir = path.join(repoRoot, 'manifests/teams');
  // NB: the only variable read: what the bot's app registration is, never its secret.
  const build = buildTeamsAppPackage(dir, process.env.MICROSOFT_APP_ID);
  if (!build.ok) {
    console.error(`Cannot package the Teams app (${shown(dir)}):`);
    for (const problem of build.problems) console.error(`  - ${problem}`);
    return 1;
  }
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, build.zip);
  console.log(`${shown(out)}: ${PACKAGE_FILES.join(', ')} for app id ${build.appId} (${build.zip.length} bytes).`);
  console.log('Upload it in the Teams admin center (Teams apps → Manage apps → Upload new app), or in Teams (Apps → Manage your apps → Upload an app); README, “Microsoft Teams”.');
  return 0;
}

/** A path relative to the working directory when it lies inside it, else absolute. */
function shown(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative === '' || relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}

process.exitCode = main(process.argv.slice(2));
