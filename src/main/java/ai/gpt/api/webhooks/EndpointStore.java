package ai.gpt.api.webhooks;

import ai.gpt.api.account.SecretBox;
import ai.gpt.api.error.ApiError;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.Tuple;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Webhook endpoints and their delivery log in PostgreSQL. Every statement names the organization, so an endpoint
 * or delivery of another organization is "not found" exactly like one that does not exist. Secrets are stored
 * sealed by {@link SecretBox}, bound to their endpoint's id, and returned only by create and rotate.
 */
public final class EndpointStore {
  /** The ids the gateway gives messages ({@code msg_} and 24 hex digits, V018), with room to spare. */
  private static final Pattern MESSAGE_ID = Pattern.compile("msg_[A-Za-z0-9]{1,64}");
  /** Endpoints one organization may have. */
  public static final int MAX_PER_ORG = 20;
  static final String COLUMNS = "id, url, description, events, enabled, disabled_reason, failing_since, "
      + "previous_expires_at, created_at, updated_at";
  private static final String DELIVERY_COLUMNS = "message_id, type, event_count, status, attempts, next_attempt_at, "
      + "last_attempt_at, last_status, last_latency_ms, last_response, last_error, created_at, finished_at";

  private final Pool pool;
  private final SecretBox box;

  public EndpointStore(Pool pool, SecretBox box) {
    this.pool = pool;
    this.box = box;
  }

  /** The endpoint, with its new secret under {@code secret}. 409 when the organization has its maximum. */
  Future<JsonObject> create(long orgId, String url, String[] events, String description) {
    String secret = WebhookSecret.generate();
    return pool.withTransaction(conn -> conn
        // Serializes creates within the organization, so concurrent ones cannot pass the count together.
        .preparedQuery("SELECT 1 FROM organizations WHERE id = $1 FOR NO KEY UPDATE").execute(Tuple.of(orgId))
        .compose(locked -> conn.preparedQuery("SELECT (SELECT count(*) FROM webhook_endpoints WHERE org_id = $1), "
            + "nextval('webhook_endpoints_id_seq')").execute(Tuple.of(orgId)))
        .compose(rows -> {
          Row r = rows.iterator().next();
          if (r.getLong(0) >= MAX_PER_ORG) {
            return Future.failedFuture(ApiError.of(409, "too_many_webhook_endpoints", "This organization has "
                + MAX_PER_ORG + " webhook endpoints, the most it may have; delete one first.", null));
          }
          long id = r.getLong(1);
          return conn.preparedQuery("INSERT INTO webhook_endpoints (id, org_id, url, events, description, secret) "
                  + "VALUES ($1, $2, $3, $4, $5, $6) RETURNING " + COLUMNS)
              .execute(Tuple.of(id, orgId, url, events, description, seal(id, secret)));
        }))
        .map(rows -> toJson(rows.iterator().next()).put("secret", secret));
  }

  Future<JsonArray> list(long orgId) {
    return pool.preparedQuery("SELECT " + COLUMNS + " FROM webhook_endpoints WHERE org_id = $1 ORDER BY id")
        .execute(Tuple.of(orgId)).map(rows -> {
          JsonArray data = new JsonArray();
          rows.forEach(r -> data.add(toJson(r)));
          return data;
        });
  }

  Future<JsonObject> get(long orgId, long id) {
    return pool.preparedQuery("SELECT " + COLUMNS + " FROM webhook_endpoints WHERE org_id = $1 AND id = $2")
        .execute(Tuple.of(orgId, id)).map(EndpointStore::one);
  }

  /**
   * Sets the given columns: {@code assignments} use $3 onwards, {@code values} in that order. When {@code enabled}
   * changes (non-null), the endpoint's pending messages are parked or released with it, in the same transaction.
   */
  Future<JsonObject> update(long orgId, long id, List<String> assignments, List<Object> values, Boolean enabled) {
    List<Object> all = new ArrayList<>(List.of(orgId, id));
    all.addAll(values);
    return pool.withTransaction(conn -> conn.preparedQuery("UPDATE webhook_endpoints SET "
            + String.join(", ", assignments) + ", updated_at = now() WHERE org_id = $1 AND id = $2 RETURNING "
            + COLUMNS).execute(Tuple.from(all))
        .map(EndpointStore::one)
        .compose(json -> enabled == null ? Future.succeededFuture(json)
            : conn.preparedQuery(PARK).execute(Tuple.of(id, enabled)).map(json)));
  }

