import { ApiError } from "@/lib/api";
import { toast } from "@/lib/toasts";

export type FieldErrors = Record<string, string>;

/**
 * Where an API error is shown: on the form field it names (the server's `param`), when the form has that field;
 * otherwise as a red toast (yellow for "wait and retry" answers) that says what to do.
 */
export function routeError(err: unknown, fields: readonly string[] = []): FieldErrors {
  if (err instanceof DOMException && err.name === "AbortError") return {};
  if (err instanceof ApiError) {
    if (err.param && fields.includes(err.param)) {
      return { [err.param]: err.message };
    }
    if (err.status === 429) {
      const wait = err.retryAfterSeconds ? ` Try again in ${formatWait(err.retryAfterSeconds)}.` : "";
      toast("warn", "Slow down", err.message + wait);
      return {};
    }
    toast("bad", titleFor(err), err.message);
    return {};
  }
  toast("bad", "Something went wrong", err instanceof Error ? err.message : String(err));
  return {};
}

function titleFor(err: ApiError): string {
  if (err.status === 0) return "Offline";
  if (err.status === 401) return "Please sign in";
  if (err.status === 403) return "Not allowed";
  if (err.status === 404) return "Not found";
  if (err.status === 402) return "Not enough credit";
  if (err.status >= 500) return "Server problem";
  return "That did not work";
}

export function formatWait(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.ceil(seconds / 60);
  return minutes < 60 ? `${minutes} min` : `${Math.ceil(minutes / 60)} h`;
}
