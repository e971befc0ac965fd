import net from 'node:net';
import pino from 'pino';
import { ConversationPacer } from '../../../../src/adapters/chat/teams/conversation-pacer';
import { CONNECTOR_MAX_ATTEMPTS, retryAfter, TeamsApiError, TeamsConnector } from '../../../../src/adapters/chat/teams/teams-connector';
import { FakeTeams } from '../../../fakes/fake-teams';

const CHANNEL = '19:approvals@thread.tacv2';

describe('TeamsConnector', () => {
  let teams: FakeTeams;
  let waits: number[];
  let connector: TeamsConnector;

  beforeAll(async () => {
    teams = await FakeTeams.start();
    teams.addUser({ id: '29:dave', aadObjectId: 'd0000000-0000-4000-8000-00000000da7e', email: 'dave@example.com' });
    teams.addUser({ id: '29:blocked', aadObjectId: 'b1000000-0000-4000-8000-000000000b10', email: 'blocked@example.com', blocked: true });
  });
  beforeEach(() => {
    waits = [];
    // NB: sleeping only records how long the connector would wait; the tests never wait for real.
    connector = new TeamsConnector(teams.tokenSource(), new ConversationPacer(), { next: () => 0.5 }, pino({ level: 'silent' }), async (ms) => void waits.push(ms));
  });
  afterAll(async () => {
    await teams.close();
  });

  it('sends with the bot’s own token and returns the new activity’s id', async () => {
    const id = await connector.send(teams.serviceUrl, CHANNEL, { type: 'message', text: 'hello' });
    const call = await teams.waitFor('send', (c) => c.activityId === id);
    expect(call.token).toMatch(/^bot-/);
    expect(teams.callsOf('token').filter((c) => c.status === 200).length).toBeGreaterThan(0);
  });

  it('waits as long as a 429 asks (Retry-After), with a little jitter, then succeeds', async () => {
    teams.failNext('send', { status: 429, retryAfter: 3 });
    await connector.send(teams.serviceUrl, CHANNEL, { type: 'message', text: 'after 429' });
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThanOrEqual(3_000);
    expect(waits[0]).toBeLessThan(3_300);
  });

  it.each([412, 502, 503, 504])('retries %i with backoff, and the update goes through', async (status) => {
    teams.failNext('update', { status });
    teams.failNext('update', { status });
    await connector.update(teams.serviceUrl, CHANNEL, 'act-1', { type: 'message', text: 'updated' });
    // NB: equal jitter fixed at the middle: 3/4 of 0.5 s, then of 1 s.
    expect(waits).toEqual([375, 750]);
  });

  it('gives up after its tries with the status and Teams’ error code, for the notice pipeline to retry later', async () => {
    for (let i = 0; i < CONNECTOR_MAX_ATTEMPTS; i++) teams.failNext('send', { status: 503, code: 'ServiceUnavailable' });
    const failure = connector.send(teams.serviceUrl, CHANNEL, { type: 'message', text: 'lost?' });
    await expect(failure).rejects.toBeInstanceOf(TeamsApiError);
    await expect(failure).rejects.toMatchObject({ status: 503, code: 'ServiceUnavailable' });
    expect(waits).toHaveLength(CONNECTOR_MAX_ATTEMPTS - 1);
  });

  it('does not retry what retrying cannot fix (403 MessageWritesBlocked)', async () => {
    const chat = teams.personalChatOf('29:blocked');
    await expect(connector.send(teams.serviceUrl, chat, { type: 'message', text: 'hi' })).rejects.toMatchObject({ status: 403, code: 'MessageWritesBlocked' });
    expect(waits).toEqual([]);
  });

  it('looks members up, and answers undefined for one Teams does not know', async () => {
    expect(await connector.member(teams.serviceUrl, teams.personalChatOf('29:dave'), '29:dave')).toMatchObject({ id: '29:dave', aadObjectId: 'd0000000-0000-4000-8000-00000000da7e', email: 'dave@example.com', userRole: 'user', tenantId: teams.tenantId });
    expect(await connector.member(teams.serviceUrl, teams.personalChatOf('29:dave'), '29:nobody')).toBeUndefined();
  });

  it('opens a 1:1 chat in the person’s tenant, as the bot', async () => {
    expect(await connector.openPersonalChat(teams.serviceUrl, '28:bot', '29:dave', teams.tenantId)).toBe(teams.personalChatOf('29:dave'));
    const call = await teams.waitFor('createConversation', (c) => c.userId === '29:dave');
    expect(call.body).toMatchObject({ isGroup: false, bot: { id: '28:bot' }, members: [{ id: '29:dave' }], tenantId: teams.tenantId, channelData: { tenant: { id: teams.tenantId } } });
  });

  it('reads a team’s channels and its whole roster, page after page', async () => {
    teams.addTeam('19:team@thread.tacv2', ['19:a@thread.tacv2', '19:b@thread.tacv2'], ['29:dave', '29:blocked', '29:dave']);
    expect(await connector.teamChannels(teams.serviceUrl, '19:team@thread.tacv2')).toEqual(['19:team@thread.tacv2', '19:a@thread.tacv2', '19:b@thread.tacv2']);
    expect((await connector.teamMembers(teams.serviceUrl, '19:team@thread.tacv2')).map((m) => m.id)).toEqual(['29:dave', '29:blocked', '29:dave']);
  });

  it('retries when the Bot Connector does not answer at all, and says so', async () => {
    const closed = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    await expect(connector.send(`http://127.0.0.1:${closed}/teams/`, CHANNEL, { type: 'message' })).rejects.toMatchObject({ status: 0, message: expect.stringMatching(/no answer \(ECONNREFUSED\).*after 5 tries/) });
    expect(waits).toHaveLength(CONNECTOR_MAX_ATTEMPTS - 1);
  });

  it('does not retry a call the SDK refuses before sending it', async () => {
    await expect(connector.member(teams.serviceUrl, CHANNEL, '')).rejects.toMatchObject({ status: -1 });
    expect(waits).toEqual([]);
  });

  it('says when the bot cannot get its own token', async () => {
    const wrong = new TeamsConnector(teams.tokenSource(teams.appId, 'not-the-secret'), new ConversationPacer(), { next: () => 0.5 }, pino({ level: 'silent' }), async () => undefined);
    await expect(wrong.send(teams.serviceUrl, CHANNEL, { type: 'message' })).rejects.toThrow(/could not get the bot's token from Microsoft Entra ID/);
  });
});

describe('retryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(retryAfter('2')).toBe(2_000);
    expect(retryAfter('Wed, 21 Oct 2015 07:28:05 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(5_000);
    expect(retryAfter(null)).toBeUndefined();
    expect(retryAfter('soon')).toBeUndefined();
  });
});
