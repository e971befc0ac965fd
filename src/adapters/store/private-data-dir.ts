import fs from 'node:fs';
import path from 'node:path';
import { StoreError } from '../../app/errors';

/** Where PGlite keeps its files, and the files the service keeps beside them, under `DATA_DIR`. */
export const PGDATA = 'pgdata';
const SIBLINGS = ['pgdata.lock', 'admin.json'] as const;

/** Group and other permission bits: none may be set on anything under `DATA_DIR`. */
const GROUP_OTHER = 0o077;

/**
 * Creates `DATA_DIR` owner-only (0700) when it does not exist yet, then refuses it unless it is
 * private (see `assertPrivateDataDir`). Returns its absolute path.
 */
export function makePrivateDataDir(dataDir: string): string {
  const absolute = path.resolve(dataDir);
  // NB: `mode` is only applied to directories this call creates; an existing one is checked below.
  fs.mkdirSync(absolute, { recursive: true, mode: 0o700 });
  assertPrivateDataDir(absolute);
  return absolute;
}

/**
 * Refuses, with `StoreError('exposed')` whose one-line message ends in the command that fixes it,
 * a `DATA_DIR` that another user could read or change: `DATA_DIR`, `pgdata` or anything beneath
 * it, the lock or the admin file with a group or other permission bit, or owned by another user
 * than this process's. A `DATA_DIR` that does not exist passes (there is nothing to protect yet).
 *
 * NB: the embedded database holds requesters' e-mails and reasons and the audit log; a reader
 * learns them from the WAL, a writer can edit the catalog while the service is stopped (e.g. so
 * that audit inserts are silently dropped). PostgreSQL refuses a data directory open to others
 * in the same way; it checks only the directory, we check every file, since PGlite (0.5) itself
 * created files 0666 before we restricted it.
 */
export function assertPrivateDataDir(dataDir: string): void {
  const root = path.resolve(dataDir);
  // NB: no POSIX owners or modes on Windows; nothing to check there.
  const uid = process.getuid?.();
  if (uid === undefined) return;
  let rootStat: fs.Stats;
  try {
    // NB: `stat`, not `lstat`: DATA_DIR may be a symbolic link to a volume, as PostgreSQL allows for PGDATA.
    rootStat = fs.statSync(root);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!rootStat.isDirectory()) throw new StoreError('exposed', `DATA_DIR ${root} is not a directory; point DATA_DIR at a directory of its own`);
  if ((rootStat.mode & 0o1000) !== 0) {
    // NB: never suggest `chmod -R` on a shared directory such as /tmp.
    throw new StoreError('exposed', `DATA_DIR ${root} is a shared directory (sticky bit set); point DATA_DIR at a directory of its own, e.g. ${path.join(root, 'prod-access')}`);
  }
  const entries: { path: string; stat: fs.Stats }[] = [{ path: root, stat: rootStat }];
  for (const name of [PGDATA, ...SIBLINGS]) collect(path.join(root, name), entries);

  const foreign = entries.filter((e) => e.stat.uid !== uid);
  const first = foreign[0];
  if (first) {
    const owner = first.stat.uid;
    // NB: as root, taking the directory over would lock the service's own user out of it: the fix
    // is to run as the owner (root running the CLI on a service's DATA_DIR is the usual case).
    const fix =
      uid === 0
        ? `run prod-access as its owner, not as root, e.g. with: sudo -u '#${owner}' …`
        : `run prod-access as uid ${owner}, or give the directory to uid ${uid} with: chown -R ${uid} ${shellQuote(root)}`;
    throw new StoreError(
      'exposed',
      `the embedded database in DATA_DIR ${root} must belong to the user running prod-access (uid ${uid}), but ${first.path} belongs to uid ${owner}${more(foreign.length)}; ${fix}`,
    );
  }
  // NB: symbolic links have mode 0777 on Linux and are not followed: their own bits mean nothing.
  const open = entries.filter((e) => !e.stat.isSymbolicLink() && (e.stat.mode & GROUP_OTHER) !== 0);
  const loose = open[0];
  if (loose) {
    throw new StoreError(
      'exposed',
      `the embedded database in DATA_DIR ${root} is open to other users: ${loose.path} has mode ${octal(loose.stat.mode)}${more(open.length)}; ` +
        `it holds requesters' e-mails and reasons and the audit log, so only its owner may read or change it (0700 directories, 0600 files). Fix it with: chmod -R go-rwx ${shellQuote(root)}`,
    );
  }
}

/** `file` and, for a directory, everything beneath it (symbolic links are listed, not followed). */
function collect(file: string, into: { path: string; stat: fs.Stats }[]): void {
  let stat: fs.Stats;
  let names: string[] = [];
  try {
    stat = fs.lstatSync(file);
    if (stat.isDirectory()) names = fs.readdirSync(file);
  } catch (error) {
    // NB: the lock and the admin file come and go with the processes that hold them, and a running
    // service (the CLI checks while one may run) removes files as it goes.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  into.push({ path: file, stat });
  for (const name of names) collect(path.join(file, name), into);
}

function more(count: number): string {
  return count > 1 ? ` (and ${count - 1} more)` : '';
}

function octal(mode: number): string {
  return `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;
}

/** A path as one shell word, so that the printed command can be pasted as it is. */
function shellQuote(text: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
