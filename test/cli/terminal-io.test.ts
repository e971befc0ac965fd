import { terminalIo, type OutputStream } from '../../src/cli/terminal-io';

/** A stream that records what is written to it, a terminal or not. */
function stream(isTTY: boolean | undefined): OutputStream & { written: string[] } {
  const written: string[] = [];
  return { ...(isTTY === undefined ? {} : { isTTY }), written, write: (text: string) => (written.push(text), true), once: () => undefined };
}

describe('terminalIo', () => {
  it('offers progress when stderr is a terminal, redrawn in place and erased before other output', async () => {
    // Given stderr on a terminal, stdout redirected to a file
    const stdout = stream(undefined);
    const stderr = stream(true);
    const io = terminalIo(stdout, stderr);

    // When progress is shown twice, then a result is printed, then progress again and an error
    io.progress?.('verified 2,000 of 4,000 events (9,000/s)');
    io.progress?.('verified 4,000 of 4,000 events (9,500/s)');
    await io.out('audit chain intact\n');
    io.progress?.('verified 1 of 1 event (1/s)');
    io.err('something failed\n');
    io.progress?.(undefined);

    // Then each progress line replaces the last, and is erased before the result and the error
    expect(stderr.written).toEqual([
      '\r\x1b[Kverified 2,000 of 4,000 events (9,000/s)',
      '\r\x1b[Kverified 4,000 of 4,000 events (9,500/s)',
      '\r\x1b[K',
      '\r\x1b[Kverified 1 of 1 event (1/s)',
      '\r\x1b[K',
      'something failed\n',
    ]);
    expect(stdout.written).toEqual(['audit chain intact\n']);
  });

  it.each([
    ['piped', false],
    ['redirected (isTTY unset)', undefined],
  ])('offers no progress when stderr is %s', async (_how, isTTY) => {
    // Given stderr that is not a terminal
    const stdout = stream(true);
    const stderr = stream(isTTY);

    // When
    const io = terminalIo(stdout, stderr);
    await io.out('result\n');
    io.err('exported 3 events\n');

    // Then there is no progress to show, and output is written as it is
    expect(io.progress).toBeUndefined();
    expect(stderr.written).toEqual(['exported 3 events\n']);
    expect(stdout.written).toEqual(['result\n']);
  });
});
