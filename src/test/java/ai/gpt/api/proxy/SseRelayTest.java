package ai.gpt.api.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The SSE relay, fed llama.cpp's streams cut at every byte: what the client gets and what is metered. */
class SseRelayTest {
  private static final String TAIL = ",\"created\":1796154048,\"id\":\"chatcmpl-x\",\"model\":\"gpt-fast\","
      + "\"system_fingerprint\":\"b1-de3ff81\",\"object\":\"chat.completion.chunk\"}";
  private static final String ROLE = "data: {\"choices\":[{\"finish_reason\":null,\"index\":0,\"delta\":{\"role\":"
      + "\"assistant\",\"content\":null}}]" + TAIL + "\n\n";
  private static final String USAGE = "data: {\"choices\":[]" + TAIL.substring(0, TAIL.length() - 1)
      + ",\"usage\":{\"completion_tokens\":3,\"prompt_tokens\":12,\"total_tokens\":15,\"prompt_tokens_details\":"
      + "{\"cached_tokens\":2}},\"timings\":{\"prompt_n\":12,\"predicted_ms\":0.5}}\n\n";
  private static final String DONE = "data: [DONE]\n\n";
  /** The cost the tests' pricer gives: 7 micro-USD per token. */
  private static final String COST = ",\"cost\":0.000105";

  private static String token(String text) {
    return "data: {\"choices\":[{\"finish_reason\":null,\"index\":0,\"delta\":{\"content\":\"" + text + "\"}}]"
        + TAIL + "\n\n";
  }

  private static final String STREAM = ROLE + token(" the") + token(" caf\\u00e9 😀") + token(" \\\"usage\\\"") + USAGE
      + DONE;

  @Test
  @DisplayName("without include_usage: content passes byte for byte, usage is metered and dropped, [DONE] held")
  void usageDropped() {
    String content = ROLE + token(" the") + token(" caf\\u00e9 😀") + token(" \\\"usage\\\"");
    for (List<Buffer> chunks : cuts(STREAM)) {
      Relayed r = relay(false, chunks);
      assertEquals(content, r.out, "cut " + sizes(chunks));
      assertEquals(new TokenUsage(12, 3, 2, false), r.relay.usage());
      assertEquals(3, r.relay.contentChunks());
      assertEquals(DONE, r.relay.doneEvent().toString());
      assertEquals("", r.relay.remainder().toString());
    }
  }

  @Test
  @DisplayName("with include_usage: the usage event gets the cost spliced in, nothing else changes")
  void usageWithCost() {
    String withCost = STREAM.replace("{\"cached_tokens\":2}}", "{\"cached_tokens\":2}" + COST + "}")
        .replace(DONE, "");
    for (List<Buffer> chunks : cuts(STREAM)) {
      Relayed r = relay(true, chunks);
      assertEquals(withCost, r.out, "cut " + sizes(chunks));
      assertEquals(new TokenUsage(12, 3, 2, false), r.relay.usage());
    }
  }

  @Test
  @DisplayName("CRLF line ends and an event without a space after data: are relayed as sent")
  void crlf() {
    String stream = (ROLE + token("a") + USAGE.replace("data: ", "data:")).replace("\n", "\r\n") + DONE;
    for (List<Buffer> chunks : cuts(stream)) {
      Relayed r = relay(true, chunks);
      assertEquals((ROLE + token("a")).replace("\n", "\r\n")
          + USAGE.replace("data: ", "data:").replace("\n", "\r\n").replace("{\"cached_tokens\":2}}",
              "{\"cached_tokens\":2}" + COST + "}"), r.out);
      assertEquals(1, r.relay.contentChunks());
      assertEquals(3, r.relay.usage().completionTokens());
    }
  }

  @Test
  @DisplayName("/v1/completions' usage on the last content chunk: kept with usage removed, or with the cost")
  void usageOnLastContentChunk() {
    String last = "data: {\"choices\":[{\"text\":\"fox\",\"index\":0}],\"usage\":{\"completion_tokens\":3,"
        + "\"prompt_tokens\":12}}\n\n";
    String stream = "data: {\"choices\":[{\"text\":\"the\",\"index\":0}]}\n\n" + last + DONE;
    Relayed without = relay(false, List.of(Buffer.buffer(stream)));
    List<String> events = List.of(without.out.split("\n\n"));
    assertEquals("data: {\"choices\":[{\"text\":\"the\",\"index\":0}]}", events.get(0));
    assertEquals(new JsonObject("{\"choices\":[{\"text\":\"fox\",\"index\":0}]}"), new JsonObject(events.get(1).substring(6)));
    assertEquals(2, without.relay.contentChunks());
    assertEquals(new TokenUsage(12, 3, 0, false), without.relay.usage());

    Relayed with = relay(true, List.of(Buffer.buffer(stream)));
    assertEquals(stream.replace("\"prompt_tokens\":12}", "\"prompt_tokens\":12" + COST + "}").replace(DONE, ""),
        with.out);
    assertEquals(2, with.relay.contentChunks());
  }

