import { toApiError } from "@/lib/api";
import { sseData } from "./sse";
import { reportedCostMicros, type Usage } from "./cost";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface ChatResult {
  content: string;
  usage: Usage | null;
  /** The exact charge the gateway reported with the usage, in micro-USD. */
  costMicros: bigint | null;
  finishReason: string | null;
  /** x-request-id: names the answer in the request log. */
  requestId: string | null;
}

interface Chunk {
  choices?: { delta?: { content?: string | null; reasoning_content?: string | null }; finish_reason?: string | null }[];
  usage?: Usage | null;
  error?: { message?: string };
}

/**
 * One streamed chat completion on /v1/chat/completions with the Playground's key: the very request an SDK makes,
 * so it is authenticated, limited, metered and billed like any other. Calls onDelta with each piece of text as it
 * arrives; asks for the usage chunk, which prices the answer. Errors are the gateway's OpenAI-shaped ApiError
 * (status, code, Retry-After); aborting the signal stops the stream (and the gateway stops the backend).
 */
export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  /** The answer's token budget; absent: the model's default. */
  max_tokens?: number;
}

export async function streamChat(
  key: string,
  request: ChatRequest,
  onDelta: (text: string) => void,
  signal?: AbortSignal,
  fetchFn: typeof fetch = (...args) => fetch(...args),
): Promise<ChatResult> {
  const response = await fetchFn("/v1/chat/completions", {
    method: "POST",
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json", Accept: "text/event-stream" },
    body: JSON.stringify({ ...request, stream: true, stream_options: { include_usage: true } }),
    signal,
  });
  if (!response.ok || !response.body) {
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    throw toApiError(response, json);
  }
  const result: ChatResult = { content: "", usage: null, costMicros: null, finishReason: null, requestId: response.headers.get("x-request-id") };
  for await (const data of sseData(response.body)) {
    if (data === "[DONE]") break;
    let chunk: Chunk;
    try {
      chunk = JSON.parse(data) as Chunk;
    } catch {
      continue; // not JSON: nothing a chat client can show
    }
    if (chunk.error) throw new Error(chunk.error.message ?? "The model stopped with an error.");
    const choice = chunk.choices?.[0];
    const text = choice?.delta?.content;
    if (text) {
      result.content += text;
      onDelta(text);
    }
    if (choice?.finish_reason) result.finishReason = choice.finish_reason;
    if (chunk.usage) {
      result.usage = chunk.usage;
      result.costMicros = reportedCostMicros(data.slice(data.indexOf('"usage"')));
    }
  }
  return result;
}
