package ai.gpt.api.webhooks;

import ai.gpt.api.config.WebhookSettings;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.net.TrustOptions;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeoutException;

/**
 * One HTTP attempt of one message: POST the body with the Standard Webhooks headers to the address {@link Resolver}
 * judged (the TCP connection goes to that IP; Host and TLS SNI and certificate checks use the URL's name). Redirects
 * are not followed (a 3xx is a failed attempt), the whole attempt has {@link WebhookSettings#TIMEOUT_MS}, and at
 * most {@link #RESPONSE_CAP} bytes of the answer are read: a receiver cannot hold a worker or fill its memory.
 */
final class Sender {
  static final int RESPONSE_CAP = 4096;
  private static final String USER_AGENT = "GPT-API-Webhooks/1";

  private final Vertx vertx;
  private final HttpClient client;
  /**
   * For URLs naming an IPv6 address: TLS SNI carries host names only (RFC 6066), and forcing it with an IPv6
   * literal makes the JDK refuse the handshake before it starts, so every delivery to such a URL failed.
   */
  private final HttpClient ipv6Client;

  /** {@code trust}: the certificates https deliveries accept ({@link WebhookTrust}); null for the system CAs. */
  Sender(Vertx vertx, int concurrency, TrustOptions trust) {
    this.vertx = vertx;
    this.client = vertx.createHttpClient(new HttpClientOptions()
            .setConnectTimeout((int) WebhookSettings.TIMEOUT_MS).setKeepAlive(true).setForceSni(true)
            .setVerifyHost(true).setTrustOptions(trust),
        new PoolOptions().setHttp1MaxSize(Math.min(concurrency, 16)));
    this.ipv6Client = vertx.createHttpClient(new HttpClientOptions()
            .setConnectTimeout((int) WebhookSettings.TIMEOUT_MS).setKeepAlive(true).setForceSni(false)
            .setVerifyHost(true).setTrustOptions(trust),
        new PoolOptions().setHttp1MaxSize(Math.min(concurrency, 16)));
  }

  /** The outcome of an attempt; {@code status} 0 when no answer came ({@code error} says why). */
  record Attempt(int status, long latencyMs, String excerpt, String error) {
    boolean delivered() {
      return status >= 200 && status < 300;
    }
  }

  Future<Attempt> send(Destination to, InetAddress address, String messageId, String body, List<String> secrets) {
    long start = System.nanoTime();
    long now = Instant.now().getEpochSecond();
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST)
        .setServer(SocketAddress.inetSocketAddress(to.port(), address.getHostAddress()))
        .setHost(to.host()).setPort(to.port()).setSsl(to.https()).setURI(to.requestUri())
        .setFollowRedirects(false)
        .putHeader("content-type", "application/json")
        .putHeader("user-agent", USER_AGENT)
        .putHeader("webhook-id", messageId)
        .putHeader("webhook-timestamp", Long.toString(now))
        .putHeader("webhook-signature", Signatures.header(messageId, now, body, secrets));
    boolean ipv6 = to.host().contains(":");
    if (ipv6) { // the Host header of an IPv6 address is bracketed (RFC 9110); Vert.x writes it bare
      options.putHeader("host", "[" + to.host() + "]:" + to.port());
    }
    HttpClient http = ipv6 ? ipv6Client : client;
    Promise<Attempt> result = Promise.promise();
    long timer = vertx.setTimer(WebhookSettings.TIMEOUT_MS, t -> result.tryFail(new TimeoutException(
        "no complete answer within " + WebhookSettings.TIMEOUT_MS + " ms")));
    http.request(options).onSuccess(request -> {
      result.future().onFailure(err -> request.reset()); // timed out: drop the connection
      request.send(body).onSuccess(response -> read(request, response, start, result)).onFailure(result::tryFail);
    }).onFailure(result::tryFail);
    return result.future()
        .onComplete(done -> vertx.cancelTimer(timer))
        .recover(err -> Future.succeededFuture(new Attempt(0, elapsedMs(start), null, describe(err))));
  }

  /** Reads at most {@link #RESPONSE_CAP} bytes; past that the connection is dropped instead of read to the end. */
  private static void read(HttpClientRequest request, HttpClientResponse response, long start,
      Promise<Attempt> result) {
    Buffer excerpt = Buffer.buffer();
    Runnable finish = () -> result.tryComplete(new Attempt(response.statusCode(), elapsedMs(start), text(excerpt),
        null));
    response.handler(chunk -> {
      excerpt.appendBuffer(chunk, 0, Math.min(chunk.length(), RESPONSE_CAP - excerpt.length()));
      if (excerpt.length() >= RESPONSE_CAP) {
        finish.run();
        request.reset();
      }
    });
    response.endHandler(v -> finish.run());
    response.exceptionHandler(err -> finish.run()); // the status came; a broken body does not undo it
  }

  /** UTF-8 text of the excerpt, without NUL characters (PostgreSQL text cannot hold them). */
  private static String text(Buffer excerpt) {
    return new String(excerpt.getBytes(), StandardCharsets.UTF_8).replace("\u0000", "");
  }

  private static String describe(Throwable err) {
    String message = err.getMessage() == null ? err.getClass().getSimpleName() : err.getMessage();
    return message.length() > 500 ? message.substring(0, 500) : message;
  }

  private static long elapsedMs(long start) {
    return (System.nanoTime() - start) / 1_000_000;
  }

  Future<Void> close() {
    return Future.join(client.close(), ipv6Client.close()).mapEmpty();
  }
}