  /**
   * A disabled endpoint's pending messages wait with next_attempt_at = infinity, so the workers' search for due
   * messages does not wade through them; enabling it makes them due now. $1 endpoint, $2 enabled.
   */
  static final String PARK = """
      UPDATE webhook_deliveries SET next_attempt_at = CASE WHEN $2 THEN now() ELSE 'infinity' END
      WHERE endpoint_id = $1 AND status = 'pending' AND (next_attempt_at = 'infinity') = $2""";

  /** Deletes the endpoint, its waiting events and its delivery log. */
  Future<Void> delete(long orgId, long id) {
    return pool.withTransaction(conn -> conn
        .preparedQuery("DELETE FROM webhook_endpoints WHERE org_id = $1 AND id = $2 RETURNING id")
        .execute(Tuple.of(orgId, id))
        .compose(rows -> rows.size() == 0 ? Future.failedFuture(notFound())
            : conn.preparedQuery("DELETE FROM webhook_outbox WHERE endpoint_id = $1").execute(Tuple.of(id))))
        .mapEmpty();
  }

  /** A new secret; the current one becomes the previous one and keeps signing for {@code graceMs}. */
  Future<JsonObject> rotate(long orgId, long id, long graceMs) {
    String secret = WebhookSecret.generate();
    return pool.preparedQuery("UPDATE webhook_endpoints SET previous_secret = secret, previous_expires_at = now() + "
            + "$3 * interval '1 millisecond', secret = $4, updated_at = now() WHERE org_id = $1 AND id = $2 "
            + "RETURNING " + COLUMNS)
        .execute(Tuple.of(orgId, id, graceMs, seal(id, secret)))
        .map(rows -> one(rows).put("secret", secret));
  }

  /** The newest deliveries first, optionally only those with {@code status}. */
  Future<JsonArray> deliveries(long orgId, long id, String status, long limit) {
    return get(orgId, id).compose(endpoint -> pool.preparedQuery("SELECT " + DELIVERY_COLUMNS
            + " FROM webhook_deliveries WHERE endpoint_id = $1 AND ($2::text IS NULL OR status = $2) "
            + "ORDER BY id DESC LIMIT $3")
        .execute(Tuple.of(id, status, limit)))
        .map(rows -> {
          JsonArray data = new JsonArray();
          rows.forEach(r -> data.add(deliveryJson(r)));
          return data;
        });
  }

  /**
   * Sends a finished (delivered or failed) message again, with the same webhook-id, retried like a new one for
   * {@code retryForMs}. 409 while it is still pending: it will be sent anyway.
   */
  Future<JsonObject> resend(long orgId, long id, String messageId, long retryForMs) {
    if (messageId == null || !MESSAGE_ID.matcher(messageId).matches()) {
      // Not an id the gateway makes (a NUL byte, which PostgreSQL refuses, or kilobytes of text): unknown.
      return get(orgId, id).compose(endpoint -> Future.failedFuture(deliveryNotFound()));
    }
    return get(orgId, id).compose(endpoint -> pool.preparedQuery("UPDATE webhook_deliveries SET status = 'pending', "
            + "next_attempt_at = now(), retry_until = now() + $3 * interval '1 millisecond', finished_at = NULL "
            + "WHERE endpoint_id = $1 AND message_id = $2 AND status <> 'pending' RETURNING " + DELIVERY_COLUMNS)
        .execute(Tuple.of(id, messageId, retryForMs)))
        .compose(rows -> rows.size() == 1 ? Future.succeededFuture(deliveryJson(rows.iterator().next()))
            : pool.preparedQuery("SELECT 1 FROM webhook_deliveries WHERE endpoint_id = $1 AND message_id = $2")
                .execute(Tuple.of(id, messageId))
                .compose(exists -> Future.failedFuture(exists.size() == 0
                    ? deliveryNotFound()
                    : ApiError.of(409, "delivery_pending", "This delivery is still pending; it will be sent (again) "
                        + "without a resend.", null))));
  }

