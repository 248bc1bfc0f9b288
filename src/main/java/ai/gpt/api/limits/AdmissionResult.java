package ai.gpt.api.limits;

import io.vertx.core.http.HttpHeaders;
import java.util.function.BiConsumer;

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

  private static final CharSequence[] REQUEST_HEADERS = headerNames("requests");
  private static final CharSequence[] TOKEN_HEADERS = headerNames("tokens");

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

  /**
   * OpenAI's six {@code x-ratelimit-*} headers (three per limited kind), in a stable order, each given to
   * {@code out} (the response's putHeader: names made once, no map per request).
   */
  public void rateLimitHeaders(BiConsumer<CharSequence, String> out) {
    put(out, REQUEST_HEADERS, requests);
    put(out, TOKEN_HEADERS, tokens);
  }

  private static CharSequence[] headerNames(String kind) {
    return new CharSequence[] {HttpHeaders.createOptimized("x-ratelimit-limit-" + kind),
        HttpHeaders.createOptimized("x-ratelimit-remaining-" + kind),
        HttpHeaders.createOptimized("x-ratelimit-reset-" + kind)};
  }

  private static void put(BiConsumer<CharSequence, String> out, CharSequence[] names, WindowState w) {
    if (w != null) {
      out.accept(names[0], Long.toString(w.limit()));
      out.accept(names[1], Long.toString(w.remaining()));
      out.accept(names[2], w.resetHeader());
    }
  }
}
