package ai.gpt.api.webhooks;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SelfSignedCertificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * A webhook receiver on loopback that records every request. How it answers depends on the path: {@code /fail}
 * always 500; {@code /flaky} 503 for the first two requests of each webhook-id, then 200; {@code /hang-once} never
 * answers the first request (the connection stays open); {@code /hang} never answers; {@code /redirect} 302 to
 * {@code /ok}; {@code /big} 200 with a {@link #BIG_BODY}-byte body; anything else 200 with a short body.
 */
final class WebhookReceiver implements AutoCloseable {
  /** One request as received: raw body and the three Standard Webhooks headers. */
  record Received(String path, String id, String timestamp, String signature, String body, String host,
      boolean tls) {
    JsonObject json() {
      return new JsonObject(body);
    }
  }

  static final int BIG_BODY = 1 << 20;
  private final HttpServer server;
  private final String origin;
  final List<Received> received = new CopyOnWriteArrayList<>();
  private final Map<String, AtomicInteger> seen = new ConcurrentHashMap<>();
  private final AtomicInteger hangs = new AtomicInteger();

  private WebhookReceiver(HttpServer server, String origin) {
    this.server = server;
    this.origin = origin;
  }

  static WebhookReceiver start(Vertx vertx) {
    return start(vertx, new HttpServerOptions(), "http://127.0.0.1");
  }

  /** An https receiver at {@code https://localhost:<port>} presenting {@code certificate} (made for "localhost"). */
  static WebhookReceiver startTls(Vertx vertx, SelfSignedCertificate certificate) {
    return start(vertx, new HttpServerOptions().setSsl(true).setKeyCertOptions(certificate.keyCertOptions()),
        "https://localhost");
  }

  private static WebhookReceiver start(Vertx vertx, HttpServerOptions options, String origin) {
    WebhookReceiver[] self = new WebhookReceiver[1];
    HttpServer server = vertx.createHttpServer(options).requestHandler(req -> self[0].handle(req));
    self[0] = new WebhookReceiver(server, origin);
    server.listen(0, "127.0.0.1").await();
    return self[0];
  }

  int port() {
    return server.actualPort();
  }

  String url(String path) {
    return origin + ":" + port() + path;
  }

  private void handle(HttpServerRequest req) {
    req.body().onSuccess(body -> {
      String id = req.getHeader("webhook-id");
      received.add(new Received(req.path(), id, req.getHeader("webhook-timestamp"), req.getHeader("webhook-signature"),
          body.toString(), req.getHeader("host"), req.isSSL()));
      int n = seen.computeIfAbsent(req.path() + " " + id, k -> new AtomicInteger()).incrementAndGet();
      switch (req.path()) {
        case "/fail" -> req.response().setStatusCode(500).end("receiver is down");
        case "/flaky" -> req.response().setStatusCode(n <= 2 ? 503 : 200).end(n <= 2 ? "try later" : "ok");
        case "/hang-once" -> {
          if (hangs.getAndIncrement() > 0) {
            req.response().end("ok");
          }
        }
        case "/hang" -> { } // never answers
        case "/redirect" -> req.response().setStatusCode(302).putHeader("location", url("/ok")).end();
        case "/big" -> req.response().end("x".repeat(BIG_BODY));
        default -> req.response().end("thanks");
      }
    });
  }

  List<Received> matching(Predicate<Received> p) {
    List<Received> out = new ArrayList<>();
    for (Received r : received) {
      if (p.test(r)) {
        out.add(r);
      }
    }
    return out;
  }

  List<Received> ofType(String type) {
    return matching(r -> type.equals(r.json().getString("type")));
  }

  @Override
  public void close() {
    server.close().await();
  }
}
