import { CloudAdapter, ConnectorClient, type AuthConfiguration, type HeaderPropagationCollection, type TurnContext } from '@microsoft/agents-hosting';
import type { Logger } from 'pino';
import type { TeamsConfig } from '../../../config/env';
import type { BotTokenSource } from './teams-connector';

/** The Bot Connector's scope: the bot's own token is asked for `https://api.botframework.com/.default`. */
export const BOT_FRAMEWORK_SCOPE = 'https://api.botframework.com';

const CONNECTION = 'serviceConnection';

/**
 * agents-hosting's authentication settings for prod-access's Teams settings. NB: passed with an
 * explicit connection and map, so the SDK does not take connections from `Connections__…`
 * environment variables of its own; and with `validateIssuer` on: the SDK checks signature,
 * audience and expiry by default, but the issuer only when asked.
 */
export function authConfiguration(settings: TeamsConfig): AuthConfiguration {
  if (settings.anonymous) {
    // NB: no client id: the SDK's JWT middleware lets requests without a token through (and refuses
    // any token it is shown), and its token provider sends none. Refused by config in production.
    return { connections: new Map([[CONNECTION, { validateIssuer: true }]]), connectionsMap: [{ serviceUrl: '*', connection: CONNECTION }] };
  }
  const credential =
    settings.credential.kind === 'password'
      ? { clientSecret: settings.credential.password }
      : settings.credential.kind === 'certificate'
        ? { certPemFile: settings.credential.certFile, certKeyFile: settings.credential.keyFile }
        : { authType: 'UserManagedIdentity' };
  const connection: AuthConfiguration = {
    clientId: settings.appId,
    // NB: a MultiTenant app has no tenant of its own: tokens come from the botframework.com tenant.
    ...(settings.tenantId ? { tenantId: settings.tenantId } : {}),
    authorityEndpoint: settings.authority,
    validateIssuer: true,
    ...credential,
  };
  return { ...connection, connections: new Map([[CONNECTION, connection]]), connectionsMap: [{ serviceUrl: '*', connection: CONNECTION }] };
}

/**
 * agents-hosting's `CloudAdapter`, with the serviceUrl check on (an activity whose `serviceUrl` host
 * is not the one its token names is refused with 400), and one source for the bot's own token: by
 * default the SDK's connection manager (MSAL, which caches the token until shortly before it
 * expires; none in anonymous mode). Tests pass a local source: MSAL talks to https authorities only.
 */
export class TeamsCloudAdapter extends CloudAdapter {
  /** The bot's token for its calls to the Bot Connector, replies and proactive messages alike. */
  readonly tokens: BotTokenSource;

  constructor(auth: AuthConfiguration, tokens: BotTokenSource | undefined, log: Logger) {
    super(auth, undefined, undefined, { validateServiceUrl: true });
    this.tokens = tokens ?? { token: () => this.connectionManager.getDefaultConnection().getAccessToken(BOT_FRAMEWORK_SCOPE) };
    // NB: the SDK's default answer to an error is two chat messages saying the code is broken; the
    // adapter handles its own errors and tells the person in its own words. This only logs.
    this.onTurnError = async (_context: TurnContext, error: Error) => {
      log.error({ err: error }, 'unhandled error in a Teams turn');
    };
  }

  /**
   * The client the SDK puts on each turn. NB: prod-access never answers through it (every call goes
   * through `TeamsConnector`, paced and retried, with a token per call), so the turn gets one without
   * a token instead of asking Entra ID for one per incoming activity: an activity is then taken, and
   * an invoke answered, even while the bot cannot get its own token (its messages are retried later).
   */
  protected override async createConnectorClientWithIdentity(_identity: object, activity: { readonly serviceUrl?: string | undefined }, headers?: HeaderPropagationCollection): Promise<ConnectorClient> {
    return ConnectorClient.createClientWithToken(activity.serviceUrl ?? '', '', headers);
  }
}
