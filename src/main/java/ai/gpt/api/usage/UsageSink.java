package ai.gpt.api.usage;

/**
 * Where the proxy reports what each request consumed. Called exactly once per request that reached a
 * backend, on the request's event loop; implementations must not block.
 */
public interface UsageSink {
  void record(UsageEvent event);
}
