package ai.gpt.api.http;

import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Gives every request an id, returned as {@code x-request-id} and passed to the backend, so one request can
 * be followed through client logs, the access log and llama.cpp. The id is always the gateway's own: usage
 * is settled and billed once per request id, so a client must not be able to choose it (two requests sent
 * with the same header would otherwise be billed once).
 *
 * <p>An id is {@code req_}, the time in milliseconds (12 hex digits), then 80 random bits (20 hex digits). The
 * time first makes ids of one period sort together: PostgreSQL's exactly-once guard (usage_requests' primary key)
 * then inserts every new id at the right edge of its B-tree instead of on a random leaf, which with millions of
 * ids made each insert dirty (and, after every checkpoint, log in full) a page of its own. 80 random bits keep
 * two ids of the same millisecond from colliding, across replicas, for all practical purposes.
 */
public final class RequestIds implements Handler<RoutingContext> {
  public static final String HEADER = "x-request-id";
  private static final String KEY = "requestId";
  private static final char[] HEX = "0123456789abcdef".toCharArray();
  /** 12 hex digits of milliseconds last until the year 10889. */
  private static final int TIME_DIGITS = 12;
  private static final int RANDOM_DIGITS = 20;

  public static RequestIds create() {
    return new RequestIds();
  }

  public static String get(RoutingContext ctx) {
    return ctx.get(KEY);
  }

  @Override
  public void handle(RoutingContext ctx) {
    String id = generate();
    ctx.put(KEY, id);
    ctx.response().putHeader(HEADER, id);
    ctx.next();
  }

  /** A fresh id, for answers given before (or without) this handler running. */
  public static String generate() {
    char[] out = new char[4 + TIME_DIGITS + RANDOM_DIGITS];
    "req_".getChars(0, 4, out, 0);
    hex(System.currentTimeMillis(), out, 4, TIME_DIGITS);
    ThreadLocalRandom r = ThreadLocalRandom.current();
    hex(r.nextLong(), out, 4 + TIME_DIGITS, 16);
    hex(r.nextInt(), out, 4 + TIME_DIGITS + 16, RANDOM_DIGITS - 16);
    return new String(out);
  }

  /** Writes the low {@code digits} hex digits of {@code value} into {@code out} from {@code at}, highest first. */
  private static void hex(long value, char[] out, int at, int digits) {
    for (int i = at + digits - 1; i >= at; i--) {
      out[i] = HEX[(int) (value & 15)];
      value >>>= 4;
    }
  }
}
