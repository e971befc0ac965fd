import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { systemRandom, type Random } from '../ports/random';

/** How this process takes part in the time-driven work that replicas share (grants, revocations, notices). */
export interface WorkSettings {
  /** This process's lease owner id: `hostname:pid:random`, distinct for every process. */
  readonly instance: string;
  /** How long a claim on a piece of work holds before another replica may take it over. */
  readonly leaseMs: number;
  /** Failed grant attempts (provider unavailable) before an approved request is given up as `failed`. */
  readonly grantMaxAttempts: number;
  /** Failed revocation attempts in a row before security is alerted (revocation goes on being retried). */
  readonly revocationAlertAfter: number;
  /** How long before expiry the requester gets the expiring-soon notice. */
  readonly expiryNoticeMinutes: number;
  /** Jitter for retry backoff. */
  readonly random: Random;
}

export function defaultWorkSettings(overrides: Partial<WorkSettings> = {}): WorkSettings {
  return {
    instance: `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
    leaseMs: 60_000,
    grantMaxAttempts: 5,
    revocationAlertAfter: 3,
    expiryNoticeMinutes: 10,
    random: systemRandom,
    ...overrides,
  };
}
