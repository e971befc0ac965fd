import { addMinutes, formatDuration, MAX_DURATION_MINUTES, parseDuration } from '../../src/domain/duration';

const NOT_A_DURATION = 'is not a duration like 30m, 2h or 1d';

describe('parseDuration', () => {
  it.each([
    ['30m', 30],
    ['2h', 120],
    ['1d', 1440],
    ['1h30m', 90],
    ['2H', 120],
    ['1d2h3m', 1440 + 120 + 3],
    [' 45m ', 45],
    ['1h 30m', 90],
    ['366d', MAX_DURATION_MINUTES],
  ])('reads %j as %i minutes', (text, minutes) => {
    // Given / When
    const parsed = parseDuration(text);
    // Then
    expect(parsed).toEqual({ ok: true, minutes });
  });

  it.each(['-1h', '5x', '1.5h', '', '10', 'h', '2 hours', '1h-30m', '+1h', '1w'])(
    'refuses %j, saying what a duration looks like',
    (text) => {
      // Given text that is not a duration
      // When
      const parsed = parseDuration(text);
      // Then
      expect(parsed).toEqual({ ok: false, problem: 'shape', message: `${JSON.stringify(text)} ${NOT_A_DURATION}` });
    },
  );

  it.each(['0m', '0h', '0d0h0m'])('refuses %j as too short', (text) => {
    // Given / When
    const parsed = parseDuration(text);
    // Then
    expect(parsed).toEqual({ ok: false, problem: 'too_short', message: `${JSON.stringify(text)} is too short: the shortest duration is 1m` });
  });

  it.each(['99999d', '367d', '366d1m', '527041m', '99999999999999999999999h'])('refuses %j as too long', (text) => {
    // Given / When
    const parsed = parseDuration(text);
    // Then
    expect(parsed).toMatchObject({ ok: false, problem: 'too_long', message: `${JSON.stringify(text)} is too long: the longest duration is 366d` });
  });

  it('cuts a long input short when it echoes it back', () => {
    // Given a paste of something else entirely
    const text = 'x'.repeat(100);
    // When
    const parsed = parseDuration(text);
    // Then
    expect(parsed).toEqual({ ok: false, problem: 'shape', message: `"${'x'.repeat(40)}…" ${NOT_A_DURATION}` });
  });
});

describe('formatDuration', () => {
  it.each([
    [1, '1m'],
    [30, '30m'],
    [60, '1h'],
    [90, '1h30m'],
    [1440, '1d'],
    [1441, '1d1m'],
    [1440 + 150, '1d2h30m'],
    [0, '0m'],
  ])('writes %i minutes as %j', (minutes, text) => {
    // Given / When / Then
    expect(formatDuration(minutes)).toBe(text);
  });

  it('writes what parseDuration reads back to the same minutes', () => {
    // Given a few awkward lengths
    for (const minutes of [1, 59, 61, 1439, 1500, 4 * 1440 + 7]) {
      // When
      const reparsed = parseDuration(formatDuration(minutes));
      // Then
      expect(reparsed).toEqual({ ok: true, minutes });
    }
  });
});

describe('addMinutes', () => {
  it('adds whole minutes without touching the argument', () => {
    // Given
    const start = new Date('2026-03-03T10:00:00Z');
    // When
    const later = addMinutes(start, 90);
    // Then
    expect(later.toISOString()).toBe('2026-03-03T11:30:00.000Z');
    expect(start.toISOString()).toBe('2026-03-03T10:00:00.000Z');
  });
});
