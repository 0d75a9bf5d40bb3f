import assert from 'node:assert/strict';
import { gitOriginForApi, parseGitHubRemote } from '../../../server/src/github/remote';

const GH = 'https://api.github.com';
const GHE = 'https://ghe.example/api/v3';

describe('github: parseGitHubRemote', () => {
  it('reads https, scp-like and ssh:// remotes on github.com', () => {
    const expected = { owner: 'octo', repo: 'demo', host: 'github.com', httpsUrl: 'https://github.com/octo/demo.git' };
    for (const url of [
      'https://github.com/octo/demo.git',
      'https://github.com/octo/demo',
      'https://github.com/octo/demo/',
      'git@github.com:octo/demo.git',
      'git@github.com:octo/demo',
      'ssh://git@github.com/octo/demo.git',
      'ssh://git@github.com:22/octo/demo.git',
      'git+ssh://git@github.com/octo/demo.git',
      'https://www.github.com/octo/demo.git',
    ]) {
      assert.deepEqual(parseGitHubRemote(url, GH), expected, url);
    }
  });

  it('never keeps credentials from the remote URL', () => {
    const r = parseGitHubRemote('https://user:ghp_secret@github.com/octo/demo.git', GH);
    assert.equal(r?.httpsUrl, 'https://github.com/octo/demo.git');
  });

  it('maps GitHub Enterprise API roots to their git host', () => {
    assert.equal(gitOriginForApi(GHE)?.origin, 'https://ghe.example');
    assert.equal(gitOriginForApi(GH)?.origin, 'https://github.com');
    assert.equal(gitOriginForApi('https://api.acme.ghe.com')?.origin, 'https://acme.ghe.com');
    assert.deepEqual(parseGitHubRemote('git@ghe.example:team/app.git', GHE), { owner: 'team', repo: 'app', host: 'ghe.example', httpsUrl: 'https://ghe.example/team/app.git' });
    assert.equal(parseGitHubRemote('https://github.com/octo/demo.git', GHE), null);
    assert.equal(parseGitHubRemote('https://ghe.example/team/app.git', GH), null);
  });

  it('treats a loopback test host with git and API on one port as GitHub, keeping http and the port', () => {
    const api = 'http://127.0.0.1:4321/api/v3';
    assert.deepEqual(parseGitHubRemote('http://127.0.0.1:4321/octo/demo.git', api), { owner: 'octo', repo: 'demo', host: '127.0.0.1:4321', httpsUrl: 'http://127.0.0.1:4321/octo/demo.git' });
    assert.equal(parseGitHubRemote('git@127.0.0.1:octo/demo.git', api)?.httpsUrl, 'http://127.0.0.1:4321/octo/demo.git');
  });

  it('rejects other hosts, local paths and URLs without owner/repo', () => {
    for (const url of ['https://gitlab.com/octo/demo.git', '/home/me/repo', 'C:\\repo', 'https://github.com/octo', 'https://github.com/octo/demo/tree/main', 'file:///srv/repo.git', 'git@github.com:../demo.git', '']) {
      assert.equal(parseGitHubRemote(url, GH), null, url);
    }
  });
});
