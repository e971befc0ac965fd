/**
 * Identity Center user ids found by e-mail, kept briefly so a burst of requests does not cost a
 * look-up each. Only hits are kept: a person added to the identity store a minute ago must not be
 * refused from a remembered miss. Pure: time comes from the caller.
 */
export class UserIdCache {
  private readonly entries = new Map<string, { userId: string; until: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number,
    private readonly maxEntries = 10_000,
  ) {}

  get(identityStoreId: string, email: string): string | undefined {
    const key = keyOf(identityStoreId, email);
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.until <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.userId;
  }

  set(identityStoreId: string, email: string, userId: string): void {
    if (this.entries.size >= this.maxEntries) {
      // NB: Map keeps insertion order: the oldest entry goes first.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(keyOf(identityStoreId, email), { userId, until: this.now() + this.ttlMs });
  }

  /** Forgets one person (their user id turned out wrong, e.g. the user was deleted and made anew). */
  forget(identityStoreId: string, email: string): void {
    this.entries.delete(keyOf(identityStoreId, email));
  }
}

function keyOf(identityStoreId: string, email: string): string {
  return `${identityStoreId}\n${email}`;
}
