/** The only source of time outside tests' control (STYLE §4). */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
