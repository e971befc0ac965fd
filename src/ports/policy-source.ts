import type { LoadedPolicy } from '../domain/policy';

/** The policy in force right now (reloaded on change by the config adapter). */
export interface PolicySource {
  current(): LoadedPolicy;
}
