import { useCallback, useEffect, useState } from "react";
import { describeError } from "./api/errors";

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
  reload(): void;
}

/** Loads once per change of `deps`, keeps the last data while reloading, reports errors as sentences. */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const [loading, setLoading] = useState(true);
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    let current = true;
    setLoading(true);
    load().then(
      (value) => {
        if (!current) return;
        setData(value);
        setError(undefined);
        setLoading(false);
      },
      (err: unknown) => {
        if (!current) return;
        setError(describeError(err));
        setLoading(false);
      },
    );
    return () => {
      current = false;
    };
    // `load` is a new closure every render; `deps` says when it means something new.
  }, [...deps, generation]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { data, error, loading, reload };
}

/** The current time, ticking every `intervalMs` (for countdowns). */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(id);
  }, [intervalMs]);
  return now;
}

/** Runs an action, tracking whether it is running and its outcome message. */
export function useAction(): {
  busy: boolean;
  run: (action: () => Promise<string | void>) => Promise<boolean>;
  message: { kind: "success" | "error"; text: string } | undefined;
  clear(): void;
} {
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ kind: "success" | "error"; text: string }>();
  const run = useCallback(async (action: () => Promise<string | void>) => {
    setBusy(true);
    setMessage(undefined);
    try {
      const text = await action();
      if (text) setMessage({ kind: "success", text });
      return true;
    } catch (err) {
      setMessage({ kind: "error", text: describeError(err) });
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, run, message, clear: useCallback(() => setMessage(undefined), []) };
}
