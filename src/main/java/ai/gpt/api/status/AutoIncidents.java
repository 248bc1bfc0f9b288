package ai.gpt.api.status;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Opens, updates and resolves automatic incidents from this replica's samples.
 *
 * <p>Each replica remembers, per subject, since when it has seen it bad (the first bad sample of the current bad
 * streak) and since when good. A subject bad for {@code afterSeconds} gets an incident whose {@code started_at} is
 * that first bad sample, not the time of detection; another replica that saw it bad earlier moves started_at back.
 * While it lasts, an update every {@code updateMinutes}. Good for {@code afterSeconds} again: resolved, with
 * {@code resolved_at} the first good sample; but never while another replica still sees it bad (each stamps the
 * incident's {@code last_bad_at} on every bad sample and on the first good one after them: error rates are seen
 * only where the failing traffic goes).
 * Whatever the number of replicas, there is ONE incident: the decisions
 * run in a transaction holding a PostgreSQL advisory lock (a replica that cannot take it skips its turn), and the
 * unique partial index on the open automatic incident of a subject refuses a second one in any case.
 */
final class AutoIncidents {
  /** pg_advisory_xact_lock key: "gptapi-status" in ASCII, so no other feature picks it by chance. */
  static final long LOCK_KEY = 0x6770746170692d73L;
  private static final String OPEN = "SELECT " + Incidents.COLUMNS + ", (SELECT max(at) FROM incident_updates u"
      + " WHERE u.incident_id = i.id) AS last_update, last_bad_at FROM incidents i WHERE auto_subject IS NOT NULL"
      + " AND resolved_at IS NULL";
  /**
   * Stamps the open incidents of the subjects this replica sees bad, or has just seen recover (no lock needed: it
   * only moves forward).
   */
  private static final String STAMP_BAD = "UPDATE incidents SET last_bad_at = GREATEST(last_bad_at, $2)"
      + " WHERE auto_subject = ANY($1) AND resolved_at IS NULL";

  private static final class Watch {
    Instant badSince;
    Instant goodSince;
    Trouble trouble;
  }

  private final Pool pool;
  private final IncidentMail mail;
  private final Duration after;
  private final Duration updateEvery;
  private final Map<String, Watch> watches = new HashMap<>();

  AutoIncidents(Pool pool, IncidentMail mail, long afterSeconds, long updateMinutes) {
    this.pool = pool;
    this.mail = mail;
    this.after = Duration.ofSeconds(afterSeconds);
    this.updateEvery = Duration.ofMinutes(updateMinutes);
  }

  /** Takes a sample into account and acts on it; called from one context, one sample at a time. */
  Future<Void> observe(LiveSample sample) {
    Instant at = sample.at();
    sample.troubles().forEach((subject, trouble) -> {
      Watch w = watches.computeIfAbsent(subject, s -> new Watch());
      if (w.badSince == null) {
        // The first bad sample, or earlier when the trouble knows it began earlier (a writer falling behind is
        // seen only once its oldest waiting event is older than the threshold).
        w.badSince = trouble.since() != null && trouble.since().isBefore(at) ? trouble.since() : at;
      }
      w.goodSince = null;
      w.trouble = trouble;
    });
    // Stamped: the subjects seen bad now, and those seen good for the first time since (the end of a bad streak is
    // its first good sample, so the last bad sample, which may precede the recovery, never dates it).
    List<String> stamped = new ArrayList<>(sample.troubles().keySet());
    for (Map.Entry<String, Watch> e : watches.entrySet()) {
      if (!sample.troubles().containsKey(e.getKey()) && e.getValue().goodSince == null) {
        e.getValue().goodSince = at;
        e.getValue().badSince = null;
        stamped.add(e.getKey());
      }
    }
    String[] bad = stamped.toArray(String[]::new);
    return pool.withTransaction(tx -> (bad.length == 0 ? Future.succeededFuture()
            : tx.preparedQuery(STAMP_BAD).execute(Tuple.of(bad, Incidents.utc(at))))
        .compose(v -> tx.preparedQuery("SELECT pg_try_advisory_xact_lock($1)").execute(Tuple.of(LOCK_KEY)))
        .compose(locked -> locked.iterator().next().getBoolean(0) ? decide(tx, at) : Future.succeededFuture()))
        .onSuccess(v -> {
          // Forget subjects good long enough whose incident (if any) is resolved.
          watches.values().removeIf(w -> w.badSince == null && w.goodSince != null
              && Duration.between(w.goodSince, at).compareTo(after.multipliedBy(2)) > 0);
        });
  }

