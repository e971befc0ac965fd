import { escapeMrkdwn, fitSection } from '../../../../src/adapters/chat/slack/mrkdwn';
import { signCheckpoint } from '../../../../src/app/sign-checkpoint';
import { checkpointText } from '../../../../src/domain/checkpoint';
import { testSigningKey } from '../../../support/signing';

describe('a checkpoint in a Slack message', () => {
  it('reaches the security channel exactly as it was signed, so the lines an auditor copies verify', () => {
    // Given checkpoints signed with many keys (signatures cover the whole base64 alphabet)
    for (let i = 0; i < 40; i++) {
      const { signer } = testSigningKey();
      const c = signCheckpoint(signer, '2026-03-02T08:00:00.000Z/2026-03-09T08:00:00.000Z', { seq: 4711 + i, hash: 'af'.repeat(32) }, new Date(Date.UTC(2026, 2, 9, 8, 0, 0, i)));
      const text = checkpointText(c);
      // When Slack's escaping and section limit are applied, as postToSecurity does
      // Then nothing in it changes
      expect(fitSection(escapeMrkdwn(text))).toBe(text);
    }
  });
});
