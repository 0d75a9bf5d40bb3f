// What every page gets: the session (API client, state, stream, review decisions) and a hook that
// re-renders on state changes.
import { useEffect, useState } from 'preact/hooks';
import type { KeyValueStore, ReviewState } from '../../src/review/reviewState';
import type { Api } from './api';
import type { Credentials } from './auth';
import type { AppState } from './state';
import type { EventStreamClient } from './stream';

export interface Session {
  api: Api;
  state: AppState;
  credentials: Credentials;
  stream: EventStreamClient;
  /** Per-hunk decisions, the extension's model over this tab's sessionStorage. */
  review: ReviewState;
}

export const sessionStore: KeyValueStore = {
  get: <T,>(key: string): T | undefined => {
    const raw = sessionStorage.getItem(key);
    return raw === null ? undefined : (JSON.parse(raw) as T);
  },
  update: async (key: string, value: unknown) => {
    if (value === undefined) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, JSON.stringify(value));
  },
};

/** Re-renders the caller whenever the state changes. */
export function useAppState(state: AppState): number {
  const [, setVersion] = useState(state.version);
  useEffect(() => state.subscribe(() => setVersion(state.version)), [state]);
  return state.version;
}
