import { PROGRESS_EVERY_MS, progressLine } from '../../src/cli/progress-line';
import type { CliIo } from '../../src/cli/program';

/** An io that records progress lines (undefined: erased), on a terminal or not. */
function recordingIo(terminal: boolean): { io: CliIo; shown: (string | undefined)[]; err: string[] } {
  const shown: (string | undefined)[] = [];
  const err: string[] = [];
  const io: CliIo = { out: () => undefined, err: (t) => void err.push(t), ...(terminal ? { progress: (line: string | undefined) => void shown.push(line) } : {}) };
  return { io, shown, err };
}

describe('progressLine', () => {
  it('shows done, total and the recent rate once the command has run a while, then at most every interval, and erases itself', () => {
    // Given a terminal and a clock we move
    const { io, shown } = recordingIo(true);
    let now = 1_000;
    const progress = progressLine(io, 'verified', () => now);

    // When updates arrive early, then after 2 s, then again 100 ms later, then after another second,
    // then after two more seconds
    progress.update(2_000, 1_000_000);
    now += 2_000;
    progress.update(350_000, 1_000_000);
    now += 100;
    progress.update(360_000, 1_000_000);
    now += 900;
    progress.update(500_000, 1_000_000);
    now += 2_000;
    progress.update(600_000, 1_000_000);
    progress.end();

    // Then only the updates past the interval show, each with the rate over the last two seconds or
    // so (not since the start), and the line is erased
    expect(shown).toEqual([
      'verified 350,000 of 1,000,000 events (174,000/s)',
      'verified 500,000 of 1,000,000 events (166,000/s)',
      'verified 600,000 of 1,000,000 events (50,000/s)',
      undefined,
    ]);
  });

  it('says how many without a total', () => {
    // Given / When
    const { io, shown } = recordingIo(true);
    let now = 0;
    const progress = progressLine(io, 'exported', () => now);
    now += PROGRESS_EVERY_MS;
    progress.update(1);
    now += PROGRESS_EVERY_MS;
    progress.update(5_000);
    // Then
    expect(shown).toEqual(['exported 1 event (4/s)', 'exported 5,000 events (10,000/s)']);
  });

  it('shows and erases nothing for a command that ends within the interval', () => {
    // Given / When
    const { io, shown } = recordingIo(true);
    const progress = progressLine(io, 'verified', () => 0);
    progress.update(10, 10);
    progress.end();
    // Then
    expect(shown).toEqual([]);
  });

  it('prints nothing anywhere when nobody watches a terminal', () => {
    // Given an io without progress (stderr piped)
    const { io, err } = recordingIo(false);
    let now = 0;
    const progress = progressLine(io, 'verified', () => now);
    // When
    now += 10_000;
    progress.update(10, 10);
    progress.end();
    // Then
    expect(err).toEqual([]);
  });
});
