package ai.gpt.api.apikeys;

import ai.gpt.api.api.ApiAuth;
import ai.gpt.api.api.ApiRoutes;
import ai.gpt.api.api.Json;
import ai.gpt.api.auth.ApiKeyFormat;
import ai.gpt.api.auth.KeyHasher;
import ai.gpt.api.auth.KeyInvalidations;
import ai.gpt.api.error.ApiError;
import ai.gpt.api.orgs.Memberships;
import ai.gpt.api.orgs.Role;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.redis.client.Redis;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An organization's API keys: create (the secret is returned once), list, edit (name, active/disabled, limits) and
 * revoke. Keys are addressed by their public id; a key of another organization is 404 like an unknown one. Every
 * change tells every gateway replica to drop the cached key (Redis pub/sub), so it applies within a second.
 */
public final class KeyRoutes implements ApiRoutes {
  private static final Logger LOG = LoggerFactory.getLogger(KeyRoutes.class);
  /** The limit fields, in display order; the only names ever spliced into SQL. */
  static final List<String> LIMITS = List.of("rpm", "rph", "rpd", "tpm", "tph", "tpd", "concurrency");
  static final int MAX_NAME = 200;
  static final int MAX_MODELS = 100;
  /**
   * Keys an organization may hold that are not revoked (a disabled key can be enabled again): its key list is one
   * answer, and every key is a row to authenticate.
   */
  public static final int MAX_KEYS = 500;
  private static final String COLUMNS = "public_id, name, created_at, last_used_at, expires_at, status, "
      + "allowed_models, rpm, rph, rpd, tpm, tph, tpd, concurrency";
  private static final String INSERT = "INSERT INTO api_keys (public_id, secret_hash, name, org_id, allowed_models, "
      + "expires_at, rpm, rph, rpd, tpm, tph, tpd, concurrency) VALUES ($1, $2, $3, $4, $5, $6, $7::bigint, "
      + "$8::bigint, $9::bigint, $10::bigint, $11::bigint, $12::bigint, $13::int) RETURNING " + COLUMNS;
  /** The keys customers manage: the Playground's short-lived keys are not listed (usage shows them). */
  private static final String LIST = "SELECT " + COLUMNS + " FROM api_keys WHERE org_id = $1 AND kind = 'standard' "
      + "ORDER BY id";
  private static final String STATUS = "SELECT status FROM api_keys WHERE org_id = $1 AND public_id = $2";
  private static final String REVOKE = "UPDATE api_keys SET status = 'revoked' WHERE org_id = $1 AND public_id = $2 "
      + "RETURNING " + COLUMNS;
  /** Serializes key creation within the organization, so concurrent creates cannot pass the count together. */
  private static final String LOCK_ORG = "SELECT 1 FROM organizations WHERE id = $1 FOR NO KEY UPDATE";
  private static final String HELD_KEYS = "SELECT count(*) FROM api_keys WHERE org_id = $1 AND kind = 'standard' "
      + "AND status <> 'revoked'";
  private static final String UNKNOWN_MODELS = "SELECT unnest($1::text[]) EXCEPT SELECT id FROM models";

  private final Pool pool;
  private final Redis redis;
  private final KeyHasher hasher;
  private final Memberships memberships;

  public KeyRoutes(Pool pool, Redis redis, KeyHasher hasher) {
    this.pool = pool;
    this.redis = redis;
    this.hasher = hasher;
    this.memberships = new Memberships(pool);
  }

  @Override
  public void mountSignedIn(Router api) {
    api.post("/orgs/:orgId/keys").handler(this::create);
    api.get("/orgs/:orgId/keys").handler(this::list);
    api.patch("/orgs/:orgId/keys/:keyId").handler(this::update);
    api.delete("/orgs/:orgId/keys/:keyId").handler(this::revoke);
  }

