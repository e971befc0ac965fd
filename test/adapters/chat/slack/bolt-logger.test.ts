import { toBoltLogger } from '../../../../src/adapters/chat/slack/bolt-logger';
import { createLogger } from '../../../../src/config/logger';
import { logSink } from '../../../support/log-sink';

describe('toBoltLogger', () => {
  it('masks Slack tokens and bearer values inside SDK message text', () => {
    const { stream, lines } = logSink();
    const bolt = toBoltLogger(createLogger('debug', stream));
    bolt.debug('http request headers: {"Authorization":"Bearer xoxb-123-456-abc"}', { token: 'xapp-1-A0-secret' });
    bolt.warn('rate limited');
    const text = JSON.stringify(lines());
    expect(text).not.toMatch(/xoxb-123|xapp-1-A0|Bearer xox/);
    expect(lines()[0]?.msg).toBe('http request headers: {"Authorization":"[redacted]"} {"token":"[redacted]"}');
    expect(lines()[1]).toMatchObject({ level: 40, msg: 'rate limited' });
  });
});
