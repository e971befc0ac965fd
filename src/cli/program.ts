import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { acknowledgeAlert, acknowledgementText } from '../app/acknowledge-alert';
import { approveRequest } from '../app/approve-request';
import { cancelRequest } from '../app/cancel-request';
import { denyRequest } from '../app/deny-request';
import { describeFailure, describeRevocationFailure, ProviderError, StoreError } from '../app/errors';
import { approveDriftRun } from '../app/drift/approve-drift-run';
import { checkDrift } from '../app/drift/check-drift';
import { exportAuditLog } from '../app/export-audit-log';
import { accessReport } from '../app/report/access-report';
import { reportSummaryText } from '../app/report/report-summary-text';
import { extendAccess } from '../app/extend-access';
import { listAwaitingMyApproval, listLiveGrants, listMyRequests, showRequest } from '../app/list-requests';
import type { CliOperator, Origin } from '../app/origin';
import type { Outcome } from '../app/outcome';
import { approvalText, cancelText, extensionOpenedText, openedText, revokeText } from '../app/outcome-text';
import { requestAccess } from '../app/request-access';
import { revokeAccess } from '../app/revoke-access';
import { parseHead, verifyAuditLog, verifyExportLines, type VerifyReport } from '../app/verify-audit-log';
import { WorkerChainChecker } from '../adapters/threads/worker-chain-checker';
import type { ChainChecker } from '../ports/chain-checker';
import { verifyCheckpoints } from '../app/verify-checkpoints';
import { composeDigest, publishDigest } from '../app/publish-digest';
import { signCheckpointNow } from '../app/sign-checkpoint';
import { generateSigningKeyPair, readPublicKeyFile, SigningKeyError, writePrivateKeyFile } from '../adapters/crypto/signing-key-file';
import { checkpointText } from '../domain/checkpoint';
import { digestSchedule, lastFullPeriod, periodKey, type Period } from '../domain/digest-schedule';
import type { CheckpointKey, CheckpointSigner } from '../ports/checkpoint-signer';
import type { SetupFinding } from '../adapters/chat/slack/slack-doctor';
import { refusalText } from '../domain/lifecycle/transition';
import { parsePolicy, requestableRoles, type LoadedPolicy, type Policy } from '../domain/policy';
import { toPlainText, type RichText } from '../domain/rich-text';
import { parseEmail, type Email } from '../domain/email';
import { parseRequestId, type RequestId } from '../domain/request-id';
import type { AccessRequest } from '../domain/access-request';
import { alertTitles, parseAlertId } from '../domain/alert';
import type { DriftRun } from '../domain/drift-run';
import { formatDuration } from '../domain/duration';
import { printable, quoteInput } from '../domain/text';
import type { AppContext } from '../app/app-context';
import { describeDriftRun, driftRunJson, driftRunRow } from './drift-format';
import { csvHeader, csvRecord, textRecord, UTF8_BOM } from './report-format';
import { alertJson, cliNextStep, describeRequest, requestJson, requestWhen, roleJson, timeLeft } from './format';
import { progressLine } from './progress-line';

export const EXIT_OK = 0;
/** A rule said no (not an approver, self-approval, bad ticket), or a check failed (broken chain). */
export const EXIT_REFUSED = 1;
/** Bad arguments: a usage message was printed. */
export const EXIT_USAGE = 2;
/** Something failed (database or provider unavailable); nothing was recorded as done. */
export const EXIT_FAILED = 3;

export interface CliIo {
  out(text: string): void | Promise<void>;
  err(text: string): void;
  /**
   * A transient status line on the terminal (`undefined` erases it); absent when nobody would see it
   * (stderr piped or redirected), and then commands print no progress at all.
   */
  progress?(line: string | undefined): void;
}

/** What the commands run against; the entry point decides where the app lives. */
export interface CliEnv {
  readonly io: CliIo;
  /**
   * The app's use-case context (database, policy, providers), opened on first use. An embedded
   * database that does not exist yet is created only when `create` says so (`migrate`).
   */
  app(options?: { readonly create?: boolean }): Promise<{ readonly ctx: AppContext }>;
  /**
   * The operating-system user running the command, as the entry point established it (the process's
   * own user, or the owner of the client's socket), never as a client claims it. Recorded on every
   * event the command causes; the policy decides what it may decide.
   */
  readonly operator: CliOperator;
  /** Provider kinds for `policy validate` when no app is open. */
  readonly knownProviders: readonly string[];
  /** `doctor`: checks a policy against the Slack workspace the configured token reaches; absent when Slack is not configured. */
  readonly checkSlack?: (policy: Policy) => Promise<readonly SetupFinding[]>;
  /**
   * The key that signs checkpoints (`AUDIT_SIGNING_KEY_FILE`), loaded on first use: absent when none
   * is configured; rejects with `SigningKeyError` when the file cannot be used. Through the running
   * service, the service's own key.
   */
  readonly signer?: () => Promise<CheckpointSigner>;
  /** A monotonic clock in milliseconds, for progress rates (default: performance.now). */
  readonly monotonicMs?: () => number;
  /**
   * What `audit verify` hashes with: by default worker threads, one per CPU the process may use,
   * that read the log themselves when given the database's URL.
   */
  readonly chainChecker?: () => ChainChecker;
}