  @Test
  @DisplayName("a usage event the splice cannot vouch for takes the tree path, as before")
  void oddUsageEvents() {
    // Pretty-printed over two data lines: not one JSON text, so (as before) neither metered nor changed.
    String twoLines = "data: {\"choices\":[],\ndata: \"usage\":{\"prompt_tokens\":1}}\n\n";
    Relayed r = relay(true, List.of(Buffer.buffer(twoLines)));
    assertEquals(twoLines, r.out);
    assertNull(r.relay.usage());
    // A cost already there is replaced by the tree path.
    String costed = "data: {\"choices\":[],\"usage\":{\"completion_tokens\":3,\"prompt_tokens\":12,\"cost\":9}}\n\n";
    Relayed t = relay(true, List.of(Buffer.buffer(costed)));
    assertEquals("data: {\"choices\":[],\"usage\":{\"completion_tokens\":3,\"prompt_tokens\":12,\"cost\":0.000105}}\n\n",
        t.out);
    // A nested usage is no usage: the event is content.
    String nested = token("x").replace("\"delta\"", "\"usage\":{\"prompt_tokens\":5},\"delta\"");
    Relayed n = relay(true, List.of(Buffer.buffer(nested)));
    assertEquals(nested, n.out);
    assertNull(n.relay.usage());
    assertEquals(1, n.relay.contentChunks());
  }

  @Test
  @DisplayName("a stream cut mid-event keeps the partial event for remainder(), and no [DONE]")
  void cutMidEvent() {
    String partial = "data: {\"choices\":[{\"delta\":{\"content\":\"hal";
    Relayed r = relay(false, List.of(Buffer.buffer(token("a") + partial)));
    assertEquals(token("a"), r.out);
    assertFalse(r.relay.sawDone());
    assertEquals(partial, r.relay.remainder().toString());
    assertEquals("", r.relay.remainder().toString());
  }

  @Test
  @DisplayName("events passed on unchanged are not copied: the answer is the chunk itself")
  void unchangedIsNotCopied() {
    Buffer chunk = Buffer.buffer(ROLE + token("a"));
    Buffer out = new SseRelay(false, u -> 0).feed(chunk);
    chunk.setByte(0, (byte) 'D');
    assertTrue(out.toString().startsWith("Data: "), "a slice of the chunk");
  }

  @Test
  @DisplayName("CRLF blank lines split across chunks at every byte still end their events")
  void crlfAcrossChunks() {
    String crlf = token("a").replace("\n\n", "\n\r\n") + token("b").replace("\n\n", "\n\r\n");
    for (List<Buffer> chunks : cuts(crlf)) {
      Relayed r = relay(false, chunks);
      assertEquals(crlf, r.out, "cut " + sizes(chunks));
      assertEquals(2, r.relay.contentChunks());
    }
  }

  @Test
  @DisplayName("an event past the bound: the events before it are relayed, it is dropped, nothing after it")
  void eventPastTheBound() {
    SseRelay relay = new SseRelay(false, u -> 0, 100);
    String endless = "data: {\"choices\":[{\"delta\":{\"content\":\"" + "x".repeat(40);
    assertEquals(token("a"), relay.feed(Buffer.buffer(token("a") + endless)).toString());
    assertFalse(relay.overflowed(), "76 bytes pending: within the bound");
    assertEquals("", relay.feed(Buffer.buffer("y".repeat(30))).toString());
    assertTrue(relay.overflowed(), "106 bytes without a blank line");
    assertEquals("", relay.feed(Buffer.buffer("\n\n" + token("b"))).toString(), "nothing after it");
    assertEquals("", relay.remainder().toString(), "the partial event is not kept");
    assertEquals(1, relay.contentChunks());

    SseRelay oneChunk = new SseRelay(false, u -> 0, 100);
    assertEquals(token("a"), oneChunk.feed(Buffer.buffer(token("a") + endless + "z".repeat(40))).toString());
    assertTrue(oneChunk.overflowed(), "an oversized event in one chunk, after a complete one");
  }

  private record Relayed(SseRelay relay, String out) {}

  private static Relayed relay(boolean clientWantsUsage, List<Buffer> chunks) {
    SseRelay relay = new SseRelay(clientWantsUsage, u -> 7 * (u.promptTokens() + u.completionTokens()));
    Buffer out = Buffer.buffer();
    for (Buffer chunk : chunks) {
      out.appendBuffer(relay.feed(chunk.copy()));
    }
    return new Relayed(relay, out.toString(StandardCharsets.UTF_8));
  }

  /** The stream in one chunk, cut in two at every byte, and one byte per chunk. */
  private static List<List<Buffer>> cuts(String stream) {
    byte[] bytes = stream.getBytes(StandardCharsets.UTF_8);
    List<List<Buffer>> cuts = new ArrayList<>();
    for (int at = 0; at <= bytes.length; at++) {
      cuts.add(List.of(Buffer.buffer().appendBytes(bytes, 0, at),
          Buffer.buffer().appendBytes(bytes, at, bytes.length - at)));
    }
    List<Buffer> single = new ArrayList<>();
    for (byte b : bytes) {
      single.add(Buffer.buffer(1).appendByte(b));
    }
    cuts.add(single);
    return cuts;
  }

  private static String sizes(List<Buffer> chunks) {
    return chunks.size() > 2 ? "byte by byte" : chunks.get(0).length() + "+" + chunks.get(1).length();
  }
}
