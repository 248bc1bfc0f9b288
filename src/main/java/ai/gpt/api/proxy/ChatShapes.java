package ai.gpt.api.proxy;

import static ai.gpt.api.proxy.ParamCheck.array;
import static ai.gpt.api.proxy.ParamCheck.invalid;
import static ai.gpt.api.proxy.ParamCheck.object;
import static ai.gpt.api.proxy.ParamCheck.oneOf;
import static ai.gpt.api.proxy.ParamCheck.string;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.regex.Pattern;

/** Shapes of the structured OpenAI parameters: {@code tools}, {@code tool_choice}, {@code response_format}, {@code stop}, {@code logit_bias}. */
final class ChatShapes {
  /** OpenAI's limits. */
  static final int MAX_TOOLS = 128;
  static final int MAX_STOP = 4;
  private static final Pattern FUNCTION_NAME = Pattern.compile("[a-zA-Z0-9_-]{1,64}");
  private static final Pattern TOKEN_ID = Pattern.compile("0|[1-9][0-9]{0,9}");

  private ChatShapes() {}

  static void tools(Object v, String param) {
    JsonArray tools = array(v, param);
    if (tools.size() > MAX_TOOLS) {
      throw invalid(param, "expected at most " + MAX_TOOLS + " tools, but got " + tools.size() + ".");
    }
    for (int i = 0; i < tools.size(); i++) {
      String at = param + "[" + i + "]";
      JsonObject tool = object(tools.getValue(i), at);
      oneOf(tool.getValue("type"), at + ".type", "function");
      JsonObject function = object(tool.getValue("function"), at + ".function");
      functionName(function.getValue("name"), at + ".function.name");
      if (function.getValue("description") != null) {
        string(function.getValue("description"), at + ".function.description");
      }
      if (function.getValue("parameters") != null) {
        object(function.getValue("parameters"), at + ".function.parameters");
      }
      if (function.getValue("strict") != null) {
        ParamCheck.bool(function.getValue("strict"), at + ".function.strict");
      }
    }
  }

  /** "none", "auto", "required", or {"type":"function","function":{"name":...}}. */
  static void toolChoice(Object v, String param) {
    if (v instanceof String) {
      oneOf(v, param, "none", "auto", "required");
      return;
    }
    JsonObject choice = object(v, param);
    oneOf(choice.getValue("type"), param + ".type", "function");
    JsonObject function = object(choice.getValue("function"), param + ".function");
    functionName(function.getValue("name"), param + ".function.name");
  }

  static void responseFormat(Object v, String param) {
    JsonObject format = object(v, param);
    String type = oneOf(format.getValue("type"), param + ".type", "text", "json_object", "json_schema");
    if (type.equals("json_schema")) {
      JsonObject schema = object(format.getValue("json_schema"), param + ".json_schema");
      functionName(schema.getValue("name"), param + ".json_schema.name");
      if (schema.getValue("schema") != null) {
        object(schema.getValue("schema"), param + ".json_schema.schema");
      }
      if (schema.getValue("strict") != null) {
        ParamCheck.bool(schema.getValue("strict"), param + ".json_schema.strict");
      }
    }
  }

  /** A string or an array of up to 4 strings (an empty array: no stop sequence, as llama.cpp reads it). */
  static void stop(Object v, String param) {
    if (!(v instanceof String) && !(v instanceof JsonArray a && a.isEmpty())) {
      ParamCheck.strings(v, param, MAX_STOP);
    }
  }

  /** A map of token id (decimal string) to a bias from -100 to 100. */
  static void logitBias(Object v, String param) {
    JsonObject bias = object(v, param);
    for (String token : bias.fieldNames()) {
      if (!TOKEN_ID.matcher(token).matches()) {
        throw invalid(param, "keys must be token ids (integers), but got '" + token + "'.");
      }
      ParamCheck.number(bias.getValue(token), param + "." + token, -100, 100);
    }
  }

  private static void functionName(Object v, String param) {
    if (!FUNCTION_NAME.matcher(string(v, param)).matches()) {
      throw invalid(param, "expected 1 to 64 letters, digits, underscores or dashes.");
    }
  }
}
