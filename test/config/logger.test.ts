import { Writable } from 'node:stream';
import { createLogger } from '../../src/config/logger';

/** Collects the JSON lines pino writes. */
function sink(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, lines: () => chunks.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('createLogger', () => {
  it('redacts tokens, passwords and database URLs, at the top level and one level down', () => {
    // Given a logger writing to a sink
    const { stream, lines } = sink();
    const logger = createLogger('info', stream);

    // When secrets are logged by mistake
    logger.info({ token: 'xoxb-secret', slack: { token: 'xapp-secret' }, databaseUrl: 'postgres://u:pw@h/db', headers: { authorization: 'Bearer abc' } }, 'oops');

    // Then none of them reaches the line
    const [line] = lines();
    const text = JSON.stringify(line);
    expect(text).not.toMatch(/xoxb-secret|xapp-secret|pw@h|Bearer abc/);
    expect(line).toMatchObject({ token: '[redacted]', slack: { token: '[redacted]' }, databaseUrl: '[redacted]', headers: { authorization: '[redacted]' }, msg: 'oops', service: 'prod-access' });
  });

  it('keeps what is not secret', () => {
    const { stream, lines } = sink();
    createLogger('info', stream).child({ requestId: 'ABCDEFGH' }).info({ role: 'sandbox-admin' }, 'request opened');
    expect(lines()[0]).toMatchObject({ requestId: 'ABCDEFGH', role: 'sandbox-admin', msg: 'request opened' });
  });
});
