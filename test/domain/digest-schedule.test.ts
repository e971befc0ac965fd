import { digestSchedule, lastFullPeriod, periodKey, previousFire, recentPeriods } from '../../src/domain/digest-schedule';

const iso = (at: Date | undefined) => at?.toISOString();

describe('digest periods', () => {
  const weekly = digestSchedule('0 9 * * 1', 'Europe/Berlin');

  it('ends the last full period at the latest Monday 09:00 in the policy time zone, and starts it a week before', () => {
    // Given Wednesday 11 March 2026 (Berlin is UTC+1 in winter)
    const period = lastFullPeriod(weekly, new Date('2026-03-11T12:00:00Z'));
    // Then
    expect(period && periodKey(period)).toBe('2026-03-02T08:00:00.000Z/2026-03-09T08:00:00.000Z');
  });

  it('counts a fire time itself as past: at 09:00:00 sharp the period ending then is complete', () => {
    expect(iso(previousFire(weekly, new Date('2026-03-09T08:00:00.000Z')))).toBe('2026-03-09T08:00:00.000Z');
    expect(iso(previousFire(weekly, new Date('2026-03-09T07:59:59.999Z')))).toBe('2026-03-02T08:00:00.000Z');
  });

  it('follows summer time: the week in which the clocks change is an hour shorter, each edge at 09:00 local', () => {
    // Berlin moves to UTC+2 on Sunday 29 March 2026
    const [before, across] = recentPeriods(weekly, new Date('2026-04-01T00:00:00Z'), 2);
    expect(before && periodKey(before)).toBe('2026-03-16T08:00:00.000Z/2026-03-23T08:00:00.000Z');
    expect(across && periodKey(across)).toBe('2026-03-23T08:00:00.000Z/2026-03-30T07:00:00.000Z');
  });

  it('skips a wall-clock time that does not exist on the day summer time starts, and takes the first of a repeated one', () => {
    // 02:30 does not happen in New York on 8 March 2026; 01:30 happens twice on 1 November 2026
    const skipped = digestSchedule('30 2 * * *', 'America/New_York');
    expect(iso(previousFire(skipped, new Date('2026-03-08T12:00:00Z')))).toBe('2026-03-07T07:30:00.000Z');
    const repeated = digestSchedule('30 1 * * *', 'America/New_York');
    expect(iso(previousFire(repeated, new Date('2026-11-01T12:00:00Z')))).toBe('2026-11-01T05:30:00.000Z');
  });

  it('requires day of month and day of week both to match, as node-cron does (the first Monday of a month)', () => {
    const firstMonday = digestSchedule('0 9 1-7 * 1', 'UTC');
    const period = lastFullPeriod(firstMonday, new Date('2026-04-20T00:00:00Z'));
    expect(period && periodKey(period)).toBe('2026-03-02T09:00:00.000Z/2026-04-06T09:00:00.000Z');
  });

  it('lists recent periods oldest first, each starting where the one before ended', () => {
    const periods = recentPeriods(weekly, new Date('2026-03-11T12:00:00Z'), 3);
    expect(periods.map(periodKey)).toEqual([
      '2026-02-16T08:00:00.000Z/2026-02-23T08:00:00.000Z',
      '2026-02-23T08:00:00.000Z/2026-03-02T08:00:00.000Z',
      '2026-03-02T08:00:00.000Z/2026-03-09T08:00:00.000Z',
    ]);
  });

  it('finds a fire years back (29 February), and none when there is none within five years (29 February on a Monday)', () => {
    expect(iso(previousFire(digestSchedule('0 9 29 2 *', 'UTC'), new Date('2026-03-09T00:00:00Z')))).toBe('2024-02-29T09:00:00.000Z');
    expect(previousFire(digestSchedule('0 9 29 2 1', 'UTC'), new Date('2026-03-09T00:00:00Z'))).toBeUndefined();
  });
});
