package ai.gpt.api.metering;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The metering metrics of one replica: admissions by outcome, holds outstanding, settle and script latency,
 * tokens and cost by model, Redis outages and settlements waiting for Redis. Queue length, writer lag and rows
 * written belong to the usage writer ({@code ai.gpt.api.usage.UsageWriterMetrics}).
 */
final class MeteringMetrics {
  private final MeterRegistry registry;
  // Keyed by records of the labels (constant strings, whose hashes are cached), not by a string built per request.
  private final Map<AdmissionKey, Counter> admissions = new ConcurrentHashMap<>();
  private final Map<String, ModelCounters> models = new ConcurrentHashMap<>();
  private final Timer admitScript;
  private final Timer settleScript;
  private final Timer settleDelay;
  private final Counter incidents;
  private final Counter slowCalls;
  private final AtomicInteger redisDown = new AtomicInteger();
  private final AtomicLong holds = new AtomicLong();
  private final AtomicLong heldMicros = new AtomicLong();

  MeteringMetrics(MeterRegistry registry, PendingSettlements pending) {
    this.registry = registry;
    admitScript = scriptTimer("admit"); // no version in the label: dashboards outlive script versions
    settleScript = scriptTimer("settle");
    settleDelay = Timer.builder("gptapi_settle_delay")
        .description("Time from the end of a response until Redis accepted its settlement (retries included)")
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofNanos(50_000))
        .maximumExpectedValue(Duration.ofMinutes(10))
        .register(registry);
    incidents = Counter.builder("gptapi_metering_redis_incidents")
        .description("Times the limiter's Redis became unreachable").register(registry);
    slowCalls = Counter.builder("gptapi_metering_slow_calls")
        .description("Metering calls that timed out while Redis answered its own PING: this gateway's overload")
        .register(registry);
    Gauge.builder("gptapi_metering_redis_down", redisDown, AtomicInteger::get)
        .description("1 while the limiter's Redis is failing (admission follows the failure policy)")
        .register(registry);
    Gauge.builder("gptapi_holds_outstanding", holds, AtomicLong::get)
        .description("Requests admitted on this replica and not yet settled").register(registry);
    Gauge.builder("gptapi_holds_outstanding_usd", heldMicros, v -> v.get() / 1_000_000.0)
        .description("Credit held for the requests admitted on this replica and not yet settled, in USD")
        .register(registry);
    Gauge.builder("gptapi_settlements_pending", pending, PendingSettlements::size)
        .description("Settlements waiting for Redis to come back").register(registry);
  }

  private Timer scriptTimer(String script) {
    return Timer.builder("gptapi_redis_script")
        .description("Latency of the limiter's Redis scripts (one EVALSHA, plus a balance load when needed)")
        .tags("script", script)
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofNanos(20_000))
        .maximumExpectedValue(Duration.ofSeconds(5))
        .register(registry);
  }

  /** The gate's queue of calls waiting for a Redis slot. */
  void queue(RedisCallGate gate) {
    Gauge.builder("gptapi_metering_queued", gate, RedisCallGate::queued)
        .description("Admission and settlement calls waiting in this gateway for a free Redis slot")
        .register(registry);
  }

  /**
   * outcome: admitted, rate_limited, concurrency_limited, insufficient_quota, unavailable or overloaded (this
   * gateway's own admission queue); source: redis, allotment (admitted from an allotment, {@link Allotments}) or local.
   */
  void admission(String outcome, String window, String source) {
    admissions.computeIfAbsent(new AdmissionKey(outcome, window, source), k -> Counter.builder("gptapi_admissions")
        .description("Admission decisions by outcome, the window that refused (if any) and who decided")
        .tags("outcome", outcome, "window", window, "source", source)
        .register(registry)).increment();
  }

  private record AdmissionKey(String outcome, String window, String source) {}

  void admitLatency(long nanos) {
    admitScript.record(nanos, TimeUnit.NANOSECONDS);
  }

  void settleLatency(long nanos) {
    settleScript.record(nanos, TimeUnit.NANOSECONDS);
  }

  void settled(long nanosSinceEnd) {
    settleDelay.record(nanosSinceEnd, TimeUnit.NANOSECONDS);
  }

  void held(long micros) {
    holds.incrementAndGet();
    heldMicros.addAndGet(micros);
  }

  void released(long micros) {
    holds.decrementAndGet();
    heldMicros.addAndGet(-micros);
  }

  void usage(String model, long promptTokens, long completionTokens, long costMicros) {
    ModelCounters c = models.computeIfAbsent(model, m -> new ModelCounters(registry, m));
    add(c.prompt, promptTokens);
    add(c.completion, completionTokens);
    add(c.cost, costMicros);
  }

  private static void add(Counter counter, long amount) {
    if (amount > 0) {
      counter.increment(amount);
    }
  }

  /** One model's token and cost counters (registered with the model's first usage, even if zero). */
  private record ModelCounters(Counter prompt, Counter completion, Counter cost) {
    ModelCounters(MeterRegistry registry, String model) {
      this(tokens(registry, model, "prompt"), tokens(registry, model, "completion"),
          Counter.builder("gptapi_cost_micro_usd")
              .description("Amount charged, in micro-USD, by model").tags("model", model).register(registry));
    }

    private static Counter tokens(MeterRegistry registry, String model, String kind) {
      return Counter.builder("gptapi_tokens")
          .description("Tokens processed, by model and kind (prompt or completion)")
          .tags("model", model, "kind", kind).register(registry);
    }
  }

  void slowCall() {
    slowCalls.increment();
  }

  void outageStarted() {
    incidents.increment();
    redisDown.set(1);
  }

  void outageEnded() {
    redisDown.set(0);
  }
}
