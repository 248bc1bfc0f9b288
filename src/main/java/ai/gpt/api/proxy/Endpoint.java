package ai.gpt.api.proxy;

import ai.gpt.api.catalog.ModelInfo;

/** The OpenAI endpoints the gateway relays, with the input field each requires and the kind of model it needs. */
public enum Endpoint {
  CHAT("/v1/chat/completions", "chat.completions", "messages", ModelInfo.Kind.CHAT),
  COMPLETIONS("/v1/completions", "completions", "prompt", ModelInfo.Kind.CHAT),
  EMBEDDINGS("/v1/embeddings", "embeddings", "input", ModelInfo.Kind.EMBEDDING);

  private final String path;
  private final String metricName;
  private final String inputField;
  private final ModelInfo.Kind modelKind;

  Endpoint(String path, String metricName, String inputField, ModelInfo.Kind modelKind) {
    this.path = path;
    this.metricName = metricName;
    this.inputField = inputField;
    this.modelKind = modelKind;
  }

  public String path() {
    return path;
  }

  public String metricName() {
    return metricName;
  }

  String inputField() {
    return inputField;
  }

  ModelInfo.Kind modelKind() {
    return modelKind;
  }

  boolean generates() {
    return this != EMBEDDINGS;
  }
}