  private void create(RoutingContext ctx) {
    long orgId = Memberships.pathId(ctx, "orgId");
    memberships.require(orgId, ApiAuth.of(ctx).userId(), Role.ADMIN).compose(role -> {
      JsonObject body = Json.body(ctx);
      String name = Json.name(body, "name", MAX_NAME);
      String[] models = models(body);
      OffsetDateTime expires = expiresAt(body);
      Map<String, Number> limits = limits(body);
      Future<Void> modelsKnown = models == null ? Future.succeededFuture()
          : pool.preparedQuery(UNKNOWN_MODELS).execute(Tuple.of((Object) models)).compose(unknown -> unknown.size() == 0
              ? Future.succeededFuture()
              : Future.failedFuture(ApiError.invalidRequest("Unknown model '" + unknown.iterator().next().getString(0)
                  + "' in 'allowed_models'.", "allowed_models")));
      ApiKeyFormat.Minted minted = ApiKeyFormat.mint();
      List<Object> values = new ArrayList<>(List.of(minted.publicId(), hasher.hash(minted.secret()), name, orgId));
      values.add(models);
      values.add(expires);
      for (String l : LIMITS) {
        values.add(limits.get(l));
      }
      return modelsKnown.compose(v -> pool.withTransaction(conn -> conn.preparedQuery(LOCK_ORG)
              .execute(Tuple.of(orgId))
              .compose(locked -> conn.preparedQuery(HELD_KEYS).execute(Tuple.of(orgId)))
              .compose(count -> count.iterator().next().getLong(0) >= MAX_KEYS
                  ? Future.failedFuture(ApiError.of(409, "too_many_keys", "This organization has "
                      + MAX_KEYS + " API keys that are not revoked, the most it may have; revoke one first.", null))
                  : conn.preparedQuery(INSERT).execute(Tuple.from(values)))))
          .map(rows -> toJson(rows.iterator().next()).put("key", minted.fullKey()));
    }).onSuccess(json -> Json.send(ctx, 201, json)).onFailure(ctx::fail);
  }

  private void list(RoutingContext ctx) {
    long orgId = Memberships.pathId(ctx, "orgId");
    memberships.require(orgId, ApiAuth.of(ctx).userId(), Role.MEMBER)
        .compose(role -> pool.preparedQuery(LIST).execute(Tuple.of(orgId)))
        .map(rows -> {
          JsonArray data = new JsonArray();
          rows.forEach(r -> data.add(toJson(r)));
          return new JsonObject().put("object", "list").put("data", data);
        })
        .onSuccess(json -> Json.send(ctx, 200, json)).onFailure(ctx::fail);
  }

  private void update(RoutingContext ctx) {
    long orgId = Memberships.pathId(ctx, "orgId");
    String keyId = ctx.pathParam("keyId");
    memberships.require(orgId, ApiAuth.of(ctx).userId(), Role.ADMIN).compose(role -> {
      JsonObject body = Json.body(ctx);
      List<String> assignments = new ArrayList<>();
      List<Object> values = new ArrayList<>(List.of(orgId, keyId));
      if (body.containsKey("name")) {
        values.add(Json.name(body, "name", MAX_NAME));
        assignments.add("name = $" + values.size());
      }
      if (body.containsKey("status")) {
        Object status = body.getValue("status");
        if (!"active".equals(status) && !"disabled".equals(status)) {
          throw ApiError.invalidRequest("'status' must be 'active' or 'disabled'; revoke a key with DELETE.",
              "status");
        }
        values.add(status);
        assignments.add("status = $" + values.size());
      }
      if (body.containsKey("limits")) {
        Map<String, Number> limits = limits(body);
        for (Map.Entry<String, Number> e : limits.entrySet()) {
          values.add(e.getValue());
          assignments.add(e.getKey() + " = $" + values.size() + (e.getKey().equals("concurrency") ? "::int"
              : "::bigint"));
        }
      }
      if (assignments.isEmpty()) {
        throw ApiError.invalidRequest("Nothing to change: give at least one of 'name', 'status', 'limits'.", null);
      }
      String sql = "UPDATE api_keys SET " + String.join(", ", assignments)
          + " WHERE org_id = $1 AND public_id = $2 AND status <> 'revoked' RETURNING " + COLUMNS;
      return pool.preparedQuery(sql).execute(Tuple.from(values)).compose(rows -> rows.size() > 0
          ? Future.succeededFuture(rows.iterator().next())
          : pool.preparedQuery(STATUS).execute(Tuple.of(orgId, keyId)).compose(found -> Future.failedFuture(
              found.size() == 0 ? keyNotFound()
                  : ApiError.of(409, "key_revoked", "This key is revoked; a revoked key cannot change.", null))));
    }).compose(this::invalidated).onSuccess(json -> Json.send(ctx, 200, json)).onFailure(ctx::fail);
  }

  private void revoke(RoutingContext ctx) {
    long orgId = Memberships.pathId(ctx, "orgId");
    String keyId = ctx.pathParam("keyId");
    memberships.require(orgId, ApiAuth.of(ctx).userId(), Role.ADMIN)
        .compose(role -> pool.preparedQuery(REVOKE).execute(Tuple.of(orgId, keyId)))
        .compose(rows -> rows.size() == 0 ? Future.<Row>failedFuture(keyNotFound())
            : Future.succeededFuture(rows.iterator().next()))
        .compose(this::invalidated).onSuccess(json -> Json.send(ctx, 200, json)).onFailure(ctx::fail);
  }