class CliExit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const asEmail = (value: string): Email => {
  const parsed = parseEmail(value);
  if (!parsed) throw new InvalidArgumentError(`${quoteInput(value)} is not an e-mail address.`);
  return parsed;
};
const asRequestId = (value: string): RequestId => {
  const parsed = parseRequestId(value);
  if (!parsed) throw new InvalidArgumentError(`${quoteInput(value, 20)} is not a request id (8 characters, like 7KQ2M9XA).`);
  return parsed;
};
const asDate = (value: string): Date => {
  const at = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(at.getTime())) {
    throw new InvalidArgumentError(`${quoteInput(value)} is not a date like 2026-11-01 or 2026-11-01T08:00:00Z.`);
  }
  return at;
};
const asAlertId = (value: string): number => {
  const id = parseAlertId(value);
  if (id === undefined) throw new InvalidArgumentError(`${quoteInput(value, 20)} is not an alert id (a number, as \`alerts list\` shows).`);
  return id;
};
const asLimit = (value: string): number => {
  if (!/^[1-9][0-9]{0,5}$/.test(value.trim())) throw new InvalidArgumentError(`${quoteInput(value, 20)} is not a number from 1 to 999999.`);
  return Number(value.trim());
};
const asHead = (value: string) => {
  const head = parseHead(value);
  if (!head) throw new InvalidArgumentError(`${quoteInput(value, 90)} is not a head like 42:<64 hex digits>, as printed by \`audit head\`.`);
  return head;
};

const asRunId = (value: string): number => {
  if (!/^[1-9][0-9]{0,15}$/.test(value)) throw new InvalidArgumentError(`${quoteInput(value, 20)} is not a drift run number (see \`prod-access drift runs\`).`);
  return Number(value);
};
const asCount = (value: string): number => {
  if (!/^[1-9][0-9]{0,5}$/.test(value)) throw new InvalidArgumentError(`${quoteInput(value, 20)} is not a count like 20.`);
  return Number(value);
};

const asOption = () => new Option('--as <email>', 'who you are acting as (recorded in the audit log, next to your OS user)').argParser(asEmail).makeOptionMandatory();

/**
 * Runs one CLI invocation and returns its exit code. Never calls `process.exit`, so the service
 * can run it for a CLI that reaches the embedded database through it.
 */
export async function runCli(argv: readonly string[], env: CliEnv): Promise<number> {
  const { io } = env;
  const { osUser, osUserFrom, osGroups } = env.operator;
  const origin: Origin = { via: 'cli', osUser, osUserFrom, osGroups };
  const program = buildProgram(env, origin);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_OK;
  } catch (error) {
    if (error instanceof CliExit) {
      if (error.message) io.err(`${error.message}\n`);
      return error.code;
    }
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.help' || error.code === 'commander.version'
        ? EXIT_OK
        : EXIT_USAGE;
    }
    if (error instanceof StoreError || error instanceof ProviderError) {
      io.err(`${describeFailure(error)}\n`);
      return EXIT_FAILED;
    }
    if (error instanceof SigningKeyError) {
      io.err(`${error.message}\n`);
      return EXIT_REFUSED;
    }
    if (error instanceof Error && error.name === 'PolicyLoadError') {
      io.err(`${error.message}\n`);
      return EXIT_FAILED;
    }
    throw error;
  }
}

