// Pages live in the address's fragment (#/, #/new, #/tasks/ID, #/tasks/ID/review), so the server
// serves one page and the browser's back button moves between them.
import { useEffect, useState } from 'preact/hooks';

export type Route = { page: 'list' } | { page: 'new' } | { page: 'task'; taskId: string; tab: 'timeline' | 'review' };

export function parseRoute(hash: string): Route {
  const m = /^#\/tasks\/([^/]+)(\/review)?$/.exec(hash);
  if (m) return { page: 'task', taskId: decodeURIComponent(m[1]!), tab: m[2] ? 'review' : 'timeline' };
  if (hash === '#/new') return { page: 'new' };
  return { page: 'list' };
}

export function taskHref(taskId: string, tab: 'timeline' | 'review' = 'timeline'): string {
  return `#/tasks/${encodeURIComponent(taskId)}${tab === 'review' ? '/review' : ''}`;
}

export function navigate(href: string): void {
  location.hash = href.slice(1);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
