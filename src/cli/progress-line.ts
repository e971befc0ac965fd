import type { CliIo } from './program';

/** How long a command runs before it shows progress, and how often it redraws it. */
export const PROGRESS_EVERY_MS = 250;
/** The rate shown is over about this much of the latest work (start-up, such as threads starting, soon drops out). */
const RATE_OVER_MS = 2_000;

export interface ProgressLine {
  /** `done` so far, of `total` when known. Redrawn at most every PROGRESS_EVERY_MS. */
  update(done: number, total?: number): void;
  /** Clears the line, if one was shown. */
  end(): void;
}

const count = (n: number) => Math.round(n).toLocaleString('en-US');

/**
 * A transient status line for a long command, e.g. `verified 350,000 of 1,000,000 events
 * (62,000/s)`, through `io.progress`, which is there only when someone watches a terminal: piped or
 * redirected, a command prints no progress at all. Nothing shows for a command that ends within
 * PROGRESS_EVERY_MS. The rate is over the last few seconds. `nowMs` is a monotonic clock in
 * milliseconds.
 */
export function progressLine(io: CliIo, verb: string, nowMs: () => number): ProgressLine {
  const show = io.progress;
  if (!show) return { update: () => undefined, end: () => undefined };
  const started = nowMs();
  let shownAt: number | undefined;
  // NB: every update is a sample; the oldest kept is the last one at least RATE_OVER_MS old.
  const samples: { at: number; done: number }[] = [{ at: started, done: 0 }];
  return {
    update(done, total) {
      const now = nowMs();
      samples.push({ at: now, done });
      while (samples.length > 2 && (samples[1] as { at: number }).at <= now - RATE_OVER_MS) samples.shift();
      if (now - started < PROGRESS_EVERY_MS || (shownAt !== undefined && now - shownAt < PROGRESS_EVERY_MS)) return;
      shownAt = now;
      const base = samples[0] as { at: number; done: number };
      const rate = now > base.at ? (done - base.done) / ((now - base.at) / 1000) : 0;
      show(`${verb} ${count(done)}${total === undefined ? '' : ` of ${count(total)}`} event${total === undefined && done === 1 ? '' : 's'} (${count(rate)}/s)`);
    },
    end() {
      if (shownAt !== undefined) show(undefined);
      shownAt = undefined;
    },
  };
}