function buildProgram(env: CliEnv, origin: Origin): Command {
  const { io } = env;
  const nowMs = env.monotonicMs ?? (() => performance.now());
  const program = new Command('prod-access')
    .description('Temporary, audited production access: administer the bot, or make and decide requests from scripts.')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeOut: (s) => void io.out(s), writeErr: (s) => io.err(s) });
  // NB: commander copies exitOverride/configureOutput to subcommands created with .command().

  /** Prints what happened, or exits 1 with the refusal, its next step named as a CLI command for `as`. */
  const done = async (outcome: Outcome<AccessRequest>, as: Email, say: (r: AccessRequest, changed: boolean) => string | Promise<string>) => {
    if (!outcome.ok) throw new CliExit(EXIT_REFUSED, `refused (${outcome.refusal.code}): ${toPlainText(refusalText(outcome.refusal, cliNextStep(as)))}`);
    await io.out(await say(outcome.value, outcome.changed));
  };
  const line = (text: RichText) => `${toPlainText(text)}\n`;
  const jsonLines = async (items: readonly Record<string, unknown>[]) => {
    for (const item of items) await io.out(`${JSON.stringify(item)}\n`);
  };
  /** Exit 1 when the run found drift, 3 when a provider could not be listed (the answer is incomplete). */
  const exitOnDrift = async (run: DriftRun) => {
    if (run.unexpected + run.missing > 0) {
      throw new CliExit(EXIT_REFUSED, `drift found: ${run.unexpected} access(es) without a live grant, ${run.missing} live grant(s) missing at the provider`);
    }
    const failed = Object.entries(run.providers).flatMap(([kind, r]) => ('error' in r ? [kind] : []));
    if (failed.length > 0) throw new CliExit(EXIT_FAILED, `no drift found, but ${failed.join(', ')} could not be listed`);
  };

  program
    .command('migrate')
    .description('apply pending database migrations (also done on every start)')
    .action(async () => {
      await env.app({ create: true });
      await io.out('database is up to date\n');
    });

  const policy = program.command('policy').description('policy files');
  policy
    .command('validate')
    .description('check a policy file and list every problem with its path')
    .argument('[file]', 'policy file (default: POLICY_FILE)')
    .action(async (file: string | undefined) => {
      const { path, loaded } = await readPolicyFile(file, env.knownProviders);
      const roles = [...loaded.policy.roles.keys()];
      await io.out(`${path} is valid: ${roles.length} role${roles.length === 1 ? '' : 's'} (${roles.join(', ')}), sha256 ${loaded.sha256}\n`);
    });

  program
    .command('doctor')
    .description('check the configuration against what it will meet: the policy file, and the Slack workspace (token, scopes, channels, people, user groups)')
    .argument('[file]', 'policy file (default: POLICY_FILE)')
    .action(async (file: string | undefined) => {
      const { path, loaded } = await readPolicyFile(file, env.knownProviders);
      await io.out(`ok    policy ${path}: valid, ${loaded.policy.roles.size} role(s)\n`);
      if (!env.checkSlack) return void (await io.out('-     Slack: SLACK_BOT_TOKEN is not set, so there is nothing to check (README, "Slack")\n'));
      const findings = await env.checkSlack(loaded.policy);
      for (const f of findings) await io.out(`${f.ok ? 'ok   ' : 'FIX  '} ${f.subject}: ${f.message}\n`);
      const problems = findings.filter((f) => !f.ok).length;
      if (problems > 0) throw new CliExit(EXIT_REFUSED, `${problems} problem${problems === 1 ? '' : 's'} to fix (marked FIX above)`);
      await io.out('everything checked is in order\n');
    });

  program
    .command('grants')
    .description('live grants')
    .command('list')
    .description('every live grant (active, or being revoked)')
    .option('--json', 'one JSON object per line')
    .action(async (opts: { json?: boolean }) => {
      const { ctx } = await env.app();
      const grants = await listLiveGrants(ctx);
      if (opts.json) {
        for (const g of grants) await io.out(`${JSON.stringify(requestJson(g))}\n`);
        return;
      }
      if (grants.length === 0) return void (await io.out('no live grants\n'));
      const now = ctx.clock.now();
      const rows = grants.map((g) => [g.id, g.requester, g.role, g.state, g.grant?.expiresAt.toISOString() ?? '-', timeLeft(g, now), g.breakGlass ? 'break-glass' : '']);
      await io.out(table([['ID', 'REQUESTER', 'ROLE', 'STATE', 'EXPIRES', 'LEFT', ''], ...rows]));
    });

  program
    .command('requests')
    .description('requests')
    .command('show')
    .description('one request with its approvals and grant')
    .argument('<id>', 'request id', asRequestId)
    .option('--json', 'as JSON')
    .action(async (id: RequestId, opts: { json?: boolean }) => {
      const { ctx } = await env.app();
      const request = await showRequest(ctx, id);
      if (!request) throw new CliExit(EXIT_REFUSED, `There is no request ${id}.`);
      await io.out(opts.json ? `${JSON.stringify(requestJson(request), null, 2)}\n` : describeRequest(request, ctx.clock.now()));
    });

  const alerts = program.command('alerts').description('security alerts: anomalies the rules found, and failures');
  alerts
    .command('list')
    .description('alerts, newest first')
    .option('--open', 'only those not acknowledged yet')
    .addOption(new Option('--limit <n>', 'at most this many').argParser(asLimit).default(50))
    .option('--json', 'one JSON object per line')
    .action(async (opts: { open?: boolean; limit: number; json?: boolean }) => {
      const { ctx } = await env.app();
      const list = await ctx.store.listAlerts({ open: opts.open === true, limit: opts.limit });
      if (opts.json) return jsonLines(list.map(alertJson));
      if (list.length === 0) return void (await io.out(opts.open ? 'no open alerts\n' : 'no alerts\n'));
      const rows = list.map((a) => [
        String(a.id),
        a.raisedAt.toISOString(),
        a.severity,
        alertTitles[a.rule],
        a.acknowledged ? `acknowledged by ${a.acknowledged.by}` : 'open',
        a.message,
      ]);
      await io.out(table([['ID', 'RAISED', 'SEVERITY', 'ALERT', 'STATUS', 'MESSAGE'], ...rows]));
    });
  alerts
    .command('ack')
    .description("acknowledge an alert, as in the security channel (a member of the policy's security group; the policy's detection.cliOperators must name your OS user)")
    .argument('<id>', 'alert id, as `alerts list` shows it', asAlertId)
    .addOption(asOption())
    .action(async (id: number, opts: { as: Email }) => {
      const { ctx } = await env.app();
      const outcome = await acknowledgeAlert(ctx, id, opts.as, origin);
      if (!outcome.ok) throw new CliExit(EXIT_REFUSED, `refused (${outcome.refusal.code}): ${outcome.refusal.message}`);
      await io.out(`${acknowledgementText(outcome.value, outcome.changed)}\n`);
    });

  const audit = program.command('audit').description('the tamper-evident audit log');
  audit
    .command('verify')
    .description('recompute the hash chain and name the first broken or missing link')
    .addOption(new Option('--head <seq:hash>', 'also prove this recorded head (from `audit head`) is still in the chain or the export').argParser(asHead))
    .option('--file <export.jsonl>', 'verify an export instead of the database (needs no database)')
    .option('--checkpoints', 'also check every stored signed checkpoint: its signature, and that its head is still in the chain (needs --public-key)')
    .option('--public-key <file>', 'a public key (PEM, from `keys generate`) to check checkpoints with; repeat it for checkpoints of an earlier key', (file: string, all: string[]) => [...all, file], [] as string[])
    .action(async (opts: { head?: { seq: number; hash: string }; file?: string; checkpoints?: boolean; publicKey: string[] }) => {
      if (opts.checkpoints && opts.file) throw new CliExit(EXIT_USAGE, '--checkpoints checks the checkpoints stored in the database; it cannot be used with --file (check a copied checkpoint with openssl: README, "Signed checkpoints")');
      if (opts.checkpoints && opts.publicKey.length === 0) throw new CliExit(EXIT_USAGE, '--checkpoints needs the public key to check them with: --public-key <file> (printed by `keys generate`)');
      if (!opts.checkpoints && opts.publicKey.length > 0) throw new CliExit(EXIT_USAGE, '--public-key is for --checkpoints');
      // NB: the keys are read before the database is opened: a wrong key file is said at once.
      const keys: CheckpointKey[] = [];
      for (const file of opts.publicKey) keys.push(await readPublicKeyFile(file));
      if (opts.checkpoints) {
        const checked = await verifyCheckpoints((await env.app()).ctx.store, keys, opts.head);
        if (!checked.ok) throw new CliExit(EXIT_REFUSED, checked.message);
        return void (await io.out(`${checked.message}\n`));
      }
      const progress = progressLine(io, 'verified', nowMs);
      // NB: threads start only for a log large enough to be worth them (see verifyAuditLog).
      const parallel = opts.file ? undefined : (env.chainChecker ?? (() => new WorkerChainChecker()))();
      let report: VerifyReport;
      try {
        report = parallel
          ? await verifyAuditLog((await env.app()).ctx.store, opts.head, { parallel, onProgress: (n, total) => progress.update(n, total) })
          : await verifyFile(opts.file ?? '', opts.head, (n) => progress.update(n));
      } finally {
        progress.end();
        await parallel?.close();
      }
      if (!report.ok) throw new CliExit(EXIT_REFUSED, report.message);
      await io.out(`${report.message}\n`);
    });
  audit
    .command('checkpoint')
    .description('sign the chain\'s head now with AUDIT_SIGNING_KEY_FILE; stored, audited and posted to the security channel')
    .action(async () => {
      // NB: the app first: through the running service, the service's key signs.
      const { ctx } = await env.app();
      if (!env.signer) throw new CliExit(EXIT_REFUSED, 'no signing key: set AUDIT_SIGNING_KEY_FILE (make one with: prod-access keys generate --out <file>)');
      const made = await signCheckpointNow(ctx, await env.signer(), origin);
      await io.out(checkpointText(made.checkpoint));
      io.err(`stored as checkpoint #${made.id} and audited as event ${made.eventSeq}; the security channel gets it from the audit log\n`);
    });
  audit
    .command('head')
    .description('print the last event as seq:hash, to record outside the database')
    .action(async () => {
      const head = await (await env.app()).ctx.store.auditHead();
      if (!head) throw new CliExit(EXIT_REFUSED, 'the audit log is empty');
      await io.out(`${head.seq}:${head.hash}\n`);
    });
  audit
    .command('export')
    .description('write events as JSON Lines with their hashes (to stdout)')
    .option('--since <date>', 'events at or after this time (ISO 8601)', asDate)
    .option('--until <date>', 'events before this time (ISO 8601)', asDate)
    .action(async (opts: { since?: Date; until?: Date }) => {
      const { ctx } = await env.app();
      const progress = progressLine(io, 'exported', nowMs);
      // NB: counted only for someone watching: a piped export costs no extra query.
      const total = io.progress ? await ctx.store.countAuditBetween(opts) : undefined;
      let count;
      try {
        count = await exportAuditLog(ctx.store, opts, (line) => io.out(line), (n) => progress.update(n, total));
      } finally {
        progress.end();
      }
      io.err(`exported ${count} event${count === 1 ? '' : 's'}\n`);
    });

  program
    .command('keys')
    .description('the key that signs audit checkpoints')
    .command('generate')
    .description('make an Ed25519 key: write the private key (mode 0600, never over an existing file) and print the public key and its key id')
    .requiredOption('--out <file>', 'where to write the private key (then set AUDIT_SIGNING_KEY_FILE to it)')
    .action(async (opts: { out: string }) => {
      const pair = generateSigningKeyPair();
      await writePrivateKeyFile(opts.out, pair.privatePem);
      await io.out(`${pair.publicPem}key id: ${pair.keyId}\n`);
      io.err(
        `wrote the private key to ${opts.out} (mode 0600): set AUDIT_SIGNING_KEY_FILE to it for the service and the CLI, and keep a copy where the database's administrators cannot read it. ` +
          'Give the public key above, with its key id, to your auditors: it is all they need to check checkpoints.\n',
      );
    });

  program
    .command('digest')
    .description('the weekly digest of the last full period of the policy\'s schedule (or of --since/--until); with --post, post it to the security channel, once')
    .option('--since <date>', 'start of the window (ISO 8601); with --until', asDate)
    .option('--until <date>', 'end of the window, not included (ISO 8601); with --since', asDate)
    .option('--post', 'post it to the security channel (once per period), signed with AUDIT_SIGNING_KEY_FILE')
    .option('--unsigned', 'with --post and no AUDIT_SIGNING_KEY_FILE: post the head unsigned')
    .option('--json', 'the figures as JSON instead of the text')
    .action(async (opts: { since?: Date; until?: Date; post?: boolean; unsigned?: boolean; json?: boolean }) => {
      if ((opts.since === undefined) !== (opts.until === undefined)) throw new CliExit(EXIT_USAGE, 'give both --since and --until, or neither for the last full period of the schedule');
      if (opts.since && opts.until && opts.since >= opts.until) throw new CliExit(EXIT_USAGE, '--since must be before --until');
      const { ctx } = await env.app();
      const now = ctx.clock.now();
      const { policy } = ctx.policy.current();
      const period: Period | undefined = opts.since && opts.until ? { since: opts.since, until: opts.until } : lastFullPeriod(digestSchedule(policy.detection.digest.schedule, policy.timezone), now);
      if (!period) throw new CliExit(EXIT_REFUSED, `the digest schedule ${JSON.stringify(policy.detection.digest.schedule)} has no full period in the last five years; give --since and --until`);
      if (!opts.post) {
        const { figures, text } = await composeDigest(ctx, period);
        return void (await io.out(opts.json ? `${JSON.stringify(figures, null, 2)}\n` : `${text}\n`));
      }
      if (period.until > now) throw new CliExit(EXIT_REFUSED, `the period ${periodKey(period)} has not ended; it can be posted from ${period.until.toISOString()}`);
      // NB: the app first: through the running service, the service's key signs.
      const signer = env.signer ? await env.signer() : undefined;
      if (!signer && !opts.unsigned) {
        throw new CliExit(EXIT_REFUSED, 'no signing key: set AUDIT_SIGNING_KEY_FILE so the head is signed (each period is posted once, so it could not be signed later), or add --unsigned to post it without');
      }
      const outcome = await publishDigest(ctx, period, signer, origin);
      if (!outcome.published) {
        const when = outcome.already ? ` at ${outcome.already.postedAt.toISOString()}${outcome.already.late ? ' (late)' : ''}` : '';
        return void (await io.out(`the digest of ${outcome.period} was posted already${when}; nothing was posted again\n`));
      }
      await io.out(opts.json ? `${JSON.stringify(outcome.figures, null, 2)}\n` : `${outcome.text}\n`);
      io.err(`posted: recorded as a digest_published audit event${outcome.checkpoint ? ' with its signed checkpoint' : ', unsigned'}; the security channel gets it from the audit log\n`);
    });

  program
    .command('report')
    .description('for auditors: every request opened in a window, who asked and why, who decided and when, the grant window, how it ended, and the policy behind each decision')
    .requiredOption('--since <date>', 'requests opened at or after this time (ISO 8601; a date alone is midnight UTC)', asDate)
    .option('--until <date>', 'requests opened before this time (default: now)', asDate)
    .addOption(new Option('--format <format>', 'text for people, json (one object per line), csv for a spreadsheet').choices(['text', 'json', 'csv']).default('text'))
    .option('--no-bom', 'CSV without the UTF-8 byte order mark (Excel needs it to read accents right)')
    .action(async (opts: { since: Date; until?: Date; format: 'text' | 'json' | 'csv'; bom: boolean }) => {
      const { ctx } = await env.app();
      const range = { since: opts.since, until: opts.until ?? ctx.clock.now() };
      if (range.until.getTime() <= range.since.getTime()) throw new CliExit(EXIT_USAGE, `--until (${range.until.toISOString()}) must be after --since (${range.since.toISOString()})`);
      if (opts.format === 'csv') await io.out(`${opts.bom ? UTF8_BOM : ''}${csvHeader()}`);
      const summary = await accessReport(ctx.store, range, (entry) =>
        io.out(opts.format === 'csv' ? csvRecord(entry) : opts.format === 'json' ? `${JSON.stringify(entry)}\n` : textRecord(entry)),
      );
      if (opts.format === 'text') await io.out(`${toPlainText(reportSummaryText(summary, range))}\n`);
      io.err(`reported ${summary.requests} request${summary.requests === 1 ? '' : 's'} opened from ${range.since.toISOString()} to ${range.until.toISOString()}\n`);
    });

  const drift = program.command('drift').description('drift reconciliation: access at the providers compared with live grants');
  drift
    .command('check')
    .description('compare what the providers list with the live grants now; alerts, and revokes where the policy says so, like the scheduled run (exit 1 when drift is found)')
    .option('--dry-run', 'compare and print only: nothing is recorded, alerted or revoked')
    .option('--json', 'the run as one JSON object')
    .action(async (opts: { dryRun?: boolean; json?: boolean }) => {
      const { ctx } = await env.app();
      const result = await checkDrift(ctx, { trigger: 'cli', origin, dryRun: opts.dryRun === true });
      if (result.status === 'busy') {
        throw new CliExit(EXIT_FAILED, `drift run ${result.running.id} (started ${result.running.startedAt.toISOString()}) is in progress; nothing was checked. Try again when it is done.`);
      }
      if (result.status !== 'checked') throw new CliExit(EXIT_FAILED, 'the drift run did not start; try again');
      await io.out(opts.json ? `${JSON.stringify(driftRunJson(result.run))}\n` : describeDriftRun(result.run, result.dryRun));
      await exitOnDrift(result.run);
    });
  drift
    .command('approve')
    .description('revoke what a held run found without a live grant, and still is (members of the policy\'s security group)')
    .argument('<run>', 'the held run, as `drift runs` lists it', asRunId)
    .addOption(asOption())
    .action(async (run: number, opts: { as: Email }) => {
      const { ctx } = await env.app();
      const approval = await approveDriftRun(ctx, run, opts.as, origin);
      if (!approval.ok) throw new CliExit(approval.refusal.code === 'busy' ? EXIT_FAILED : EXIT_REFUSED, `refused (${approval.refusal.code}): ${approval.refusal.message}`);
      const done = approval.result.run;
      await io.out(`drift run ${run} approved by ${opts.as}; run ${done.id} revoked ${done.revoked} access${done.revoked === 1 ? '' : 'es'}${done.revokeFailed > 0 ? `, ${done.revokeFailed} failed` : ''}\n`);
      await io.out(describeDriftRun(done));
      if (done.revokeFailed > 0) throw new CliExit(EXIT_FAILED, `${done.revokeFailed} revocation(s) failed; see above`);
    });
  drift
    .command('runs')
    .description('the latest drift runs, newest first')
    .option('--limit <n>', 'how many (default 20)', asCount, 20)
    .option('--json', 'one JSON object per line')
    .action(async (opts: { limit: number; json?: boolean }) => {
      const { ctx } = await env.app();
      const runs = await ctx.store.listDriftRuns(opts.limit);
      if (opts.json) return jsonLines(runs.map(driftRunJson));
      if (runs.length === 0) return void (await io.out('no drift runs yet\n'));
      await io.out(table([['RUN', 'TRIGGER', 'STARTED', 'STATE', 'LISTED', 'NO GRANT', 'MISSING', 'REVOKED', ''], ...runs.map(driftRunRow)]));
    });
  drift
    .command('show')
    .description('one drift run with its findings')
    .argument('<run>', 'run number', asRunId)
    .option('--json', 'as JSON')
    .action(async (id: number, opts: { json?: boolean }) => {
      const { ctx } = await env.app();
      const run = await ctx.store.driftRun(id);
      if (!run) throw new CliExit(EXIT_REFUSED, `There is no drift run ${id}.`);
      await io.out(opts.json ? `${JSON.stringify(driftRunJson(run), null, 2)}\n` : describeDriftRun(run));
    });

  program
    .command('roles')
    .description('the roles in the policy in force; with --as, only those that person may request (like /prod-access roles)')
    .addOption(new Option('--as <email>', 'only the roles this person may request').argParser(asEmail))
    .option('--json', 'one JSON object per line')
    .action(async (opts: { as?: Email; json?: boolean }) => {
      const { ctx } = await env.app();
      const policy = ctx.policy.current().policy;
      // NB: a read, not a decision: --as only narrows the list, so it may be left out.
      const roles = opts.as ? requestableRoles(policy, opts.as) : [...policy.roles.values()];
      if (opts.json) return jsonLines(roles.map(roleJson));
      if (roles.length === 0 && opts.as) return void (await io.out(`No role in the policy lists ${opts.as} as a requester. Ask your security team.\n`));
      const rows = roles.map((r) => [
        r.name,
        formatDuration(r.maxDuration),
        formatDuration(r.defaultDuration),
        String(r.approvals),
        r.ticket.example ?? r.ticket.pattern.source,
        r.breakGlass.allowed ? `yes, review within ${formatDuration(r.breakGlass.reviewWithin)}` : 'no',
        r.cli ? 'yes' : 'no',
        r.description,
      ]);
      await io.out(table([['ROLE', 'MAX', 'DEFAULT', 'APPROVALS', 'TICKET', 'BREAK-GLASS', 'CLI DECISIONS', 'DESCRIPTION'], ...rows]));
    });

  program
    .command('list')
    .description('your own requests, newest first (like /prod-access list)')
    .addOption(asOption())
    .option('--json', 'one JSON object per line')
    .action(async (opts: { as: Email; json?: boolean }) => {
      const { ctx } = await env.app();
      const mine = await listMyRequests(ctx, opts.as);
      if (opts.json) return jsonLines(mine.map(requestJson));
      if (mine.length === 0) return void (await io.out(`You have no requests yet. ${toPlainText(cliNextStep(opts.as)('roles'))}\n`));
      const rows = mine.map((r) => [r.id, r.kind === 'extension' ? `extension of ${r.parentId ?? '?'}` : r.role, r.state + (r.breakGlass ? ' (break-glass)' : ''), requestWhen(r), r.ticket, r.reason]);
      await io.out(table([['ID', 'ROLE', 'STATE', 'WHEN', 'TICKET', 'REASON'], ...rows]));
    });

  program
    .command('pending')
    .description('requests waiting for your approval: pending, not yours, on a role you approve, not yet approved by you (like the App Home)')
    .addOption(asOption())
    .option('--json', 'one JSON object per line')
    .action(async (opts: { as: Email; json?: boolean }) => {
      const { ctx } = await env.app();
      // NB: no platform groups here: an approver only through a Slack user group approves in Slack, and sees it there.
      const waiting = await listAwaitingMyApproval(ctx, opts.as);
      if (opts.json) return jsonLines(waiting.map(requestJson));
      if (waiting.length === 0) return void (await io.out('Nothing waits for your approval.\n'));
      const rows = waiting.map((r) => [
        r.id,
        r.requester,
        r.kind === 'extension' ? `${r.role} (extension of ${r.parentId ?? '?'})` : r.role,
        formatDuration(r.duration),
        requestWhen(r),
        r.ticket,
        r.reason,
      ]);
      await io.out(table([['ID', 'REQUESTER', 'ROLE', 'DURATION', 'WAITING', 'TICKET', 'REASON'], ...rows]));
    });

  program
    .command('request')
    .description('ask for a role, like /prod-access in chat; prints the new request id on its last line')
    .argument('<role>', 'role name from the policy')
    .argument('<duration>', 'how long, like 30m, 2h or 1d')
    .argument('<ticket>', 'ticket id, like OPS-123')
    .argument('<reason...>', 'why you need access')
    .addOption(asOption())
    .option('--break-glass', 'emergency access granted at once and reviewed after the fact (where the policy allows it, and allows CLI decisions by your OS user)')
    .action(async (role: string, duration: string, ticket: string, reason: string[], opts: { as: Email; breakGlass?: boolean }) => {
      const { ctx } = await env.app();
      const input = { requester: opts.as, role, duration, ticket, reason: reason.join(' '), breakGlass: opts.breakGlass === true };
      await done(await requestAccess(ctx, input, origin), opts.as, (r) => `${line(openedText(r))}${r.id}\n`);
    });

  program
    .command('approve')
    .description('approve a request (you must be one of its approvers, never its requester; the role must allow CLI decisions by your OS user)')
    .argument('<id>', 'request id', asRequestId)
    .addOption(asOption())
    .action(async (id: RequestId, opts: { as: Email }) => {
      const { ctx } = await env.app();
      await done(await approveRequest(ctx, id, opts.as, origin), opts.as, async (r, changed) => line(await approvalText(ctx, r, changed, opts.as)));
    });

  program
    .command('deny')
    .description('deny a pending request, with a reason for the requester (the role must allow CLI decisions by your OS user)')
    .argument('<id>', 'request id', asRequestId)
    .requiredOption('--reason <text>', 'why (shown to the requester)')
    .addOption(asOption())
    .action(async (id: RequestId, opts: { as: Email; reason: string }) => {
      const { ctx } = await env.app();
      await done(await denyRequest(ctx, id, opts.as, opts.reason, origin), opts.as, (r, changed) => `${r.id} ${changed ? 'denied' : 'was already denied by you'}\n`);
    });

  program
    .command('cancel')
    .description('withdraw your own pending request')
    .argument('<id>', 'request id', asRequestId)
    .addOption(asOption())
    .action(async (id: RequestId, opts: { as: Email }) => {
      const { ctx } = await env.app();
      await done(await cancelRequest(ctx, id, opts.as, origin), opts.as, (r, changed) => line(cancelText(r, changed)));
    });

  program
    .command('extend')
    .description('ask for more time on live access (approved like a request)')
    .argument('<id>', 'request id of the live access', asRequestId)
    .argument('<duration>', 'how much longer, like 30m or 1h')
    .argument('<reason...>', 'why')
    .addOption(asOption())
    .action(async (id: RequestId, duration: string, reason: string[], opts: { as: Email }) => {
      const { ctx } = await env.app();
      await done(await extendAccess(ctx, id, { requester: opts.as, duration, reason: reason.join(' ') }, origin), opts.as, (r) => `${line(extensionOpenedText(r))}${r.id}\n`);
    });

  program
    .command('revoke')
    .description('give access back early (the requester; or an approver of the role or an admin, where the role allows CLI decisions by your OS user)')
    .argument('<id>', 'request id', asRequestId)
    .addOption(asOption())
    .action(async (id: RequestId, opts: { as: Email }) => {
      const { ctx } = await env.app();
      const outcome = await revokeAccess(ctx, id, opts.as, 'revoked_early', origin).catch((error: unknown) => {
        if (error instanceof ProviderError) throw new CliExit(EXIT_FAILED, describeRevocationFailure(id, error));
        throw error;
      });
      await done(outcome, opts.as, (r, changed) => line(revokeText(r, changed)));
    });

  return program;
}

/** Reads and validates a policy file (default: POLICY_FILE); a refusal lists every problem. */
async function readPolicyFile(file: string | undefined, knownProviders: readonly string[]): Promise<{ path: string; loaded: LoadedPolicy }> {
  const path = file ?? process.env.POLICY_FILE ?? 'manifests/policy.example.yaml';
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CliExit(EXIT_REFUSED, `${path}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const parsed = parsePolicy(text, knownProviders);
  if (!parsed.ok) throw new CliExit(EXIT_REFUSED, `${path} is invalid:\n${parsed.errors.map((e) => `  - ${e}`).join('\n')}`);
  return { path, loaded: parsed.loaded };
}

async function verifyFile(file: string, head: { seq: number; hash: string } | undefined, onProgress: (verified: number) => void) {
  try {
    const reader = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
    return await verifyExportLines(reader, head, onProgress);
  } catch (error) {
    throw new CliExit(EXIT_REFUSED, `${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** Columns padded to their widest cell; cells are shown `printable` (alerts and drift carry providers' words). */
function table(cells: readonly (readonly string[])[]): string {
  const rows = cells.map((r) => r.map(printable));
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n') + '\n';
}
