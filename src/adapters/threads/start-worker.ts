import path from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread running the module `name` (no extension) next to this file: the compiled
 * JavaScript when this is the build (dist/), the TypeScript source through tsx in a checkout.
 * NB: tsx's hook must be registered inside the thread: bin/prod-access.js registers it in its own
 * thread only, and under jest nothing is registered at all (jest transforms modules itself).
 */
export function startWorker(name: string, options: WorkerOptions = {}): Worker {
  if (path.extname(__filename) === '.js') return new Worker(path.join(__dirname, `${name}.js`), options);
  const tsx = require.resolve('tsx/cjs/api');
  const source = path.join(__dirname, `${name}.ts`);
  return new Worker(`require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(source)});`, { ...options, eval: true });
}
