package ai.gpt.api.status;

import ai.gpt.api.admin.AdminAudit;
import ai.gpt.api.error.ApiError;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The incidents and their updates, for the admin API, the CLI, the automatic incidents and the status page. Every
 * change by a person is audited ({@link AdminAudit}, actor null for the CLI) in its own transaction, and its e-mail
 * to the status subscribers is queued in that same transaction ({@link IncidentMail}).
 */
public final class Incidents {
  static final String COLUMNS = "id, title, severity, status, services, models, auto_subject, started_at,"
      + " resolved_at";
  private static final String INSERT = "INSERT INTO incidents (title, severity, status, services, models,"
      + " auto_subject, started_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
      + " ON CONFLICT (auto_subject) WHERE auto_subject IS NOT NULL AND resolved_at IS NULL DO NOTHING RETURNING id";
  private static final String INSERT_UPDATE = "INSERT INTO incident_updates (incident_id, status, message, at,"
      + " created_by) VALUES ($1, $2, $3, $4, $5)";
  private static final String FOR_UPDATE = "SELECT " + COLUMNS + " FROM incidents WHERE id = $1 FOR UPDATE";
  private static final String SET_STATE = "UPDATE incidents SET status = $2, severity = $3, resolved_at = $4"
      + " WHERE id = $1";
  private static final String UNKNOWN_MODELS = "SELECT m FROM unnest($1::text[]) AS m"
      + " WHERE NOT EXISTS (SELECT 1 FROM models WHERE id = m)";
  private static final String UPDATES = "SELECT id, incident_id, status, message, at FROM incident_updates"
      + " WHERE incident_id = ANY($1) ORDER BY at, id";
  private static final String LIST = "SELECT " + COLUMNS + " FROM incidents WHERE ($1::bigint IS NULL OR id < $1)"
      + " AND ($2::text IS NULL OR ($2 = 'open') = (resolved_at IS NULL)) ORDER BY id DESC LIMIT $3";
  private static final String RECENT = "SELECT " + COLUMNS + " FROM incidents WHERE resolved_at IS NULL"
      + " OR resolved_at >= $1 OR started_at >= $1 ORDER BY started_at DESC, id DESC LIMIT 100";

  private final Pool pool;
  private final IncidentMail mail;

  Incidents(Pool pool, IncidentMail mail) {
    this.pool = pool;
    this.mail = mail;
  }

  public Future<JsonObject> open(Long actor, IncidentInput.Open in) {
    Instant startedAt = in.startedAt() == null ? Instant.now() : in.startedAt();
    return pool.withTransaction(tx -> checkModels(tx, in.models())
        .compose(v -> insert(tx, in.title(), in.severity(), in.status(), in.services(), in.models(), null,
            startedAt, actor))
        .compose(id -> insertUpdate(tx, id, in.status(), in.message(), Instant.now(), actor)
            .compose(v -> AdminAudit.record(tx, actor, "incident.open", "incident", id, new JsonObject()
                .put("title", in.title()).put("severity", in.severity()).put("status", in.status())
                .put("via", actor == null ? "cli" : "api")))
            .compose(v -> getAndMail(tx, id))));
  }

  /** Posts an update; status resolved closes the incident (at {@code in.at()}, else now). 409 once resolved. */
  public Future<JsonObject> update(Long actor, long id, IncidentInput.Update in) {
    return pool.withTransaction(tx -> tx.preparedQuery(FOR_UPDATE).execute(Tuple.of(id)).compose(rows -> {
      if (rows.size() == 0) {
        return Future.failedFuture(ApiError.of(404, "not_found", "No such incident.", null));
      }
      Row r = rows.iterator().next();
      if (r.getOffsetDateTime("resolved_at") != null) {
        return Future.failedFuture(ApiError.of(409, "incident_resolved",
            "This incident is resolved; open a new one.", null));
      }
      Instant now = Instant.now();
      Instant resolvedAt = null;
      if (in.status().equals("resolved")) {
        resolvedAt = in.at() == null ? now : in.at();
        if (resolvedAt.isBefore(r.getOffsetDateTime("started_at").toInstant())) {
          return Future.failedFuture(ApiError.invalidRequest("'resolved_at' is before the incident started ("
              + r.getOffsetDateTime("started_at").toInstant() + ").", "resolved_at"));
        }
      }
      String severity = in.severity() == null ? r.getString("severity") : in.severity();
      JsonObject details = new JsonObject().put("before", new JsonObject().put("status", r.getString("status"))
          .put("severity", r.getString("severity"))).put("status", in.status()).put("severity", severity)
          .put("via", actor == null ? "cli" : "api");
      return tx.preparedQuery(SET_STATE).execute(Tuple.of(id, in.status(), severity, utc(resolvedAt)))
          .compose(v -> insertUpdate(tx, id, in.status(), in.message(), now, actor))
          .compose(v -> AdminAudit.record(tx, actor, in.status().equals("resolved") ? "incident.resolve"
              : "incident.update", "incident", id, details))
          .compose(v -> getAndMail(tx, id));
    }));
  }

