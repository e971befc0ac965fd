import { open, type FileHandle } from 'node:fs/promises';
import { NotificationError } from '../../../app/errors';
import type { Notice, Notifier } from '../../../ports/notifier';
import { siemLine } from './siem-record';

/** Where the lines go: one `write` per line, resolved once the line was handed to the OS. */
export interface LineSink {
  write(line: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Every audit event as one JSON line (`siem-record.ts`), for a SIEM to ingest as it is. A notifier
 * like the chat platforms and the log: fed from the audit log in order, after commit, from its own
 * stored position, so it resumes after a crash where it stopped (a line may then be written twice,
 * with the same `seq`; never skipped). It starts at the end of the log the first time it runs:
 * `prod-access audit export` has the history before it.
 */
export class SiemNotifier implements Notifier {
  readonly name = 'siem';

  constructor(private readonly sink: LineSink) {}

  async deliver(notice: Notice): Promise<void> {
    try {
      await this.sink.write(siemLine(notice.event));
    } catch (error) {
      // NB: a full disk or a closed pipe is retried: the position does not move past an unwritten line.
      throw new NotificationError('unavailable', this.name, `the audit log line could not be written: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }

  close(): Promise<void> {
    return this.sink.close();
  }
}

/** Lines on a stream (the service's stdout, beside its pino log lines, which carry `msg` where these carry `schema`). */
export function streamSink(stream: NodeJS.WritableStream): LineSink {
  return {
    write: (line) =>
      new Promise<void>((resolve, reject) => {
        stream.write(line, (error?: Error | null) => (error ? reject(error) : resolve()));
      }),
    close: async () => undefined,
  };
}

/** Lines appended to a file, created readable by its owner only (the lines hold people's reasons). */
export async function fileSink(path: string): Promise<LineSink> {
  const handle: FileHandle = await open(path, 'a', 0o600);
  return {
    write: async (line) => {
      await handle.write(line);
    },
    close: () => handle.close(),
  };
}
