import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { REQUIRED_SCOPES } from '../../src/adapters/chat/slack/slack-doctor';

interface Manifest {
  features: { app_home: { home_tab_enabled: boolean; messages_tab_enabled: boolean }; slash_commands: { command: string; should_escape: boolean }[] };
  oauth_config: { scopes: { bot: string[] } };
  settings: { socket_mode_enabled: boolean; interactivity: { is_enabled: boolean }; event_subscriptions: { bot_events: string[] } };
}

describe('manifests/slack.yaml', () => {
  const manifest = parse(readFileSync(path.resolve(__dirname, '../../manifests/slack.yaml'), 'utf8')) as Manifest;

  it('declares the command, interactivity, the Home tab and Socket Mode the bot relies on', () => {
    expect(manifest.features.slash_commands).toEqual([expect.objectContaining({ command: '/prod-access', should_escape: false })]);
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(manifest.features.app_home).toMatchObject({ home_tab_enabled: true, messages_tab_enabled: true });
    expect(manifest.settings.event_subscriptions.bot_events).toEqual(['app_home_opened', 'user_change']);
    expect(manifest.settings.socket_mode_enabled).toBe(true);
  });

  it('asks for the least scopes: exactly those the bot and prod-access doctor call for', () => {
    expect([...manifest.oauth_config.scopes.bot].sort()).toEqual([...REQUIRED_SCOPES].sort());
    expect([...REQUIRED_SCOPES].sort()).toEqual(['channels:read', 'chat:write', 'commands', 'groups:read', 'usergroups:read', 'users:read', 'users:read.email']);
  });
});
