/**
 * Server-sent events as the gateway relays them from llama.cpp: `data: <json>` events separated by a blank line,
 * ending with `data: [DONE]`. Network chunks split lines (and UTF-8 characters) anywhere, so bytes are decoded as
 * a stream and only whole lines are read. Comments (`: ...`) and other fields are skipped; the data lines of one
 * event are joined with "\n", as the EventSource standard says.
 */
export async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let data: string[] = [];
  try {
    for (;;) {
      const { done, value } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, newline);
        // A lone "\r" at the end of the buffer may be the first half of "\r\n": wait for the next chunk.
        if (buffer[newline] === "\r" && newline === buffer.length - 1 && !done) break;
        buffer = buffer.slice(newline + (buffer.startsWith("\r\n", newline) ? 2 : 1));
        if (line === "") {
          if (data.length > 0) yield data.join("\n");
          data = [];
        } else if (line.startsWith("data:")) {
          data.push(line.slice(line.startsWith("data: ") ? 6 : 5));
        }
      }
      if (done) {
        if (buffer.startsWith("data:")) data.push(buffer.slice(buffer.startsWith("data: ") ? 6 : 5));
        if (data.length > 0) yield data.join("\n");
        return;
      }
    }
  } finally {
    reader.releaseLock();
  }
}
