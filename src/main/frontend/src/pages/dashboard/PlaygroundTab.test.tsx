import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ME, SIGNED_IN, WhenSignedIn, fakeServer, renderApp } from "@/test/render";
import PlaygroundTab from "./PlaygroundTab";

const MODELS = {
  object: "list",
  data: [
    { id: "gpt-fast", object: "model", owned_by: "gpt-api", name: "gpt-oss-20B", type: "chat", context_length: 8192,
      pricing: { input_per_1m_tokens: "0.250000", output_per_1m_tokens: "0.500000", input_per_1m_tokens_micros: 250000, output_per_1m_tokens_micros: 500000 } },
    { id: "embed", object: "model", owned_by: "gpt-api", name: "arctic", type: "embedding", context_length: 512,
      pricing: { input_per_1m_tokens: "0.050000", output_per_1m_tokens: "0.000000", input_per_1m_tokens_micros: 50000, output_per_1m_tokens_micros: 0 } },
  ],
};
const SESSION = { object: "playground_session", key: "gpt_live_pg_secret", key_id: "pg", expires_at: "2026-12-01T13:45:00Z", expires_in: 900 };

function server() {
  return fakeServer((method, url) => {
    if (url === "/api/auth/refresh") return [200, SIGNED_IN];
    if (url === "/api/me") return [200, ME];
    if (url === "/api/models") return [200, MODELS];
    if (method === "POST" && url === "/api/orgs/7/playground/session") return [201, SESSION];
    if (method === "DELETE" && url === "/api/orgs/7/playground/session") return [204, undefined];
    return undefined;
  });
}

/** /v1/chat/completions answered by `answer`, the stream sent in the given pieces. */
function fakeGateway(answer: () => Response) {
  const v1 = vi.fn(async (_url: string, _init: RequestInit) => answer());
  vi.stubGlobal("fetch", v1);
  return v1;
}

function stream(...pieces: string[]) {
  return new Response(pieces.map((p) => `data: ${p}\n\n`).join(""), { status: 200, headers: { "content-type": "text/event-stream" } });
}

describe("Playground tab", () => {
  beforeEach(() => localStorage.setItem("gptapi.session", "1"));
  afterEach(() => vi.unstubAllGlobals());

  it("sends the system prompt and the conversation with a minted playground key, streams the answer and prices it", async () => {
    const user = userEvent.setup();
    const { client, calls } = server();
    const v1 = fakeGateway(() =>
      stream(
        '{"choices":[{"index":0,"delta":{"content":"Bonjour"}}]}',
        '{"choices":[{"index":0,"delta":{"content":" !"},"finish_reason":"stop"}]}',
        '{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17,"cost":0.000006}}',
        "[DONE]",
      ),
    );
    renderApp(<WhenSignedIn><PlaygroundTab /></WhenSignedIn>, { client });
    await screen.findByText(/\$0\.25 in \/ \$0\.50 out per 1M tokens/, {}, { timeout: 10_000 });
    await user.clear(screen.getByLabelText("System prompt"));
    await user.type(screen.getByLabelText("System prompt"), "Answer in French.");
    await user.type(screen.getByLabelText("Max tokens"), "64");
    await user.type(screen.getByLabelText("Message"), "Say hello{Enter}");

    const conversation = screen.getByRole("list", { name: "Conversation" });
    expect(await within(conversation).findByText("Bonjour !")).toBeInTheDocument();
    expect(await screen.findByTestId("answer-cost")).toHaveTextContent("gpt-fast · 12 in + 5 out tokens · $0.000006");
    expect(screen.getByTestId("playground-total")).toHaveTextContent("$0.000006");
    expect(calls.filter((c) => c.url === "/api/orgs/7/playground/session" && c.method === "POST")).toHaveLength(1);
    const [url, init] = v1.mock.calls[0];
    expect(url).toBe("/v1/chat/completions");
    expect((init.headers as Record<string, string>).Authorization).toBe("Bearer gpt_live_pg_secret");
    expect(JSON.parse(init.body as string)).toEqual({
      model: "gpt-fast",
      messages: [
        { role: "system", content: "Answer in French." },
        { role: "user", content: "Say hello" },
      ],
      max_tokens: 64,
      stream: true,
      stream_options: { include_usage: true },
    });

    // A second turn sends the whole conversation with the same key.
    await user.type(screen.getByLabelText("Message"), "Again{Enter}");
    await waitFor(() => expect(v1).toHaveBeenCalledTimes(2));
    expect(JSON.parse(v1.mock.calls[1][1].body as string).messages).toHaveLength(4);
    expect(calls.filter((c) => c.url === "/api/orgs/7/playground/session" && c.method === "POST")).toHaveLength(1);
    await waitFor(() => expect(screen.getByTestId("playground-total")).toHaveTextContent("$0.000012"));
  }, 60_000);

  it("shows a 402 as a clear message and keeps the draft", async () => {
    const user = userEvent.setup();
    const { client } = server();
    fakeGateway(
      () =>
        new Response(JSON.stringify({ error: { message: "Insufficient credit: balance $0.00.", type: "insufficient_quota", param: null, code: "insufficient_quota" } }), {
          status: 402,
          headers: { "content-type": "application/json" },
        }),
    );
    renderApp(<WhenSignedIn><PlaygroundTab /></WhenSignedIn>, { client });
    await screen.findByText(/per 1M tokens/, {}, { timeout: 10_000 });
    await user.type(screen.getByLabelText("Message"), "Hi{Enter}");
    expect(await screen.findByRole("alert")).toHaveTextContent("Not enough credit. Insufficient credit: balance $0.00. Add credit in the Billing tab");
    expect(screen.getByLabelText("Message")).toHaveValue("Hi");
  }, 60_000);

  it("stops a stream with the Stop button", async () => {
    const user = userEvent.setup();
    const { client } = server();
    vi.stubGlobal(
      "fetch",
      vi.fn(async (_url: string, init: RequestInit) => {
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('data: {"choices":[{"index":0,"delta":{"content":"Once upon"}}]}\n\n'));
            init.signal?.addEventListener("abort", () => controller.error(new DOMException("Aborted", "AbortError")));
          },
        });
        return new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } });
      }),
    );
    renderApp(<WhenSignedIn><PlaygroundTab /></WhenSignedIn>, { client });
    await screen.findByText(/per 1M tokens/, {}, { timeout: 10_000 });
    await user.type(screen.getByLabelText("Message"), "A story{Enter}");
    expect(await screen.findByText("Once upon")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Stop" }));
    expect(await screen.findByTestId("answer-cost")).toHaveTextContent("stopped");
    expect(screen.getByRole("button", { name: "Send" })).toBeInTheDocument();
  }, 60_000);
});
