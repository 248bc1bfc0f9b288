package ai.gpt.api;

import ai.gpt.api.account.AccessTokens;
import ai.gpt.api.account.AccountRoutes;
import ai.gpt.api.account.AccountStore;
import ai.gpt.api.account.Attempts;
import ai.gpt.api.account.MailLimits;
import ai.gpt.api.account.OAuthRoutes;
import ai.gpt.api.account.OAuthStore;
import ai.gpt.api.account.PasswordHasher;
import ai.gpt.api.account.SecretBox;
import ai.gpt.api.account.SessionCheck;
import ai.gpt.api.account.Sessions;
import ai.gpt.api.account.SignInLimiter;
import ai.gpt.api.account.TwoFactor;
import ai.gpt.api.account.TwoFactorRoutes;
import ai.gpt.api.admin.AdminRoutes;
import ai.gpt.api.api.ApiRoutes;
import ai.gpt.api.api.DocsRoutes;
import ai.gpt.api.apikeys.KeyRoutes;
import ai.gpt.api.auth.AuthFailures;
import ai.gpt.api.auth.AuthHandler;
import ai.gpt.api.auth.AuthMetrics;
import ai.gpt.api.auth.KeyHasher;
import ai.gpt.api.auth.KeyInvalidations;
import ai.gpt.api.auth.KeyStore;
import ai.gpt.api.auth.LastUsedTracker;
import ai.gpt.api.catalog.Catalog;
import ai.gpt.api.catalog.CatalogLoader;
import ai.gpt.api.catalog.PublicModelRoutes;
import ai.gpt.api.config.AccountConfig;
import ai.gpt.api.config.ClusterMasters;
import ai.gpt.api.config.GatewayConfig;
import ai.gpt.api.config.HttpSettings;
import ai.gpt.api.config.RedisClients;
import ai.gpt.api.contact.ContactMessages;
import ai.gpt.api.contact.ContactRoutes;
import ai.gpt.api.db.Database;
import ai.gpt.api.http.ConnectionGuard;
import ai.gpt.api.http.GatewayContext;
import ai.gpt.api.http.GatewayVerticle;
import ai.gpt.api.metrics.EventLoopDelay;
import ai.gpt.api.metrics.GatewayMetrics;
import ai.gpt.api.metrics.OpsServer;
import ai.gpt.api.routing.BackendRegistry;
import ai.gpt.api.routing.DnsDiscovery;
import ai.gpt.api.routing.HealthChecker;
import ai.gpt.api.routing.RoutingSettings;
import ai.gpt.api.status.Status;
import ai.gpt.api.billing.CreditDebits;
import ai.gpt.api.billing.CreditRoutes;
import ai.gpt.api.billing.Ledger;
import ai.gpt.api.billing.plans.PlanCatalog;
import ai.gpt.api.billing.plans.PlanRoutes;
import ai.gpt.api.billing.stripe.BillingRoutes;
import ai.gpt.api.billing.stripe.BillingStateSection;
import ai.gpt.api.billing.stripe.PlanSection;
import ai.gpt.api.billing.stripe.StripeHealth;
import ai.gpt.api.billing.stripe.SubscriptionSection;
import ai.gpt.api.limits.HotBalances;
import ai.gpt.api.limits.LimiterSettings;
import ai.gpt.api.mail.Mailer;
import ai.gpt.api.metering.Metering;
import ai.gpt.api.metering.RequestMetering;
import ai.gpt.api.metering.Unmetered;
import ai.gpt.api.orgs.Memberships;
import ai.gpt.api.orgs.OrgRoutes;
import ai.gpt.api.orgs.OrgStore;
import ai.gpt.api.playground.PlaygroundRoutes;
import ai.gpt.api.reports.LimitsReport;
import ai.gpt.api.reports.UsageRoutes;
import ai.gpt.api.tracing.Tracing;
import ai.gpt.api.usage.DirectUsageWriter;
import ai.gpt.api.usage.QueuedUsageBalance;
import ai.gpt.api.usage.RedisMasters;
import ai.gpt.api.usage.UsageRetention;
import ai.gpt.api.usage.UsageWriter;
import ai.gpt.api.usage.UsageWriterMetrics;
import ai.gpt.api.usage.UsageWriterSettings;
import ai.gpt.api.webhooks.DeliveryWorker;
import ai.gpt.api.webhooks.EndpointStore;
import ai.gpt.api.webhooks.LimitEvents;
import ai.gpt.api.webhooks.Resolver;
import ai.gpt.api.webhooks.WebhookMetrics;
import ai.gpt.api.webhooks.WebhookRoutes;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import io.vertx.redis.client.Redis;
import io.vertx.sqlclient.Pool;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wires the gateway together and starts it: shared services first (catalog, keys, health checks, metering and the
 * usage writer), then one HTTP verticle per event loop. Migrations must already have run.
 */
