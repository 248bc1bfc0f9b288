package ai.gpt.api.http;

import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Gives every request an id, returned as {@code x-request-id} and passed to the backend, so one request can
 * be followed through client logs, the access log and llama.cpp. The id is always the gateway's own: usage
 * is settled and billed once per request id, so a client must not be able to choose it (two requests sent
 * with the same header would otherwise be billed once).
 */
public final class RequestIds implements Handler<RoutingContext> {
  public static final String HEADER = "x-request-id";
  private static final String KEY = "requestId";
  private static final char[] HEX = "0123456789abcdef".toCharArray();

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
    ThreadLocalRandom r = ThreadLocalRandom.current();
    char[] out = new char[4 + 24];
    "req_".getChars(0, 4, out, 0);
    for (int i = 4; i < out.length; i++) {
      out[i] = HEX[r.nextInt(16)];
    }
    return new String(out);
  }
}
