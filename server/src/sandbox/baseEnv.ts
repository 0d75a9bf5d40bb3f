// The environment every sandboxed command starts from; ExecOptions.env goes on top.

export const SANDBOX_BASE_ENV: Readonly<Record<string, string>> = {
  PATH: '/usr/local/bin:/usr/bin:/bin',
  HOME: '/tmp',
  LANG: 'C.UTF-8',
  // The mounted git dir belongs to another uid; without this git refuses to work in /workspace.
  // Config from the environment counts as command-line config, which git trusts for this key.
  GIT_CONFIG_COUNT: '1',
  GIT_CONFIG_KEY_0: 'safe.directory',
  GIT_CONFIG_VALUE_0: '*',
};
