import { runCli } from '../../src/cli/program';
import type { CheckpointSigner } from '../../src/ports/checkpoint-signer';
import type { Harness } from './app-harness';

export interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

export interface InProcessCliOptions {
  /** The OS groups of OS user `tester` (default none). */
  readonly osGroups?: readonly string[];
  /** The audit signing key, as `AUDIT_SIGNING_KEY_FILE` would give it (default none). */
  readonly signer?: CheckpointSigner;
}

/**
 * Runs the CLI in process against a harness, as OS user `tester`, and captures what it prints.
 * Without a harness, a command that opens the database fails the test: it should not need one.
 */
export async function runCliIn(h: Harness | undefined, argv: readonly string[], opts: InProcessCliOptions = {}): Promise<CliRun> {
  let out = '';
  let err = '';
  const { signer } = opts;
  const code = await runCli(argv, {
    io: { out: (t) => void (out += t), err: (t) => void (err += t) },
    app: async () => {
      if (!h) throw new Error('this command should not need the database');
      return { ctx: h.ctx };
    },
    operator: { osUser: 'tester', osUserFrom: 'process', osGroups: [...(opts.osGroups ?? [])] },
    knownProviders: ['local'],
    ...(signer ? { signer: async () => signer } : {}),
  });
  return { code, out, err };
}
