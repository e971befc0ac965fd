import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FakeTeams } from '../fakes/fake-teams';
import { repoRoot, startServiceProcess } from '../support/processes';

jest.setTimeout(120_000);

/** The real entry point in its own Node process (no Jest module runtime): agents-hosting's token check as production loads it. */
describe('npm start with Teams configured', () => {
  let dir: string;
  let teams: FakeTeams;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'prod-access-teams-'));
    copyFileSync(path.join(repoRoot, 'manifests/policy.example.yaml'), path.join(dir, 'policy.yaml'));
    teams = await FakeTeams.start();
  });
  afterAll(async () => {
    await teams.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves /api/messages: 401 without a valid token, 200 with one', async () => {
    const service = await startServiceProcess({
      DATA_DIR: path.join(dir, 'data'),
      POLICY_FILE: path.join(dir, 'policy.yaml'),
      MICROSOFT_APP_ID: teams.appId,
      MICROSOFT_APP_PASSWORD: teams.appPassword,
      MICROSOFT_APP_TENANT_ID: teams.tenantId,
      MICROSOFT_AUTHORITY: teams.authority,
    });
    try {
      const url = `http://127.0.0.1:${service.port}/api/messages`;
      const activity = JSON.stringify({ type: 'typing', id: 'typing-1', channelId: 'msteams', serviceUrl: teams.serviceUrl, from: { id: '29:dave' }, recipient: { id: `28:${teams.appId}` }, conversation: { id: 'a:1on1-dave', conversationType: 'personal', tenantId: teams.tenantId } });
      const post = (token?: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: activity });
      expect((await post()).status).toBe(401);
      expect((await post(teams.token({ forged: true }))).status).toBe(401);
      // NB: taken though the bot cannot get a token of its own here (MSAL refuses an http authority):
      // answering Teams does not depend on it.
      expect((await post(teams.token())).status).toBe(200);
      expect(service.output()).toContain("Teams: point the Azure Bot's messaging endpoint at https://<this host>/api/messages");
      expect(service.output()).not.toContain(teams.appPassword);
    } finally {
      expect(await service.stop()).toBe(0);
    }
  });

  it('says loudly that anonymous mode checks no token', async () => {
    const service = await startServiceProcess({ DATA_DIR: path.join(dir, 'data-anonymous'), POLICY_FILE: path.join(dir, 'policy.yaml'), TEAMS_ANONYMOUS: 'true' });
    try {
      const warning = /"level":40.*TEAMS_ANONYMOUS=true: \/api\/messages takes requests WITHOUT checking any token/;
      for (let i = 0; i < 100 && !warning.test(service.output()); i++) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(service.output()).toMatch(warning);
    } finally {
      expect(await service.stop()).toBe(0);
    }
  });
});
