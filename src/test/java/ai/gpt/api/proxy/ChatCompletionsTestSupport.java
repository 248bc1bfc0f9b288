package ai.gpt.api.proxy;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/** Request bodies shared by the API tests. */
public final class ChatCompletionsTestSupport {
  private ChatCompletionsTestSupport() {}

  public static JsonObject chat(String model) {
    return new JsonObject().put("model", model)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "Hi")));
  }
}
