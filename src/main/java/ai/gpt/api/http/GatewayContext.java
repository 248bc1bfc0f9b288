package ai.gpt.api.http;

import ai.gpt.api.api.ApiRoutes;
import ai.gpt.api.account.SessionCheck;
import ai.gpt.api.auth.AuthHandler;
import ai.gpt.api.catalog.Catalog;
import ai.gpt.api.config.GatewayConfig;
import ai.gpt.api.metering.RequestMetering;
import ai.gpt.api.metrics.GatewayMetrics;
import ai.gpt.api.routing.BackendRegistry;
import ai.gpt.api.status.TrafficCounts;
import java.util.List;
import ai.gpt.api.tracing.Tracing;

/** The process-wide services every gateway verticle instance shares. All are safe to use from any event loop. */
public record GatewayContext(
    GatewayConfig config,
    Catalog catalog,
    BackendRegistry backends,
    AuthHandler auth,
    RequestMetering metering,
    GatewayMetrics metrics,
    List<ApiRoutes> apiRoutes,
    SessionCheck sessionCheck,
    ConnectionGuard connections,
    TrafficCounts traffic,
    Tracing tracing) {}
