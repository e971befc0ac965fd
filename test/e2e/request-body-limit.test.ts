import net from 'node:net';
import { MAX_REQUEST_BODY_BYTES } from '../../src/service/http-server';
import { postSigned, slashCommandBody } from '../fakes/slack-signing';
import { people, SIGNING_SECRET, startSlackBot, type SlackBot } from '../support/slack-bot';
import { postJunk } from '../support/junk-body';

jest.setTimeout(60_000);

const MiB = 1024 * 1024;

/** Writes `head` on a raw connection and sends nothing more; resolves with all the server answered once it closes. */
function sendHeadOnly(port: number, head: string): Promise<{ answer: string; sentBody: number }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(head));
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (text: string) => (answer += text));
    socket.on('error', reject);
    socket.on('close', () => resolve({ answer, sentBody: 0 }));
  });
}

/** Streams `total` bytes of junk as a chunked (unsigned) body until the server answers or closes. */
const streamChunked = (url: string, total: number) => postJunk(url, total, { chunked: true });

describe('request bodies on the HTTP server', () => {
  let bot: SlackBot;
  let port: number;

  beforeAll(async () => {
    bot = await startSlackBot();
    port = bot.service.port;
  });
  afterAll(async () => {
    await bot?.stop();
  });

  it('has a limit above what Slack sends and below Bolt’s own 4 MB', () => {
    expect(MAX_REQUEST_BODY_BYTES).toBeGreaterThanOrEqual(256 * 1024);
    expect(MAX_REQUEST_BODY_BYTES).toBeLessThan(MiB);
  });

  it('refuses a body whose Content-Length passes the limit with 413 and closes, before reading any of it', async () => {
    // When a client announces 2 MiB on /slack/events and sends none of it
    const { answer } = await sendHeadOnly(
      port,
      `POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${2 * MiB}\r\n\r\n`,
    );

    // Then the server answers 413 at once (it never waited for the body) and closes the connection
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 413 Payload Too Large');
    expect(answer.toLowerCase()).toContain('connection: close');
  });

  it('refuses a chunked unsigned body once it passes the limit (413), though it is under Bolt’s 4 MB', async () => {
    const { status } = await streamChunked(bot.eventsUrl, MiB);
    expect(status).toBe(413);
  });

  it('stops a 64 MiB chunked body with 413 and closes before the client could send it all', async () => {
    const total = 64 * MiB;
    const { status, sent } = await streamChunked(bot.eventsUrl, total);
    expect(status).toBe(413);
    expect(sent).toBeLessThan(total);
  });

  it('refuses a too-large body announced with Expect: 100-continue without inviting it', async () => {
    const { answer } = await sendHeadOnly(
      port,
      `POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${2 * MiB}\r\nExpect: 100-continue\r\n\r\n`,
    );
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 413 Payload Too Large');
    expect(answer).not.toContain('100 Continue');
  });

  it('still runs a signed command whose body is just under the limit', async () => {
    // Given a signed slash command padded with an extra field to just under the limit
    const key = 'near-limit';
    const command = slashCommandBody({ text: 'help', user_id: people.dave.id, response_url: bot.slack.responseUrl(key) });
    const body = `${command}&padding=${'p'.repeat(MAX_REQUEST_BODY_BYTES - command.length - '&padding='.length)}`;
    expect(Buffer.byteLength(body)).toBe(MAX_REQUEST_BODY_BYTES);

    // When it is sent, then it is acked and answered: the signature was checked over the whole body
    const res = await postSigned(bot.eventsUrl, body, { secret: SIGNING_SECRET });
    expect(res.status).toBe(200);
    const reply = await bot.slack.waitFor('response', (c) => c.args.key === key);
    expect(String(reply.args.text)).toContain('/prod-access');
  });

  it('still refuses a near-limit body with a bad signature (401)', async () => {
    const command = slashCommandBody({ text: 'help', user_id: people.dave.id, response_url: bot.slack.responseUrl('forged-big') });
    const body = `${command}&padding=${'p'.repeat(300 * 1024)}`;
    const res = await postSigned(bot.eventsUrl, body, { secret: 'not-the-secret' });
    expect(res.status).toBe(401);
  });
});
