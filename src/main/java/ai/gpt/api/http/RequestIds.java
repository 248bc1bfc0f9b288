package ai.gpt.api.http;

import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Gives every request an id, returned as {@code x-request-id} and passed to the backend, so one request can
 * be followed through client logs, the access log and llama.cpp. A client-chosen id is kept when it is short
 * and plain, as OpenAI's SDKs and proxies like to set their own.
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
    String id = ctx.request().getHeader(HEADER);
    if (id == null || !id.matches("[A-Za-z0-9._:-]{1,64}")) {
      id = generate();
    }
    ctx.put(KEY, id);
    ctx.response().putHeader(HEADER, id);
    ctx.next();
  }

  static String generate() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    char[] out = new char[4 + 24];
    "req_".getChars(0, 4, out, 0);
    for (int i = 4; i < out.length; i++) {
      out[i] = HEX[r.nextInt(16)];
    }
    return new String(out);
  }
}
