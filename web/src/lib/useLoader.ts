import { useCallback, useEffect, useRef, useState } from 'react';

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/**
 * Loads `load()` whenever `key` changes, and again every `refreshMs(data)` milliseconds while that answers a
 * number (polling a summary being written, the live rooms). Answers from a superseded key are dropped.
 */
export function useLoader<T>(load: () => Promise<T>, key: string, refreshMs?: (data: T | undefined) => number | null): Loaded<T> {
  const [state, setState] = useState<{ key: string; data?: T; error?: unknown; loading: boolean }>({ key, loading: true });
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  const refreshRef = useRef(refreshMs);
  useEffect(() => {
    loadRef.current = load;
    refreshRef.current = refreshMs;
  });

  useEffect(() => {
    let live = true;
    let timer: number | undefined;
    const settle = (data: T | undefined) => {
      const delay = refreshRef.current?.(data);
      if (live && delay != null) timer = window.setTimeout(() => setTick((t) => t + 1), delay);
    };
    loadRef.current().then(
      (data) => {
        if (!live) return;
        setState({ key, data, loading: false });
        settle(data);
      },
      (error: unknown) => {
        if (!live) return;
        setState((s) => ({ key, data: s.key === key ? s.data : undefined, error, loading: false }));
        settle(undefined);
      },
    );
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [key, tick]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  const current = state.key === key;
  return { data: current ? state.data : undefined, error: current ? state.error : undefined, loading: !current || state.loading, reload };
}
