/**
 * Run as a child process by fake-azure-process.test.ts: the provider as production builds it
 * (DefaultAzureCredential from the environment, endpoints from the environment), granting once.
 * Prints one JSON line with the outcome.
 */
import pino from 'pino';
import { createAzureIamProvider } from '../../../../src/adapters/iam/azure/azure-iam-provider';
import { email } from '../../../../src/domain/email';
import { parseExactRequestId } from '../../../../src/domain/request-id';

async function main(): Promise<void> {
  const [who, objectId, scope, roleDefinitionId] = process.argv.slice(2);
  const provider = createAzureIamProvider({ env: process.env, resolvePrincipal: () => objectId, logger: pino({ level: 'silent' }) });
  try {
    await provider.grant({
      requestId: parseExactRequestId('7K3M9Q2P')!,
      role: 'prod-reader',
      principal: email(who!),
      provider: 'azure',
      target: { scope: scope!, roleDefinitionId: roleDefinitionId! },
      expiresAt: new Date(Date.now() + 3_600_000),
      reason: 'child process grant',
      ticket: 'INC-1',
    });
    process.stdout.write(`${JSON.stringify({ ok: true })}\n`);
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: String(error) })}\n`);
  } finally {
    await provider.close();
  }
}

void main();
