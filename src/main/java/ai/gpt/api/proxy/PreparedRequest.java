package ai.gpt.api.proxy;

import ai.gpt.api.catalog.ModelInfo;
import io.vertx.core.buffer.Buffer;

/**
 * A validated client request, rewritten for llama.cpp.
 *
 * @param clientWantsUsage whether the client itself asked for the streamed usage chunk
 * @param maxTokens        the output-token budget held for, sent upstream as n_predict, max_completion_tokens
 *                         and max_tokens (0 for embeddings)
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
