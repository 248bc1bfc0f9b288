package ai.gpt.api.billing.stripe;

import ai.gpt.api.auth.KeyInvalidations;
import ai.gpt.api.billing.plans.Plan;
import ai.gpt.api.billing.plans.PlanCatalog;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Redis;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Set;

/**
 * {@code customer.subscription.created|updated|deleted}: stores the subscription (plan, status, period end,
 * cancel_at_period_end) and moves its organization between plans. An organization is on the plan of its newest
 * active or trialing subscription, else on the default plan (past_due, unpaid, canceled, incomplete_expired,
 * paused); an {@code incomplete} subscription (first payment pending) changes nothing yet.
 *
 * <p>Stripe does not deliver in order. The row remembers the {@code created} of the event it reflects (and, for
 * events of the same second, created &lt; updated &lt; deleted): an older event changes nothing, and a canceled
 * subscription stays canceled. The events of one organization are serialized by an advisory lock, so concurrent
 * deliveries apply one at a time and a duplicate finds its event row. A plan change reaches every gateway through
 * {@link KeyInvalidations#publishAll}, as an operator's change does.
 */
final class SubscriptionEvents implements StripeEventHandler {
  private static final Set<String> PLAN_STATUSES = Set.of("active", "trialing");
  /** 9999-12-31T23:59:59Z. */
  private static final long MAX_EPOCH_SECOND = 253_402_300_799L;
  private static final String LOCK_ORG = "SELECT pg_advisory_xact_lock(hashtext('stripe-subscriptions-org:' || $1))";
  private static final String UPSERT = """
      INSERT INTO stripe_subscriptions AS s (id, org_id, plan_id, status, current_period_end, cancel_at_period_end,
                                             event_created, event_rank)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
      ON CONFLICT (id) DO UPDATE SET plan_id = EXCLUDED.plan_id, status = EXCLUDED.status,
             current_period_end = EXCLUDED.current_period_end, cancel_at_period_end = EXCLUDED.cancel_at_period_end,
             event_created = EXCLUDED.event_created, event_rank = EXCLUDED.event_rank, updated_at = now()
       WHERE (s.event_created, s.event_rank) <= (EXCLUDED.event_created, EXCLUDED.event_rank)
         AND s.status NOT IN""" + " " + Subscriptions.ENDED + " RETURNING s.id";
  private static final String PLAN_OF_ORG = "SELECT plan_id FROM stripe_subscriptions WHERE org_id = $1"
      + " AND status IN ('active', 'trialing') ORDER BY event_created DESC, id DESC LIMIT 1";
  private static final String MOVE = "UPDATE organizations SET plan_id = $2 WHERE id = $1 AND plan_id <> $2";

  private final StripeEvents events;
  private final PlanCatalog plans;
  private final Subscriptions subscriptions;
  private final Redis redis;

  SubscriptionEvents(StripeEvents events, PlanCatalog plans, Subscriptions subscriptions, Redis redis) {
    this.events = events;
    this.plans = plans;
    this.subscriptions = subscriptions;
    this.redis = redis;
  }

  @Override
  public Set<String> types() {
    return Set.of("customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted");
  }

  @Override
  public Future<StripeEvents.Outcome> apply(StripeEvent e) {
    JsonObject sub = e.object();
    String id = StripeFields.id(sub, "id");
    String status = StripeFields.string(sub, "status");
    if (id == null || status == null) {
      return events.flag(e, null, "unexpected_subscription");
    }
    return events.orgOf(sub).compose(orgId -> orgId == null ? events.flag(e, null, "unknown_org")
        : planOf(id, sub).compose(planId -> planId == null ? events.flag(e, orgId, "unknown_plan")
            : events.pool().withTransaction(tx -> store(tx, e, id, status, orgId, planId))
                .compose(outcome -> !"plan_changed".equals(outcome.outcome()) ? Future.succeededFuture(outcome)
                    : KeyInvalidations.publishAllAfter(redis, "organization " + orgId + " changed plan")
                        .map(outcome))));
  }

  private Future<StripeEvents.Outcome> store(SqlConnection tx, StripeEvent e, String id, String status, long orgId,
      String planId) {
    JsonObject sub = e.object();
    Tuple row = Tuple.of(id, orgId, planId, status, periodEnd(sub), Boolean.TRUE.equals(
        sub.getValue("cancel_at_period_end")), e.created(), rank(e.type()));
    return tx.preparedQuery(LOCK_ORG).execute(Tuple.of(Long.toString(orgId)))
        .compose(v -> events.seen(tx, e.id()))
        .compose(seen -> seen ? Future.succeededFuture(StripeEvents.DUPLICATE)
            : tx.preparedQuery(UPSERT).execute(row).compose(applied -> applied.size() == 0
                ? events.record(tx, e, orgId, "stale_event") // a newer event of this subscription came first
                : "incomplete".equals(status) ? events.record(tx, e, orgId, "subscription_recorded")
                : movePlan(tx, orgId).compose(moved -> events.record(tx, e, orgId,
                    moved ? "plan_changed" : "subscription_recorded"))));
  }

  /** Puts the organization on the plan its subscriptions give it; whether that changed its plan. */
  private static Future<Boolean> movePlan(SqlConnection tx, long orgId) {
    return tx.preparedQuery(PLAN_OF_ORG).execute(Tuple.of(orgId))
        .map(rows -> rows.size() == 0 ? Plan.DEFAULT : rows.iterator().next().getString(0))
        .compose(plan -> tx.preparedQuery(MOVE).execute(Tuple.of(orgId, plan)))
        .map(moved -> moved.rowCount() > 0);
  }

  /**
   * The plan the subscription is for: the plan sold with one of its items' Stripe Prices (so a change of price in
   * the Billing Portal changes the plan), else {@code metadata.plan_id} set at checkout, else the plan recorded.
   */
  private Future<String> planOf(String id, JsonObject sub) {
    List<String> prices = StripeFields.listData(sub, "items").stream()
        .map(item -> StripeFields.id(item, "price")).filter(p -> p != null).toList();
    String fromMetadata = StripeFields.string(StripeFields.object(sub, "metadata"), "plan_id");
    return plans.idForPrices(prices).compose(byPrice -> byPrice != null ? Future.succeededFuture(byPrice)
        : fromMetadata != null ? plans.find(fromMetadata).map(p -> p == null ? null : p.id())
        : subscriptions.find(id).map(known -> known == null ? null : known.planId()));
  }

  /**
   * The end of the current period: since API 2025-03-31.basil on each subscription item (the latest of them),
   * before that on the subscription itself.
   */
  private static OffsetDateTime periodEnd(JsonObject sub) {
    long end = 0;
    for (JsonObject item : StripeFields.listData(sub, "items")) {
      Long itemEnd = StripeEvent.wholeNumber(item.getValue("current_period_end"));
      end = Math.max(end, itemEnd == null ? 0 : itemEnd);
    }
    Long legacy = StripeEvent.wholeNumber(sub.getValue("current_period_end"));
    if (end == 0 && legacy != null) {
      end = legacy;
    }
    // Beyond year 9999 is not a date (and would not fit the column): treated as unknown.
    return end <= 0 || end > MAX_EPOCH_SECOND ? null
        : OffsetDateTime.ofInstant(Instant.ofEpochSecond(end), ZoneOffset.UTC);
  }

  /** Orders events of the same second: a subscription is created, then updated, then deleted. */
  private static short rank(String type) {
    return switch (type) {
      case "customer.subscription.created" -> (short) 0;
      case "customer.subscription.updated" -> (short) 1;
      default -> (short) 2;
    };
  }
}
