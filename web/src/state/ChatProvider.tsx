// Creates the chat store and its single WebSocket for the signed-in user, and tears both
// down on log-out. Components read state with useChat(selector).

import { createContext, useContext, useEffect, useState, useSyncExternalStore, type ReactNode } from 'react';
import { useAuth } from '../auth/AuthProvider';
import { ApiError } from '../api/errors';
import { config } from '../config';
import { VERIFY_TO_POST, isEmailUnverified } from '../lib/emailVerification';
import { socketTokenIsOlder } from '../lib/tokenExpiry';
import { RealtimeSocket } from '../realtime/socket';
import { ChatStore, type ChatState } from './chatStore';

const ChatContext = createContext<{ store: ChatStore; socket: RealtimeSocket } | null>(null);

export function ChatProvider({ children }: { children: ReactNode }) {
  const { api, user } = useAuth();
  const userId = user?.id;
  const [pair, setPair] = useState<{ store: ChatStore; socket: RealtimeSocket } | null>(null);

  useEffect(() => {
    if (!user) return;
    const store = new ChatStore(user, api);
    const socket = new RealtimeSocket(
      {
        url: config().wsUrl,
        getTicket: async () => (await api.wsTicket()).ticket,
        isAuthLost: (e) => e instanceof ApiError && e.status === 401 && api.token === null,
        // An unverified account under REQUIRE_EMAIL_VERIFICATION: no loop of refused tickets.
        refusal: (e) => (isEmailUnverified(e) ? VERIFY_TO_POST : undefined),
        // After a 4003 close, auth-service says whether this session still exists (a 401
        // there ends in a failed refresh and a cleared session).
        sessionAlive: async () => {
          try {
            await api.me();
            return true;
          } catch (e) {
            if (e instanceof ApiError && e.status === 401) return false;
            throw e;
          }
        },
      },
      {
        onFrame: (f) => {
          // A refresh may have landed while this connection was opening: hand it over now
          // rather than run into a 4001 when the ticket's token expires.
          if (f.type === 'ready' && api.token && socketTokenIsOlder(f.expiresAt, api.tokenExpiresAt)) {
            socket.send({ action: 'refreshToken', token: api.token });
          }
          store.onFrame(f);
        },
        onReady: () => store.onReady(),
        onDown: () => store.onDown(),
        onState: (i) => store.onConnection(i),
        onAuthLost: () => api.clearSession(),
      },
    );
    // Keep the socket's identity fresh: the relay closes with 4001 when the token expires.
    const offSession = api.onSession((s) => {
      if (!s) return;
      socket.send({ action: 'refreshToken', token: s.accessToken });
      // A new token may be a verified one: try once more (refused again, it stops again).
      if (socket.connInfo.refusal) socket.start();
    });
    const onOnline = () => socket.reconnectNow();
    const onVisible = () => {
      if (document.visibilityState === 'visible') {
        store.onVisible();
        socket.reconnectNow();
      }
    };
    window.addEventListener('online', onOnline);
    document.addEventListener('visibilitychange', onVisible);
    store.attach(socket);
    void store.loadRooms();
    // Live messages are not filtered by the server: the block list hides them here.
    void store.loadBlocks();
    setPair({ store, socket });
    return () => {
      offSession();
      window.removeEventListener('online', onOnline);
      document.removeEventListener('visibilitychange', onVisible);
      store.dispose();
      setPair(null);
    };
    // A new store per signed-in user id; username edits keep the store.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, userId]);

  if (!pair) return null;
  return <ChatContext.Provider value={pair}>{children}</ChatContext.Provider>;
}

export function useChatStore(): ChatStore {
  const v = useContext(ChatContext);
  if (!v) throw new Error('useChatStore outside ChatProvider');
  return v.store;
}

export function useSocket(): RealtimeSocket {
  const v = useContext(ChatContext);
  if (!v) throw new Error('useSocket outside ChatProvider');
  return v.socket;
}

export function useChat<T>(select: (s: ChatState) => T): T {
  const store = useChatStore();
  return useSyncExternalStore(store.subscribe, () => select(store.getState()));
}
