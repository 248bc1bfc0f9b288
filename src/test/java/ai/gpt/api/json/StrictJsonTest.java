package ai.gpt.api.json;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.error.ApiError;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.math.BigInteger;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class StrictJsonTest {
  /** The gateway's MAX_BODY_BYTES default. */
  private static final int FOUR_MIB = 4 * 1024 * 1024;
  /** Refusals happen at the first byte past a limit, on the event loop: generous for a loaded CI machine. */
  private static final long REFUSAL_BOUND_NANOS = 1_000_000_000L;
  /**
   * Valid 4 MiB bodies parse on a worker thread (ProxyHandler) in tens to hundreds of milliseconds; the bound is
   * generous for a loaded CI machine and still catches a superlinear parse (the quadratic exponent of issue 8).
   */
  private static final long PARSE_BOUND_NANOS = 5_000_000_000L;

  private static void refused(String body) {
    refused(Buffer.buffer(body));
  }

  private static void refused(Buffer body) {
    ApiError e = assertThrows(ApiError.class, () -> StrictJson.object(body));
    assertEquals(400, e.status());
    assertEquals("invalid_json", e.code());
  }

  @Test
  @DisplayName("plain JSON keeps its types: ints stay Integer/Long/BigInteger, decimals are Double")
  void types() {
    JsonObject o = StrictJson.object(Buffer.buffer(
        "{\"a\":1,\"b\":5000000000,\"c\":123456789012345678901234567890,\"d\":1e3,\"e\":1.5,\"f\":[true,null,\"x\"],"
            + "\"g\":-0.0}"));
    assertEquals(Integer.class, o.getValue("a").getClass());
    assertEquals(Long.class, o.getValue("b").getClass());
    assertEquals(BigInteger.class, o.getValue("c").getClass());
    assertEquals(1000.0, o.getValue("d"), "1e3 is a decimal, never an integer");
    assertEquals(new JsonArray().add(true).addNull().add("x"), o.getJsonArray("f"));
  }

  @Test
  @DisplayName("escaped pairs decode to one code point")
  void surrogatePairs() {
    assertEquals("\uD83D\uDE00", StrictJson.object(Buffer.buffer("{\"a\":\"\\ud83d\\ude00\"}")).getString("a"));
  }

  @Test
  @DisplayName("the non-standard and ambiguous shapes are refused")
  void refusals() {
    for (String body : new String[] {"", " ", "null", "[]", "\"x\"", "{} {}", "{}x", "{\"a\":1,}", "[1,]",
        "{/*c*/}", "{}//c", "{\"a\":1 # c\n}", "{'a':1}", "{a:1}", "{\"a\":NaN}", "{\"a\":-Infinity}",
        "{\"a\":01}", "{\"a\":+1}", "{\"a\":.5}", "{\"a\":1e400}", "{\"a\":-1e400}", "{\"a\":1,\"a\":1}",
        "{\"a\":\"tab\there\"}", "{\"a\":\"\\x41\"}", "\uFEFF{}", "{\"a\":0x10}",
        "{\"a\":\"x\\ud800y\"}", "{\"a\":\"\\udc00\"}", "{\"\\ud800\":1}"}) {
      refused(body);
    }
    refused(Buffer.buffer(new byte[] {'{', '"', 'a', '"', ':', '"', (byte) 0xC3, '"', '}'})); // truncated UTF-8
    refused(Buffer.buffer(new byte[] {'{', '"', 'a', '"', ':', '"', (byte) 0xED, (byte) 0xA0, (byte) 0x80, '"',
        '}'})); // an encoded surrogate is not UTF-8
  }

  @Test
  @DisplayName("4 MiB of deep nesting, one huge number, many numbers or one long string: refused by the limits "
      + "or parsed well under a second")
  void boundedCost() {
    Buffer[] hostile = {
        Buffer.buffer("{\"a\":" + "[".repeat(FOUR_MIB - 10) + "}"),
        Buffer.buffer("{\"a\":1" + "0".repeat(FOUR_MIB - 10) + "}"),
        Buffer.buffer("{\"a\":1e" + "9".repeat(FOUR_MIB - 10) + "}"),
        Buffer.buffer("{\"a\":0." + "1".repeat(FOUR_MIB - 10) + "}"),
        Buffer.buffer("{\"" + "k".repeat(FOUR_MIB - 10) + "\":1}")};
    for (Buffer body : hostile) {
      refused(body); // warm up once, then time
      long t0 = System.nanoTime();
      refused(body);
      long took = System.nanoTime() - t0;
      assertTrue(took < REFUSAL_BOUND_NANOS, "refused a 4 MiB body in " + took / 1_000_000 + " ms");
    }

    StringBuilder numbers = new StringBuilder(FOUR_MIB).append("{\"a\":[");
    while (numbers.length() < FOUR_MIB - 40) {
      numbers.append("1.7976931348623157e308,-2.2250738585072014E-308,");
    }
    numbers.append("0]}");
    StringBuilder keys = new StringBuilder(FOUR_MIB).append('{');
    for (int i = 0; keys.length() < FOUR_MIB - 40; i++) {
      keys.append("\"k").append(i).append("\":[{\"x\":\"\\u00e9\\n\"}],");
    }
    keys.append("\"end\":0}");
    String longString = "{\"a\":\"" + "\\u00e9".repeat((FOUR_MIB - 20) / 6) + "\"}";
    for (String body : new String[] {numbers.toString(), keys.toString(), longString}) {
      StrictJson.object(Buffer.buffer(body)); // warm up once, then time
      long t0 = System.nanoTime();
      StrictJson.object(Buffer.buffer(body));
      long took = System.nanoTime() - t0;
      assertTrue(took < PARSE_BOUND_NANOS, "parsed a 4 MiB body in " + took / 1_000_000 + " ms");
    }
  }
}
