import type { Logger } from 'pino';
import { activatePolicy, recordPolicyRefusal } from '../app/activate-policy';
import type { Origin } from '../app/origin';
import type { Config } from '../config/env';
import type { Clock } from '../ports/clock';
import type { IamProvider } from '../ports/iam-provider';
import type { IdGenerator } from '../ports/id-generator';
import { AnomalyDetector } from '../scheduler/anomaly-detector';
import { RevocationEngine } from '../scheduler/revocation-engine';
import { startAdminEndpoint } from './admin-endpoint';
import { HttpServer } from './http-server';
import { openApp, type OpenedApp } from './open-app';
import { LogNotifier } from '../adapters/notify/log/log-notifier';
import { enforcePolicy } from '../app/enforce-policy';
import { SLACK_EVENTS_PATH, SlackAdapter } from '../adapters/chat/slack/slack-adapter';
import { ChatNotifier } from '../app/chat/chat-notifier';

/** A start-up failure with a sentence for the operator (a refused token, a missing setting). */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

/** The start was asked to stop (a signal) before it finished; everything it had opened is closed. */
export class StartupAborted extends Error {
  override readonly name = 'StartupAborted';
}

export interface RunningService {
  readonly app: OpenedApp;
  readonly port: number;
  close(): Promise<void>;
}

export interface StartOptions {
  readonly clock?: Clock;
  readonly ids?: IdGenerator;
  readonly providers?: readonly IamProvider[];
  /** The process environment, for providers' connection URLs (`process.env`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Aborted (SIGTERM during start-up): the start stops after its current step and closes what it opened. */
  readonly abort?: AbortSignal;
}

const origin: Origin = { via: 'service' };

/**
 * Starts prod-access: database (migrated), policy (audited, then watched), HTTP server, and on
 * the embedded database the admin endpoint through which the CLI reaches it.
 */
export async function startService(config: Config, logger: Logger, options: StartOptions): Promise<RunningService> {
  const stopIfAsked = () => {
    if (options.abort?.aborted) throw new StartupAborted('the start was interrupted');
  };
  stopIfAsked();
  const app = await openApp(config, logger, { origin, ...options, policyFrom: 'file' });
  // NB: this process's leases go last but one, once nothing of it can still be granting or
  // revoking: a clean stop leaves nothing for the next start to take for a crash.
  const closers: (() => Promise<void>)[] = [() => app.close(), async () => void (await app.ctx.store.releaseLeasesOf([app.ctx.work.instance]))];
  let engine: RevocationEngine | undefined;
  let detector: AnomalyDetector | undefined;
  const close = async () => {
    // NB: the engine and the detector stop first, so no sweep or pass runs against a closing database.
    await detector?.stop().catch((err: unknown) => logger.error({ err }, 'error stopping the anomaly detector'));
    await engine?.stop().catch((err: unknown) => logger.error({ err }, 'error stopping the revocation engine'));
    for (const closer of closers.reverse()) await closer().catch((err: unknown) => logger.error({ err }, 'error during shutdown'));
  };
  try {
    const deps = { store: app.ctx.store, clock: app.ctx.clock };
    const policyFile = app.policyFile;
    if (!policyFile) throw new Error('the service must load its policy from POLICY_FILE');
    policyFile.watch(config.policyPollMs, {
      onActivated: async (loaded) => {
        await activatePolicy(deps, loaded, app.knownProviders, origin, config.policyFile);
      },
      onInForce: () => enforceAndLog(app, logger),
      onRefused: async (errors, sha) => {
        await recordPolicyRefusal(deps, sha ?? '', errors, policyFile.current().sha256, origin, config.policyFile);
      },
    });

    // NB: before serving: live grants obey the policy now in force (it may have changed while the
    // service was down), and a process that starts after a crash or downtime revokes what is overdue.
    stopIfAsked();
    await enforceAndLog(app, logger);
    stopIfAsked();
    // NB: Slack checks its token before anything serves, so a bad token stops the start with a clear error.
    let notify = (): void => undefined;
    const slack = config.slack
      ? await SlackAdapter.create(app.ctx, config.slack, logger, { onChange: () => notify() }).catch((error: unknown) => {
          throw new StartupError(`Slack: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
        })
      : undefined;
    // NB: the log notifier runs with or without chat, so alerts reach the log (and any log pipeline)
    // even when a platform is down or the policy names no security channel.
    const notifiers = [new LogNotifier(logger.child({ component: 'notices' })), ...(slack ? [new ChatNotifier(app.ctx, slack)] : [])];
    const started = new RevocationEngine(app.ctx, { notifiers });
    engine = started;
    stopIfAsked();
    await started.start();
    stopIfAsked();
    detector = new AnomalyDetector(app.ctx);
    await detector.start();
    const detecting = detector;
    notify = () => {
      started.deliverNotices().catch((err: unknown) => logger.error({ err }, 'delivering notices failed; retried after the next sweep'));
      detecting.trigger();
    };

    const http = new HttpServer(app.ctx, logger);
    if (slack?.requestListener) http.mount(SLACK_EVENTS_PATH, slack.requestListener);
    const port = await http.listen(config.port, config.host);
    closers.push(() => http.close());
    stopIfAsked();

    if (app.database.dialect === 'pglite') {
      const admin = await startAdminEndpoint(app, config.dataDir, app.knownProviders, logger);
      closers.push(() => admin.close());
    }

    logger.info(
      { port, database: app.database.dialect === 'pglite' ? `embedded (${config.dataDir})` : 'postgresql', policy: config.policyFile, providers: app.knownProviders },
      `prod-access listening on ${config.host}:${port}`,
    );
    if (slack) {
      const { channels } = app.ctx.policy.current().policy;
      if (!channels.approvals.slack) logger.warn('the policy names no channels.approvals.slack: approval cards are posted only for roles with their own channel; approvers still see requests in their App Home');
      if (!channels.security.slack) logger.warn('the policy names no channels.security.slack: security summaries and alerts go to the log only');
      await slack.start().catch((error: unknown) => {
        throw new StartupError(`Slack Socket Mode did not connect: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      });
      closers.push(() => slack.stop());
      logger.info(
        { chatPlatforms: ['slack'], slackMode: slack.mode },
        slack.mode === 'socket' ? 'Slack connected in Socket Mode' : `Slack in HTTP mode: point the app's request URLs at https://<this host>${SLACK_EVENTS_PATH}`,
      );
    } else {
      logger.info(
        { chatPlatforms: [] },
        'chat platforms configured: none. To connect Slack, set SLACK_BOT_TOKEN and SLACK_APP_TOKEN (see README, "Slack"); ' +
          'meanwhile every request, approval and revocation works through the CLI: npm run cli -- --help. Notices and alerts go to the log.',
      );
    }
    return { app, port, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Applies the policy in force to live grants (removed roles, lowered maximums) and says what it did. */
async function enforceAndLog(app: OpenedApp, logger: Logger): Promise<void> {
  const { revoked, shortened } = await enforcePolicy(app.ctx, origin);
  if (revoked.length + shortened.length > 0) logger.warn({ revoked, shortened }, 'policy change applied to live grants');
}
