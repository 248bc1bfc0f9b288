package ai.gpt.api.proxy;

import ai.gpt.api.billing.Money;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.function.ToLongFunction;

/**
 * Splits llama.cpp's SSE stream into events and decides, event by event, what the client sees. Events are
 * forwarded byte for byte, except the usage chunk (which the gateway always asks for, to meter the stream): it is
 * dropped when the client did not ask for it, and otherwise gets the request's {@code cost} in USD added (when
 * metering is on). It also counts content chunks (one chunk is one token in llama.cpp) so a stream cut before its
 * usage chunk can still be billed.
 */
final class SseRelay {
  private static final byte[] USAGE_MARKER = "\"usage\"".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] EMPTY_CHOICES = "\"choices\":[]".getBytes(StandardCharsets.US_ASCII);
  private static final byte[][] TOKEN_MARKERS = {
      "\"content\":\"".getBytes(StandardCharsets.US_ASCII),
      "\"text\":\"".getBytes(StandardCharsets.US_ASCII),
      "\"reasoning_content\":\"".getBytes(StandardCharsets.US_ASCII)};
  private static final byte[] DONE = "data: [DONE]".getBytes(StandardCharsets.US_ASCII);

  private final boolean clientWantsUsage;
  private final ToLongFunction<TokenUsage> pricer;
  private Buffer pending = Buffer.buffer();
  private TokenUsage usage;
  private long contentChunks;
  private Buffer doneEvent;

  /** @param pricer the cost in micro-USD of a usage; null when metering is off and nothing states a cost */
  SseRelay(boolean clientWantsUsage, ToLongFunction<TokenUsage> pricer) {
    this.clientWantsUsage = clientWantsUsage;
    this.pricer = pricer;
  }

  /**
   * Returns what to send to the client now (possibly empty); incomplete events wait for more bytes, and the
   * {@code [DONE]} event waits for {@link #doneEvent()}.
   */
  Buffer feed(Buffer chunk) {
    pending.appendBuffer(chunk);
    Buffer out = null;
    int start = 0;
    int end;
    while ((end = eventEnd(pending, start)) >= 0) {
      Buffer event = forward(pending.slice(start, end));
      start = end;
      if (event != null) {
        if (out == null) {
          out = Buffer.buffer(event.length());
        }
        out.appendBuffer(event);
      }
    }
    pending = start == 0 ? pending : pending.getBuffer(start, pending.length());
    return out == null ? Buffer.buffer() : out;
  }

  /** Bytes of an unterminated last event, relayed as they are rather than lost. */
  Buffer remainder() {
    Buffer rest = pending;
    pending = Buffer.buffer();
    return rest;
  }

  TokenUsage usage() {
    return usage;
  }

  long contentChunks() {
    return contentChunks;
  }

  boolean sawDone() {
    return doneEvent != null;
  }

  /** The {@code [DONE]} event exactly as llama.cpp sent it; it is held back (see {@link #feed}). */
  Buffer doneEvent() {
    return doneEvent;
  }

  /** The bytes to relay for one event: itself, null to drop it, or (rarely) a copy without usage. */
  private Buffer forward(Buffer event) {
    // One copy of the event's bytes, searched several times: array scans are far cheaper than Buffer.getByte.
    byte[] bytes = event.getBytes();
    if (startsWith(bytes, DONE)) {
      // Not relayed yet: the stream relay sends it once the request is settled, as the last bytes.
      doneEvent = event.copy();
      return null;
    }
    if (contains(bytes, USAGE_MARKER)) {
      JsonObject chunk = parseData(event);
      JsonObject found = chunk == null ? null : chunk.getJsonObject("usage");
      if (found != null) {
        usage = TokenUsage.from(found);
        boolean usageOnly = contains(bytes, EMPTY_CHOICES);
        if (!usageOnly) {
          countTokens(bytes);
        }
        if (clientWantsUsage) {
          if (pricer == null) {
            return event;
          }
          found.put("cost", Money.toUsd(pricer.applyAsLong(usage)));
        } else if (usageOnly) {
          return null;
        } else {
          // llama.cpp's /v1/completions stream puts usage on the last content chunk: keep the chunk, drop usage.
          chunk.remove("usage");
        }
        return Buffer.buffer("data: " + chunk.encode() + "\n\n");
      }
    }
    countTokens(bytes);
    return event;
  }

  private void countTokens(byte[] event) {
    for (byte[] marker : TOKEN_MARKERS) {
      if (contains(event, marker)) {
        contentChunks++;
        return;
      }
    }
  }

  /** Index just past the blank line ending the event that begins at {@code from}, or -1. */
  private static int eventEnd(Buffer buf, int from) {
    int n = buf.length();
    for (int i = from; i + 1 < n; i++) {
      if (buf.getByte(i) == '\n') {
        byte next = buf.getByte(i + 1);
        if (next == '\n') {
          return i + 2;
        }
        if (next == '\r' && i + 2 < n && buf.getByte(i + 2) == '\n') {
          return i + 3;
        }
      }
    }
    return -1;
  }

  private static boolean startsWith(byte[] bytes, byte[] prefix) {
    return bytes.length >= prefix.length && Arrays.equals(bytes, 0, prefix.length, prefix, 0, prefix.length);
  }

  private static JsonObject parseData(Buffer event) {
    String text = event.toString(StandardCharsets.UTF_8).strip();
    if (!text.startsWith("data:")) {
      return null;
    }
    try {
      return new JsonObject(text.substring(5).strip());
    } catch (RuntimeException e) {
      return null;
    }
  }

  private static boolean contains(byte[] hay, byte[] needle) {
    int n = hay.length - needle.length;
    byte first = needle[0];
    outer:
    for (int i = 0; i <= n; i++) {
      if (hay[i] != first) {
        continue;
      }
      for (int j = 1; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }
}
