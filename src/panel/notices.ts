// What the prompt editor says above a kept prompt when delegating failed, with the ways forward.
import { readSettings } from '../config';
import { isLoopbackUrl } from '../server/apiClient';
import type { ComposeNotice } from './taskPanel';

export function unreachableNotice(message: string): NonNullable<ComposeNotice> {
  const local = isLoopbackUrl(readSettings().serverUrl);
  return {
    text: `${message}. Your prompt is kept: Retry once the server runs${local ? ', or start it here' : ''}.`,
    actions: local ? ['retry', 'startLocalServer'] : ['retry'],
  };
}
