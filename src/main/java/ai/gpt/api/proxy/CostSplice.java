package ai.gpt.api.proxy;

import ai.gpt.api.billing.Money;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Finds the top-level {@code usage} object of a backend's JSON answer in one streaming pass, and adds the
 * request's {@code cost} to it by inserting {@code ,"cost":…} before its closing brace: every other byte reaches
 * the client as the backend sent it, and the answer is never parsed into a tree or re-encoded (which cost more
 * gateway CPU than anything else on the relay path).
 *
 * <p>The pass vouches only for what it can splice safely: plain RFC 8259 JSON (no comments or other leniencies,
 * strings that are valid UTF-8, one root object and nothing after it) with at most one top-level {@code usage},
 * which is {@code null} or an object without a {@code cost} and without repeated names. Anything else is
 * {@link #UNSURE}, and the caller parses the answer into a tree as it always did.
 */
final class CostSplice {
  /** The answer needs the tree path. */
  static final CostSplice UNSURE = new CostSplice(null, -1, false);
  /** A well-formed object without a usage object (none, or null): nothing to meter from it or to add. */
  static final CostSplice NO_USAGE = new CostSplice(null, -1, false);

  /** Jackson with its defaults: every leniency (comments, single quotes, trailing commas, NaN…) is off. */
  private static final JsonFactory STRICT = new JsonFactory();
  private static final byte[] COST_FIELD = "\"cost\":".getBytes(StandardCharsets.US_ASCII);

  private final JsonObject usage;
  /** Index of the usage object's closing brace in the scanned array. */
  private final int closingBrace;
  private final boolean emptyUsage;

  private CostSplice(JsonObject usage, int closingBrace, boolean emptyUsage) {
    this.usage = usage;
    this.closingBrace = closingBrace;
    this.emptyUsage = emptyUsage;
  }

  /** The usage object, or null for {@link #UNSURE} and {@link #NO_USAGE}. */
  JsonObject usage() {
    return usage;
  }

  /** Scans the JSON text at {@code bytes[from, to)} (surrounding JSON whitespace allowed). */
  static CostSplice scan(byte[] bytes, int from, int to) {
    try (JsonParser p = STRICT.createParser(bytes, from, to - from)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return UNSURE;
      }
      int start = -1;
      int end = -1;
      int fields = -1;
      boolean seen = false;
      for (JsonToken t = p.nextToken(); t != JsonToken.END_OBJECT; t = p.nextToken()) {
        boolean isUsage = "usage".equals(p.currentName());
        JsonToken value = p.nextToken();
        if (!isUsage) {
          walk(p, value);
          continue;
        }
        if (seen) {
          return UNSURE; // a repeated name: which one a tree keeps is the tree's business
        }
        seen = true;
        if (value == JsonToken.START_OBJECT) {
          start = offset(p, from);
          fields = walkObject(p);
          end = offset(p, from);
        } else if (value != JsonToken.VALUE_NULL) {
          return UNSURE;
        }
      }
      if (p.nextToken() != null) {
        return UNSURE;
      }
      if (fields < 0) {
        return NO_USAGE;
      }
      // Byte offsets count from the parser's start; a parser that cannot report them (another encoding) gives -1.
      if (start < from || end >= to || bytes[start] != '{' || bytes[end] != '}') {
        return UNSURE;
      }
      JsonObject usage = new JsonObject(Buffer.buffer().appendBytes(bytes, start, end + 1 - start));
      if (usage.size() != fields || usage.containsKey("cost")) {
        return UNSURE;
      }
      return new CostSplice(usage, end, fields == 0);
    } catch (IOException | RuntimeException e) {
      return UNSURE;
    }
  }

  /** {@code bytes} (the array scanned) with the cost added to the usage object; only for a found usage. */
  Buffer withCost(byte[] bytes, long costMicros) {
    // BigDecimal's own text, as Vert.x's encoder writes it: at scale 6 it never takes an exponent.
    byte[] cost = Money.toUsd(costMicros).toString().getBytes(StandardCharsets.US_ASCII);
    Buffer out = Buffer.buffer(bytes.length + COST_FIELD.length + cost.length + 1)
        .appendBytes(bytes, 0, closingBrace);
    if (!emptyUsage) {
      out.appendByte((byte) ',');
    }
    return out.appendBytes(COST_FIELD).appendBytes(cost).appendBytes(bytes, closingBrace, bytes.length - closingBrace);
  }

  private static int offset(JsonParser p, int from) {
    long at = p.currentTokenLocation().getByteOffset();
    return at < 0 ? -1 : (int) at + from;
  }

  /** Reads past one value, decoding every string so malformed UTF-8 is refused here as a tree parse would. */
  private static void walk(JsonParser p, JsonToken first) throws IOException {
    if (first == JsonToken.VALUE_STRING) {
      p.getTextCharacters();
      return;
    }
    if (!first.isStructStart()) {
      return;
    }
    for (int depth = 1; depth > 0; ) {
      JsonToken t = p.nextToken();
      if (t.isStructStart()) {
        depth++;
      } else if (t.isStructEnd()) {
        depth--;
      } else if (t == JsonToken.VALUE_STRING) {
        p.getTextCharacters();
      }
    }
  }

  /** Reads past an object whose start was just read; returns its number of fields. */
  private static int walkObject(JsonParser p) throws IOException {
    int fields = 0;
    for (JsonToken t = p.nextToken(); t != JsonToken.END_OBJECT; t = p.nextToken()) {
      fields++;
      walk(p, p.nextToken());
    }
    return fields;
  }
}
