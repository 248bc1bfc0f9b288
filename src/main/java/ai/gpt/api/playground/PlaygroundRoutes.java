package ai.gpt.api.playground;

import ai.gpt.api.account.Attempts;
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
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.redis.client.Redis;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.Tuple;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The dashboard Playground's credential. A signed-in member mints a playground key: an ordinary {@code api_keys}
 * row (so /v1/chat/completions authenticates, limits, holds, meters and bills it exactly like any key) that expires
 * after {@link #TTL}, may only chat ({@code ProxyHandler} refuses the other endpoints), is not in the keys list,
 * and is revoked when the session that minted it ends (a trigger, V021). Minting again replaces the caller's
 * previous playground key of that organization, so each member has at most one live at a time.
 */
public final class PlaygroundRoutes implements ApiRoutes {
  private static final Logger LOG = LoggerFactory.getLogger(PlaygroundRoutes.class);
  public static final Duration TTL = Duration.ofMinutes(15);
  /** Minting per user in {@link #MINT_WINDOW_MS}: a page opened now and then needs a few; a loop is stopped. */
  static final int MINTS_PER_WINDOW = 30;
  static final long MINT_WINDOW_MS = 60 * 60_000L;
  static final String NAME = "Playground";
  private static final String REVOKE_MINE = "UPDATE api_keys SET status = 'revoked' WHERE org_id = $1 "
      + "AND created_by = $2 AND kind = 'playground' AND status <> 'revoked' RETURNING public_id";
  private static final String INSERT = "INSERT INTO api_keys (public_id, secret_hash, name, org_id, kind, "
      + "created_by, session_id, expires_at) VALUES ($1, $2, $3, $4, 'playground', $5, $6, "
      + "now() + make_interval(secs => $7)) RETURNING public_id, expires_at";

  private final Pool pool;
  private final Redis redis;
  private final KeyHasher hasher;
  private final Attempts attempts;
  private final Memberships memberships;

  public PlaygroundRoutes(Pool pool, Redis redis, KeyHasher hasher, Attempts attempts) {
    this.pool = pool;
    this.redis = redis;
    this.hasher = hasher;
    this.attempts = attempts;
    this.memberships = new Memberships(pool);
  }

  @Override
  public void mountSignedIn(Router api) {
    api.post("/orgs/:orgId/playground/session").handler(this::mint);
    api.delete("/orgs/:orgId/playground/session").handler(this::end);
  }

  private void mint(RoutingContext ctx) {
    long orgId = Memberships.pathId(ctx, "orgId");
    ApiAuth auth = ApiAuth.of(ctx);
    memberships.require(orgId, auth.userId(), Role.MEMBER)
        .compose(role -> attempts.count(MINT_WINDOW_MS,
            new Attempts.Counter("playground:mint:" + auth.userId(), MINTS_PER_WINDOW)))
        .compose(wait -> {
          if (wait > 0) {
            return Future.failedFuture(ApiError.of(429, "too_many_attempts",
                "Too many Playground sessions were started; retry after the time in the Retry-After header.", wait));
          }
          ApiKeyFormat.Minted minted = ApiKeyFormat.mint();
          return pool.withTransaction(conn -> conn.preparedQuery(REVOKE_MINE).execute(Tuple.of(orgId, auth.userId()))
              .compose(revoked -> conn.preparedQuery(INSERT).execute(Tuple.of(minted.publicId(),
                      hasher.hash(minted.secret()), NAME, orgId, auth.userId(), auth.sessionId(), TTL.toSeconds()))
                  .map(inserted -> new Minted(minted.fullKey(), inserted.iterator().next(), publicIds(revoked)))));
        })
        .compose(m -> invalidate(m.replaced()).map(v -> new JsonObject()
            .put("object", "playground_session")
            .put("key", m.key())
            .put("key_id", m.row().getString("public_id"))
            .put("expires_at", m.row().getOffsetDateTime("expires_at").toInstant().toString())
            .put("expires_in", TTL.toSeconds())))
        .onSuccess(json -> Json.send(ctx, 201, json)).onFailure(ctx::fail);
  }

  /** Revokes the caller's playground key of the organization at once (the page calls it when it is left). */
  private void end(RoutingContext ctx) {
    long orgId = Memberships.pathId(ctx, "orgId");
    long userId = ApiAuth.of(ctx).userId();
    memberships.require(orgId, userId, Role.MEMBER)
        .compose(role -> pool.preparedQuery(REVOKE_MINE).execute(Tuple.of(orgId, userId)))
        .compose(rows -> invalidate(publicIds(rows)))
        .onSuccess(v -> ctx.response().setStatusCode(204).end()).onFailure(ctx::fail);
  }

  private record Minted(String key, Row row, List<String> replaced) {}

  private static List<String> publicIds(RowSet<Row> rows) {
    List<String> ids = new ArrayList<>();
    rows.forEach(r -> ids.add(r.getString(0)));
    return ids;
  }

  /** As for any key change: every replica drops the revoked keys (a lost message: within the key cache's TTL). */
  private Future<Void> invalidate(List<String> publicIds) {
    List<Future<Void>> sent = new ArrayList<>();
    for (String id : publicIds) {
      sent.add(KeyInvalidations.publish(redis, id).recover(err -> {
        LOG.warn("Could not publish the invalidation of playground key {}: {}", id, err.toString());
        return Future.succeededFuture();
      }));
    }
    return Future.all(sent).mapEmpty();
  }
}
