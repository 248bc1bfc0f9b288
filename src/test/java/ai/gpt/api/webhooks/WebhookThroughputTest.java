package ai.gpt.api.webhooks;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.gpt.api.account.SecretBox;
import ai.gpt.api.config.WebhookSettings;
import ai.gpt.api.db.Database;
import ai.gpt.api.testing.TestServices;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Measures (prints, does not assert) how many usage.recorded events per second one replica's delivery worker gets
 * into a local receiver that checks every signature. After a warm-up (the JIT), two runs: "drain" (usage rows
 * written while no worker runs, then batched and delivered, timed from the worker's start) and "live" (a writer
 * inserts usage in 500-row statements, as the usage writer does, while the worker delivers; the rate is what
 * arrived during the window). WEBHOOK_BENCH_EVENTS / _ENDPOINTS / _SECONDS change the run. A benchmark, not a
 * check: {@code bash src/bench/webhooks.sh}, or {@code WEBHOOK_BENCH=1 mvn -B test -Dtest=WebhookThroughputTest}.
 */
@EnabledIfEnvironmentVariable(named = "WEBHOOK_BENCH", matches = "1")
@ExtendWith(VertxExtension.class)
class WebhookThroughputTest {
  private static final int STATEMENT_ROWS = 500;
  private static final String INSERT_USAGE = """
      INSERT INTO usage (request_id, org_id, key_id, model, endpoint, prompt_tokens, completion_tokens, cost_micros,
                         status, latency_ms, created_at)
      SELECT $1 || '_' || i, $2[1 + i % array_length($2, 1)], NULL, 'gpt-fast', 'chat.completions', 120, 40,
             80 + i % 50, 200, 300, now()
      FROM generate_series(1, $3) i""";

  @Test
  @Timeout(value = 15, unit = TimeUnit.MINUTES)
  @DisplayName("throughput: usage.recorded events per second delivered to a local receiver (printed)")
  void throughput(Vertx vertx) {
    int events = Integer.parseInt(System.getenv().getOrDefault("WEBHOOK_BENCH_EVENTS", "100000"));
    int endpoints = Integer.parseInt(System.getenv().getOrDefault("WEBHOOK_BENCH_ENDPOINTS", "10"));
    int seconds = Integer.parseInt(System.getenv().getOrDefault("WEBHOOK_BENCH_SECONDS", "20"));
    TestServices.ensureDatabase();
    Pool pool = Database.pool(vertx, TestServices.DATABASE_URL, 8);
    pool.query("TRUNCATE organizations, users, usage, webhook_outbox RESTART IDENTITY CASCADE").execute().await();
    AtomicLong received = new AtomicLong();
    List<String> secrets = new ArrayList<>();
    HttpServer receiver = vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(body -> {
      // A receiver as the README shows it: verify (the path /hook/<n> names the endpoint's secret), then count.
      String raw = body.toString();
      String secret = secrets.get(Integer.parseInt(req.path().substring("/hook/".length())));
      if (!StandardWebhooksVerifier.verify(secret, req.getHeader("webhook-id"), req.getHeader("webhook-timestamp"),
          req.getHeader("webhook-signature"), raw)) {
        req.response().setStatusCode(400).end();
        return;
      }
      received.addAndGet(new JsonObject(raw).getJsonObject("data").getInteger("count"));
      req.response().end();
    })).listen(0, "127.0.0.1").await();

    EndpointStore store = new EndpointStore(pool, new SecretBox(TestServices.SECRETS_KEY));
    Long[] orgs = new Long[endpoints];
    for (int i = 0; i < endpoints; i++) {
      orgs[i] = pool.preparedQuery("INSERT INTO organizations (name) VALUES ($1) RETURNING id")
          .execute(Tuple.of("bench-" + i)).await().iterator().next().getLong(0);
      secrets.add(store.create(orgs[i], "http://127.0.0.1:" + receiver.actualPort() + "/hook/" + i,
          new String[] {EventTypes.USAGE_RECORDED}, "").await().getString("secret"));
    }
    WebhookSettings settings = new WebhookSettings(true, 1_000, 60_000, 3_600_000, 3_600_000, 0, 7, 30_000, 200, 64);

    // Warm-up: the JIT compiles the paths before the measured runs, as in a gateway that has been running.
    String worker = deploy(vertx, pool, store, settings);
    write(pool, orgs, "warm", events / 5);
    awaitReceived(received, events / 5, 300);
    vertx.undeploy(worker).await();
    // Drain: a backlog written while no worker runs; the clock runs from the worker's start to the last event.
    write(pool, orgs, "drain", events);
    long t0 = System.nanoTime();
    worker = deploy(vertx, pool, store, settings);
    awaitReceived(received, events / 5 + events, 300);
    double drainSeconds = (System.nanoTime() - t0) / 1e9;

    // Live: usage statements as fast as one connection writes them, while the same worker delivers.
    long before = received.get();
    long written = 0;
    long liveStart = System.nanoTime();
    long liveEnd = liveStart + seconds * 1_000_000_000L;
    while (System.nanoTime() < liveEnd) {
      pool.preparedQuery(INSERT_USAGE).execute(Tuple.of("live" + written, orgs, STATEMENT_ROWS)).await();
      written += STATEMENT_ROWS;
    }
    double liveSeconds = (System.nanoTime() - liveStart) / 1e9;
    long liveDelivered = received.get() - before;
    awaitReceived(received, before + written, 300);
    double catchUp = (System.nanoTime() - liveEnd) / 1e9;
    vertx.undeploy(worker).await();

    System.out.printf("WEBHOOK THROUGHPUT (%d endpoints, one replica): drain %.0f events/s (%d events in %.2f s, "
            + "after a warm-up); live %.0f events/s delivered while %.0f events/s were written (%d s), "
            + "backlog gone %.2f s after writing stopped%n", endpoints, events / drainSeconds, events, drainSeconds,
        liveDelivered / liveSeconds, written / liveSeconds, seconds, catchUp);
    assertEquals(events / 5 + events + written, received.get(), "every event delivered once");
    receiver.close().await();
    pool.close().await();
  }

  private static String deploy(Vertx vertx, Pool pool, EndpointStore store, WebhookSettings settings) {
    return vertx.deployVerticle(new DeliveryWorker(pool, store, settings, "bench",
        (to, subject, text) -> Future.succeededFuture(), "http://localhost")).await();
  }

  /** Usage rows in 500-row statements, as the usage writer writes them. */
  private static void write(Pool pool, Long[] orgs, String prefix, int events) {
    long start = System.nanoTime();
    for (int done = 0; done < events; done += STATEMENT_ROWS) {
      pool.preparedQuery(INSERT_USAGE).execute(Tuple.of(prefix + done, orgs, Math.min(STATEMENT_ROWS, events - done)))
          .await();
    }
    System.out.printf("  %s: wrote %d usage rows in %.2f s%n", prefix, events, (System.nanoTime() - start) / 1e9);
  }

  private static void awaitReceived(AtomicLong received, long target, int timeoutSeconds) {
    long deadline = System.currentTimeMillis() + timeoutSeconds * 1000L;
    while (received.get() < target) {
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("only " + received.get() + " of " + target + " events arrived");
      }
      try {
        Thread.sleep(20); // test thread
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }
}
