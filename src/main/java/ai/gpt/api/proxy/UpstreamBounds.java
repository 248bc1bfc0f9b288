package ai.gpt.api.proxy;

/**
 * How much of a backend's answer the gateway holds in memory. Each bound sits far above anything llama.cpp sends
 * for a request the gateway accepts, so a backend that passes one is faulty (a bug, or something else behind its
 * URL): its connection is reset, the request ends with an error, and the backend is quarantined until its next
 * good health probe. Constants, not settings: they follow from the gateway's own input bounds, not from a
 * deployment.
 */
final class UpstreamBounds {
  private UpstreamBounds() {}

  /**
   * A non-streamed answer. The largest a valid request can ask for is an embeddings batch: 2,048 inputs
   * ({@link InputShapes#MAX_EMBEDDING_INPUTS}) of 1,024-dimension float vectors as JSON (about 14 bytes a number)
   * is about 30 MB, and 2,048 dimensions about 60 MB; larger models fit with {@code encoding_format: base64} (a
   * quarter of the size) or smaller batches. The relay holds the body and its copy while splicing the cost in.
   */
  static final int MAX_BODY_BYTES = 64 * 1024 * 1024;

  /** One SSE event: llama.cpp's are one token's chunk (a few hundred bytes), the last with usage and timings. */
  static final int MAX_EVENT_BYTES = 1024 * 1024;

  /** An error answer: only its message is used, and llama.cpp's errors are one short JSON object. */
  static final int MAX_ERROR_BYTES = 64 * 1024;
}
