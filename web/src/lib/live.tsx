// One WebSocket per session to /api/v1/live (receipts, KKM status changes, notifications of
// the caller's scope). Browsers cannot set headers on a WebSocket, so the token goes as
// ?token=. It reconnects after a drop; screens subscribe to the events they show.
import { createContext } from 'preact';
import type { ComponentChildren } from 'preact';
import { useContext, useEffect, useRef, useState } from 'preact/hooks';

export interface LiveEvent {
  type: 'hello' | 'receipt' | 'document' | 'kkm_status' | 'notification';
  kkmId?: number;
  [field: string]: unknown;
}
type Listener = (e: LiveEvent) => void;

interface Live {
  connected: boolean;
  subscribe(listener: Listener): () => void;
}

const LiveContext = createContext<Live>({ connected: false, subscribe: () => () => {} });

export function LiveProvider({ token, children }: { token: string; children: ComponentChildren }) {
  const listeners = useRef(new Set<Listener>());
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    let socket: WebSocket | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    let delay = 500;
    const open = () => {
      const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
      socket = new WebSocket(
        `${scheme}://${location.host}/api/v1/live?token=${encodeURIComponent(token)}`,
      );
      socket.onmessage = (m) => {
        let event: LiveEvent;
        try {
          event = JSON.parse(String(m.data)) as LiveEvent;
        } catch {
          return;
        }
        if (event.type === 'hello') {
          setConnected(true);
          delay = 500;
        }
        listeners.current.forEach((l) => l(event));
      };
      socket.onclose = (e) => {
        setConnected(false);
        // 4401: the session ended; the next API call takes the user to the login.
        if (stopped || e.code === 4401) return;
        retry = setTimeout(open, delay);
        delay = Math.min(delay * 2, 15_000);
      };
    };
    open();
    return () => {
      stopped = true;
      clearTimeout(retry);
      socket?.close();
    };
  }, [token]);
  // One function for the provider's life, so subscribers do not subscribe again on each render.
  const subscribe = useRef((listener: Listener) => {
    listeners.current.add(listener);
    return () => void listeners.current.delete(listener);
  }).current;
  const value: Live = { connected, subscribe };
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>;
}

/** Calls `onEvent` for every live event while the component is shown. */
export function useLiveEvents(onEvent: Listener): boolean {
  const live = useContext(LiveContext);
  const handler = useRef(onEvent);
  handler.current = onEvent;
  useEffect(() => live.subscribe((e) => handler.current(e)), [live.subscribe]);
  return live.connected;
}
