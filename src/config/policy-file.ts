import { readFile, stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { parsePolicy, policySha256, type LoadedPolicy } from '../domain/policy';
import type { PolicySource } from '../ports/policy-source';

export type PolicyLoad = { ok: true; loaded: LoadedPolicy } | { ok: false; errors: string[]; sha256?: string };

/** Reads and validates a policy file; a missing or unreadable file is an error like any other. */
export async function loadPolicyFile(file: string, knownProviders: readonly string[]): Promise<PolicyLoad> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return { ok: false, errors: [`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`] };
  }
  const parsed = parsePolicy(text, knownProviders);
  return parsed.ok ? parsed : { ok: false, errors: parsed.errors, sha256: policySha256(text) };
}

export interface PolicyChangeHandlers {
  /** A valid new policy is about to come into force: record it (it is not yet what `current()` returns). */
  onActivated(loaded: LoadedPolicy): Promise<void>;
  /**
   * The new policy is now what `current()` returns: apply it to what already exists (live grants).
   * Retried at every later check until it succeeds.
   */
  onInForce(loaded: LoadedPolicy): Promise<void>;
  /** A changed file was refused; the previous policy stays in force. */
  onRefused(errors: string[], sha256: string | undefined): Promise<void>;
}

/**
 * The policy in force, reloaded when its file changes. Polls the file's mtime and size (NB:
 * `fs.watch` misses editors that replace the file and ConfigMap symlink swaps; a poll does not),
 * and compares content hashes, so touching the file without changing it does nothing.
 */
export class PolicyFile implements PolicySource {
  private timer: NodeJS.Timeout | undefined;
  private lastStamp = '';
  private lastRefusedSha: string | undefined;
  private checking: Promise<void> = Promise.resolve();
  /** A policy came into force and applying it to live grants has not succeeded yet. */
  private enforcementDue = false;

  private constructor(
    private readonly file: string,
    private readonly knownProviders: readonly string[],
    private loaded: LoadedPolicy,
    private readonly logger: Logger,
  ) {}

  /** Loads the file once; refuses to start on an invalid policy. */
  static async open(file: string, knownProviders: readonly string[], logger: Logger): Promise<PolicyLoad & { source?: PolicyFile }> {
    const first = await loadPolicyFile(file, knownProviders);
    if (!first.ok) return first;
    const source = new PolicyFile(file, knownProviders, first.loaded, logger);
    source.lastStamp = await source.stamp();
    return { ...first, source };
  }

  current(): LoadedPolicy {
    return this.loaded;
  }

  watch(intervalMs: number, handlers: PolicyChangeHandlers): void {
    this.timer = setInterval(() => {
      this.checking = this.checking.then(() => this.check(handlers)).catch((err: unknown) => this.logger.error({ err }, 'policy reload failed'));
    }, intervalMs);
    this.timer.unref();
  }

  /** Checks the file now (also what the timer does). */
  async check(handlers: PolicyChangeHandlers): Promise<void> {
    if (this.enforcementDue) await this.enforce(handlers);
    const stamp = await this.stamp();
    if (stamp === this.lastStamp) return;
    this.lastStamp = stamp;
    const next = await loadPolicyFile(this.file, this.knownProviders);
    if (next.ok) {
      this.lastRefusedSha = undefined;
      if (next.loaded.sha256 === this.loaded.sha256) return;
      // NB: recorded first, then put in force: a policy never governs a decision before the audit
      // log says it came into force. If recording fails, the old policy stays and the next check
      // tries again.
      try {
        await handlers.onActivated(next.loaded);
      } catch (error) {
        this.lastStamp = '';
        throw error;
      }
      this.loaded = next.loaded;
      this.logger.info({ policySha: next.loaded.sha256, file: this.file }, 'policy reloaded');
      // NB: only now, with the new policy in force, can live grants be measured against it.
      this.enforcementDue = true;
      await this.enforce(handlers);
      return;
    }
    if (next.sha256 !== undefined && next.sha256 === this.lastRefusedSha) return;
    this.lastRefusedSha = next.sha256;
    this.logger.error({ errors: next.errors, file: this.file, policySha: this.loaded.sha256 }, 'policy change refused; the previous policy stays in force');
    await handlers.onRefused(next.errors, next.sha256);
  }

  private async enforce(handlers: PolicyChangeHandlers): Promise<void> {
    await handlers.onInForce(this.loaded);
    this.enforcementDue = false;
  }

  stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    return this.checking;
  }

  private async stamp(): Promise<string> {
    try {
      const s = await stat(this.file);
      return `${s.mtimeMs}:${s.size}:${s.ino}`;
    } catch {
      return 'missing';
    }
  }
}
