package ai.gpt.api.admin;

import ai.gpt.api.api.ApiRoutes;
import ai.gpt.api.billing.CreditDebits;
import ai.gpt.api.billing.plans.PlanEdits;
import ai.gpt.api.contact.ContactMessages;
import ai.gpt.api.routing.BackendRegistry;
import ai.gpt.api.status.Incidents;
import io.vertx.ext.web.Router;
import io.vertx.redis.client.Redis;
import io.vertx.sqlclient.Pool;

/**
 * The platform admin API under /api/admin, for users with {@code users.is_admin}. {@link AdminGuard} re-reads the
 * flag on every request; anyone else gets the same 404 as an unknown route, so the API is not revealed. Every write
 * inserts its {@link AdminAudit} row in the transaction of the change. Redis and catalog effects follow the CLI:
 * credits drop the organization's hot balance, limit changes reload every key, and model and backend changes reach
 * every gateway through the catalog NOTIFY trigger.
 */
public final class AdminRoutes implements ApiRoutes {
  private final AdminGuard guard;
  private final AdminUserRoutes users;
  private final AdminOrgRoutes orgs;
  private final AdminPlanRoutes plans;
  private final AdminCreditRoutes credits;
  private final AdminModelRoutes models;
  private final AdminBackendRoutes backends;
  private final AdminMonitor monitor;
  private final AdminAuditRoutes audit;
  private final AdminIncidentRoutes incidents;
  private final AdminContactRoutes contact;

  /** {@code registry} is this gateway's live backend view, for health in the monitor; null reads the table only. */
  public AdminRoutes(Pool pool, Redis redis, BackendRegistry registry, CreditDebits debits, Incidents incidents) {
    AdminBackendView backendView = new AdminBackendView(registry);
    this.guard = new AdminGuard(pool);
    this.users = new AdminUserRoutes(pool);
    this.orgs = new AdminOrgRoutes(pool, redis);
    this.plans = new AdminPlanRoutes(pool, new PlanEdits(pool, redis));
    this.credits = new AdminCreditRoutes(pool, debits);
    this.models = new AdminModelRoutes(pool);
    this.backends = new AdminBackendRoutes(pool, backendView);
    this.monitor = new AdminMonitor(pool, backendView);
    this.audit = new AdminAuditRoutes(pool);
    this.incidents = new AdminIncidentRoutes(incidents);
    this.contact = new AdminContactRoutes(new ContactMessages(pool));
  }

  @Override
  public void mountSignedIn(Router api) {
    // The guard must come first: it is what keeps every route below from non-admins.
    api.route("/admin/*").handler(guard);
    users.mount(api);
    orgs.mount(api);
    plans.mount(api);
    credits.mount(api);
    models.mount(api);
    backends.mount(api);
    monitor.mount(api);
    audit.mount(api);
    incidents.mount(api);
    contact.mount(api);
  }
}
