// Opens what the service worker asks for: a click on a notification posts `cloudchat:open`
// with an app path to the window it brought forward (src/sw.ts), which routes there.

import { useEffect } from 'react';
import { useNavigate } from 'react-router-dom';
import { openMessagePath } from '../lib/push';

export function ServiceWorkerLinks() {
  const navigate = useNavigate();
  useEffect(() => {
    const sw = typeof navigator !== 'undefined' ? navigator.serviceWorker : undefined;
    if (!sw) return;
    const onMessage = (e: MessageEvent) => {
      const path = openMessagePath(e.data);
      if (path) navigate(path);
    };
    sw.addEventListener('message', onMessage);
    return () => sw.removeEventListener('message', onMessage);
  }, [navigate]);
  return null;
}
