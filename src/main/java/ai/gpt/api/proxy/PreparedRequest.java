package ai.gpt.api.proxy;

import ai.gpt.api.catalog.ModelInfo;
import io.vertx.core.buffer.Buffer;

/**
 * A validated client request, rewritten for llama.cpp.
 *
 * @param clientWantsUsage whether the client itself asked for the streamed usage chunk
 * @param maxTokens        the effective max_tokens sent upstream (0 for embeddings)
 * @param promptEstimate   a rough prompt token count, used when a stream ends before usage arrives
 */
public record PreparedRequest(
    Endpoint endpoint,
    ModelInfo model,
    boolean stream,
    boolean clientWantsUsage,
    int maxTokens,
    long promptEstimate,
    Buffer upstreamBody) {}
