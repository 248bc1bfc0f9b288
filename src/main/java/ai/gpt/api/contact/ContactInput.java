package ai.gpt.api.contact;

import ai.gpt.api.api.Json;
import ai.gpt.api.error.ApiError;
import io.vertx.core.json.JsonObject;
import java.util.List;

/**
 * A Contact Us message as the form sends it: {name, email, message, topic?}. Known fields only, text bounded and
 * free of control characters ({@link Json#text}), the address checked by {@link Json#email}; every problem is a
 * 400 naming the field, so the form can show it next to that field.
 */
public record ContactInput(String name, String email, String topic, String message) {
  public static final List<String> TOPICS = List.of("general", "billing", "technical", "privacy", "other");
  static final int MAX_NAME = 200;
  static final int MAX_MESSAGE = 5_000;

  public static ContactInput of(JsonObject body) {
    for (String field : body.fieldNames()) {
      if (!List.of("name", "email", "topic", "message").contains(field)) {
        throw ApiError.invalidRequest("Unknown field '" + field + "'; give name, email, topic and message.", field);
      }
    }
    Object topic = body.getValue("topic");
    if (topic != null && !(topic instanceof String t && TOPICS.contains(t))) {
      throw ApiError.invalidRequest("'topic' must be one of " + String.join(", ", TOPICS) + ".", "topic");
    }
    String name = Json.text(body, "name", MAX_NAME);
    if (name.contains("\n") || name.contains("\t")) {
      throw ApiError.invalidRequest("'name' must be a single line.", "name");
    }
    return new ContactInput(name, Json.email(body, "email"), topic == null ? "general" : (String) topic,
        Json.text(body, "message", MAX_MESSAGE));
  }
}
