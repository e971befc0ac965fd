/** The fake Slack Web API in a process of its own, so the bench's bot does not pay for Slack's side. */
import { FakeSlack } from '../test/fakes/fake-slack';
import { people } from '../test/support/slack-bot';

async function main(): Promise<void> {
  const slack = await FakeSlack.start();
  for (const person of Object.values(people)) slack.addUser(person);
  process.stdout.write(`FAKE_SLACK_PORT=${slack.port}\n`);
  // NB: calls are recorded by the fake; a bench run sends thousands, so they are dropped as they come.
  setInterval(() => {
    slack.calls.length = 0;
    slack.responses.length = 0;
  }, 1_000).unref();
  process.on('SIGTERM', () => void slack.close().then(() => process.exit(0)));
}

void main();
