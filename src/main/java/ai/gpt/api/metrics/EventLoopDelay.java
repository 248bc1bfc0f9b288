package ai.gpt.api.metrics;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * How late a timer fires on an event loop: deploy one instance per loop. Anything blocking or hogging a loop (a slow
 * handler, a long GC pause, CPU starvation) shows as delay here before it shows as latency everywhere.
 */
public final class EventLoopDelay extends VerticleBase {
  static final long TICK_MS = 100;
  private final Timer delay;
  private long expectedNanos;

  public EventLoopDelay(MeterRegistry registry) {
    // One shared timer: Micrometer returns the registered one to every instance.
    this.delay = Timer.builder("gptapi_event_loop_delay")
        .description("How late a 100 ms timer fired on an event loop (blocked or starved loops)")
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofNanos(100_000))
        .maximumExpectedValue(Duration.ofSeconds(10))
        .register(registry);
  }

  @Override
  public Future<?> start() {
    expectedNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TICK_MS);
    vertx.setPeriodic(TICK_MS, id -> {
      long now = System.nanoTime();
      delay.record(Math.max(0, now - expectedNanos), TimeUnit.NANOSECONDS);
      expectedNanos = now + TimeUnit.MILLISECONDS.toNanos(TICK_MS);
    });
    return Future.succeededFuture();
  }
}
