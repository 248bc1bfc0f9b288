package ai.gpt.api.status;

import ai.gpt.api.account.MailLimits;
import ai.gpt.api.account.SecretBox;
import ai.gpt.api.billing.stripe.StripeHealth;
import ai.gpt.api.catalog.Catalog;
import ai.gpt.api.config.GatewayConfig;
import ai.gpt.api.config.StatusSettings;
import ai.gpt.api.mail.Mailer;
import ai.gpt.api.routing.BackendRegistry;
import ai.gpt.api.metrics.GatewayMetrics;
import ai.gpt.api.usage.UsageWriterMetrics;
import io.vertx.redis.client.Redis;
import io.vertx.sqlclient.Pool;

/**
 * The status feature wired together: the traffic counters the access log feeds, the incidents store the admin API
 * uses, the background monitor to deploy, and the public routes.
 */
public final class Status {
  /** How often an idle replica looks for queued subscriber e-mails. */
  private static final long MAIL_POLL_MS = 1_000;
  private final TrafficCounts traffic;
  private final Incidents incidents;
  private final StatusMonitor monitor;
  private final StatusRoutes routes;
  private final IncidentMailer mailer;

  private Status(TrafficCounts traffic, Incidents incidents, StatusMonitor monitor, StatusRoutes routes,
      IncidentMailer mailer) {
    this.traffic = traffic;
    this.incidents = incidents;
    this.monitor = monitor;
    this.routes = routes;
    this.mailer = mailer;
  }

  public static Status create(GatewayConfig config, Pool pool, Redis redis, Catalog catalog,
      BackendRegistry registry, UsageWriterMetrics writer, StripeHealth stripe, GatewayMetrics metrics, Mailer mailer,
      MailLimits mailLimits) {
    StatusSettings settings = config.status();
    TrafficCounts traffic = new TrafficCounts();
    IncidentMail mail = new IncidentMail(config.accounts().publicUrl());
    Incidents incidents = new Incidents(pool, mail);
    LiveStatus live = new LiveStatus(catalog, registry, traffic, new Dependencies(pool, redis, metrics), writer,
        config.billing().enabled() ? stripe : null, config.billing().enabled(), settings);
    StatusMonitor monitor = new StatusMonitor(live, new MinuteRecorder(pool, settings.retentionDays()),
        new AutoIncidents(pool, mail, settings.incidentAfterSeconds(), settings.incidentUpdateMinutes()),
        new UptimeHistory(pool, settings.minRequests(), settings.errorRate()), incidents, settings);
    Subscribers subscribers = subscribers(config, pool);
    StatusRoutes routes = new StatusRoutes(monitor, subscribers, mailLimits,
        config.accounts().clientAddress(), mailer, config.accounts().publicUrl(), settings.cacheMs());
    IncidentMailer sender = new IncidentMailer(pool, subscribers, mailer, config.accounts().publicUrl(),
        config.replicaName(), MAIL_POLL_MS, settings.mailRetryBaseMs());
    return new Status(traffic, incidents, monitor, routes, sender);
  }

  /**
   * The incidents store alone, for the CLI: its changes queue their subscriber e-mails, which the gateways'
   * {@link IncidentMailer}s send.
   */
  public static Incidents incidents(GatewayConfig config, Pool pool) {
    return new Incidents(pool, new IncidentMail(config.accounts().publicUrl()));
  }

  private static Subscribers subscribers(GatewayConfig config, Pool pool) {
    return new Subscribers(pool, new SecretBox(config.accounts().secretsKey()));
  }

  public TrafficCounts traffic() {
    return traffic;
  }

  public Incidents incidents() {
    return incidents;
  }

  public StatusMonitor monitor() {
    return monitor;
  }

  public StatusRoutes routes() {
    return routes;
  }

  /** The sender of the queued subscriber e-mails, to deploy on every replica. */
  public IncidentMailer mailer() {
    return mailer;
  }
}
