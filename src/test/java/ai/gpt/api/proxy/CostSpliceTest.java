package ai.gpt.api.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.gpt.api.billing.Money;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The cost splice must give what the tree path gives, byte for byte outside usage, or step aside. */
class CostSpliceTest {
  /** A llama-server chat answer as FakeLlamaServer and llama.cpp write it (compact, usage between fields). */
  private static final String LLAMA = "{\"choices\":[{\"finish_reason\":\"length\",\"index\":0,\"message\":"
      + "{\"role\":\"assistant\",\"content\":\"The quick brown fox\"}}],\"created\":1764612345,\"model\":\"gpt-fast\","
      + "\"system_fingerprint\":\"b1-abc\",\"object\":\"chat.completion\",\"usage\":{\"completion_tokens\":4,"
      + "\"prompt_tokens\":12,\"total_tokens\":16,\"prompt_tokens_details\":{\"cached_tokens\":3}},"
      + "\"id\":\"chatcmpl-x\",\"timings\":{\"cache_n\":0,\"prompt_n\":12,\"prompt_ms\":0.72,\"predicted_ms\":1.5e-2}}";

  @ParameterizedTest
  @ValueSource(strings = {
      LLAMA,
      // Pretty-printed, usage first and last, CRLF and tabs.
      "{\n  \"usage\" : {\n    \"prompt_tokens\" : 5 ,\r\n\t\"completion_tokens\": 7\n  }\n,\"id\":\"a\"}",
      "{\"id\":\"a\",\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7}   \n}\n",
      // Nested objects named usage elsewhere, strings that look like usage, braces and escapes inside strings.
      "{\"choices\":[{\"usage\":{\"prompt_tokens\":999},\"text\":\"\\\"usage\\\":{\\\"cost\\\":1}}\"}],"
          + "\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":3,\"note\":\"}{\\\\\\\"\"},\"x\":[[],{},\"usage\"]}",
      // Unicode: escapes (also in the name usage itself and a surrogate pair) and raw multi-byte UTF-8.
      "{\"content\":\"caf\\u00e9 \\ud83d\\ude00 café 😀 \\/\",\"us\\u0061ge\":{\"prompt_tokens\":1,"
          + "\"completion_tokens\":1,\"k\\u00e9\":\"\\u2028\"}}",
      // Number spellings a tree would rewrite.
      "{\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":20,\"t\":1.50,\"u\":1E+2,\"v\":-0.0},\"w\":12345678901234567890}",
      // An empty usage.
      "{\"usage\":{},\"id\":\"a\"}",
      "{\"usage\":{ \n },\"id\":\"a\"}",
  })
  @DisplayName("a usage object gets the cost spliced in: the same JSON as the tree path, every other byte kept")
  void splices(String body) {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    CostSplice splice = CostSplice.scan(bytes, 0, bytes.length);
    assertNotNull(splice.usage(), body);
    long cost = 1_234_567;
    Buffer spliced = splice.withCost(bytes, cost);

    JsonObject tree = new JsonObject(Buffer.buffer(bytes));
    JsonObject usage = tree.getJsonObject("usage");
    assertEquals(usage, splice.usage());
    assertEquals(TokenUsage.from(usage), TokenUsage.from(splice.usage()));
    usage.put("cost", Money.toUsd(cost));
    assertEquals(tree, new JsonObject(spliced), "the same JSON as the tree path");
    assertEquals("1.234567", new JsonObject(spliced).getJsonObject("usage").getValue("cost").toString());

    String out = spliced.toString(StandardCharsets.UTF_8);
    String added = (splice.usage().isEmpty() ? "" : ",") + "\"cost\":1.234567";
    int at = out.indexOf(added);
    assertTrue(at > 0, out);
    assertEquals(body, out.substring(0, at) + out.substring(at + added.length()), "only the cost was added");
  }