  private Future<Void> decide(SqlConnection tx, Instant at) {
    return tx.preparedQuery(OPEN).execute().compose(rows -> {
      Future<Void> chain = Future.succeededFuture();
      Set<String> open = new HashSet<>();
      for (Row r : rows) {
        String subject = r.getString("auto_subject");
        open.add(subject);
        long id = r.getLong("id");
        Watch w = watches.get(subject);
        if (w == null) {
          // Opened before this replica started (or it forgot the subject): good from now on, as far as it knows.
          w = new Watch();
          w.goodSince = at;
          watches.put(subject, w);
        }
        Watch watch = w;
        Instant started = r.getOffsetDateTime("started_at").toInstant();
        Instant lastUpdate = r.getOffsetDateTime("last_update") == null ? started
            : r.getOffsetDateTime("last_update").toInstant();
        // The last time ANY replica saw it bad: this one may see it good only for lack of the failing traffic.
        Instant lastBad = r.getOffsetDateTime("last_bad_at") == null ? null
            : r.getOffsetDateTime("last_bad_at").toInstant();
        if (w.goodSince != null && !w.goodSince.isBefore(started)
            && Duration.between(w.goodSince, at).compareTo(after) >= 0
            && (lastBad == null || Duration.between(lastBad, at).compareTo(after) >= 0)) {
          Instant resolvedAt = lastBad != null && lastBad.isAfter(w.goodSince) ? lastBad : w.goodSince;
          chain = chain.compose(v -> resolve(tx, id, resolvedAt)).compose(v -> announce(tx, id));
        } else if (w.badSince != null) {
          if (w.badSince.isBefore(started)) {
            chain = chain.compose(v -> tx.preparedQuery("UPDATE incidents SET started_at = $2 WHERE id = $1")
                .execute(Tuple.of(id, Incidents.utc(watch.badSince))).mapEmpty());
          }
          if (Duration.between(lastUpdate, at).compareTo(updateEvery) >= 0) {
            String message = "Still ongoing (" + Duration.between(started, at).toMinutes() + " minutes). "
                + watch.trouble.detail();
            chain = chain.compose(v -> Incidents.insertUpdate(tx, id, r.getString("status"), message, at, null))
                .compose(v -> announce(tx, id));
          }
        }
      }
      for (Map.Entry<String, Watch> e : watches.entrySet()) {
        Watch w = e.getValue();
        if (!open.contains(e.getKey()) && w.badSince != null
            && Duration.between(w.badSince, at).compareTo(after) >= 0) {
          chain = chain.compose(v -> open(tx, w)).compose(id -> id == null ? Future.succeededFuture()
              : announce(tx, id));
        }
      }
      return chain;
    });
  }

  private Future<Long> open(SqlConnection tx, Watch w) {
    Trouble t = w.trouble;
    return Incidents.insert(tx, t.title(), t.severity(), "investigating", t.services(), t.models(), t.subject(),
        w.badSince, null).compose(id -> id == null ? Future.succeededFuture((Long) null)
            : Incidents.insertUpdate(tx, id, "investigating", "Detected automatically. " + t.detail(), w.badSince,
                null).map(id));
  }

  private static Future<Void> resolve(SqlConnection tx, long id, Instant resolvedAt) {
    return tx.preparedQuery("UPDATE incidents SET status = 'resolved', resolved_at = $2 WHERE id = $1")
        .execute(Tuple.of(id, Incidents.utc(resolvedAt)))
        .compose(v -> Incidents.insertUpdate(tx, id, "resolved", "Recovered; resolved automatically.",
            resolvedAt, null));
  }

  /** Queues the subscribers' e-mail of the change, in its transaction. */
  private Future<Void> announce(SqlConnection tx, long id) {
    return Incidents.get(tx, id).compose(json -> mail.enqueue(tx, json));
  }
}
