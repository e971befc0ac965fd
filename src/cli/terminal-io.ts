import type { CliIo } from './program';

/** What the CLI needs of process.stdout and process.stderr. */
export interface OutputStream {
  readonly isTTY?: boolean;
  write(text: string): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

/** Moves to the start of the line and erases it: a progress line is redrawn in place. */
const ERASE_LINE = '\r\x1b[K';

/**
 * The CLI's output on the process's own streams. Progress is offered only when stderr is a
 * terminal: piped or redirected to a file, a command writes its result and nothing transient.
 * A progress line is erased before anything else is written, so it never mixes with output.
 */
export function terminalIo(stdout: OutputStream, stderr: OutputStream): CliIo {
  let progressShown = false;
  const clearProgress = () => {
    if (!progressShown) return;
    progressShown = false;
    stderr.write(ERASE_LINE);
  };
  return {
    out: (text) => {
      clearProgress();
      return new Promise<void>((resolve) => {
        if (stdout.write(text)) resolve();
        else stdout.once('drain', resolve);
      });
    },
    err: (text) => {
      clearProgress();
      stderr.write(text);
    },
    ...(stderr.isTTY === true
      ? {
          progress: (line: string | undefined) => {
            if (line === undefined) return clearProgress();
            progressShown = true;
            stderr.write(`${ERASE_LINE}${line}`);
          },
        }
      : {}),
  };
}