  /** The incident as changed, its latest update's e-mail queued in the same transaction. */
  private Future<JsonObject> getAndMail(SqlConnection tx, long id) {
    return get(tx, id).compose(json -> mail.enqueue(tx, json).map(json));
  }

  public Future<JsonObject> get(long id) {
    return get(pool, id);
  }

  /** A page of incidents, newest first; {@code state} is "open", "resolved" or null for all. */
  public Future<JsonObject> list(String state, int limit, Long before) {
    return pool.preparedQuery(LIST).execute(Tuple.of(before, state, limit + 1)).compose(rows -> withUpdates(pool,
        rows).map(list -> {
          JsonArray data = new JsonArray();
          list.stream().limit(limit).forEach(data::add);
          boolean more = list.size() > limit;
          return new JsonObject().put("object", "list").put("data", data).put("has_more", more)
              .put("next_before", more ? data.getJsonObject(data.size() - 1).getLong("id") : null);
        }));
  }

  /** Open incidents and those started or resolved since {@code since}, with their updates, for the page. */
  Future<List<JsonObject>> recent(Instant since) {
    return pool.preparedQuery(RECENT).execute(Tuple.of(utc(since))).compose(rows -> withUpdates(pool, rows));
  }

  static Future<JsonObject> get(SqlClient client, long id) {
    return client.preparedQuery("SELECT " + COLUMNS + " FROM incidents WHERE id = $1").execute(Tuple.of(id))
        .compose(rows -> withUpdates(client, rows)).compose(list -> list.isEmpty()
            ? Future.failedFuture(ApiError.of(404, "not_found", "No such incident.", null))
            : Future.succeededFuture(list.get(0)));
  }

  /** Inserts an incident; for an automatic one (subject set) null when one is already open for the subject. */
  static Future<Long> insert(SqlConnection tx, String title, String severity, String status, List<String> services,
      List<String> models, String autoSubject, Instant startedAt, Long actor) {
    return tx.preparedQuery(INSERT).execute(Tuple.from(new Object[] {title, severity, status,
        services.toArray(String[]::new), models.toArray(String[]::new), autoSubject, utc(startedAt), actor}))
        .map(rows -> rows.size() == 0 ? null : rows.iterator().next().getLong(0));
  }

  static Future<Void> insertUpdate(SqlConnection tx, long id, String status, String message, Instant at,
      Long actor) {
    return tx.preparedQuery(INSERT_UPDATE).execute(Tuple.of(id, status, message, utc(at), actor)).mapEmpty();
  }

  private static Future<Void> checkModels(SqlConnection tx, List<String> models) {
    if (models.isEmpty()) {
      return Future.succeededFuture();
    }
    return tx.preparedQuery(UNKNOWN_MODELS).execute(Tuple.of((Object) models.toArray(String[]::new)))
        .compose(rows -> rows.size() == 0 ? Future.succeededFuture() : Future.failedFuture(ApiError.invalidRequest(
            "Unknown model '" + rows.iterator().next().getString(0) + "' in 'models'.", "models")));
  }

  private static Future<List<JsonObject>> withUpdates(SqlClient client, RowSet<Row> rows) {
    Map<Long, JsonObject> byId = new LinkedHashMap<>();
    for (Row r : rows) {
      byId.put(r.getLong("id"), json(r));
    }
    if (byId.isEmpty()) {
      return Future.succeededFuture(List.of());
    }
    return client.preparedQuery(UPDATES).execute(Tuple.of((Object) byId.keySet().toArray(Long[]::new)))
        .map(updates -> {
          for (Row u : updates) {
            byId.get(u.getLong("incident_id")).getJsonArray("updates").add(new JsonObject()
                .put("id", u.getLong("id")).put("status", u.getString("status"))
                .put("message", u.getString("message")).put("at", time(u.getOffsetDateTime("at"))));
          }
          return new ArrayList<>(byId.values());
        });
  }

  private static JsonObject json(Row r) {
    return new JsonObject().put("id", r.getLong("id")).put("object", "incident").put("title", r.getString("title"))
        .put("severity", r.getString("severity")).put("status", r.getString("status"))
        .put("services", new JsonArray(List.of(r.getArrayOfStrings("services"))))
        .put("models", new JsonArray(List.of(r.getArrayOfStrings("models"))))
        .put("automatic", r.getString("auto_subject") != null)
        .put("started_at", time(r.getOffsetDateTime("started_at")))
        .put("resolved_at", time(r.getOffsetDateTime("resolved_at")))
        .put("updates", new JsonArray());
  }

  static OffsetDateTime utc(Instant at) {
    return at == null ? null : at.atOffset(ZoneOffset.UTC);
  }

  private static String time(OffsetDateTime t) {
    return t == null ? null : t.toInstant().toString();
  }
}
