package ai.gpt.api.status;

import ai.gpt.api.mail.Mailer;
import ai.gpt.api.webhooks.Backoff;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends the queued status e-mails ({@link IncidentMail}) on every replica, one at a time so a long subscriber list
 * never floods the SMTP server. A claim is a lease: it moves the row's next attempt {@link #LEASE} ahead under
 * {@code FOR UPDATE SKIP LOCKED}, so two replicas never send the same e-mail at once; the row is deleted once SMTP
 * accepted it, by the lease holder only (same attempt number). A failed send is retried after
 * STATUS_MAIL_RETRY_BASE_MS doubling up to an hour (with jitter), for a day, then dropped with a warning. A replica
 * dying between SMTP's acceptance and the delete leaves the row to be sent again when the lease ends: at least once,
 * as SMTP itself is.
 */
public final class IncidentMailer extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(IncidentMailer.class);
  /** Far longer than one send may take ({@link #SEND_TIMEOUT}), so a lease never ends while its e-mail is sent. */
  static final Duration LEASE = Duration.ofMinutes(2);
  private static final Duration SEND_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration GIVE_UP = Duration.ofDays(1);
  private static final long RETRY_MAX_MS = 3_600_000;

  private static final String CLAIM = """
      UPDATE status_mail_outbox o
      SET attempts = o.attempts + 1, next_attempt_at = now() + $1 * interval '1 millisecond', leased_by = $2
      FROM (SELECT id FROM status_mail_outbox WHERE next_attempt_at <= now() ORDER BY next_attempt_at, id
            LIMIT 1 FOR UPDATE SKIP LOCKED) due, status_subscribers s
      WHERE o.id = due.id AND s.id = o.subscriber_id
      RETURNING o.id, o.subscriber_id, s.email, o.subject, o.body, o.attempts, o.created_at""";
  private static final String SENT = "DELETE FROM status_mail_outbox WHERE id = $1 AND attempts = $2";
  private static final String FAILED = "UPDATE status_mail_outbox SET next_attempt_at = now() + $3 * interval"
      + " '1 millisecond', leased_by = NULL, last_error = $4 WHERE id = $1 AND attempts = $2";

  private final Pool pool;
  private final Subscribers subscribers;
  private final Mailer mailer;
  private final String publicUrl;
  private final String replica;
  private final long pollMs;
  private final Backoff backoff;
  private long timer = -1;
  private boolean stopping;

  IncidentMailer(Pool pool, Subscribers subscribers, Mailer mailer, String publicUrl, String replica, long pollMs,
      long retryBaseMs) {
    this.pool = pool;
    this.subscribers = subscribers;
    this.mailer = mailer;
    this.publicUrl = publicUrl;
    this.replica = replica;
    this.pollMs = pollMs;
    this.backoff = new Backoff(retryBaseMs, Math.max(retryBaseMs, RETRY_MAX_MS));
  }

  @Override
  public Future<?> start() {
    schedule(0);
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    if (timer >= 0) {
      vertx.cancelTimer(timer);
    }
    return Future.succeededFuture();
  }

  private void schedule(long delayMs) {
    if (!stopping) {
      timer = vertx.setTimer(Math.max(1, delayMs), id -> next());
    }
  }

  /** Claims and sends one e-mail; at once again while there are due ones, else after the poll interval. */
  private void next() {
    timer = -1;
    pool.preparedQuery(CLAIM).execute(Tuple.of(LEASE.toMillis(), replica))
        .compose(rows -> rows.size() == 0 ? Future.succeededFuture(false)
            : send(rows.iterator().next()).map(true))
        .onComplete(ar -> {
          if (ar.failed()) {
            LOG.warn("Status e-mails: claiming or recording failed (retrying): {}", ar.cause().toString());
          }
          schedule(ar.succeeded() && ar.result() ? 0 : pollMs);
        });
  }

  private Future<Void> send(Row m) {
    long id = m.getLong("id");
    int attempt = m.getInteger("attempts");
    String text = m.getString("body") + "\nTo stop these e-mails: " + publicUrl + "/status/unsubscribe?token="
        + subscribers.unsubscribeToken(m.getLong("subscriber_id")) + "\n";
    return mailer.send(m.getString("email"), m.getString("subject"), text)
        .timeout(SEND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
        .compose(v -> pool.preparedQuery(SENT).execute(Tuple.of(id, attempt)).<Void>mapEmpty(),
            err -> failed(m, id, attempt, err));
  }

  private Future<Void> failed(Row m, long id, int attempt, Throwable err) {
    String error = err.getMessage() == null ? err.getClass().getSimpleName() : err.getMessage();
    error = error.length() > 500 ? error.substring(0, 500) : error;
    if (m.getOffsetDateTime("created_at").toInstant().plus(GIVE_UP).isBefore(Instant.now())) {
      LOG.warn("Status e-mail {} to subscriber {} dropped after {} attempts over a day: {}", id,
          m.getLong("subscriber_id"), attempt, error);
      return pool.preparedQuery(SENT).execute(Tuple.of(id, attempt)).mapEmpty();
    }
    LOG.warn("Status e-mail {} to subscriber {} failed (attempt {}, retried): {}", id, m.getLong("subscriber_id"),
        attempt, error);
    return pool.preparedQuery(FAILED).execute(Tuple.of(id, attempt, backoff.delayMs(attempt), error)).mapEmpty();
  }
}