public final class Gateway {
  private static final Logger LOG = LoggerFactory.getLogger(Gateway.class);
  private static final long CLOSE_STEP_SECONDS = 5;
  /**
   * Each pooled connection carries one call at a time, and under a burst a call's round trip includes the event
   * loops' lag, so calls per second = connections / lag. Measured with 8,000 streams opened at once on 2 busy cores,
   * 64 connections admitted 3,600 of them before the others waited 10 s, 256 admitted 5,400. Redis takes 10,000
   * clients by default: 256 per replica leaves room for dozens of replicas. Metering sends at most
   * Metering.MAX_IN_FLIGHT calls at once, so its bursts never reach the wait queue's bound.
   */
  private static final int REDIS_POOL_SIZE = 256;
  private static final int REDIS_POOL_WAITING = 4096;
  private final Vertx vertx;
  private final Pool pool;
  private final Redis redis;
  private final KeyInvalidations invalidations;
  private final LastUsedTracker lastUsed;
  private final OpsServer ops;
  private final RequestMetering metering;
  private final UsageWriter writer;
  private final List<String> deployments;
  private final List<GatewayVerticle> servers;
  private final HttpSettings http;
  private final Tracing tracing;

  private Gateway(Vertx vertx, Pool pool, Redis redis, KeyInvalidations invalidations, LastUsedTracker lastUsed,
      OpsServer ops, RequestMetering metering, UsageWriter writer, List<String> deployments,
      List<GatewayVerticle> servers, HttpSettings http, Tracing tracing) {
    this.vertx = vertx;
    this.pool = pool;
    this.redis = redis;
    this.metering = metering;
    this.writer = writer;
    this.invalidations = invalidations;
    this.lastUsed = lastUsed;
    this.ops = ops;
    this.deployments = deployments;
    this.servers = List.copyOf(servers);
    this.http = http;
    this.tracing = tracing;
  }

