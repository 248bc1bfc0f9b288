package ai.gpt.api.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SseEventsTest {
  private static final String[] PIECES = {"\"usage\"", "\"usage", "usage\"", "\"content\":\"", "\"content\": \"",
      "\"text\":\"", "\"reasoning_content\":\"", "\\\"content\\\":\\\"", "\"", "\n", "\r", "\r\n", "\n\n", "\n\r\n",
      "data: ", "{", "}", ":", ",", "a", "t", "r", "c", "u", "\"tex", "\"reasoning"};

  @Test
  void realEvents() {
    String token = "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n";
    long scanned = SseEvents.scan(bytes(token + "data: [DONE]\n\n"), 0);
    assertEquals(token.length(), SseEvents.end(scanned));
    assertEquals(SseEvents.TOKEN, SseEvents.flags(scanned));
    String usage = "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3}}\r\n\r\n";
    assertEquals(SseEvents.USAGE, SseEvents.flags(SseEvents.scan(bytes(usage), 0)));
    assertEquals(usage.length(), SseEvents.end(SseEvents.scan(bytes(usage), 0)));
    String role = "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":null}}]}\n\n";
    assertEquals(0, SseEvents.flags(SseEvents.scan(bytes(role), 0)));
    assertEquals(-1, SseEvents.end(SseEvents.scan(bytes("data: {\"usage\":1}\n"), 0)));
  }

  /** The single pass answers exactly what a search per question does, on random mixes of the markers' parts. */
  @Test
  void onePassFindsWhatSeparateSearchesFind() {
    Random random = new Random(12);
    for (int round = 0; round < 200_000; round++) {
      StringBuilder text = new StringBuilder();
      int parts = 1 + random.nextInt(12);
      for (int p = 0; p < parts; p++) {
        text.append(PIECES[random.nextInt(PIECES.length)]);
      }
      byte[] b = bytes(text.toString());
      int from = random.nextInt(b.length + 1);
      long scanned = SseEvents.scan(b, from);
      int end = naiveEnd(b, from);
      assertEquals(end, SseEvents.end(scanned), text.toString());
      int flags = end < 0 ? 0 : naiveFlags(b, from, end);
      assertEquals(flags, SseEvents.flags(scanned), text.toString());
    }
  }

  private static int naiveEnd(byte[] b, int from) {
    String s = new String(b, StandardCharsets.ISO_8859_1);
    int lf = s.indexOf("\n\n", from);
    int crlf = s.indexOf("\n\r\n", from);
    if (lf < 0 && crlf < 0) {
      return -1;
    }
    if (crlf < 0 || (lf >= 0 && lf <= crlf)) {
      return lf + 2;
    }
    return crlf + 3;
  }

  private static int naiveFlags(byte[] b, int from, int end) {
    String event = new String(b, from, end - from, StandardCharsets.ISO_8859_1);
    int flags = event.contains("\"usage\"") ? SseEvents.USAGE : 0;
    if (event.contains("\"content\":\"") || event.contains("\"text\":\"")
        || event.contains("\"reasoning_content\":\"")) {
      flags |= SseEvents.TOKEN;
    }
    return flags;
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }
}
