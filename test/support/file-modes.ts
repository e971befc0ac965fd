import fs from 'node:fs';
import path from 'node:path';

export interface FileMode {
  /** Relative to the walked directory ('.' for itself). */
  readonly path: string;
  readonly kind: 'directory' | 'file' | 'other';
  /** Permission bits, e.g. 0o600. */
  readonly mode: number;
  readonly uid: number;
}

/** Every entry under `root` (itself included), without following symbolic links. */
export function modesUnder(root: string): FileMode[] {
  const found: FileMode[] = [];
  const visit = (absolute: string) => {
    const stat = fs.lstatSync(absolute);
    const kind = stat.isDirectory() ? 'directory' : stat.isFile() ? 'file' : 'other';
    found.push({ path: path.relative(root, absolute) || '.', kind, mode: stat.mode & 0o7777, uid: stat.uid });
    if (kind === 'directory') for (const name of fs.readdirSync(absolute)) visit(path.join(absolute, name));
  };
  visit(root);
  return found;
}

/** The entries whose mode is not owner-only (0700 for directories, 0600 for files), as `path 0644` lines. */
export function notOwnerOnly(root: string): string[] {
  return modesUnder(root)
    .filter((e) => e.mode !== (e.kind === 'directory' ? 0o700 : 0o600))
    .map((e) => `${e.path} ${e.kind} 0${e.mode.toString(8)}`);
}