  public static Future<Gateway> start(Vertx vertx, GatewayConfig config) {
    GatewayMetrics metrics = new GatewayMetrics();
    Pool pool = Database.pool(vertx, config.databaseUrl(), 8);
    // Every request in flight holds a pooled connection for its admit and settle calls; the client's defaults
    // (6 connections, 24 waiting) refuse bursts far below what one replica serves.
    Redis redis = RedisClients.create(vertx, config.redisUrl(), REDIS_POOL_SIZE, REDIS_POOL_WAITING);
    Catalog catalog = new Catalog();
    BackendRegistry registry = new BackendRegistry(vertx,
        new RoutingSettings(config.queueSize(), config.queueTimeoutMs(), config.healthIntervalMs()), metrics);
    KeyStore keys = new KeyStore(pool);
    LastUsedTracker lastUsed = new LastUsedTracker(vertx, pool);
    OpsServer ops = new OpsServer(metrics, pool, redis, config.http().metricsHost(), config.metricsPort(),
        config.metered());
    List<String> deployments = new ArrayList<>();
    List<GatewayVerticle> servers = new ArrayList<>();
    UsageWriterMetrics writerMetrics = new UsageWriterMetrics(metrics.registry(), config.replicaName());
    Tracing tracing = Tracing.start(config.tracing());
    RedisMasters masters = RedisClients.cluster(config.redisUrl())
        ? new ClusterMasters(vertx, redis, RedisClients.nodes(config.redisUrl()).get(0))
        : RedisMasters.standalone(redis);
    UsageWriter writer = new UsageWriter(pool, redis, masters, config.replicaName(), UsageWriterSettings.defaults(),
        writerMetrics, tracing);

    QueuedUsageBalance balanceLoader = new QueuedUsageBalance(new Ledger(pool), redis);
    Future<RequestMetering> metering = config.metered()
        ? HotBalances.reconcile(pool, redis, LimiterSettings.defaults().balanceTtlMs())
            .onSuccess(n -> LOG.info("Dropped {} hot balances marked stale; they reload from the ledger on next use",
                n))
            .compose(n -> Metering.create(vertx, redis, balanceLoader::load, LimiterSettings.defaults(),
                config.failurePolicy(), config.allotments(), new DirectUsageWriter(pool), writer,
                metrics.registry()))
            .map(m -> m)
        : Future.succeededFuture(new Unmetered());
    metrics.meteringEnabled(config.metered());
    Future<CreditDebits> debits = CreditDebits.create(vertx, redis, balanceLoader::load, LimiterSettings.defaults());
    AccountConfig accountConfig = config.accounts();
    AccessTokens accessTokens = new AccessTokens(vertx, accountConfig.jwtSecret(), accountConfig.accessTtlSeconds());
    Sessions sessions = new Sessions(pool, accountConfig.sessionTtlDays());
    Mailer mailer = Mailer.create(vertx, accountConfig);
    AccountStore accountStore = new AccountStore(pool);
    PasswordHasher passwordHasher = new PasswordHasher(vertx);
    TwoFactor twoFactor = new TwoFactor(pool, new SecretBox(accountConfig.secretsKey()));
    EndpointStore webhookEndpoints = new EndpointStore(pool, new SecretBox(accountConfig.secretsKey()));
    Future<Attempts> attempts = Attempts.load(vertx, redis);
    Future<DocsRoutes> docs = DocsRoutes.load(vertx);
    Future<KeyInvalidations> subscribed = KeyInvalidations.start(vertx, config.redisUrl(), keys);
    AuthFailures authFailures = new AuthFailures();
    AuthMetrics.register(metrics.registry(), keys, authFailures, lastUsed);
    return Future.all(subscribed, metering, attempts, docs, debits).compose(started -> {
      KeyInvalidations invalidations = started.resultAt(0);
      metering.result().onLimited(new LimitEvents(pool, redis)::refused);
      SignInLimiter limiter = new SignInLimiter(attempts.result());
      MailLimits mailLimits = new MailLimits(attempts.result());
      AccountRoutes accounts = new AccountRoutes(accountStore, sessions, accessTokens, passwordHasher, limiter,
          mailLimits, accountConfig.clientAddress(), twoFactor, mailer, accountConfig.publicUrl(),
          accountConfig.sessionTtlDays());
      // The parts of GET /api/orgs/{id}/billing owned by the plans feature; BillingRoutes adds the customer's
      // payments, the disputes and auto-recharge.
      List<BillingStateSection> billingSections = List.of(new PlanSection(pool), new SubscriptionSection(pool));
      StripeHealth stripeHealth = new StripeHealth(redis, config.status().billingWindowSeconds() * 1000);
      BillingRoutes billing = new BillingRoutes(vertx, pool, redis, debits.result(), config.billing(),
          accountConfig.publicUrl(), mailer, billingSections, stripeHealth);
      metering.result().watchBalances(billing.balanceWatch());
      Status status = Status.create(config, pool, redis, catalog, registry, writerMetrics, stripeHealth, metrics,
          mailer,
          mailLimits);
      // Every feature of the /api JSON API, in mounting order.
      List<ApiRoutes> apiRoutes = List.of(
          docs.result(), // public: /api/openapi.json and /api/docs
          accounts,
          new TwoFactorRoutes(accounts, accountStore, twoFactor, passwordHasher, limiter),
          new OAuthRoutes(vertx, accountConfig.oauth(), accounts, accountStore, new OAuthStore(pool), twoFactor,
              redis, attempts.result(), accountConfig.publicUrl(), BillingRoutes.publicConfig(config.billing())),
          new OrgRoutes(new OrgStore(pool), new Memberships(pool), mailer, mailLimits, accountConfig.publicUrl()),
          new KeyRoutes(pool, redis, new KeyHasher(config.keyPepper())),
          new PlaygroundRoutes(pool, redis, new KeyHasher(config.keyPepper()), attempts.result()),
          new CreditRoutes(pool, debits.result()),
          billing,
          new PlanRoutes(new PlanCatalog(pool)),
          new UsageRoutes(pool, new LimitsReport(pool, redis, LimiterSettings.defaults())),
          status.routes(),
          new ContactRoutes(new ContactMessages(pool), attempts.result(), accountConfig.clientAddress(), mailer,
              accountConfig.contactEmail()),
          new AdminRoutes(pool, redis, registry, debits.result(), status.incidents()),
          new WebhookRoutes(webhookEndpoints, new Memberships(pool),
              new Resolver(vertx, config.webhooks().allowLoopback()), config.webhooks()),
          new PublicModelRoutes(catalog));
      AuthHandler auth = new AuthHandler(keys, new KeyHasher(config.keyPepper()), lastUsed, authFailures,
          accountConfig.clientAddress());
      GatewayContext context = new GatewayContext(config, catalog, registry, auth, metering.result(), metrics,
          apiRoutes, new SessionCheck(accessTokens, sessions), new ConnectionGuard(config.http(), metrics),
          status.traffic(), tracing);
      return vertx.deployVerticle(new CatalogLoader(pool, Database.connectOptions(config.databaseUrl()), catalog,
              registry))
          .compose(id -> {
            deployments.add(id);
            // BACKEND_DNS: llama.cpp pods found by DNS, before the health checker that probes them.
            return config.discovery().enabled()
                ? vertx.deployVerticle(new DnsDiscovery(config.discovery(), registry, metrics)).map(deployments::add)
                : Future.succeededFuture();
          })
          .compose(v -> vertx.deployVerticle(new HealthChecker(registry, config.healthIntervalMs())))
          .compose(id -> {
            deployments.add(id);
            // A worker: batches are parsed and their arguments built off the event loops serving requests.
            return vertx.deployVerticle(writer, new DeploymentOptions().setThreadingModel(ThreadingModel.WORKER));
          })
          .compose(id -> {
            deployments.add(id);
            return vertx.deployVerticle(new UsageRetention(pool, config.usageRetentionMonths()));
          })
          .compose(id -> {
            deployments.add(id);
            return vertx.deployVerticle(ops);
          })
          .compose(id -> {
            deployments.add(id);
            return vertx.deployVerticle(() -> new EventLoopDelay(metrics.registry()),
                new DeploymentOptions().setInstances(config.eventLoops()));
          })
          .compose(id -> {
            deployments.add(id);
            DeliveryWorker webhooks = new DeliveryWorker(pool, webhookEndpoints, config.webhooks(),
                config.replicaName(), mailer, accountConfig.publicUrl());
            WebhookMetrics.register(metrics.registry(), webhooks);
            return vertx.deployVerticle(webhooks);
          })
          .compose(id -> {
            deployments.add(id);
            return vertx.deployVerticle(() -> {
              GatewayVerticle v = new GatewayVerticle(context);
              synchronized (servers) {
                servers.add(v);
              }
              return v;
            }, new DeploymentOptions().setInstances(config.eventLoops()));
          })
          .compose(id -> {
            deployments.add(id);
            // Last, so the verticles above keep the event loops they had before the status page existed.
            return vertx.deployVerticle(status.monitor());
          })
          .compose(id -> {
            deployments.add(id);
            return vertx.deployVerticle(status.mailer());
          })
          .map(id -> {
            deployments.add(id);
            ops.serving();
            return new Gateway(vertx, pool, redis, invalidations, lastUsed, ops, metering.result(), writer,
                deployments, servers, config.http(), tracing);
          });
    });
  }

