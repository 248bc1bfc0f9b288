package ai.gpt.api.proxy;

import java.nio.charset.StandardCharsets;

/**
 * Finds where an SSE event ends and, in the same single pass over its bytes, whether it names a usage or carries a
 * token. A stream relays about twenty events per request; a separate search per question (the blank line,
 * {@code "usage"}, three token fields) read every event up to five times.
 *
 * <p>Every marker begins with a quote, so the pass looks past the current byte only at quotes and newlines. A
 * marker inside a JSON string cannot match: its quotes would be escaped, so the byte after {@code usage} (or before
 * the value) is a backslash. No marker contains a newline, so one that matches lies wholly before the event's blank
 * line.
 */
final class SseEvents {
  /** The event names {@code "usage"}: it may carry the request's usage. */
  static final int USAGE = 1;
  /** The event carries a token: a {@code "content":"}, {@code "text":"} or {@code "reasoning_content":"} field. */
  static final int TOKEN = 2;

  private static final byte[] USAGE_KEY = bytes("usage\"");
  private static final byte[] CONTENT_FIELD = bytes("content\":\"");
  private static final byte[] TEXT_FIELD = bytes("text\":\"");
  private static final byte[] REASONING_FIELD = bytes("reasoning_content\":\"");

  private SseEvents() {}

  /**
   * Scans the event that begins at {@code from}: the index just past its blank line ({@code \n\n} or
   * {@code \n\r\n}) in the low 32 bits and {@link #USAGE}/{@link #TOKEN} above them, or -1 when the bytes hold no
   * blank line yet. Read it with {@link #end} and {@link #flags}.
   */
  static long scan(byte[] bytes, int from) {
    int n = bytes.length;
    int flags = 0;
    for (int i = from; i < n; i++) {
      byte b = bytes[i];
      if (b == '\n') {
        if (i + 1 < n) {
          byte next = bytes[i + 1];
          if (next == '\n') {
            return (long) flags << 32 | (i + 2);
          }
          if (next == '\r' && i + 2 < n && bytes[i + 2] == '\n') {
            return (long) flags << 32 | (i + 3);
          }
        }
      } else if (b == '"' && i + 1 < n) {
        flags |= marker(bytes, i + 1);
      }
    }
    return -1;
  }

  static int end(long scanned) {
    return (int) scanned;
  }

  static int flags(long scanned) {
    return scanned < 0 ? 0 : (int) (scanned >>> 32);
  }

  /** The flag of the marker that follows a quote at {@code at - 1}, if any. */
  private static int marker(byte[] bytes, int at) {
    return switch (bytes[at]) {
      case 'u' -> matches(bytes, at, USAGE_KEY) ? USAGE : 0;
      case 'c' -> matches(bytes, at, CONTENT_FIELD) ? TOKEN : 0;
      case 't' -> matches(bytes, at, TEXT_FIELD) ? TOKEN : 0;
      case 'r' -> matches(bytes, at, REASONING_FIELD) ? TOKEN : 0;
      default -> 0;
    };
  }

  private static boolean matches(byte[] bytes, int at, byte[] marker) {
    if (bytes.length - at < marker.length) {
      return false;
    }
    for (int j = 1; j < marker.length; j++) {
      if (bytes[at + j] != marker[j]) {
        return false;
      }
    }
    return true;
  }

  private static byte[] bytes(String ascii) {
    return ascii.getBytes(StandardCharsets.US_ASCII);
  }
}
