package ai.gpt.api.proxy;

import ai.gpt.api.billing.Money;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.function.ToLongFunction;

/**
 * Splits llama.cpp's SSE stream into events and decides, event by event, what the client sees. Events are
 * forwarded byte for byte, except the usage chunk (which the gateway always asks for, to meter the stream): it is
 * dropped when the client did not ask for it, and otherwise gets the request's {@code cost} in USD added. It also counts content chunks (one chunk is one
 * token in llama.cpp) so a stream cut before its usage chunk can still be billed.
 */
final class SseRelay {
  private static final byte[] USAGE_MARKER = "\"usage\"".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] EMPTY_CHOICES = "\"choices\":[]".getBytes(StandardCharsets.US_ASCII);
  private static final byte[][] TOKEN_MARKERS = {
      "\"content\":\"".getBytes(StandardCharsets.US_ASCII),
      "\"text\":\"".getBytes(StandardCharsets.US_ASCII),
      "\"reasoning_content\":\"".getBytes(StandardCharsets.US_ASCII)};
  private static final int DATA_PREFIX = "data: ".length();

  private final boolean clientWantsUsage;
  private final ToLongFunction<TokenUsage> pricer;
  private Buffer pending = Buffer.buffer();
  private TokenUsage usage;
  private long contentChunks;
  private Buffer doneEvent;

  /** @param pricer the cost in micro-USD of a usage */
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
    if (startsWithData(event, "[DONE]")) {
      // Not relayed yet: the stream relay sends it once the request is settled, as the last bytes.
      doneEvent = event.copy();
      return null;
    }
    if (contains(event, USAGE_MARKER)) {
      JsonObject chunk = parseData(event);
      JsonObject found = chunk == null ? null : chunk.getJsonObject("usage");
      if (found != null) {
        usage = TokenUsage.from(found);
        boolean usageOnly = contains(event, EMPTY_CHOICES);
        if (!usageOnly) {
          countTokens(event);
        }
        if (clientWantsUsage) {
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
    countTokens(event);
    return event;
  }

  private void countTokens(Buffer event) {
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

  private static boolean startsWithData(Buffer event, String value) {
    String head = event.getString(0, Math.min(event.length(), DATA_PREFIX + value.length()), "US-ASCII");
    return head.equals("data: " + value);
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

  private static boolean contains(Buffer buf, byte[] needle) {
    int n = buf.length() - needle.length;
    outer:
    for (int i = 0; i <= n; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (buf.getByte(i + j) != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }
}