  /**
   * Tells every replica to drop the key. The change is committed already, so a failed publish is logged, not
   * answered as an error: the cached key then expires with the cache's TTL.
   */
  private Future<JsonObject> invalidated(Row row) {
    JsonObject json = toJson(row);
    return KeyInvalidations.publish(redis, row.getString("public_id"))
        .recover(err -> {
          LOG.warn("Could not publish the invalidation of key {}: {}", row.getString("public_id"), err.toString());
          return Future.succeededFuture();
        })
        .map(json);
  }

  static ApiError keyNotFound() {
    return ApiError.of(404, "not_found", "No such key in this organization.", null);
  }

  private static String[] models(JsonObject body) {
    Object raw = body.getValue("allowed_models");
    if (raw == null) {
      return null;
    }
    if (!(raw instanceof JsonArray array) || array.isEmpty() || array.size() > MAX_MODELS) {
      throw ApiError.invalidRequest("'allowed_models' must be a non-empty array of model ids (at most " + MAX_MODELS
          + "), or absent for every model.", "allowed_models");
    }
    Set<String> models = new LinkedHashSet<>();
    for (Object m : array) {
      if (!(m instanceof String s) || s.isBlank() || s.length() > 200) {
        throw ApiError.invalidRequest("'allowed_models' must contain model ids (non-empty strings).",
            "allowed_models");
      }
      models.add(s);
    }
    return models.toArray(String[]::new);
  }

  private static OffsetDateTime expiresAt(JsonObject body) {
    Object raw = body.getValue("expires_at");
    if (raw == null) {
      return null;
    }
    try {
      if (raw instanceof String text) {
        return KeyExpiry.parse(text);
      }
      throw new IllegalArgumentException("must be a string: an ISO-8601 time such as 2027-01-31T00:00:00Z");
    } catch (IllegalArgumentException e) {
      throw ApiError.invalidRequest("'expires_at' " + e.getMessage() + ".", "expires_at");
    }
  }

  /** The limits object: each given field an integer >= 1, or null to clear it; absent fields are not returned. */
  private static Map<String, Number> limits(JsonObject body) {
    Object raw = body.getValue("limits");
    Map<String, Number> out = new LinkedHashMap<>();
    if (raw == null) {
      return out;
    }
    if (!(raw instanceof JsonObject limits)) {
      throw ApiError.invalidRequest("'limits' must be an object such as {\"rpm\": 60}.", "limits");
    }
    for (String field : limits.fieldNames()) {
      if (!LIMITS.contains(field)) {
        throw ApiError.invalidRequest("Unknown limit '" + field + "'; use " + String.join(", ", LIMITS) + ".",
            "limits." + field);
      }
    }
    for (String field : LIMITS) {
      if (!limits.containsKey(field)) {
        continue;
      }
      Object v = limits.getValue(field);
      if (v == null) {
        out.put(field, null); // no limit of the key's own
      } else if (field.equals("concurrency")) {
        out.put(field, (int) Json.wholeNumber(v, "limits." + field, 1, Integer.MAX_VALUE));
      } else {
        out.put(field, Json.wholeNumber(v, "limits." + field, 1, Long.MAX_VALUE));
      }
    }
    return out;
  }

  static JsonObject toJson(Row r) {
    JsonObject limits = new JsonObject();
    for (String l : LIMITS) {
      Object v = r.getValue(l);
      limits.put(l, v == null ? null : ((Number) v).longValue());
    }
    String[] models = r.getArrayOfStrings("allowed_models");
    OffsetDateTime expires = r.getOffsetDateTime("expires_at");
    String status = r.getString("status");
    // 'expired' is not stored: an active key past its expiry time is refused by the gateway all the same.
    if ("active".equals(status) && expires != null && !expires.isAfter(OffsetDateTime.now())) {
      status = "expired";
    }
    return new JsonObject()
        .put("id", r.getString("public_id"))
        .put("object", "api_key")
        .put("name", r.getString("name"))
        .put("status", status)
        .put("created_at", time(r.getOffsetDateTime("created_at")))
        .put("last_used_at", time(r.getOffsetDateTime("last_used_at")))
        .put("expires_at", time(expires))
        .put("allowed_models", models == null ? null : new JsonArray(List.of((Object[]) models)))
        .put("limits", limits);
  }

  private static String time(OffsetDateTime t) {
    return t == null ? null : t.toInstant().toString();
  }
}
