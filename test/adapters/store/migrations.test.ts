import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { MIGRATIONS_FOLDER } from '../../../src/adapters/store/open-database';

interface Journal {
  entries: { idx: number; when: number; tag: string }[];
}

describe('migrations', () => {
  const journal = JSON.parse(readFileSync(path.join(MIGRATIONS_FOLDER, 'meta/_journal.json'), 'utf8')) as Journal;

  it('have strictly increasing journal timestamps, so none is silently skipped', () => {
    // NB: Drizzle's migrator applies only migrations newer than the last one applied; a
    // migration generated on a machine whose clock was behind would never run.
    const whens = journal.entries.map((e) => e.when);
    expect(whens).toEqual([...whens].sort((a, b) => a - b));
    expect(new Set(whens).size).toBe(whens.length);
  });

  it('list every SQL file in the folder, in order', () => {
    // Given the SQL files on disk
    const files = readdirSync(MIGRATIONS_FOLDER).filter((f) => f.endsWith('.sql')).sort();
    // Then the journal names each of them once, by index
    expect(journal.entries.map((e) => `${e.tag}.sql`)).toEqual(files);
    expect(journal.entries.map((e) => e.idx)).toEqual(files.map((_, i) => i));
  });
});
