import type { Logger } from 'pino';
import type { AccessStore } from '../ports/access-store';
import type { Clock } from '../ports/clock';
import type { IamProviders } from '../ports/iam-provider';
import type { IdGenerator } from '../ports/id-generator';
import type { PolicySource } from '../ports/policy-source';
import type { WorkSettings } from './work-settings';

/** What every use case needs: ports only, wired by `main.ts` (or by a test). */
export interface AppContext {
  readonly store: AccessStore;
  readonly iam: IamProviders;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly policy: PolicySource;
  readonly logger: Logger;
  /** Leases, retry limits and notice timing for the work replicas share. */
  readonly work: WorkSettings;
}
