import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { approveRequest } from '../app/approve-request';
import { cancelRequest } from '../app/cancel-request';
import { denyRequest } from '../app/deny-request';
import { describeFailure, describeRevocationFailure, ProviderError, StoreError } from '../app/errors';
import { exportAuditLog } from '../app/export-audit-log';
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
import type { SetupFinding } from '../adapters/chat/slack/slack-doctor';
import { refusalText } from '../domain/lifecycle/transition';
import { parsePolicy, requestableRoles, type LoadedPolicy, type Policy } from '../domain/policy';
import { toPlainText, type RichText } from '../domain/rich-text';
import { parseEmail, type Email } from '../domain/email';
import { parseRequestId, type RequestId } from '../domain/request-id';
import type { AccessRequest } from '../domain/access-request';
import { formatDuration } from '../domain/duration';
import { quoteInput } from '../domain/text';
import type { AppContext } from '../app/app-context';
import { cliNextStep, describeRequest, requestJson, requestWhen, roleJson, timeLeft } from './format';
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
const asHead = (value: string) => {
  const head = parseHead(value);
  if (!head) throw new InvalidArgumentError(`${quoteInput(value, 90)} is not a head like 42:<64 hex digits>, as printed by \`audit head\`.`);
  return head;
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

  const audit = program.command('audit').description('the tamper-evident audit log');
  audit
    .command('verify')
    .description('recompute the hash chain and name the first broken or missing link')
    .addOption(new Option('--head <seq:hash>', 'also prove this recorded head (from `audit head`) is still in the chain or the export').argParser(asHead))
    .option('--file <export.jsonl>', 'verify an export instead of the database (needs no database)')
    .action(async (opts: { head?: { seq: number; hash: string }; file?: string }) => {
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

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n') + '\n';
}
