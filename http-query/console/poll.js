// @ts-check
/** Polling hooks: a view asks for a path every few seconds while it is shown. */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { getJson } from './api.js';

/**
 * @template T
 * @typedef {{ data: T | undefined, error: Error | undefined, updatedAt: number | undefined, refresh: () => void }} Polled
 */

/**
 * GETs `path` now and every `intervalMs` (the next request waits for the previous answer). `path` null: nothing.
 * Keeps the last good data when a request fails (the error is reported next to it).
 * @template T
 * @param {string | null} path
 * @param {number} intervalMs
 * @returns {Polled<T>}
 */
export function usePoll(path, intervalMs) {
  const [state, setState] = useState(
    /** @type {{ data: T | undefined, error: Error | undefined, updatedAt: number | undefined }} */ ({
      data: undefined,
      error: undefined,
      updatedAt: undefined,
    }),
  );
  const [tick, setTick] = useState(0);
  const refresh = useCallback(() => setTick((n) => n + 1), []);

  useEffect(() => {
    if (path === null) return undefined;
    const controller = new AbortController();
    /** @type {number | undefined} */
    let timer;
    let stopped = false;
    const run = async () => {
      try {
        const data = /** @type {T} */ (await getJson(path, controller.signal));
        if (!stopped) setState({ data, error: undefined, updatedAt: Date.now() });
      } catch (error) {
        if (stopped) return;
        setState((previous) => ({ ...previous, error: error instanceof Error ? error : new Error(String(error)) }));
      }
      if (!stopped) timer = window.setTimeout(run, intervalMs);
    };
    void run();
    return () => {
      stopped = true;
      controller.abort();
      window.clearTimeout(timer);
    };
  }, [path, intervalMs, tick]);

  return { ...state, refresh };
}
