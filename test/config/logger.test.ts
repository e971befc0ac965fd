import { logSink as sink } from '../support/log-sink';
import { createLogger } from '../../src/config/logger';


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
