import { describe, expect, it } from "vitest";
import { sseData } from "./sse";

function streamOf(...chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(typeof c === "string" ? encoder.encode(c) : c);
      controller.close();
    },
  });
}

async function collect(body: ReadableStream<Uint8Array>) {
  const out: string[] = [];
  for await (const d of sseData(body)) out.push(d);
  return out;
}

describe("sseData", () => {
  it("yields each event's data, whatever the chunk boundaries", async () => {
    const text = 'data: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\n';
    const whole = await collect(streamOf(text));
    expect(whole).toEqual(['{"a":1}', '{"b":2}', "[DONE]"]);
    // Every split point, one byte at a time.
    expect(await collect(streamOf(...text.split("")))).toEqual(whole);
    for (let i = 1; i < text.length; i++) {
      expect(await collect(streamOf(text.slice(0, i), text.slice(i)))).toEqual(whole);
    }
  });

  it("keeps a UTF-8 character split between chunks whole", async () => {
    const bytes = new TextEncoder().encode('data: {"c":"héllo ✓"}\n\n');
    const cut = bytes.indexOf(0xc3) + 1; // inside "é"
    expect(await collect(streamOf(bytes.slice(0, cut), bytes.slice(cut)))).toEqual(['{"c":"héllo ✓"}']);
  });

  it("reads CRLF and CR line ends, even a CRLF split across chunks", async () => {
    expect(await collect(streamOf("data: one\r", "\n\r\ndata: two\r\rdata: three\n\n"))).toEqual(["one", "two", "three"]);
  });

  it("skips comments and other fields, joins multi-line data, and ends an unterminated last event", async () => {
    expect(await collect(streamOf(": keep-alive\n\nevent: x\nid: 3\ndata: line 1\ndata:line 2\n\ndata: last"))).toEqual([
      "line 1\nline 2",
      "last",
    ]);
  });
});
