import type { Logger } from 'pino';
import { summarizeNotice } from '../../../app/notice-summary';
import type { Notice, Notifier } from '../../../ports/notifier';

/**
 * Notices as log lines: what the security channel would see, for a deployment with no chat
 * platform configured (and for operators who want it in their log pipeline as well).
 */
export class LogNotifier implements Notifier {
  readonly name = 'log';

  constructor(private readonly logger: Logger) {}

  async deliver(notice: Notice): Promise<void> {
    const summary = summarizeNotice(notice);
    if (!summary) return;
    const fields = { notice: notice.event.action, seq: notice.event.seq, requestId: notice.event.requestId, input: { summary: summary.text } };
    if (summary.alert) this.logger.warn(fields, 'security alert');
    else this.logger.info(fields, 'notice');
  }
}
