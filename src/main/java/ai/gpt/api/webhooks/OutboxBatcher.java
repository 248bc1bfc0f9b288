package ai.gpt.api.webhooks;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns outbox rows into messages (webhook_deliveries), in one transaction, so every event ends up in exactly one
 * message: the rows taken are locked with SKIP LOCKED (replicas batching at once take different rows) and deleted
 * in the transaction that inserts their messages. Each event is one message, except usage.recorded, whose outbox
 * rows are groups of up to 500 events (one usage statement's, for one endpoint): whole groups are packed into
 * messages of up to {@link #MAX_USAGE_EVENTS} events. Every message but an endpoint's last goes at once; the last,
 * if not full, at most once a second per endpoint (the endpoint row's usage_batched_at, updated conditionally, holds
 * that across replicas); otherwise its groups wait for the next run.
 */
final class OutboxBatcher {
  static final int MAX_USAGE_EVENTS = 500;
  /** Outbox rows one transaction takes (a usage row holds up to 500 events). */
  static final int SCAN = 500;

  private static final String TAKE = """
      SELECT o.id, o.endpoint_id, o.type, o.occurred_at, e.id IS NULL AS orphan,
             o.event_count, CASE WHEN o.type = 'usage.recorded' THEN (o.data -> 'events')::text END AS usage_text,
             CASE WHEN o.type <> 'usage.recorded' THEN o.data END AS data
      FROM webhook_outbox o LEFT JOIN webhook_endpoints e ON e.id = o.endpoint_id
      ORDER BY o.id LIMIT $1 FOR UPDATE OF o SKIP LOCKED""";
  private static final String MAY_SEND_PARTIAL = """
      UPDATE webhook_endpoints SET usage_batched_at = now()
      WHERE id = ANY($1) AND usage_batched_at <= now() - interval '1 second' RETURNING id""";
  /** Joined with the endpoints: one deleted meanwhile loses its messages, a disabled one gets them parked. */
  private static final String INSERT = """
      INSERT INTO webhook_deliveries (endpoint_id, type, event_count, payload, retry_until, next_attempt_at)
      SELECT m.endpoint_id, m.type, m.event_count, m.payload, now() + $5 * interval '1 millisecond',
             CASE WHEN e.enabled THEN now() ELSE 'infinity' END
      FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[]) AS m(endpoint_id, type, event_count, payload)
      JOIN webhook_endpoints e ON e.id = m.endpoint_id""";
  private static final String DELETE = "DELETE FROM webhook_outbox WHERE id = ANY($1)";

  private final Pool pool;
  private final long retryForMs;

  OutboxBatcher(Pool pool, long retryForMs) {
    this.pool = pool;
    this.retryForMs = retryForMs;
  }

  /** Batches what is waiting; the number of outbox rows looked at ({@link #SCAN}: there may be more). */
  Future<Integer> run() {
    return pool.withTransaction(conn -> conn.preparedQuery(TAKE).execute(Tuple.of(SCAN)).compose(rows -> {
      if (rows.size() == 0) {
        return Future.succeededFuture(0);
      }
      Batch batch = new Batch();
      Map<Long, List<Row>> usage = new LinkedHashMap<>();
      for (Row r : rows) {
        if (r.getBoolean("orphan")) {
          batch.consumed.add(r.getLong("id")); // its endpoint was deleted
        } else if (EventTypes.USAGE_RECORDED.equals(r.getString("type"))) {
          usage.computeIfAbsent(r.getLong("endpoint_id"), k -> new ArrayList<>()).add(r);
        } else {
          batch.add(r.getLong("endpoint_id"), r.getString("type"), 1,
              Payloads.single(r.getString("type"), r.getOffsetDateTime("occurred_at").toInstant(),
                  data(r)), List.of(r.getLong("id")));
        }
      }
      Map<Long, List<Row>> lastMessages = new LinkedHashMap<>();
      usage.forEach((endpoint, groups) -> {
        List<Row> message = new ArrayList<>();
        int events = 0;
        for (Row group : groups) {
          if (events + group.getInteger("event_count") > MAX_USAGE_EVENTS && !message.isEmpty()) {
            batch.addUsage(endpoint, message);
            message = new ArrayList<>();
            events = 0;
          }
          message.add(group);
          events += group.getInteger("event_count");
        }
        if (events >= MAX_USAGE_EVENTS) {
          batch.addUsage(endpoint, message);
        } else {
          lastMessages.put(endpoint, message);
        }
      });
      return partialsAllowed(conn, new ArrayList<>(lastMessages.keySet())).compose(allowed -> {
        allowed.forEach(endpoint -> batch.addUsage(endpoint, lastMessages.get(endpoint)));
        return batch.write(conn);
      }).map(rows.size());
    }));
  }

  /** The event's data; a hook that emitted a JSON value other than an object gets it wrapped, not a failure. */
  private static JsonObject data(Row r) {
    Object data = r.getValue("data");
    return data instanceof JsonObject o ? o : new JsonObject().put("value", data);
  }

  private static Future<List<Long>> partialsAllowed(SqlConnection conn, List<Long> endpoints) {
    if (endpoints.isEmpty()) {
      return Future.succeededFuture(List.of());
    }
    return conn.preparedQuery(MAY_SEND_PARTIAL).execute(Tuple.of((Object) endpoints.toArray(Long[]::new)))
        .map(rows -> {
          List<Long> ids = new ArrayList<>();
          rows.forEach(r -> ids.add(r.getLong(0)));
          return ids;
        });
  }

  /** The messages of one run and the outbox rows they consume. */
  private final class Batch {
    final List<Long> endpoints = new ArrayList<>();
    final List<String> types = new ArrayList<>();
    final List<Integer> counts = new ArrayList<>();
    final List<String> payloads = new ArrayList<>();
    final List<Long> consumed = new ArrayList<>();

    void add(long endpoint, String type, int count, String payload, List<Long> outboxIds) {
      endpoints.add(endpoint);
      types.add(type);
      counts.add(count);
      payloads.add(payload);
      consumed.addAll(outboxIds);
    }

    /** One message of whole usage groups; each group's events array is pasted as text. */
    void addUsage(long endpoint, List<Row> groups) {
      List<String> arrays = new ArrayList<>(groups.size());
      List<Long> ids = new ArrayList<>(groups.size());
      int events = 0;
      for (Row r : groups) {
        arrays.add(r.getString("usage_text"));
        ids.add(r.getLong("id"));
        events += r.getInteger("event_count");
      }
      add(endpoint, EventTypes.USAGE_RECORDED, events, Payloads.usageBatch(Instant.now(), arrays, events), ids);
    }

    Future<Void> write(SqlConnection conn) {
      Future<?> inserted = endpoints.isEmpty() ? Future.succeededFuture()
          : conn.preparedQuery(INSERT).execute(Tuple.of(endpoints.toArray(Long[]::new), types.toArray(String[]::new),
              counts.toArray(Integer[]::new), payloads.toArray(String[]::new), retryForMs));
      return inserted.compose(v -> consumed.isEmpty() ? Future.succeededFuture()
          : conn.preparedQuery(DELETE).execute(Tuple.of((Object) consumed.toArray(Long[]::new)))).mapEmpty();
    }
  }
}
