package ai.gpt.api.billing.stripe;

import ai.gpt.api.error.ApiError;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /api/orgs/{id}/billing}: the organization's Stripe customer and every {@link BillingStateSection},
 * asked at once. A section that fails (Stripe unreachable for the payments) is answered as
 * {@code {"available": false, "message": …}} instead of failing the whole state: the dashboard still shows the
 * suspension and the plan when Stripe is down.
 */
final class BillingState {
  private static final Logger LOG = LoggerFactory.getLogger(BillingState.class);
  private static final String CUSTOMER = "SELECT customer_id FROM stripe_customers WHERE org_id = $1";

  private final Pool pool;
  private final List<BillingStateSection> sections;

  BillingState(Pool pool, List<BillingStateSection> sections) {
    this.pool = pool;
    this.sections = List.copyOf(sections);
  }

  Future<JsonObject> of(long orgId) {
    Future<String> customer = pool.preparedQuery(CUSTOMER).execute(Tuple.of(orgId))
        .map(rows -> rows.size() == 0 ? null : rows.iterator().next().getString(0));
    List<Future<Object>> parts = new ArrayList<>();
    for (BillingStateSection s : sections) {
      parts.add(s.describe(orgId).recover(err -> {
        LOG.warn("Billing state of organization {}: section '{}' failed: {}", orgId, s.name(), err.toString());
        String message = err instanceof ApiError api ? api.getMessage() : "This part is unavailable right now.";
        return Future.succeededFuture(new JsonObject().put("available", false).put("message", message));
      }));
    }
    return Future.all(customer, Future.all(parts)).map(done -> {
      JsonObject json = new JsonObject().put("object", "billing_state").put("org_id", orgId)
          .put("customer_id", customer.result());
      for (int i = 0; i < sections.size(); i++) {
        json.put(sections.get(i).name(), parts.get(i).result());
      }
      return json;
    });
  }
}
