package ai.gpt.api.http;

import ai.gpt.api.api.ApiRouter;
import ai.gpt.api.auth.AuthHandler;
import ai.gpt.api.error.ApiError;
import ai.gpt.api.error.FailureHandler;
import ai.gpt.api.proxy.Endpoint;
import ai.gpt.api.proxy.ModelsHandler;
import ai.gpt.api.proxy.ProxyHandler;
import ai.gpt.api.proxy.RequestPreparer;
import ai.gpt.api.tracing.RequestSpan;
import ai.gpt.api.tracing.Tracing;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.PoolOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.concurrent.TimeUnit;

/**
 * The public HTTP server: the OpenAI API under /v1 and the web app. One instance runs per event loop, all
 * sharing the port; each has its own upstream HTTP client so a request and its upstream call stay on one
 * event loop.
 */
public final class GatewayVerticle extends VerticleBase {
  private final GatewayContext gateway;
  private HttpClient upstreamClient;
  private HttpServer server;
  private Router router;

  public GatewayVerticle(GatewayContext gateway) {
    this.gateway = gateway;
  }

  @Override
  public Future<?> start() {
    var config = gateway.config();
    upstreamClient = vertx.createHttpClient(
        new HttpClientOptions()
            .setConnectTimeout((int) config.upstreamConnectTimeoutMs())
            .setKeepAlive(true)
            // llama-server closes idle connections after 5 s; give ours up first so none is reused dead.
            .setKeepAliveTimeout(4)
            // A request's idle timeout only runs until the response head; this one also cuts a stream whose
            // backend falls silent mid-body, so UPSTREAM_IDLE_TIMEOUT_MS bounds any silence.
            .setIdleTimeout((int) config.upstreamIdleTimeoutMs())
            .setIdleTimeoutUnit(TimeUnit.MILLISECONDS)
            .setTcpNoDelay(true),
        new PoolOptions().setHttp1MaxSize(config.upstreamPoolSize()));
    return StaticSite.load(vertx).compose(site -> {
      router = router(site);
      ConnectionGuard guard = gateway.connections();
      HttpServerOptions options = guard.configure(new HttpServerOptions()
          .setTcpNoDelay(true)
          .setCompressionSupported(false));
      ProtocolErrors protocolErrors = new ProtocolErrors(gateway.metrics());
      return vertx.createHttpServer(options)
          .connectionHandler(connection -> guard.accept(connection, options))
          .invalidRequestHandler(protocolErrors::invalidRequest)
          .exceptionHandler(protocolErrors::connectionException)
          .requestHandler(router)
          .listen(config.port(), config.host());
    }).onSuccess(s -> server = s);
  }

  /**
   * Stops accepting connections and lets the requests and streams in flight finish, for up to {@code graceMs};
   * whatever is still open then is closed. Idle kept-alive connections close at once.
   */
  public Future<Void> shutdown(long graceMs) {
    return server == null ? Future.succeededFuture() : server.shutdown(graceMs, TimeUnit.MILLISECONDS);
  }

  @Override
  public Future<?> stop() {
    return (server == null ? Future.succeededFuture() : server.close()).eventually(() -> upstreamClient.close());
  }

  /** The port actually bound, useful when PORT=0 in tests. */
  public int actualPort() {
    return server.actualPort();
  }

  /** The routes this server answers (the /api ones in the sub-router of the /api/* route). */
  public Router router() {
    return router;
  }

  private Router router(StaticSite site) {
    var config = gateway.config();
    Router router = Router.router(vertx);
    router.route().handler(RequestIds.create());
    router.route().handler(new PathEncoding());
    if (config.accounts().publicUrl().startsWith("https://")) {
      // Served over HTTPS (behind TLS termination): browsers must never fall back to plain HTTP.
      router.route().handler(ctx -> {
        ctx.response().putHeader("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
        ctx.next();
      });
    }
    router.route().handler(AccessLog.create(config.jsonLogs(), gateway.metrics(), gateway.traffic()));

    Tracing tracing = gateway.tracing();
    Handler<RoutingContext> auth = gateway.auth();
    if (tracing.on()) {
      // Only with tracing on: with it off, a request pays nothing for it, not even a handler call.
      router.route("/v1/*").handler(RequestSpan.handler(tracing));
      AuthHandler keys = gateway.auth();
      auth = ctx -> {
        RequestSpan.of(ctx).stage("auth");
        keys.handle(ctx);
      };
    }
    Handler<RoutingContext> body = BodyLimit.create(config.maxBodyBytes());
    RequestPreparer preparer = new RequestPreparer(gateway.catalog());
    for (Endpoint endpoint : Endpoint.values()) {
      router.post(endpoint.path())
          .handler(body)
          .handler(auth)
          .handler(new ProxyHandler(endpoint, preparer, gateway.backends(), upstreamClient, gateway.metering(),
              gateway.metrics(), config.upstreamConnectTimeoutMs(), config.upstreamIdleTimeoutMs()));
    }
    ModelsHandler models = new ModelsHandler(gateway.catalog());
    router.get("/v1/models").handler(auth).handler(models::list);
    router.get("/v1/models/:id").handler(auth).handler(models::get);
    router.route("/api/*").subRouter(ApiRouter.create(vertx, gateway.apiRoutes(), gateway.sessionCheck(),
        config.accounts().corsOrigins()));
    router.route("/v1/*").handler(ctx -> ctx.fail(ApiError.notFound(
        "Unknown request URL: " + ctx.request().method() + " " + ctx.request().path() + ".")));

    site.mount(router);
    FailureHandler failures = FailureHandler.create();
    router.route().failureHandler(failures);
    // What the router answers by itself (no route matched, none for this method, a path it cannot read, a failure
    // no route handled): JSON too, never Vert.x's HTML page.
    for (int status : new int[] {400, 404, 405, 500}) {
      router.errorHandler(status, failures);
    }
    return router;
  }
}
