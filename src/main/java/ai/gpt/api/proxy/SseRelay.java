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
  private static final byte[] EMPTY_CHOICES = "\"choices\":[]".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] DONE = "data: [DONE]".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] DATA = "data:".getBytes(StandardCharsets.US_ASCII);
  /** {@link #forward}'s answer for an event relayed as it came (compared by identity, never written). */
  private static final Buffer UNCHANGED = Buffer.buffer(0);

  private static final Buffer EMPTY = Buffer.buffer(0);

  private final boolean clientWantsUsage;
  private final ToLongFunction<TokenUsage> pricer;
  private final int maxEventBytes;
  private boolean overflowed;
  /** The start of an event not yet complete; empty (and not allocated) between events, as it usually is. */
  private Buffer pending;
  private TokenUsage usage;
  private long contentChunks;
  private Buffer doneEvent;

  /** @param pricer the cost in micro-USD of a usage; null when metering is off and nothing states a cost */
  SseRelay(boolean clientWantsUsage, ToLongFunction<TokenUsage> pricer) {
    this(clientWantsUsage, pricer, UpstreamBounds.MAX_EVENT_BYTES);
  }

  /** @param maxEventBytes the most an incomplete event may hold before the relay gives up on the stream */
  SseRelay(boolean clientWantsUsage, ToLongFunction<TokenUsage> pricer, int maxEventBytes) {
    this.clientWantsUsage = clientWantsUsage;
    this.pricer = pricer;
    this.maxEventBytes = maxEventBytes;
  }

  /**
   * Returns what to send to the client now (possibly empty); incomplete events wait for more bytes, and the
   * {@code [DONE]} event waits for {@link #doneEvent()}. Events passed on unchanged, nearly all of them, are not
   * copied: while nothing is dropped or rewritten the answer is a slice of what came in. An incomplete event past
   * {@link #maxEventBytes} is dropped and marks the relay {@link #overflowed()}; the events before it are still
   * returned.
   */
  Buffer feed(Buffer chunk) {
    if (overflowed) {
      return EMPTY;
    }
    Buffer data = chunk;
    if (pending != null) {
      // Bytes that do not end the event are only appended: neither copied nor searched again with every chunk.
      if (!endsEvent(pending, chunk)) {
        if (pending.length() + chunk.length() > maxEventBytes) {
          overflow();
        } else {
          pending.appendBuffer(chunk);
        }
        return EMPTY;
      }
      data = pending.appendBuffer(chunk);
      pending = null;
    }
    // One copy of the bytes, searched several times: array scans are far cheaper than Buffer.getByte.
    byte[] bytes = data.getBytes();
    Buffer out = null; // only once an event is dropped or rewritten
    int unchangedFrom = 0;
    int start = 0;
    int end;
    long scanned;
    while ((end = SseEvents.end(scanned = SseEvents.scan(bytes, start))) >= 0) {
      Buffer replacement = forward(bytes, start, end, SseEvents.flags(scanned));
      if (replacement != UNCHANGED) {
        if (out == null) {
          out = Buffer.buffer(end);
        }
        out.appendBytes(bytes, unchangedFrom, start - unchangedFrom);
        if (replacement != null) {
          out.appendBuffer(replacement);
        }
        unchangedFrom = end;
      }
      start = end;
    }
    if (start < bytes.length) {
      if (bytes.length - start > maxEventBytes) {
        overflow();
      } else {
        pending = Buffer.buffer(bytes.length - start).appendBytes(bytes, start, bytes.length - start);
      }
    }
    if (out != null) {
      return out.appendBytes(bytes, unchangedFrom, start - unchangedFrom);
    }
    return start == 0 ? Buffer.buffer() : data.slice(0, start);
  }

  /** Whether the backend sent an event longer than the bound; nothing is relayed after it. */
  boolean overflowed() {
    return overflowed;
  }

  private void overflow() {
    overflowed = true;
    pending = null;
  }

  /** Whether {@code chunk} holds the blank line that ends the event begun in {@code pending}. */
  private static boolean endsEvent(Buffer pending, Buffer chunk) {
    // The blank line may start in the last two bytes already pending ("\n" + "\n", "\n" + "\r\n").
    int carried = Math.min(2, pending.length());
    byte[] joint = new byte[carried + chunk.length()];
    pending.getBytes(pending.length() - carried, pending.length(), joint, 0);
    chunk.getBytes(joint, carried);
    return SseEvents.end(SseEvents.scan(joint, 0)) >= 0;
  }

  /** Bytes of an unterminated last event, relayed as they are rather than lost. */
  Buffer remainder() {
    Buffer rest = pending == null ? Buffer.buffer() : pending;
    pending = null;
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

  /**
   * What to relay for the event at {@code bytes[start, end)}: {@link #UNCHANGED}, null to drop it, or (only for
   * the usage event) its bytes with the cost added or, rarely, a copy without usage.
   */
  private Buffer forward(byte[] bytes, int start, int end, int flags) {
    if (startsWith(bytes, start, end, DONE)) {
      // Not relayed yet: the stream relay sends it once the request is settled, as the last bytes.
      doneEvent = Buffer.buffer(end - start).appendBytes(bytes, start, end - start);
      return null;
    }
    if ((flags & SseEvents.USAGE) != 0) {
      return forwardUsage(Arrays.copyOfRange(bytes, start, end));
    }
    countToken(flags);
    return UNCHANGED;
  }

  /** An event that may carry usage: metered, and relayed with the cost, without usage, or not at all. */
  private Buffer forwardUsage(byte[] event) {
    CostSplice splice = spliceable(event);
    if (splice == CostSplice.UNSURE) {
      return forwardParsed(Buffer.buffer(event), event);
    }
    if (splice.usage() == null) {
      countTokenOf(event);
      return UNCHANGED;
    }
    usage = TokenUsage.from(splice.usage());
    boolean usageOnly = indexOf(event, 0, event.length, EMPTY_CHOICES) >= 0;
    if (!usageOnly) {
      countTokenOf(event);
    }
    if (clientWantsUsage) {
      return pricer == null ? UNCHANGED : splice.withCost(event, pricer.applyAsLong(usage));
    }
    return usageOnly ? null : withoutUsage(parseData(Buffer.buffer(event)));
  }

  /** The tree path, for a usage event {@link CostSplice} cannot vouch for: parsed, and re-encoded if changed. */
  private Buffer forwardParsed(Buffer event, byte[] bytes) {
    JsonObject chunk = parseData(event);
    if (chunk != null && chunk.getValue("usage") instanceof JsonObject found) {
      usage = TokenUsage.from(found);
      boolean usageOnly = indexOf(bytes, 0, bytes.length, EMPTY_CHOICES) >= 0;
      if (!usageOnly) {
        countTokenOf(bytes);
      }
      if (clientWantsUsage) {
        if (pricer == null) {
          return UNCHANGED;
        }
        found.put("cost", Money.toUsd(pricer.applyAsLong(usage)));
        return encode(chunk);
      }
      return usageOnly ? null : withoutUsage(chunk);
    }
    countTokenOf(bytes);
    return UNCHANGED;
  }

  /** llama.cpp's /v1/completions stream puts usage on the last content chunk: keep the chunk, drop usage. */
  private static Buffer withoutUsage(JsonObject chunk) {
    chunk.remove("usage");
    return encode(chunk);
  }

  private static Buffer encode(JsonObject chunk) {
    return Buffer.buffer("data: " + chunk.encode() + "\n\n");
  }

  /**
   * The scan of an event that is one {@code data:} line (what llama.cpp sends); anything else is
   * {@link CostSplice#UNSURE}.
   */
  private static CostSplice spliceable(byte[] event) {
    if (!startsWith(event, 0, event.length, DATA)) {
      return CostSplice.UNSURE;
    }
    // The event's blank line (and any whitespace around the JSON) is JSON whitespace to the scan; a second line
    // would be more JSON text, which it refuses.
    return CostSplice.scan(event, DATA.length, event.length);
  }

  private void countToken(int flags) {
    if ((flags & SseEvents.TOKEN) != 0) {
      contentChunks++;
    }
  }

  /** Counts the token of an event held on its own (the usage paths), if it carries one. */
  private void countTokenOf(byte[] event) {
    countToken(SseEvents.flags(SseEvents.scan(event, 0)));
  }

  private static boolean startsWith(byte[] bytes, int start, int end, byte[] prefix) {
    return end - start >= prefix.length
        && Arrays.equals(bytes, start, start + prefix.length, prefix, 0, prefix.length);
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

  /** Where {@code needle} first occurs in {@code hay[start, end)}, or -1. */
  private static int indexOf(byte[] hay, int start, int end, byte[] needle) {
    int last = end - needle.length;
    byte first = needle[0];
    outer:
    for (int i = start; i <= last; i++) {
      if (hay[i] != first) {
        continue;
      }
      for (int j = 1; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
