package ai.gpt.api.webhooks;

import ai.gpt.api.mail.Mailer;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An endpoint's failure streak: the first failed attempt since its last success starts it, a success ends it. An
 * endpoint whose streak lasts longer than WEBHOOK_DISABLE_AFTER_MS is disabled (its messages wait, nothing is
 * dropped) and the organization's owners are e-mailed, once: the conditional UPDATE lets one replica win.
 */
final class EndpointHealth {
  private static final Logger LOG = LoggerFactory.getLogger(EndpointHealth.class);
  private static final String SUCCEEDED =
      "UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL";
  private static final String FAILED =
      "UPDATE webhook_endpoints SET failing_since = now() WHERE id = $1 AND failing_since IS NULL";
  private static final String DISABLE = """
      UPDATE webhook_endpoints SET enabled = false, disabled_reason = $3, updated_at = now()
      WHERE id = $1 AND enabled AND failing_since < now() - $2 * interval '1 millisecond'
      RETURNING org_id, url, failing_since""";
  private static final String OWNERS = "SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id "
      + "WHERE m.org_id = $1 AND m.role = 'owner'";

  private final Pool pool;
  private final Mailer mailer;
  private final long disableAfterMs;
  private final String publicUrl;

  EndpointHealth(Pool pool, Mailer mailer, long disableAfterMs, String publicUrl) {
    this.pool = pool;
    this.mailer = mailer;
    this.disableAfterMs = disableAfterMs;
    this.publicUrl = publicUrl;
  }

  Future<Void> succeeded(long endpointId) {
    return pool.preparedQuery(SUCCEEDED).execute(Tuple.of(endpointId)).mapEmpty();
  }

  Future<Void> failed(long endpointId, String lastError) {
    String reason = "Every delivery failed for more than " + hours(disableAfterMs) + " (last error: "
        + (lastError.length() > 200 ? lastError.substring(0, 200) + "…" : lastError) + ").";
    return pool.preparedQuery(FAILED).execute(Tuple.of(endpointId))
        .compose(v -> pool.withTransaction(conn -> conn.preparedQuery(DISABLE)
            .execute(Tuple.of(endpointId, disableAfterMs, reason))
            .compose(rows -> rows.size() == 0 ? Future.succeededFuture(rows)
                : conn.preparedQuery(EndpointStore.PARK).execute(Tuple.of(endpointId, false)).map(rows))))
        .compose(rows -> rows.size() == 0 ? Future.succeededFuture() : notifyOwners(endpointId, rows.iterator().next(),
            reason));
  }

  private Future<Void> notifyOwners(long endpointId, Row endpoint, String reason) {
    long orgId = endpoint.getLong("org_id");
    String url = endpoint.getString("url");
    LOG.warn("Disabled webhook endpoint {} of organization {} ({}): {}", endpointId, orgId, url, reason);
    return pool.preparedQuery(OWNERS).execute(Tuple.of(orgId)).compose(owners -> {
      Future<Void> all = Future.succeededFuture();
      for (Row owner : owners) {
        String email = owner.getString(0);
        all = all.compose(v -> mailer.send(email, "Your webhook endpoint was disabled",
                "GPT API disabled the webhook endpoint " + url + " (id " + endpointId + ") of your organization.\n"
                    + reason + "\n\nEvents for it are kept. Fix the receiver, then enable the endpoint again "
                    + "(PATCH /api/orgs/" + orgId + "/webhooks/" + endpointId + " with {\"enabled\": true}) or in "
                    + "the dashboard: " + publicUrl + "\n")
            .recover(err -> {
              LOG.warn("Could not e-mail {} about disabled webhook endpoint {}: {}", email, endpointId, err.toString());
              return Future.succeededFuture();
            }));
      }
      return all;
    });
  }

  private static String hours(long ms) {
    return ms % 3_600_000 == 0 ? ms / 3_600_000 + " h" : ms + " ms";
  }
}
