import type { Refusal } from '../domain/lifecycle/transition';

/**
 * What a use case returns. A refusal is a value with a message for the person; failures
 * (database down, provider error) throw coded errors. `changed: false` means a repeat that
 * wrote nothing (a second click, a redelivery).
 */
export type Outcome<T> = { ok: true; value: T; changed: boolean } | { ok: false; refusal: Refusal };