  @ParameterizedTest
  @ValueSource(longs = {0, 1, 9, 10, 100_000, 999_999, 1_000_000, 1_000_001, 12_000_000, Long.MAX_VALUE})
  @DisplayName("the cost is written exactly as Vert.x's encoder writes it on the tree path")
  void costText(long micros) {
    byte[] bytes = "{\"usage\":{\"prompt_tokens\":1}}".getBytes(StandardCharsets.UTF_8);
    String spliced = CostSplice.scan(bytes, 0, bytes.length).withCost(bytes, micros).toString();
    JsonObject tree = new JsonObject(Buffer.buffer(bytes));
    tree.getJsonObject("usage").put("cost", Money.toUsd(micros));
    assertEquals(tree.encode(), spliced);
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "{\"id\":\"a\",\"choices\":[{\"usage\":{\"prompt_tokens\":9}}]}",
      "{\"usage\":null,\"id\":\"a\"}",
      "{}",
  })
  @DisplayName("a well-formed answer without a top-level usage object has nothing to splice")
  void noUsage(String body) {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    assertSame(CostSplice.NO_USAGE, CostSplice.scan(bytes, 0, bytes.length));
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "{\"usage\":{\"prompt_tokens\":1,\"cost\":0.5}}", // the tree path replaces an existing cost
      "{\"usage\":{\"prompt_tokens\":1,\"prompt_tokens\":2}}", // repeated names: the tree keeps the last
      "{\"usage\":{\"prompt_tokens\":1},\"usage\":{\"prompt_tokens\":2}}",
      "{\"usage\":{\"prompt_tokens\":1},\"us\\u0061ge\":{\"prompt_tokens\":2}}",
      "{\"usage\":5}",
      "{\"usage\":\"{}\"}",
      "{\"usage\":[{\"prompt_tokens\":1}]}",
      "{\"usage\":{\"prompt_tokens\":1 /* a comment */}}", // Vert.x's parser takes comments; a splice would not
      "{\"usage\":{\"prompt_tokens\":1}} // trailing comment",
      "{\"usage\":{\"prompt_tokens\":1}}{}",
      "{\"usage\":{\"prompt_tokens\":1}} x",
      "{\"usage\":{\"prompt_tokens\":1,}}",
      "{'usage':{'prompt_tokens':1}}",
      "{\"usage\":{\"prompt_tokens\":NaN}}",
      "{\"usage\":{\"prompt_tokens\":1}",
      "{\"usage\":{\"prompt_tokens\":1",
      "[{\"usage\":{\"prompt_tokens\":1}}]",
      "\"usage\"",
      "",
      "   ",
      "not json",
      "<html>502 Bad Gateway</html>",
  })
  @DisplayName("anything the splice cannot vouch for goes to the tree path")
  void unsure(String body) {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    assertSame(CostSplice.UNSURE, CostSplice.scan(bytes, 0, bytes.length), body);
  }

  @Test
  @DisplayName("malformed UTF-8 anywhere in a string goes to the tree path, which refuses it")
  void malformedUtf8() {
    byte[] head = "{\"choices\":[{\"text\":\"ab".getBytes(StandardCharsets.UTF_8);
    byte[] tail = "\"}],\"usage\":{\"prompt_tokens\":1}}".getBytes(StandardCharsets.UTF_8);
    for (byte[] bad : new byte[][] {{(byte) 0xC3}, {(byte) 0xFF}, {(byte) 0xE2, (byte) 0x82}, {(byte) 0x80}}) {
      byte[] bytes = Buffer.buffer().appendBytes(head).appendBytes(bad).appendBytes(tail).getBytes();
      assertSame(CostSplice.UNSURE, CostSplice.scan(bytes, 0, bytes.length));
    }
  }

  @Test
  @DisplayName("UTF-16 is not spliced; UTF-8 with a byte order mark is")
  void otherEncodings() {
    String body = "{\"usage\":{\"prompt_tokens\":1}}";
    byte[] utf16 = body.getBytes(StandardCharsets.UTF_16BE);
    assertSame(CostSplice.UNSURE, CostSplice.scan(utf16, 0, utf16.length));
    byte[] bom = Buffer.buffer().appendBytes(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF})
        .appendString(body).getBytes();
    // Jackson skips a UTF-8 byte order mark, as Vert.x's tree parser does; the mark stays in front.
    Buffer spliced = CostSplice.scan(bom, 0, bom.length).withCost(bom, 2);
    assertEquals(Buffer.buffer(bom).getBuffer(0, 3), spliced.getBuffer(0, 3));
    assertEquals(new JsonObject("{\"usage\":{\"prompt_tokens\":1,\"cost\":0.000002}}"),
        new JsonObject(spliced.getBuffer(3, spliced.length())));
  }

  @Test
  @DisplayName("JSON inside a larger array (an SSE event) is found at its own offsets")
  void offsetRange() {
    String event = "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}\n\n";
    byte[] bytes = event.getBytes(StandardCharsets.UTF_8);
    CostSplice splice = CostSplice.scan(bytes, 6, bytes.length);
    assertNotNull(splice.usage());
    assertEquals("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4,\"cost\":0.000005}}\n\n",
        splice.withCost(bytes, 5).toString());
  }
}
