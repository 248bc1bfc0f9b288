package ai.gpt.api.proxy;

import ai.gpt.api.catalog.ModelInfo;
import io.vertx.core.buffer.Buffer;

/**
 * A validated client request, rewritten for llama.cpp.
 *
 * @param clientWantsUsage whether the client itself asked for the streamed usage chunk
 * @param maxTokens        the output-token budget held for, sent upstream as n_predict, max_completion_tokens
 *                         and max_tokens (0 for embeddings)
 * @param promptEstimate   a rough prompt token count, reserved in the token buckets and billed when a stream ends
 *                         before usage arrives
 * @param promptBound      at least as many tokens as the backend can count for the prompt: what the credit hold
 *                         is sized for
 */
public record PreparedRequest(
    Endpoint endpoint,
    ModelInfo model,
    boolean stream,
    boolean clientWantsUsage,
    int maxTokens,
    long promptEstimate,
    long promptBound,
    Buffer upstreamBody) {}
