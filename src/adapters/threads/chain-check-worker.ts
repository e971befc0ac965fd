import { parentPort } from 'node:worker_threads';
import { checkSegment, type ChainSegment } from '../../domain/audit-chain';

/** The thread behind `WorkerChainChecker`: checks each segment it is sent and answers with its id. */
const port = parentPort;
if (!port) throw new Error('chain-check-worker runs as a worker thread (see WorkerChainChecker)');
port.on('message', (message: { id: number; segment: ChainSegment }) => {
  port.postMessage({ id: message.id, check: checkSegment(message.segment) });
});
