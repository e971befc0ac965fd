import { SYSTEM_ACTOR } from '../domain/audit-event';
import { bucketDaysFor, digestText, type DigestFigures } from '../domain/digest';
import { digestSchedule, lastFullPeriod, periodKey, recentPeriods, type Period } from '../domain/digest-schedule';
import type { Checkpoint } from '../domain/checkpoint';
import type { PostedDigest } from '../ports/access-store';
import type { CheckpointSigner } from '../ports/checkpoint-signer';
import type { AppContext } from './app-context';
import { stamp, type Origin } from './origin';
import { checkpointData, signCheckpoint } from './sign-checkpoint';

/** A digest posted more than this long after its period ended says it is late. */
export const LATE_AFTER_MS = 5 * 60_000;
/**
 * At most this many missed periods are posted at once (oldest first), after downtime; older ones
 * stay in the log (`prod-access digest --since … --until …` prints any period).
 */
export const MAX_CATCH_UP = 8;

/** Why a key is absent from a posted digest, said in it. */
export const UNSIGNED_NOTE = 'AUDIT_SIGNING_KEY_FILE is not set, so this head is not a signed checkpoint (README, "Signed checkpoints")';

export type PublishOutcome =
  | { readonly published: true; readonly period: string; readonly late: boolean; readonly text: string; readonly checkpoint?: Checkpoint; readonly figures: DigestFigures }
  | { readonly published: false; readonly period: string; readonly already: PostedDigest | undefined };

/** The digest of `period` as it would be posted now, without posting it (`prod-access digest`). */
export async function composeDigest(ctx: AppContext, period: Period): Promise<{ figures: DigestFigures; text: string }> {
  const figures = await ctx.store.digestFigures(period, ctx.clock.now(), bucketDaysFor(period));
  return { figures, text: digestText(figures, { timezone: ctx.policy.current().policy.timezone }) };
}

/**
 * Posts the digest of `period` once: the `digests` row is the claim, and the digest is the
 * `digest_published` audit event written with it (text, head, checkpoint), which the notifiers
 * deliver to the security channel. A period posted already (by another replica, before a restart,
 * from the CLI) is not posted again: `published: false` names when it was. With a signer, the
 * chain's head at the end of the period is signed and stored as a checkpoint in the same transaction.
 * Throws on a period that has not ended: its figures and head are not final.
 */
export async function publishDigest(ctx: AppContext, period: Period, signer: CheckpointSigner | undefined, origin: Origin): Promise<PublishOutcome> {
  const now = ctx.clock.now();
  if (period.until.getTime() > now.getTime()) throw new Error(`bug: the period ${periodKey(period)} has not ended; it cannot be posted`);
  const key = periodKey(period);
  const late = now.getTime() - period.until.getTime() > LATE_AFTER_MS;
  const loaded = ctx.policy.current();
  const outcome = await ctx.store.transaction(async (tx): Promise<PublishOutcome> => {
    if (!(await tx.claimDigest({ period: key, since: period.since, until: period.until, postedAt: now, late }))) {
      return { published: false, period: key, already: undefined };
    }
    const figures = await tx.digestFigures(period, now, bucketDaysFor(period));
    const checkpoint = signer ? signCheckpoint(signer, key, figures.head, now) : undefined;
    if (checkpoint) await tx.recordCheckpoint(checkpoint);
    const text = digestText(figures, {
      timezone: loaded.policy.timezone,
      ...(late ? { lateAt: now } : {}),
      ...(checkpoint ? { checkpoint } : { unsigned: UNSIGNED_NOTE }),
    });
    const data = {
      period: key,
      since: period.since.toISOString(),
      until: period.until.toISOString(),
      late,
      head: figures.head ? { seq: figures.head.seq, hash: figures.head.hash } : null,
      checkpoint: checkpoint ? checkpointData(checkpoint) : null,
      text,
    };
    await tx.appendAudit(stamp([{ action: 'digest_published', actor: SYSTEM_ACTOR, data }], origin, loaded.sha256), now);
    return { published: true, period: key, late, text, figures, ...(checkpoint ? { checkpoint } : {}) };
  });
  if (outcome.published) return outcome;
  return { ...outcome, already: await ctx.store.postedDigest(key) };
}

/**
 * Posts every digest that is due and not posted: the last full period of the policy's schedule and,
 * after downtime, the periods missed since the last digest posted (at most `MAX_CATCH_UP`, oldest
 * first). The first time (no digest ever posted) only the last full period is due, and never a
 * period that ended before the audit log began. Nothing is due when the policy turns the digest off.
 * Safe on any number of replicas at once: each period is claimed by exactly one.
 */
export async function publishDueDigests(ctx: AppContext, signer: CheckpointSigner | undefined, origin: Origin): Promise<PublishOutcome[]> {
  const { policy } = ctx.policy.current();
  if (!policy.detection.digest.enabled) return [];
  const schedule = digestSchedule(policy.detection.digest.schedule, policy.timezone);
  const now = ctx.clock.now();
  const first = await ctx.store.firstAuditAt();
  if (!first) return [];
  const latest = await ctx.store.latestDigestUntil();
  const candidates = latest ? recentPeriods(schedule, now, MAX_CATCH_UP) : [lastFullPeriod(schedule, now)].filter((p) => p !== undefined);
  const due = candidates.filter((p) => p.until.getTime() > first.getTime() && (!latest || p.until.getTime() > latest.getTime()));
  const outcomes: PublishOutcome[] = [];
  for (const period of due) outcomes.push(await publishDigest(ctx, period, signer, origin));
  return outcomes;
}
