package ai.gpt.api.limits;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.billing.Money;
import java.math.BigDecimal;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class LimitsUnitTest {

  @Test
  @DisplayName("cost rounds up to the next micro-dollar, input and output separately, in long math")
  void money() {
    assertEquals(0, Money.cost(0, 250_000));
    assertEquals(1, Money.cost(1, 250_000));          // 0.25 micro -> 1
    assertEquals(1, Money.cost(4, 250_000));          // exactly 1
    assertEquals(2, Money.cost(5, 250_000));
    assertEquals(250_000, Money.cost(1_000_000, 250_000));
    assertEquals(Money.cost(1000, 250_000) + Money.cost(333, 500_000), Money.requestCost(1000, 333, 250_000, 500_000));
    assertEquals(417, Money.requestCost(1000, 333, 250_000, 500_000)); // 250 + ceil(166.5)
    assertEquals(new BigDecimal("0.000417"), Money.toUsd(417));
    assertThrows(ArithmeticException.class, () -> Money.cost(Long.MAX_VALUE / 2, 3));
    assertThrows(IllegalArgumentException.class, () -> Money.cost(-1, 1));
  }

  @Test
  @DisplayName("every key of an org carries the same {o<org>} tag; names follow the documented layout")
  void keys() {
    long org = 1234567;
    String key1 = RedisKeys.limits(org, 99, Bucket.Scope.KEY);
    assertEquals("gptapi:{o1234567}:lim:key:99", key1);
    assertEquals("gptapi:{o1234567}:lim:org:1234567", RedisKeys.limits(org, 99, Bucket.Scope.ORG));
    assertEquals("gptapi:{o1234567}:org:1234567:balance", RedisKeys.balance(org));
    assertEquals("gptapi:{o1234567}:org:1234567:holds", RedisKeys.holds(org));
    assertEquals("gptapi:{o1234567}:org:1234567:holdexp", RedisKeys.holdExpiries(org));
    assertEquals("gptapi:{o1234567}:req:abc", RedisKeys.request(org, "abc"));
    assertEquals("gptapi:{o1234567}:conc:99", RedisKeys.concurrency(org, 99));
    assertEquals("gptapi:{o1234567}:outbox", RedisKeys.outbox(org));
    assertEquals(org, RedisKeys.orgOfOutbox(RedisKeys.outbox(org)));
    assertEquals(-1, RedisKeys.orgOfOutbox("gptapi:{s7}:usage"));
    assertEquals(-1, RedisKeys.orgOfOutbox("gptapi:{o}:outbox"));
    Set<Integer> slots = new HashSet<>();
    for (String k : new String[] {key1, RedisKeys.balance(org), RedisKeys.request(org, "x"), RedisKeys.concurrency(org, 5),
        RedisKeys.outbox(org), RedisKeys.holds(org)}) {
      slots.add(slot(k));
    }
    assertEquals(1, slots.size(), "one Redis Cluster slot");
    assertNotEquals(slot(RedisKeys.balance(org)), slot(RedisKeys.balance(org + 16)), "orgs of one shard spread");
  }

  @Test
  @DisplayName("limits: null is unlimited, values below 1 are refused; labels name the window")
  void limits() {
    Limits l = Limits.builder().rpm(5).tpd(100).concurrency(2).build();
    assertEquals(5L, l.get(Bucket.Kind.REQUESTS, Window.MINUTE));
    assertEquals(100L, l.get(Bucket.Kind.TOKENS, Window.DAY));
    assertNull(l.get(Bucket.Kind.TOKENS, Window.MINUTE));
    assertThrows(IllegalArgumentException.class, () -> Limits.builder().rpm(0).build());
    assertThrows(IllegalArgumentException.class, () -> Limits.builder().concurrency(0).build());
    assertEquals("requests per minute (key)", new Bucket(Bucket.Scope.KEY, Bucket.Kind.REQUESTS, Window.MINUTE).label());
    assertEquals(12, Admission.ALL_BUCKETS.size());
    assertThrows(IllegalArgumentException.class,
        () -> new AdmissionRequest("_total", 1, 1, null, null, 1, 1), "would collide with the holds total field");
    // The buckets reserve the prompt estimate (100 tokens), the hold covers its bound (400 tokens).
    AdmissionRequest r = AdmissionRequest.of("r", 1, 2, null, null, 100, 400, 1000, 250_000, 500_000);
    assertEquals(1100, r.reservedTokens());
    assertEquals(100 + 500, r.holdMicros());
  }

  @Test
  @DisplayName("reset durations are written the way OpenAI writes them")
  void durations() {
    assertEquals("0ms", WindowState.duration(0));
    assertEquals("17ms", WindowState.duration(17));
    assertEquals("1s", WindowState.duration(1000));
    assertEquals("1.5s", WindowState.duration(1500));
    assertEquals("6m0s", WindowState.duration(360_000));
    assertEquals("1h2m3.04s", WindowState.duration(3_723_040));
    assertTrue(WindowState.duration(86_400_000).startsWith("24h0m0s"));
  }

  /** Redis Cluster's key slot: CRC16 (XMODEM) of the hash tag, mod 16384. */
  static int slot(String key) {
    int open = key.indexOf('{');
    if (open >= 0) {
      int close = key.indexOf('}', open + 1);
      if (close > open + 1) {
        key = key.substring(open + 1, close);
      }
    }
    int crc = 0;
    for (byte b : key.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
      crc ^= (b & 0xff) << 8;
      for (int i = 0; i < 8; i++) {
        crc = (crc & 0x8000) != 0 ? ((crc << 1) ^ 0x1021) : (crc << 1);
        crc &= 0xffff;
      }
    }
    return crc % 16384;
  }
}
