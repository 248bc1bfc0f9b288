package ai.gpt.api.proxy;

import static ai.gpt.api.proxy.ParamCheck.array;
import static ai.gpt.api.proxy.ParamCheck.invalid;
import static ai.gpt.api.proxy.ParamCheck.object;
import static ai.gpt.api.proxy.ParamCheck.oneOf;
import static ai.gpt.api.proxy.ParamCheck.string;

import ai.gpt.api.error.ApiError;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * The required input of each endpoint: chat {@code messages}, a completion {@code prompt}, an embeddings
 * {@code input}. Besides types, it enforces "one request, one completion": llama.cpp turns a /v1/completions
 * {@code prompt} array of several prompts into one task per prompt, each with the whole max_tokens, which the
 * hold (sized for one completion) would not cover.
 */
final class InputShapes {
  /** OpenAI's limit on embedding inputs per request. */
  static final int MAX_EMBEDDING_INPUTS = 2048;
  private static final String[] ROLES = {"system", "developer", "user", "assistant", "tool", "function"};

  private InputShapes() {}

  static void check(Endpoint endpoint, Object input) {
    String field = endpoint.inputField();
    if (input == null) {
      throw ApiError.invalidRequest("Missing required parameter: '" + field + "'.", field);
    }
    switch (endpoint) {
      case CHAT -> messages(input);
      case COMPLETIONS -> prompt(input);
      case EMBEDDINGS -> embeddingInput(input);
    }
  }

  private static void messages(Object input) {
    JsonArray messages = array(input, "messages");
    if (messages.isEmpty()) {
      throw invalid("messages", "expected a non-empty array of message objects.");
    }
    for (int i = 0; i < messages.size(); i++) {
      String at = "messages[" + i + "]";
      JsonObject m = object(messages.getValue(i), at);
      String role = oneOf(m.getValue("role"), at + ".role", ROLES);
      Object content = m.getValue("content");
      boolean assistant = role.equals("assistant");
      if (content == null) {
        if (!assistant || m.getValue("tool_calls") == null) {
          throw ApiError.invalidRequest("Missing required parameter: '" + at + ".content'.", at + ".content");
        }
      } else if (!(content instanceof String)) {
        contentParts(array(content, at + ".content"), at + ".content");
      }
      if (m.getValue("name") != null) {
        string(m.getValue("name"), at + ".name");
      }
      if (m.getValue("tool_calls") != null) {
        toolCalls(array(m.getValue("tool_calls"), at + ".tool_calls"), at + ".tool_calls");
      }
      if (m.getValue("tool_call_id") != null) {
        string(m.getValue("tool_call_id"), at + ".tool_call_id");
      }
      if (m.getValue("reasoning_content") != null) {
        string(m.getValue("reasoning_content"), at + ".reasoning_content"); // llama.cpp reads it as a string
      }
    }
  }

  /**
   * An assistant's earlier tool calls, in OpenAI's shape: {@code {id?, type: "function", function: {name,
   * arguments}}} with string fields. llama.cpp parses them with the messages and answers any other shape with a
   * 500, so they are checked here for the client's 400.
   */
  private static void toolCalls(JsonArray calls, String at) {
    for (int j = 0; j < calls.size(); j++) {
      String callAt = at + "[" + j + "]";
      JsonObject call = object(calls.getValue(j), callAt);
      oneOf(call.getValue("type"), callAt + ".type", "function");
      if (call.getValue("id") != null) {
        string(call.getValue("id"), callAt + ".id");
      }
      JsonObject function = object(call.getValue("function"), callAt + ".function");
      string(function.getValue("name"), callAt + ".function.name");
      string(function.getValue("arguments"), callAt + ".function.arguments");
    }
  }

  private static void contentParts(JsonArray parts, String at) {
    for (int j = 0; j < parts.size(); j++) {
      String partAt = at + "[" + j + "]";
      JsonObject part = object(parts.getValue(j), partAt);
      switch (oneOf(part.getValue("type"), partAt + ".type", "text", "image_url", "input_audio")) {
        case "text" -> string(part.getValue("text"), partAt + ".text");
        case "image_url" -> imageUrl(object(part.getValue("image_url"), partAt + ".image_url"), partAt + ".image_url");
        default -> {
          JsonObject audio = object(part.getValue("input_audio"), partAt + ".input_audio");
          string(audio.getValue("data"), partAt + ".input_audio.data");
          oneOf(audio.getValue("format"), partAt + ".input_audio.format", "wav", "mp3");
        }
      }
    }
  }

  /**
   * Only inline {@code data:} images: llama.cpp downloads an http(s) URL itself (10 MB, 10 s) from the backend's
   * network, which would let a tenant make our backends fetch internal addresses, and reads {@code file://}
   * URLs from the backend's disk when it runs with --media-path.
   */
  private static void imageUrl(JsonObject image, String at) {
    String url = string(image.getValue("url"), at + ".url");
    if (!url.startsWith("data:image/")) {
      throw invalid(at + ".url", "only inline images (data:image/...;base64,...) are accepted, not links.");
    }
  }

  /**
   * A string, an array of token ids, or an array holding exactly one of those. llama.cpp reads an array of
   * several prompts (or of prompt objects) as several tasks, so those are refused rather than held for once.
   */
  private static void prompt(Object input) {
    if (input instanceof String) {
      return;
    }
    JsonArray prompt = array(input, "prompt");
    if (prompt.isEmpty()) {
      throw invalid("prompt", "expected a string or a non-empty array.");
    }
    if (prompt.getValue(0) instanceof Number) {
      tokens(prompt, "prompt");
      return;
    }
    if (prompt.size() > 1) {
      throw invalid("prompt", "only one prompt per request is supported (got " + prompt.size()
          + "); send one request per prompt.");
    }
    Object only = prompt.getValue(0);
    if (!(only instanceof String)) {
      tokens(array(only, "prompt[0]"), "prompt[0]");
    }
  }

  private static void embeddingInput(Object input) {
    if (input instanceof String s) {
      if (s.isEmpty()) {
        throw invalid("input", "expected a non-empty string.");
      }
      return;
    }
    JsonArray inputs = array(input, "input");
    if (inputs.isEmpty() || inputs.size() > MAX_EMBEDDING_INPUTS) {
      throw invalid("input", "expected 1 to " + MAX_EMBEDDING_INPUTS + " inputs, but got " + inputs.size() + ".");
    }
    if (inputs.getValue(0) instanceof Number) {
      tokens(inputs, "input");
      return;
    }
    for (int i = 0; i < inputs.size(); i++) {
      Object item = inputs.getValue(i);
      if (item instanceof JsonArray tokens) {
        tokens(tokens, "input[" + i + "]");
      } else if (string(item, "input[" + i + "]").isEmpty()) {
        throw invalid("input[" + i + "]", "expected a non-empty string.");
      }
    }
  }

  /** A non-empty array of token ids. */
  private static void tokens(JsonArray tokens, String at) {
    if (tokens.isEmpty()) {
      throw invalid(at, "expected a non-empty array of token ids.");
    }
    for (int i = 0; i < tokens.size(); i++) {
      ParamCheck.integer(tokens.getValue(i), at + "[" + i + "]", 0, Integer.MAX_VALUE);
    }
  }
}
