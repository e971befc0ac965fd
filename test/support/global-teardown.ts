import { rmSync } from 'node:fs';

/** Stops the embedded PostgreSQL that global-setup.ts started, if it started one. */
export default async function globalTeardown(): Promise<void> {
  const embedded = globalThis.prodAccessEmbeddedPostgres;
  if (!embedded) return;
  globalThis.prodAccessEmbeddedPostgres = undefined;
  try {
    await embedded.server.stop();
  } finally {
    rmSync(embedded.dir, { recursive: true, force: true });
  }
}
