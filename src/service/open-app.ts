import type { Logger } from 'pino';
import { cloudIamProviders } from '../adapters/iam/cloud-providers';
import { LocalIamProvider } from '../adapters/iam/local/local-iam-provider';
import { PostgresIamProvider } from '../adapters/iam/postgres/postgres-iam-provider';
import { DrizzleAccessStore } from '../adapters/store/drizzle-access-store';
import { openDatabase, type Database } from '../adapters/store/open-database';
import { activatePolicy, recordPolicyRefusal } from '../app/activate-policy';
import type { AppContext } from '../app/app-context';
import type { Origin } from '../app/origin';
import { defaultWorkSettings } from '../app/work-settings';
import type { Config } from '../config/env';
import { PolicyFile } from '../config/policy-file';
import { personOfPrincipal } from '../domain/drift';
import { parsePolicy, principalFor, type LoadedPolicy } from '../domain/policy';
import type { AccessStore } from '../ports/access-store';
import type { PolicySource } from '../ports/policy-source';
import { systemClock, type Clock } from '../ports/clock';
import type { IamProvider } from '../ports/iam-provider';
import { randomIds, type IdGenerator } from '../ports/id-generator';

/** A policy that cannot be loaded; `errors` name each path and problem. */
export class PolicyLoadError extends Error {
  override readonly name = 'PolicyLoadError';
  constructor(
    readonly file: string,
    readonly errors: string[],
  ) {
    super(`the policy ${file} is invalid:\n${errors.map((e) => `  - ${e}`).join('\n')}`);
  }
}

export interface OpenedApp {
  readonly ctx: AppContext;
  readonly database: Database;
  /** The watched policy file: set when the policy came from `POLICY_FILE`. */
  readonly policyFile: PolicyFile | undefined;
  readonly knownProviders: readonly string[];
  close(): Promise<void>;
}

export interface OpenAppOptions {
  readonly clock?: Clock;
  readonly ids?: IdGenerator;
  readonly origin: Origin;
  /** The process environment (`process.env`): where provider targets' `connectionEnv` URLs are read. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Extra providers (tests, or clouds added by later issues), by kind. */
  readonly providers?: readonly IamProvider[];
  /**
   * `file` (the service): load `POLICY_FILE`, record it as in force, and watch it.
   * `in-force` (the CLI): decide under the policy the database records as in force, so a CLI
   * with another `POLICY_FILE` can neither change the rules nor record a policy of its own;
   * only when none was ever recorded is `POLICY_FILE` loaded and recorded.
   */
  readonly policyFrom?: 'file' | 'in-force';
  /** Create the embedded database if DATA_DIR has none (default true; the CLI only for `migrate`). */
  readonly create?: boolean;
}

/**
 * Opens the database (migrating it), the IAM providers and the policy, and records the policy
 * in force in the audit log. Shared by the service and the CLI, so both run the same rules.
 */
export async function openApp(config: Config, logger: Logger, options: OpenAppOptions): Promise<OpenedApp> {
  const clock = options.clock ?? systemClock;
  const database = await openDatabase({ ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}), dataDir: config.dataDir, create: options.create !== false });
  let policy: PolicySource | undefined;
  // NB: the providers exist before the policy (its validation needs their kinds), so the login
  // mapping reads the policy late, at grant time, when it is always set.
  const currentPolicy = (): LoadedPolicy => {
    if (policy === undefined) throw new Error('bug: an IAM provider was used before the policy was loaded');
    return policy.current();
  };
  const postgres = new PostgresIamProvider({
    env: options.env,
    resolveLogin: (who) => principalFor(currentPolicy().policy, who, 'postgres'),
    resolvePerson: (login) => personOfPrincipal(currentPolicy().policy.identities, 'postgres', login),
    onConnectionError: (err) => logger.warn({ err, provider: 'postgres' }, 'idle admin connection failed; the next call reconnects'),
  });
  let clouds: IamProvider[] = [];
  const closeAll = async () => {
    try {
      await Promise.all([postgres.close(), ...clouds.map((p) => p.close?.())]);
    } finally {
      await database.close();
    }
  };
  try {
    const store = new DrizzleAccessStore(database.db);
    clouds = cloudIamProviders({ env: options.env, logger, principalOf: (who, kind) => principalFor(currentPolicy().policy, who, kind) });
    const providers: IamProvider[] = [new LocalIamProvider(database.db, clock), postgres, ...clouds, ...(options.providers ?? [])];
    const iam = new Map(providers.map((p) => [p.kind, p]));
    const knownProviders = [...iam.keys()];
    const deps = { store, clock };
    const inForce = options.policyFrom === 'in-force' ? await policyInForce(store, knownProviders) : undefined;
    let policyFile: PolicyFile | undefined;
    if (inForce) {
      policy = { current: () => inForce };
    } else {
      const opened = await PolicyFile.open(config.policyFile, knownProviders, logger);
      if (!opened.ok || !opened.source) {
        const errors = opened.ok ? ['cannot be loaded'] : opened.errors;
        await recordPolicyRefusal(deps, opened.ok ? '' : (opened.sha256 ?? ''), errors, await store.activePolicySha(), options.origin, config.policyFile);
        throw new PolicyLoadError(config.policyFile, errors);
      }
      policyFile = opened.source;
      policy = policyFile;
      const { activated } = await activatePolicy(deps, policyFile.current(), knownProviders, options.origin, config.policyFile);
      if (activated) logger.info({ policySha: policyFile.current().sha256, file: config.policyFile }, 'policy activated');
    }
    const ctx: AppContext = { store, iam, clock, ids: options.ids ?? randomIds, policy, logger, work: defaultWorkSettings(config.work) };
    return {
      ctx,
      database,
      policyFile,
      knownProviders,
      close: async () => {
        try {
          await policyFile?.stop();
        } finally {
          await closeAll();
        }
      },
    };
  } catch (error) {
    await closeAll().catch(() => undefined);
    throw error;
  }
}

/** The policy the database records as in force, or undefined when none was ever recorded. */
async function policyInForce(store: AccessStore, knownProviders: readonly string[]): Promise<LoadedPolicy | undefined> {
  const sha = await store.activePolicySha();
  const text = sha ? await store.policyText(sha) : undefined;
  if (!sha || text === undefined) return undefined;
  const parsed = parsePolicy(text, knownProviders);
  if (!parsed.ok) throw new PolicyLoadError(`the policy in force (sha256 ${sha})`, parsed.errors);
  return parsed.loaded;
}
