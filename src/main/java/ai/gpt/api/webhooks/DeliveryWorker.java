package ai.gpt.api.webhooks;

import ai.gpt.api.config.WebhookSettings;
import ai.gpt.api.mail.Mailer;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The webhook loop of one replica (every replica runs one): batch the outbox into messages, claim due messages,
 * send them, record each attempt. Claims are leases: the claim moves the message's next_attempt_at past
 * WEBHOOK_LEASE_MS, so replicas never send the same message at once, and a message whose replica died mid-attempt
 * becomes due again when the lease ends and is sent by whoever claims it next, with the same webhook-id.
 * Results are recorded only by the lease holder (same attempt number), so a late answer cannot undo a newer one.
 * At-least-once: a replica killed after the receiver answered but before recording it sends the message again.
 */
public final class DeliveryWorker extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(DeliveryWorker.class);
  private static final long RETENTION_INTERVAL_MS = 3_600_000;
  private static final int RETENTION_CHUNK = 10_000;
  private static final long STOP_WAIT_MS = 4_000;

  private static final String CLAIM = """
      UPDATE webhook_deliveries d
      SET attempts = d.attempts + 1, next_attempt_at = now() + $2 * interval '1 millisecond', leased_by = $3,
          last_attempt_at = now()
      FROM (SELECT d2.id FROM webhook_deliveries d2
            JOIN webhook_endpoints e2 ON e2.id = d2.endpoint_id AND e2.enabled
            WHERE d2.status = 'pending' AND d2.next_attempt_at <= now()
            ORDER BY d2.next_attempt_at LIMIT $1 FOR UPDATE OF d2 SKIP LOCKED) due,
           webhook_endpoints e
      WHERE d.id = due.id AND e.id = d.endpoint_id
      RETURNING d.id, d.message_id, d.payload, d.attempts, e.id AS endpoint_id, e.url, e.secret, e.previous_secret,
                e.previous_expires_at""";
  private static final String RECORD = """
      UPDATE webhook_deliveries SET
        status = CASE WHEN $3 THEN 'delivered'
                      WHEN now() + $4 * interval '1 millisecond' > retry_until THEN 'failed' ELSE 'pending' END,
        next_attempt_at = CASE WHEN $3 OR next_attempt_at = 'infinity' THEN next_attempt_at -- parked meanwhile
                               ELSE now() + $4 * interval '1 millisecond' END,
        finished_at = CASE WHEN $3 OR now() + $4 * interval '1 millisecond' > retry_until THEN now() END,
        leased_by = NULL, last_status = $5, last_latency_ms = $6, last_response = $7, last_error = $8
      WHERE id = $1 AND attempts = $2 AND status = 'pending'""";
  private static final String PURGE = """
      DELETE FROM webhook_deliveries WHERE id IN (
        SELECT id FROM webhook_deliveries WHERE status <> 'pending'
          AND finished_at < now() - $1 * interval '1 day' LIMIT $2)""";

  private final Pool pool;
  private final EndpointStore store;
  private final WebhookSettings settings;
  private final String replica;
  private final Mailer mailer;
  private final String publicUrl;
  private Sender sender;
  private Resolver resolver;
  private OutboxBatcher batcher;
  private Backoff backoff;
  private EndpointHealth health;
  private final List<Long> timers = new ArrayList<>();
  private long tickTimer = -1;
  private int inFlight;
  private boolean stopping;
  private volatile long delivered;
  private volatile long failedAttempts;

  public DeliveryWorker(Pool pool, EndpointStore store, WebhookSettings settings, String replica, Mailer mailer,
      String publicUrl) {
    this.pool = pool;
    this.store = store;
    this.settings = settings;
    this.replica = replica;
    this.mailer = mailer;
    this.publicUrl = publicUrl;
  }

  @Override
  public Future<?> start() {
    sender = new Sender(vertx, settings.concurrency(), WebhookTrust.options(settings.caFile()));
    resolver = new Resolver(vertx, settings.allowLoopback());
    batcher = new OutboxBatcher(pool, settings.giveUpAfterMs());
    backoff = new Backoff(settings.retryBaseMs(), settings.retryMaxMs());
    health = new EndpointHealth(pool, mailer, settings.disableAfterMs(), publicUrl);
    timers.add(vertx.setPeriodic(60_000, RETENTION_INTERVAL_MS, id -> purge()
        .onFailure(err -> LOG.warn("Deleting old webhook deliveries failed: {}", err.toString()))));
    tick();
    return Future.succeededFuture();
  }

  /** Messages this worker has delivered since it started (tests and the benchmark). */
  public long delivered() {
    return delivered;
  }

  /** Attempts that did not deliver (refused address, timeout, non-2xx) since it started; each is retried or failed. */
  public long failedAttempts() {
    return failedAttempts;
  }

  /** Batch, then claim what the free slots can take; again at once when there was more, else after the poll. */
  private void tick() {
    tickTimer = -1;
    if (stopping) {
      return;
    }
    batcher.run()
        .recover(err -> {
          LOG.warn("Webhook batching failed (retrying): {}", err.toString());
          return Future.succeededFuture(0);
        })
        .compose(scanned -> claim().map(claimed -> scanned >= OutboxBatcher.SCAN || claimed))
        .onComplete(more -> schedule(more.succeeded() && more.result() ? 0 : settings.pollMs()));
  }

  private void schedule(long delayMs) {
    if (!stopping && tickTimer < 0) {
      tickTimer = vertx.setTimer(Math.max(1, delayMs), id -> tick());
    }
  }

  /** True when every free slot got a message (there may be more due). */
  private Future<Boolean> claim() {
    int free = settings.concurrency() - inFlight;
    if (free <= 0) {
      return Future.succeededFuture(false);
    }
    return pool.preparedQuery(CLAIM).execute(Tuple.of(free, settings.leaseMs(), replica))
        .map(rows -> {
          rows.forEach(this::deliver);
          return rows.size() == free;
        })
        .recover(err -> {
          LOG.warn("Claiming webhook deliveries failed (retrying): {}", err.toString());
          return Future.succeededFuture(false);
        });
  }

  private void deliver(Row m) {
    inFlight++;
    long id = m.getLong("id");
    int attempt = m.getInteger("attempts");
    long endpointId = m.getLong("endpoint_id");
    attempt(m, endpointId)
        .compose(result -> record(id, attempt, endpointId, result))
        .onFailure(err -> LOG.warn("Recording webhook delivery {} failed (its lease will expire and it will be "
            + "retried): {}", m.getString("message_id"), err.toString()))
        .onComplete(done -> {
          inFlight--;
          schedule(0); // a slot is free
        });
  }

  private Future<Sender.Attempt> attempt(Row m, long endpointId) {
    Destination to;
    List<String> secrets;
    try {
      to = Destination.parse(m.getString("url"), settings.allowLoopback());
      secrets = store.signingSecrets(endpointId, m.getBuffer("secret"), m.getBuffer("previous_secret"),
          m.getOffsetDateTime("previous_expires_at"));
    } catch (RuntimeException e) {
      return Future.succeededFuture(new Sender.Attempt(0, 0, null, "refused: " + e.getMessage()));
    }
    return resolver.address(to)
        .compose(address -> sender.send(to, address, m.getString("message_id"), m.getString("payload"), secrets))
        .recover(err -> Future.succeededFuture(new Sender.Attempt(0, 0, null,
            (err instanceof Resolver.Refused ? "refused: " : "") + err.getMessage())));
  }

  private Future<Void> record(long id, int attempt, long endpointId, Sender.Attempt result) {
    boolean ok = result.delivered();
    long delay = ok ? 0 : backoff.delayMs(attempt);
    String error = ok ? null : result.error() != null ? result.error() : "HTTP " + result.status();
    return pool.preparedQuery(RECORD).execute(Tuple.of(id, attempt, ok, delay,
            result.status() == 0 ? null : result.status(), (int) Math.min(result.latencyMs(), Integer.MAX_VALUE),
            result.excerpt(), error))
        .compose(rows -> {
          if (ok) {
            delivered++;
          } else {
            failedAttempts++;
          }
          return rows.rowCount() == 0 ? Future.succeededFuture() // lease lost: the newer attempt records
              : ok ? health.succeeded(endpointId) : health.failed(endpointId, error);
        });
  }

  /** Deletes delivered and failed messages older than WEBHOOK_RETENTION_DAYS, in chunks; the number deleted. */
  Future<Long> purge() {
    return pool.preparedQuery(PURGE).execute(Tuple.of(settings.retentionDays(), RETENTION_CHUNK))
        .compose(rows -> rows.rowCount() == RETENTION_CHUNK && !stopping
            ? purge().map(more -> more + RETENTION_CHUNK) : Future.succeededFuture((long) rows.rowCount()));
  }

  /** Stops claiming; waits a little for attempts in flight (one not recorded in time is retried after its lease). */
  @Override
  public Future<?> stop() {
    stopping = true;
    timers.forEach(vertx::cancelTimer);
    if (tickTimer >= 0) {
      vertx.cancelTimer(tickTimer);
    }
    Promise<Void> idle = Promise.promise();
    long deadline = System.currentTimeMillis() + STOP_WAIT_MS;
    vertx.setPeriodic(1, 20, id -> {
      if (inFlight == 0 || System.currentTimeMillis() > deadline) {
        vertx.cancelTimer(id);
        idle.tryComplete();
      }
    });
    return idle.future().compose(v -> sender.close());
  }
}
