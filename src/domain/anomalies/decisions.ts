import type { Email } from '../email';
import type { Decision, DetectionHistory } from './history';

/** The decisions of the history, per person who made them, oldest first. */
export function decisionsByPerson(history: DetectionHistory): Map<Email, Decision[]> {
  const byPerson = new Map<Email, Decision[]>();
  for (const decision of history.decisions) {
    const list = byPerson.get(decision.by);
    if (list) list.push(decision);
    else byPerson.set(decision.by, [decision]);
  }
  for (const list of byPerson.values()) list.sort(byTime);
  return byPerson;
}

/** The decisions behind the `decided` points (new since the last pass), once each, oldest first. */
export function decidedPoints(history: DetectionHistory): Decision[] {
  const wanted = new Set(history.decided.map((d) => `${d.by}\n${d.requestId}`));
  const points = new Map<string, Decision>();
  for (const decision of history.decisions) {
    const key = `${decision.by}\n${decision.request.id}`;
    if (wanted.has(key)) points.set(key, decision);
  }
  return [...points.values()].sort(byTime);
}

/** Decisions in `list` (oldest first) made in (`at` − `windowMs`, `at`]. */
export function decidedWithin(list: readonly Decision[], at: Date, windowMs: number): Decision[] {
  const from = at.getTime() - windowMs;
  return list.filter((d) => d.at.getTime() > from && d.at.getTime() <= at.getTime());
}

function byTime(a: Decision, b: Decision): number {
  return a.at.getTime() - b.at.getTime() || (a.request.id < b.request.id ? -1 : a.request.id > b.request.id ? 1 : 0);
}
