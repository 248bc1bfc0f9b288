package ai.gpt.api.json;

import ai.gpt.api.error.ApiError;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The one parser for request bodies of both /v1 and /api: RFC 8259 JSON and nothing more.
 *
 * <p>Vert.x's shared Jackson mapper accepts comments, so every request body goes through here instead. A fresh
 * {@link JsonFactory} has all of Jackson's leniencies off (comments, single quotes, unquoted names, trailing
 * commas, NaN/Infinity, leading zeros, control characters in strings); on top of that this class refuses
 * duplicate keys, anything after the one root value, bytes that are not UTF-8, escaped lone surrogates, and
 * numbers that overflow a double. {@link StreamReadConstraints} bound nesting, number and name lengths so the cost of a body is linear in
 * its size with a small constant, and the deep-nesting and huge-number shapes are refused before they cost
 * anything. /api bodies (64 KiB at most) parse on the event loop in about a millisecond; /v1 parses bodies above
 * 64 KiB (up to MAX_BODY_BYTES, 4 MiB, tens to hundreds of milliseconds) on a worker thread.
 */
public final class StrictJson {
  /** Deep enough for any JSON schema a tool or response_format sends, far from a stack problem. */
  static final int MAX_DEPTH = 64;
  /** Digits a double can use; longer numbers only cost parse time. */
  static final int MAX_NUMBER_CHARS = 64;
  /** Object keys are field names, token ids, schema property names. */
  static final int MAX_NAME_CHARS = 1024;

  private static final JsonFactory FACTORY = JsonFactory.builder()
      .streamReadConstraints(StreamReadConstraints.builder()
          .maxNestingDepth(MAX_DEPTH)
          .maxNumberLength(MAX_NUMBER_CHARS)
          .maxNameLength(MAX_NAME_CHARS)
          .build())
      .disable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION) // never echo client bytes into an error
      .enable(StreamReadFeature.USE_FAST_DOUBLE_PARSER) // several times faster than Double.parseDouble
      .build();

  private StrictJson() {}

  /** The body as a JSON object; 400 invalid_json for anything else, including an empty body. */
  public static JsonObject object(Buffer body) {
    if (body == null || body.length() == 0) {
      throw ApiError.invalidJson();
    }
    if (parse(body) instanceof JsonObject object) {
      return object;
    }
    throw ApiError.invalidJson();
  }

  /** One JSON value (a JsonObject, JsonArray, String, Number, Boolean or null); 400 invalid_json otherwise. */
  public static Object parse(Buffer body) {
    try (JsonParser parser = FACTORY.createParser(utf8(body))) {
      JsonToken first = parser.nextToken();
      if (first == null) {
        throw ApiError.invalidJson();
      }
      Object value = read(parser, first);
      if (parser.nextToken() != null) {
        throw ApiError.invalidJson(); // a second value or garbage after the first
      }
      return value;
    } catch (IOException | IllegalArgumentException e) {
      // JsonParseException and StreamConstraintsException (limits) are IOExceptions
      throw ApiError.invalidJson();
    }
  }

  /** Decodes strictly: malformed or truncated UTF-8 is refused, not replaced; no UTF-16/32 guessing. */
  private static char[] utf8(Buffer body) {
    try {
      CharBuffer chars = StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(body.getBytes()));
      char[] out = new char[chars.remaining()];
      chars.get(out);
      return out;
    } catch (CharacterCodingException e) {
      throw ApiError.invalidJson();
    }
  }

  private static Object read(JsonParser p, JsonToken token) throws IOException {
    return switch (token) {
      case START_OBJECT -> readObject(p);
      case START_ARRAY -> readArray(p);
      case VALUE_STRING -> unicode(p.getText());
      case VALUE_NUMBER_INT -> integer(p);
      case VALUE_NUMBER_FLOAT -> decimal(p);
      case VALUE_TRUE -> Boolean.TRUE;
      case VALUE_FALSE -> Boolean.FALSE;
      case VALUE_NULL -> null;
      default -> throw ApiError.invalidJson();
    };
  }

  private static JsonObject readObject(JsonParser p) throws IOException {
    Map<String, Object> map = new LinkedHashMap<>();
    for (JsonToken t = p.nextToken(); t != JsonToken.END_OBJECT; t = p.nextToken()) {
      String name = unicode(p.currentName());
      Object value = read(p, p.nextToken());
      if (map.containsKey(name)) {
        throw ApiError.invalidJson(); // {"max_tokens":1,"max_tokens":9999}: which one did the client mean?
      }
      map.put(name, value);
    }
    return new JsonObject(map);
  }

  private static JsonArray readArray(JsonParser p) throws IOException {
    List<Object> list = new ArrayList<>();
    for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
      list.add(read(p, t));
    }
    return new JsonArray(list);
  }

  /**
   * Refuses an escaped lone surrogate (a backslash-u escape of D800 to DFFF without its pair): valid JSON grammar
   * but no Unicode text. llama.cpp's JSON parser refuses it with a server error, which the gateway would retry on
   * every backend and answer as 500 for what is the client's mistake.
   */
  private static String unicode(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        throw ApiError.invalidJson();
      }
    }
    return s;
  }

  /** Integers keep their exact value: Integer, Long, or BigInteger beyond a long. */
  private static Number integer(JsonParser p) throws IOException {
    return switch (p.getNumberType()) {
      case INT -> p.getIntValue();
      case LONG -> p.getLongValue();
      default -> p.getBigIntegerValue();
    };
  }

  /** 1e400 is valid JSON grammar but no double: refused rather than read as Infinity. */
  private static Double decimal(JsonParser p) throws IOException {
    double v = p.getDoubleValue();
    if (Double.isInfinite(v) || Double.isNaN(v)) {
      throw ApiError.invalidJson();
    }
    return v;
  }
}
