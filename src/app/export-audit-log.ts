import type { AccessStore } from '../ports/access-store';
import { exportLine } from './verify-audit-log';

const PAGE = 5_000;

/** Writes the events in [since, until) as JSON Lines, in chain order, page by page. Returns how many. */
export async function exportAuditLog(
  store: AccessStore,
  range: { since?: Date; until?: Date },
  write: (line: string) => Promise<void> | void,
  onProgress?: (exported: number) => void,
): Promise<number> {
  let after = 0;
  let count = 0;
  for (;;) {
    const page = await store.readAuditBetween(range, after, PAGE);
    for (const event of page) await write(`${exportLine(event)}\n`);
    count += page.length;
    onProgress?.(count);
    const last = page.at(-1);
    if (!last || page.length < PAGE) return count;
    after = last.seq;
  }
}
