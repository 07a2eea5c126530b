/* global require, exports */
// A test authentication provider for the end-to-end test: `azure-sessions-test-auth` creates one
// session whose access token is FAKE_TOKEN, and records every call (scopes only, never the token)
// in the JSON file named by $AZS_E2E_AUTH_LOG, so that e2e/run.mjs can count how often it was asked.
'use strict';
const fs = require('node:fs');
const vscode = require('vscode');

const PROVIDER_ID = 'azure-sessions-test-auth';
const FAKE_TOKEN = 'e2e-fake-token-123';

exports.activate = function activate(context) {
  const logFile = process.env.AZS_E2E_AUTH_LOG;
  const calls = { activated: new Date().toISOString(), getSessions: [], createSession: [], removeSession: [] };
  const record = () => {
    if (logFile) fs.writeFileSync(logFile, JSON.stringify(calls, null, 2));
  };
  const sessions = [];
  const changed = new vscode.EventEmitter();
  const matches = (session, scopes) => !scopes || scopes.every((s) => session.scopes.includes(s));
  const provider = {
    onDidChangeSessions: changed.event,
    async getSessions(scopes) {
      calls.getSessions.push(scopes ? [...scopes] : null);
      record();
      return sessions.filter((s) => matches(s, scopes));
    },
    async createSession(scopes) {
      calls.createSession.push([...scopes]);
      record();
      const session = {
        id: `e2e-session-${calls.createSession.length}`,
        accessToken: FAKE_TOKEN,
        account: { id: 'e2e-user', label: 'e2e-user@example.test' },
        scopes: [...scopes],
      };
      sessions.push(session);
      changed.fire({ added: [session], removed: [], changed: [] });
      return session;
    },
    async removeSession(id) {
      calls.removeSession.push(id);
      record();
      const i = sessions.findIndex((s) => s.id === id);
      if (i >= 0) changed.fire({ added: [], removed: sessions.splice(i, 1), changed: [] });
    },
  };
  context.subscriptions.push(
    changed,
    vscode.authentication.registerAuthenticationProvider(PROVIDER_ID, 'Azure Sessions Test Auth', provider, {
      supportsMultipleAccounts: false,
    }),
  );
  record();
};

exports.deactivate = function deactivate() {};
