// A stand-in for VS Code's built-in GitHub sign-in, which needs github.com: it hands out one
// session whose access token is the fake GitHub's (DELEGATE_TEST_GITHUB_TOKEN), through the real
// vscode.authentication API, so the extension under test takes its ordinary sign-in path.
// Plain JavaScript: it is loaded as it is, without a build step.
'use strict';
const vscode = require('vscode');

function activate(context) {
  const token = process.env.DELEGATE_TEST_GITHUB_TOKEN;
  if (!token) {
    console.error('[fake-github-auth] DELEGATE_TEST_GITHUB_TOKEN is not set; not registering a provider');
    return;
  }
  const changed = new vscode.EventEmitter();
  const sessions = [];
  const provider = {
    onDidChangeSessions: changed.event,
    async getSessions() {
      return sessions.slice();
    },
    async createSession(scopes) {
      const session = { id: `fake-${sessions.length + 1}`, accessToken: token, account: { id: 'octo', label: 'octo' }, scopes: [...scopes] };
      sessions.push(session);
      changed.fire({ added: [session], removed: [], changed: [] });
      return session;
    },
    async removeSession(id) {
      const at = sessions.findIndex((s) => s.id === id);
      if (at < 0) return;
      const [removed] = sessions.splice(at, 1);
      changed.fire({ added: [], removed: [removed], changed: [] });
    },
  };
  context.subscriptions.push(changed, vscode.authentication.registerAuthenticationProvider('github', 'GitHub', provider, { supportsMultipleAccounts: false }));
  console.log('[fake-github-auth] registered the github authentication provider');
}

module.exports = { activate, deactivate() {} };
