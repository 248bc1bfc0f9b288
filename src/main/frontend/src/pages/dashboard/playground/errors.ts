import { ApiError } from "@/lib/api";
import { formatWait } from "@/lib/errors";

export interface ChatFailure {
  title: string;
  message: string;
}

/** What a failed message tells the user: what happened and what to do, from the gateway's OpenAI-shaped error. */
export function describeFailure(err: unknown): ChatFailure {
  if (!(err instanceof ApiError)) {
    return { title: "The answer stopped", message: err instanceof Error ? err.message : String(err) };
  }
  const retry = err.retryAfterSeconds ? ` Retry in ${formatWait(err.retryAfterSeconds)}.` : "";
  switch (err.status) {
    case 0:
      return { title: "Offline", message: err.message };
    case 402:
      return { title: "Not enough credit", message: `${err.message} Add credit in the Billing tab, then send again.` };
    case 403:
      return { title: "Not allowed", message: err.message };
    case 429:
      return { title: "Rate limit reached", message: err.message + (retry || " Wait a moment and retry.") };
    case 503:
      return { title: "Model unavailable", message: err.message + retry };
    default:
      return { title: err.status >= 500 ? "Server problem" : "Request refused", message: err.message };
  }
}