  /** The public router (of the first event loop's server; every server has the same routes). */
  public Router router() {
    return servers.get(0).router();
  }

  /** The public port actually bound. */
  public int port() {
    return servers.get(0).actualPort();
  }

  public int metricsPort() {
    return ops.actualPort();
  }

  /**
   * The graceful stop (SIGTERM): /ready answers 503 at once; after SHUTDOWN_DELAY_SECONDS the public port stops
   * accepting and the requests and streams in flight get up to SHUTDOWN_GRACE_SECONDS to finish (each settles
   * before its response ends); once their usage events have reached the usage writer (handed to it in memory, or
   * copied from the outboxes to the usage streams), it writes what is waiting, and
   * {@link #close} stops the rest. Nothing is lost if a step runs out of time, only written later (events stay
   * in Redis for another replica or the next start).
   */
  public Future<Void> shutdown() {
    ops.drain();
    LOG.info("Draining: /ready answers 503; the port closes in {} ms, then requests in flight get {} ms",
        http.shutdownDelayMs(), http.shutdownGraceMs());
    Promise<Void> delay = Promise.promise();
    if (http.shutdownDelayMs() > 0) {
      vertx.setTimer(http.shutdownDelayMs(), id -> delay.complete());
    } else {
      delay.complete();
    }
    return delay.future()
        .compose(v -> Future.join(servers.stream().map(s -> s.shutdown(http.shutdownGraceMs())).toList()))
        .<Void>mapEmpty()
        .otherwiseEmpty()
        .compose(v -> step("usage copies", metering::copiesSent))
        .compose(v -> step("usage flush", writer::flush))
        .compose(v -> close());
  }