  /** A {@code webhook.test} message for this endpoint alone, sent like any other. 409 for a disabled endpoint. */
  Future<JsonObject> test(long orgId, long id, long retryForMs) {
    return get(orgId, id).compose(endpoint -> {
      if (!endpoint.getBoolean("enabled")) {
        return Future.failedFuture(ApiError.of(409, "endpoint_disabled", "This endpoint is disabled; enable it "
            + "(PATCH enabled: true) to test it.", null));
      }
      String body = Payloads.single(EventTypes.TEST, Instant.now(), new JsonObject().put("endpoint_id", id)
          .put("message", "A test event sent from the GPT API dashboard or API."));
      return pool.preparedQuery("INSERT INTO webhook_deliveries (endpoint_id, type, payload, retry_until) VALUES "
              + "($1, $2, $3, now() + $4 * interval '1 millisecond') RETURNING " + DELIVERY_COLUMNS)
          .execute(Tuple.of(id, EventTypes.TEST, body, retryForMs))
          .map(rows -> deliveryJson(rows.iterator().next()));
    });
  }

  /** The endpoint's secrets that sign now: the current one, then the previous one during its grace period. */
  List<String> signingSecrets(long id, Buffer sealed, Buffer previous, OffsetDateTime previousExpires) {
    List<String> secrets = new ArrayList<>(2);
    secrets.add(open(id, sealed));
    if (previous != null && previousExpires != null && previousExpires.isAfter(OffsetDateTime.now())) {
      secrets.add(open(id, previous));
    }
    return secrets;
  }

  private byte[] seal(long id, String secret) {
    return box.encrypt(secret.getBytes(StandardCharsets.UTF_8), associatedData(id));
  }

  private String open(long id, Buffer sealed) {
    return new String(box.decrypt(sealed.getBytes(), associatedData(id)), StandardCharsets.UTF_8);
  }

  private static String associatedData(long id) {
    return "webhook_endpoint:" + id;
  }

  static ApiError deliveryNotFound() {
    return ApiError.notFound("No such delivery for this webhook endpoint.");
  }

  static ApiError notFound() {
    return ApiError.notFound("No such webhook endpoint in this organization.");
  }

  private static JsonObject one(RowSet<Row> rows) {
    if (rows.size() == 0) {
      throw notFound();
    }
    return toJson(rows.iterator().next());
  }

  static JsonObject toJson(Row r) {
    return new JsonObject()
        .put("id", r.getLong("id"))
        .put("object", "webhook_endpoint")
        .put("url", r.getString("url"))
        .put("description", r.getString("description"))
        .put("events", new JsonArray(List.of((Object[]) r.getArrayOfStrings("events"))))
        .put("enabled", r.getBoolean("enabled"))
        .put("disabled_reason", r.getString("disabled_reason"))
        .put("failing_since", time(r.getOffsetDateTime("failing_since")))
        .put("previous_secret_expires_at", time(r.getOffsetDateTime("previous_expires_at")))
        .put("created_at", time(r.getOffsetDateTime("created_at")))
        .put("updated_at", time(r.getOffsetDateTime("updated_at")));
  }

  private static JsonObject deliveryJson(Row r) {
    String status = r.getString("status");
    return new JsonObject()
        .put("id", r.getString("message_id"))
        .put("object", "webhook_delivery")
        .put("type", r.getString("type"))
        .put("event_count", r.getInteger("event_count"))
        .put("status", status)
        .put("attempts", r.getInteger("attempts"))
        .put("next_attempt_at", "pending".equals(status) ? time(r.getOffsetDateTime("next_attempt_at")) : null)
        .put("last_attempt_at", time(r.getOffsetDateTime("last_attempt_at")))
        .put("response_status", r.getInteger("last_status"))
        .put("latency_ms", r.getInteger("last_latency_ms"))
        .put("response_excerpt", r.getString("last_response"))
        .put("error", r.getString("last_error"))
        .put("created_at", time(r.getOffsetDateTime("created_at")))
        .put("finished_at", time(r.getOffsetDateTime("finished_at")));
  }

  /** ISO-8601 UTC; null for none and for 'infinity' (a parked message has no next attempt). */
  static String time(OffsetDateTime t) {
    return t == null || t.equals(OffsetDateTime.MAX) ? null : t.toInstant().toString();
  }
}
