package ai.gpt.api.status;

import ai.gpt.api.account.MailLimits;
import ai.gpt.api.account.SecretBox;
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
  private final TrafficCounts traffic;
  private final Incidents incidents;
  private final StatusMonitor monitor;
  private final StatusRoutes routes;

  private Status(TrafficCounts traffic, Incidents incidents, StatusMonitor monitor, StatusRoutes routes) {
    this.traffic = traffic;
    this.incidents = incidents;
    this.monitor = monitor;
    this.routes = routes;
  }

  public static Status create(GatewayConfig config, Pool pool, Redis redis, Catalog catalog,
      BackendRegistry registry, UsageWriterMetrics writer, GatewayMetrics metrics, Mailer mailer,
      MailLimits mailLimits) {
    StatusSettings settings = config.status();
    TrafficCounts traffic = new TrafficCounts();
    IncidentMail mail = mail(config, pool, mailer);
    Incidents incidents = new Incidents(pool, mail, false);
    LiveStatus live = new LiveStatus(catalog, registry, traffic, new Dependencies(pool, redis, metrics), writer,
        config.billing().enabled(), settings);
    StatusMonitor monitor = new StatusMonitor(live, new MinuteRecorder(pool, settings.retentionDays()),
        new AutoIncidents(pool, mail, settings.incidentAfterSeconds(), settings.incidentUpdateMinutes()),
        new UptimeHistory(pool, settings.minRequests(), settings.errorRate()), incidents, settings);
    StatusRoutes routes = new StatusRoutes(monitor, subscribers(config, pool), mailLimits,
        config.accounts().clientAddress(), mailer, config.accounts().publicUrl(), settings.cacheMs());
    return new Status(traffic, incidents, monitor, routes);
  }

  /** The incidents store alone, with its subscriber e-mails, for the CLI. */
  public static Incidents incidents(GatewayConfig config, Pool pool, Mailer mailer) {
    return new Incidents(pool, mail(config, pool, mailer), true);
  }

  private static IncidentMail mail(GatewayConfig config, Pool pool, Mailer mailer) {
    return new IncidentMail(subscribers(config, pool), mailer, config.accounts().publicUrl());
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
}
