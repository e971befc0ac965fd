import type { Logger } from 'pino';
import { activatePolicy, recordPolicyRefusal } from '../app/activate-policy';
import type { Origin } from '../app/origin';
import type { Config } from '../config/env';
import type { Clock } from '../ports/clock';
import type { IamProvider } from '../ports/iam-provider';
import type { IdGenerator } from '../ports/id-generator';
import { DriftScheduler } from '../scheduler/drift-scheduler';
import { AnomalyDetector } from '../scheduler/anomaly-detector';
import { RevocationEngine } from '../scheduler/revocation-engine';
import { startAdminEndpoint } from './admin-endpoint';
import { HttpServer } from './http-server';
import { openApp, type OpenedApp } from './open-app';
import { LogNotifier } from '../adapters/notify/log/log-notifier';
import { fileSink, SiemNotifier, streamSink } from '../adapters/notify/siem/siem-notifier';
import { enforcePolicy } from '../app/enforce-policy';
import { SLACK_EVENTS_PATH, SlackAdapter } from '../adapters/chat/slack/slack-adapter';
import type { TeamsAdapter } from '../adapters/chat/teams/teams-adapter';
import type { BotTokenSource } from '../adapters/chat/teams/teams-connector';
import { DrizzleTeamsDirectory } from '../adapters/store/drizzle-teams-directory';
import { ChatNotifier } from '../app/chat/chat-notifier';
import { readSigningKeyFile } from '../adapters/crypto/signing-key-file';
import type { CheckpointSigner } from '../ports/checkpoint-signer';
import { DigestScheduler } from '../scheduler/digest-scheduler';

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
  /**
   * The Teams bot's own token for its calls to the Bot Connector. Default: agents-hosting's MSAL
   * provider with the MICROSOFT_APP_ credentials. NB: for tests only: MSAL talks to https
   * authorities only, so tests get their token from a local issuer this way.
   */
  readonly teamsTokens?: BotTokenSource;
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
  // NB: before anything opens: a key that is set but unusable stops the start, rather than let every
  // digest go out unsigned unnoticed.
  const signer = config.auditSigningKeyFile ? await loadSigner(config.auditSigningKeyFile, logger) : undefined;
  if (!signer) logger.warn('AUDIT_SIGNING_KEY_FILE is not set: weekly digests post the audit head unsigned (README, "Signed checkpoints")');
  const app = await openApp(config, logger, { origin, ...options, policyFrom: 'file' });
  // NB: this process's leases go last but one, once nothing of it can still be granting or
  // revoking: a clean stop leaves nothing for the next start to take for a crash.
  const closers: (() => Promise<void>)[] = [() => app.close(), async () => void (await app.ctx.store.releaseLeasesOf([app.ctx.work.instance]))];
  let engine: RevocationEngine | undefined;
  let digests: DigestScheduler | undefined;
  let drift: DriftScheduler | undefined;
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
      onInForce: async () => {
        digests?.reschedule();
        await enforceAndLog(app, logger);
        await drift?.refresh();
      },
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
    // NB: agents-hosting (MSAL, JWT and key libraries) is loaded only when Teams is configured, as
    // the cloud SDKs are: a bot without Teams starts without it.
    let teams: TeamsAdapter | undefined;
    let teamsPath = '';
    if (config.teams) {
      const { TEAMS_MESSAGES_PATH, TeamsAdapter: Adapter } = await import('../adapters/chat/teams/teams-adapter');
      teamsPath = TEAMS_MESSAGES_PATH;
      teams = Adapter.create(app.ctx, config.teams, new DrizzleTeamsDirectory(app.database.db), logger, { onChange: () => notify() }, options.teamsTokens ? { tokens: options.teamsTokens } : {});
    }
    // NB: the log notifier runs with or without chat, so alerts reach the log (and any log pipeline)
    // even when a platform is down or the policy names no security channel. Each platform has its
    // own notifier (and delivery position): an outage of one holds up nothing on the other.
    const siem = await openSiemNotifier(config);
    if (siem) closers.push(() => siem.close());
    const notifiers = [
      new LogNotifier(logger.child({ component: 'notices' })),
      ...(siem ? [siem] : []),
      ...(slack ? [new ChatNotifier(app.ctx, slack)] : []),
      ...(teams ? [new ChatNotifier(app.ctx, teams)] : []),
    ];
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
    // NB: after the engine, so notices flow; a digest missed while no replica ran is posted now, late.
    const digestScheduler = new DigestScheduler(app.ctx, signer ? { signer } : {});
    digests = digestScheduler;
    closers.push(() => digestScheduler.stop());
    await digestScheduler.start();
    stopIfAsked();
    // NB: drift reconciliation on the policy's schedule; it follows policy changes (onInForce above).
    drift = new DriftScheduler(app.ctx);
    await drift.start();
    closers.push(() => drift?.stop() ?? Promise.resolve());

    const http = new HttpServer(app.ctx, logger);
    if (slack?.requestListener) http.mount(SLACK_EVENTS_PATH, slack.requestListener);
    if (teams) http.mount(teamsPath, teams.requestListener);
    const port = await http.listen(config.port, config.host);
    closers.push(() => http.close());
    // NB: after the server has stopped taking requests (closers run in reverse), so no new work starts.
    if (teams) closers.splice(closers.length - 1, 0, () => teams.stop());
    stopIfAsked();

    if (app.database.dialect === 'pglite') {
      const admin = await startAdminEndpoint(app, config.dataDir, app.knownProviders, logger, signer);
      closers.push(() => admin.close());
    }

    logger.info(
      { port, database: app.database.dialect === 'pglite' ? `embedded (${config.dataDir})` : 'postgresql', policy: config.policyFile, providers: app.knownProviders },
      `prod-access listening on ${config.host}:${port}`,
    );
    if (teams) {
      const { channels } = app.ctx.policy.current().policy;
      if (teams.anonymous) {
        logger.warn(
          { chatPlatform: 'teams', teamsAnonymous: true },
          `TEAMS_ANONYMOUS=true: ${teamsPath} takes requests WITHOUT checking any token, so anyone who can reach it can act as any Teams user. Only for trying the bot locally (Agents Playground); never expose this port`,
        );
      }
      if (!channels.approvals.teams) logger.warn('the policy names no channels.approvals.teams: Teams approval cards are posted only for roles with their own channel');
      if (!channels.security.teams) logger.warn('the policy names no channels.security.teams: security summaries and alerts reach Teams nowhere');
      logger.info({ chatPlatforms: ['teams'] }, `Teams: point the Azure Bot's messaging endpoint at https://<this host>${teamsPath}, and add the prod-access app to the teams of the approvals and security channels`);
    }
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
    } else if (!teams) {
      logger.info(
        { chatPlatforms: [] },
        'chat platforms configured: none. To connect Slack, set SLACK_BOT_TOKEN and SLACK_APP_TOKEN (see README, "Slack"); to connect Microsoft Teams, set MICROSOFT_APP_ID and its credential (see README, "Microsoft Teams"); ' +
          'meanwhile every request, approval and revocation works through the CLI: npm run cli -- --help. Notices and alerts go to the log.',
      );
    }
    return { app, port, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The checkpoint signer of `AUDIT_SIGNING_KEY_FILE`; an unusable file stops the start with the reason. */
async function loadSigner(file: string, logger: Logger): Promise<CheckpointSigner> {
  try {
    const signer = await readSigningKeyFile(file);
    logger.info({ keyId: signer.keyId }, `audit checkpoints are signed with key ${signer.keyId}`);
    return signer;
  } catch (error) {
    throw new StartupError(error instanceof Error ? error.message : String(error), { cause: error });
  }
}

/** The SIEM lines' notifier for AUDIT_LOG_FILE: stdout, a file, or none. */
async function openSiemNotifier(config: Config): Promise<SiemNotifier | undefined> {
  const to = config.auditLog;
  if (to.to === 'off') return undefined;
  if (to.to === 'stdout') return new SiemNotifier(streamSink(process.stdout));
  try {
    return new SiemNotifier(await fileSink(to.path));
  } catch (error) {
    throw new StartupError(`AUDIT_LOG_FILE ${to.path} cannot be opened for appending (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
  }
}

/** Applies the policy in force to live grants (removed roles, lowered maximums) and says what it did. */
async function enforceAndLog(app: OpenedApp, logger: Logger): Promise<void> {
  const { revoked, shortened } = await enforcePolicy(app.ctx, origin);
  if (revoked.length + shortened.length > 0) logger.warn({ revoked, shortened }, 'policy change applied to live grants');
}
