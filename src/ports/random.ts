import { randomInt } from 'node:crypto';

/** Randomness for jitter, injected like the clock so that tests can fix it (STYLE §4). */
export interface Random {
  /** A number in [0, 1). */
  next(): number;
}

const RESOLUTION = 2 ** 32;

export const systemRandom: Random = { next: () => randomInt(RESOLUTION) / RESOLUTION };