  /**
   * Stops everything in reverse order of start. Each step gets a few seconds: a step that hangs is logged and
   * skipped, so a shutdown (or a test's teardown) always completes.
   */
  public Future<Void> close() {
    Future<Void> done = Future.succeededFuture();
    for (int i = deployments.size() - 1; i >= 0; i--) {
      String id = deployments.get(i);
      done = done.compose(v -> step("undeploy " + id, () -> vertx.undeploy(id)));
    }
    // The HTTP servers are gone, so every request has settled; hand Redis what is still waiting.
    return done
        .compose(v -> step("pending settlements", () -> metering.close(CLOSE_STEP_SECONDS * 1000 - 500)))
        .compose(v -> step("last-used flush", () -> {
          lastUsed.close();
          return Future.succeededFuture();
        }))
        .compose(v -> step("key invalidation subscriber", invalidations::close))
        .compose(v -> step("redis client", redis::close))
        .compose(v -> step("span export", () -> vertx.executeBlocking(() -> {
          tracing.close();
          return null;
        })))
        .compose(v -> step("postgres pool", pool::close));
  }

  private static Future<Void> step(String what, Supplier<Future<?>> action) {
    return action.get()
        .timeout(CLOSE_STEP_SECONDS, TimeUnit.SECONDS)
        .onFailure(err -> LOG.warn("Shutdown step '{}' did not finish: {}", what, err.toString()))
        .<Void>mapEmpty()
        .otherwiseEmpty();
  }
}
