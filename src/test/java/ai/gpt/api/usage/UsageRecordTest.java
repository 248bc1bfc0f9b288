package ai.gpt.api.usage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class UsageRecordTest {
  @Test
  @DisplayName("stream keys follow the contract: gptapi:{s<orgId % 16>}:usage")
  void streamKeys() {
    assertEquals("gptapi:{s0}:usage", UsageStreams.key(0));
    assertEquals("gptapi:{s15}:usage", UsageStreams.key(15));
    assertEquals("gptapi:{s2}:usage", UsageStreams.keyForOrg(18));
    assertThrows(IllegalArgumentException.class, () -> UsageStreams.key(16));
  }

  @Test
  @DisplayName("an entry's fields (request_id, org_id, packed usage, ts_ms) parse back to the record that produced them")
  void roundTrip() {
    UsageRecord r = new UsageRecord("req_1", 42, 7L, "gpt-fast", null, "chat", 120, 30, 5, 45_000, 200, true, 812,
        null, 1_767_000_000_123L);
    Map<String, String> fields = r.toFields();
    assertEquals(List.of("request_id", "org_id", "usage", "ts_ms"), List.copyOf(fields.keySet()));
    assertEquals("7,,chat,120,30,5,45000,200,1,812,,gpt-fast", fields.get("usage"));
    assertEquals(r, UsageRecord.parse(fields, 0));
  }

  @Test
  @DisplayName("an event of settle_v6.lua or earlier (one field per value) still parses; a packed value with too "
      + "few parts or a bad number is refused, naming the field")
  void wideEventsAndMalformedUsage() {
    Map<String, String> wide = new HashMap<>(Map.of("request_id", "req_2", "org_id", "42", "key_id", "7", "model",
        "gpt-fast", "backend_id", "", "endpoint", "chat", "prompt_tokens", "120", "completion_tokens", "30",
        "cached_tokens", "5", "cost_micros", "45000"));
    wide.putAll(Map.of("status", "200", "estimated", "1", "latency_ms", "812", "ttft_ms", "", "ts_ms", "1767000000123"));
    assertEquals(new UsageRecord("req_2", 42, 7L, "gpt-fast", null, "chat", 120, 30, 5, 45_000, 200, true, 812, null,
        1_767_000_000_123L), UsageRecord.parse(wide, 0));

    Map<String, String> packed = new HashMap<>(Map.of("request_id", "r", "org_id", "3", "ts_ms", "1"));
    packed.put("usage", "7,,chat,120,30,5,45000,200,1,812");
    IllegalArgumentException few = assertThrows(IllegalArgumentException.class, () -> UsageRecord.parse(packed, 1));
    assertTrue(few.getMessage().startsWith("usage"), few.getMessage());
    packed.put("usage", "7,,chat,120,30,5,4e4,200,1,812,,embed");
    IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> UsageRecord.parse(packed, 1));
    assertTrue(bad.getMessage().startsWith("cost_micros"), bad.getMessage());
  }

  @Test
  @DisplayName("optional fields default sensibly; required and malformed ones are named in the error")
  void lenientAndStrict() {
    Map<String, String> f = new HashMap<>(Map.of("request_id", "r", "org_id", "3", "model", "embed",
        "cost_micros", "10", "status", "200"));
    UsageRecord r = UsageRecord.parse(f, 1_700_000_000_000L);
    assertEquals(0, r.promptTokens());
    assertNull(r.keyId());
    assertNull(r.ttftMs());
    assertFalse(r.estimated());
    assertEquals("", r.endpoint());
    assertEquals(1_700_000_000_000L, r.tsMs(), "ts_ms falls back to the entry id's time");

    for (String required : List.of("request_id", "org_id", "model", "cost_micros", "status")) {
      Map<String, String> missing = new HashMap<>(f);
      missing.remove(required);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> UsageRecord.parse(missing, 1));
      assertTrue(e.getMessage().startsWith(required), e.getMessage());
    }
    Map<String, String> bad = new HashMap<>(f);
    bad.put("cost_micros", "-1");
    assertThrows(IllegalArgumentException.class, () -> UsageRecord.parse(bad, 1));
    bad.put("cost_micros", "1");
    bad.put("prompt_tokens", "99999999999");
    assertThrows(IllegalArgumentException.class, () -> UsageRecord.parse(bad, 1));
    bad.put("prompt_tokens", "1");
    bad.put("estimated", "yes");
    assertThrows(IllegalArgumentException.class, () -> UsageRecord.parse(bad, 1));
  }

  @Test
  @DisplayName("the writer's meters are exported under their documented Prometheus names")
  void meterNames() {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    UsageWriterMetrics m = new UsageWriterMetrics(registry, "pod-1");
    m.batchWritten(500, 498, 12_000_000);
    m.queue(1234, 2_500);
    String scrape = registry.scrape();
    for (String name : List.of("gptapi_usage_rows_written_total{consumer=\"pod-1\"} 498.0",
        "gptapi_usage_batches_total{consumer=\"pod-1\"} 1.0", "gptapi_usage_duplicates_total{consumer=\"pod-1\"} 2.0",
        "gptapi_usage_batch_seconds_count{consumer=\"pod-1\"} 1", "gptapi_usage_queue_length{consumer=\"pod-1\"} 1234.0",
        "gptapi_usage_writer_lag_seconds{consumer=\"pod-1\"} 2.5", "gptapi_usage_rejected_total",
        "gptapi_usage_write_failures_total")) {
      assertTrue(scrape.contains(name), name + " in\n" + scrape);
    }
  }
}
