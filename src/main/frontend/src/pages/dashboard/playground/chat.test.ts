import { describe, expect, it, vi } from "vitest";
import { ApiError } from "@/lib/api";
import { streamChat } from "./chat";
import { describeFailure } from "./errors";

function sse(events: string[]): Response {
  const body = events.map((e) => `data: ${e}\n\n`).join("");
  return new Response(body, { status: 200, headers: { "content-type": "text/event-stream", "x-request-id": "req_1" } });
}

const delta = (content: string) => JSON.stringify({ object: "chat.completion.chunk", choices: [{ index: 0, delta: { content } }] });

describe("streamChat", () => {
  it("sends the conversation with the playground key and streams the answer, its usage and reported cost", async () => {
    const fetchFn = vi.fn(async () =>
      sse([
        delta("Hel"),
        delta("lo"),
        JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }),
        '{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17,"cost":0.000006}}',
        "[DONE]",
      ]),
    );
    const deltas: string[] = [];
    const messages = [
      { role: "system" as const, content: "Be brief." },
      { role: "user" as const, content: "Hi" },
    ];
    const result = await streamChat("gpt_live_pg_secret", { model: "gpt-fast", messages, max_tokens: 50 }, (d) => deltas.push(d), undefined, fetchFn as unknown as typeof fetch);
    expect(deltas).toEqual(["Hel", "lo"]);
    expect(result).toEqual({
      content: "Hello",
      usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17, cost: 0.000006 },
      costMicros: 6n,
      finishReason: "stop",
      requestId: "req_1",
    });
    const [url, init] = fetchFn.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("/v1/chat/completions");
    expect((init.headers as Record<string, string>).Authorization).toBe("Bearer gpt_live_pg_secret");
    expect(JSON.parse(init.body as string)).toEqual({ model: "gpt-fast", messages, max_tokens: 50, stream: true, stream_options: { include_usage: true } });
  });

  it("turns OpenAI-shaped errors into ApiError with the retry time, and clear messages", async () => {
    const refuse = (status: number, code: string, message: string, retryAfter?: string) =>
      vi.fn(async () =>
        new Response(JSON.stringify({ error: { message, type: code, param: null, code } }), {
          status,
          headers: { "content-type": "application/json", ...(retryAfter ? { "retry-after": retryAfter } : {}) },
        }),
      ) as unknown as typeof fetch;
    const noCredit = await streamChat("k", { model: "gpt-fast", messages: [] }, () => {}, undefined, refuse(402, "insufficient_quota", "Balance is $0.00.")).catch((e) => e);
    expect(noCredit).toBeInstanceOf(ApiError);
    expect(describeFailure(noCredit)).toEqual({ title: "Not enough credit", message: "Balance is $0.00. Add credit in the Billing tab, then send again." });

    const limited = await streamChat("k", { model: "gpt-fast", messages: [] }, () => {}, undefined, refuse(429, "rate_limit_exceeded", "Rate limit reached for requests per minute (org).", "42")).catch((e) => e);
    expect((limited as ApiError).retryAfterSeconds).toBe(42);
    expect(describeFailure(limited)).toEqual({ title: "Rate limit reached", message: "Rate limit reached for requests per minute (org). Retry in 42 s." });

    const down = await streamChat("k", { model: "gpt-fast", messages: [] }, () => {}, undefined, refuse(503, "model_unavailable", "No backend is available.", "5")).catch((e) => e);
    expect(describeFailure(down)).toEqual({ title: "Model unavailable", message: "No backend is available. Retry in 5 s." });
  });
});
