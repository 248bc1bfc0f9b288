package ai.gpt.api.cli;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * A minimal llama-server for {@link TrainCdsCommand}: {@code /health}, {@code /slots} and fixed answers in
 * llama.cpp's shapes (whole and streamed chat and text completions, embeddings), so the gateway's relay runs as it
 * does against a real one. Listens on 127.0.0.1 on an ephemeral port.
 */
final class StubLlamaServer {
  private static final String TIMINGS = "\"timings\":{\"cache_n\":0,\"prompt_n\":5,\"prompt_ms\":0.4,"
      + "\"prompt_per_second\":12500.0,\"predicted_n\":3,\"predicted_ms\":1.5,\"predicted_per_second\":2000.0}";
  private static final String USAGE = "\"usage\":{\"completion_tokens\":3,\"prompt_tokens\":5,\"total_tokens\":8,"
      + "\"prompt_tokens_details\":{\"cached_tokens\":0}}";
  private static final String[] TOKENS = {"Hello", " from", " llama"};

  private StubLlamaServer() {}

  static Future<HttpServer> start(Vertx vertx) {
    return vertx.createHttpServer().requestHandler(StubLlamaServer::handle).listen(0, "127.0.0.1");
  }

  private static void handle(HttpServerRequest req) {
    HttpServerResponse resp = req.response();
    switch (req.path()) {
      case "/health" -> resp.putHeader("content-type", "application/json").end("{\"status\":\"ok\"}");
      case "/slots" -> resp.putHeader("content-type", "application/json")
          .end(new JsonArray().add(new JsonObject().put("id", 0).put("is_processing", false)).encode());
      case "/v1/chat/completions", "/v1/completions", "/v1/embeddings" -> req.body().onSuccess(body -> {
        JsonObject json = body.toJsonObject();
        String model = json.getString("model");
        boolean chat = req.path().equals("/v1/chat/completions");
        if (req.path().equals("/v1/embeddings")) {
          resp.putHeader("content-type", "application/json").end("{\"model\":\"" + model + "\",\"object\":\"list\","
              + "\"data\":[{\"index\":0,\"object\":\"embedding\",\"embedding\":[0.25,-0.5,0.125]}],"
              + "\"usage\":{\"prompt_tokens\":5,\"total_tokens\":5}}");
        } else if (json.getBoolean("stream", false)) {
          stream(resp, model, chat);
        } else {
          String choice = chat
              ? "{\"finish_reason\":\"stop\",\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello from llama\"}}"
              : "{\"text\":\"Hello from llama\",\"index\":0,\"logprobs\":null,\"finish_reason\":\"stop\"}";
          resp.putHeader("content-type", "application/json").end("{\"choices\":[" + choice + "],\"created\":1764547200,"
              + "\"model\":\"" + model + "\",\"system_fingerprint\":\"b6000-stub\",\"object\":\""
              + (chat ? "chat.completion" : "text_completion") + "\",\"id\":\"chatcmpl-stub\"," + USAGE + ","
              + TIMINGS + "}");
        }
      });
      default -> resp.setStatusCode(404).end();
    }
  }

  private static void stream(HttpServerResponse resp, String model, boolean chat) {
    resp.setChunked(true).putHeader("content-type", "text/event-stream");
    String tail = ",\"created\":1764547200,\"id\":\"chatcmpl-stub\",\"model\":\"" + model
        + "\",\"system_fingerprint\":\"b6000-stub\",\"object\":\""
        + (chat ? "chat.completion.chunk" : "text_completion") + "\"";
    for (String token : TOKENS) {
      String choice = chat
          ? "{\"finish_reason\":null,\"index\":0,\"delta\":{\"content\":\"" + token + "\"}}"
          : "{\"text\":\"" + token + "\",\"index\":0,\"logprobs\":null,\"finish_reason\":null}";
      resp.write("data: {\"choices\":[" + choice + "]" + tail + "}\n\n");
    }
    String last = chat ? "{\"finish_reason\":\"stop\",\"index\":0,\"delta\":{}}"
        : "{\"text\":\"\",\"index\":0,\"logprobs\":null,\"finish_reason\":\"stop\"}";
    resp.write("data: {\"choices\":[" + last + "]" + tail + "," + USAGE + "," + TIMINGS + "}\n\n");
    resp.end("data: [DONE]\n\n");
  }
}
