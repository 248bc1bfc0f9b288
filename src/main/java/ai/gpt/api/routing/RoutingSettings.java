package ai.gpt.api.routing;

/** The knobs of routing, taken from the gateway configuration. */
public record RoutingSettings(int queueSize, long queueTimeoutMs, long healthIntervalMs) {}
