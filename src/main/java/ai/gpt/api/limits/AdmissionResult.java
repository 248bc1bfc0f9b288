package ai.gpt.api.limits;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The answer of one admission. Whether admitted or not, it carries the tightest request window and the tightest
 * token window for the rate-limit headers (null when that kind is unlimited).
 *
 * @param tripped        the bucket that refused the request (RATE_LIMITED only), else null
 * @param retryAfterMs   when to retry: RATE_LIMITED — until the tripped bucket holds enough, or -1 when it never
 *                       will (the request is larger than the bucket's capacity); CONCURRENCY_LIMITED — the
 *                       configured hint; otherwise -1
 * @param availableMicros balance minus outstanding holds before this request (for the 402 message)
 */
public record AdmissionResult(Outcome outcome, Bucket tripped, long retryAfterMs, WindowState requests,
    WindowState tokens, long availableMicros) {

  public enum Outcome { ADMITTED, RATE_LIMITED, CONCURRENCY_LIMITED, INSUFFICIENT_QUOTA }

  public boolean admitted() {
    return outcome == Outcome.ADMITTED;
  }

  /** The tripped window's name, e.g. {@code "tokens per minute (org)"}; null unless RATE_LIMITED. */
  public String trippedWindow() {
    return tripped == null ? null : tripped.label();
  }

  /** RATE_LIMITED by a request bigger than the window's whole capacity: retrying cannot help. */
  public boolean requestTooLarge() {
    return outcome == Outcome.RATE_LIMITED && retryAfterMs < 0;
  }

  /** OpenAI's six {@code x-ratelimit-*} headers (three per limited kind), in a stable order. */
  public Map<String, String> rateLimitHeaders() {
    Map<String, String> headers = new LinkedHashMap<>();
    put(headers, "requests", requests);
    put(headers, "tokens", tokens);
    return headers;
  }

  private static void put(Map<String, String> headers, String kind, WindowState w) {
    if (w != null) {
      headers.put("x-ratelimit-limit-" + kind, Long.toString(w.limit()));
      headers.put("x-ratelimit-remaining-" + kind, Long.toString(w.remaining()));
      headers.put("x-ratelimit-reset-" + kind, w.resetHeader());
    }
  }
}
