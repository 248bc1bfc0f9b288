import { useQueryClient } from "@tanstack/react-query";
import { SendIcon, SquareIcon, Trash2Icon } from "lucide-react";
import { type FormEvent, type KeyboardEvent, useEffect, useMemo, useRef, useState } from "react";
import { Button } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { FormField } from "@/components/ui/form-field";
import { Label } from "@/components/ui/label";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "@/components/ui/select";
import { ApiError } from "@/lib/api";
import { count, usd } from "@/lib/format";
import { type PublicModel, usePublicModels } from "@/lib/models";
import { cn } from "@/lib/utils";
import { type ChatMessage, streamChat } from "./playground/chat";
import { costMicros, microsToDecimal, type Usage } from "./playground/cost";
import { type ChatFailure, describeFailure } from "./playground/errors";
import { usePlaygroundKey } from "./playground/usePlaygroundKey";
import { QueryState, Section, useOrgApi } from "./shared";

interface Turn extends ChatMessage {
  /** Set on finished answers. */
  usage?: Usage | null;
  cost?: bigint | null;
  model?: string;
  stopped?: boolean;
}

const TEXTAREA =
  "border-input placeholder:text-muted-foreground focus-visible:border-ring focus-visible:ring-ring/50 dark:bg-input/30 w-full min-w-0 rounded-md border bg-transparent px-3 py-2 text-base shadow-xs outline-none focus-visible:ring-[3px] md:text-sm";

/** The Playground tab: a multi-turn chat with any chat model, streamed token by token, each answer priced. */
export default function PlaygroundTab() {
  const { api, org, key: queryKey } = useOrgApi();
  const queries = useQueryClient();
  const models = usePublicModels();
  const chatModels = useMemo(() => (models.data ?? []).filter((m) => m.type === "chat"), [models.data]);
  const [model, setModel] = useState<string>("");
  const [system, setSystem] = useState("You are a helpful assistant.");
  const [maxTokens, setMaxTokens] = useState("");
  const [turns, setTurns] = useState<Turn[]>([]);
  const [draft, setDraft] = useState("");
  const [streaming, setStreaming] = useState(false);
  const [failure, setFailure] = useState<ChatFailure | null>(null);
  const abort = useRef<AbortController | null>(null);
  const playground = usePlaygroundKey(api, org.id);
  const selected: PublicModel | undefined = chatModels.find((m) => m.id === model) ?? chatModels[0];

  useEffect(() => () => abort.current?.abort(), []);

  const total = turns.reduce((sum, t) => sum + (t.cost ?? 0n), 0n);

  async function send(event?: FormEvent) {
    event?.preventDefault();
    const text = draft.trim();
    if (!text || streaming || !selected) return;
    const history: ChatMessage[] = [
      ...(system.trim() ? [{ role: "system" as const, content: system.trim() }] : []),
      ...turns.map(({ role, content }) => ({ role, content })),
      { role: "user", content: text },
    ];
    const budget = Number(maxTokens);
    const request = { model: selected.id, messages: history, ...(maxTokens && Number.isSafeInteger(budget) && budget > 0 ? { max_tokens: budget } : {}) };
    setDraft("");
    setFailure(null);
    setTurns((t) => [...t, { role: "user", content: text }, { role: "assistant", content: "", model: selected.id }]);
    setStreaming(true);
    const controller = new AbortController();
    abort.current = controller;
    const appendToAnswer = (delta: string) =>
      setTurns((t) => t.map((turn, i) => (i === t.length - 1 ? { ...turn, content: turn.content + delta } : turn)));
    const finishAnswer = (patch: Partial<Turn>) =>
      setTurns((t) => t.map((turn, i) => (i === t.length - 1 ? { ...turn, ...patch } : turn)));
    try {
      let result;
      try {
        result = await streamChat(await playground.key(), request, appendToAnswer, controller.signal);
      } catch (err) {
        // A key revoked meanwhile (a sign-out elsewhere, its expiry): one new key, one retry.
        if (!(err instanceof ApiError && err.status === 401)) throw err;
        playground.drop();
        result = await streamChat(await playground.key(), request, appendToAnswer, controller.signal);
      }
      // The charge the gateway reports; else the same arithmetic from the tokens and the catalogue's prices.
      const cost = result.costMicros ?? (result.usage ? costMicros(result.usage, selected.pricing) : null);
      finishAnswer({ usage: result.usage, cost });
    } catch (err) {
      if (err instanceof DOMException && err.name === "AbortError") {
        // Stopped: what arrived stays; the gateway bills the tokens generated so far, which the stream no longer
        // reports, so the Usage tab has the exact amount.
        finishAnswer({ stopped: true, cost: null });
      } else {
        setTurns((t) => (t.at(-1)?.content === "" ? t.slice(0, -2) : t));
        setDraft((d) => d || text);
        setFailure(describeFailure(err));
      }
    } finally {
      setStreaming(false);
      abort.current = null;
      // The balance and usage now include this answer (the ledger within a moment: ask again shortly after).
      const refresh = () => queries.invalidateQueries({ queryKey: queryKey() });
      void refresh();
      setTimeout(refresh, 2000);
    }
  }

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      void send();
    }
  }

  return (
    <div className="grid gap-6 lg:grid-cols-[18rem_minmax(0,1fr)]">
      <Section title="Settings" description="Billed to your organization like any API request.">
        <Card className="grid gap-4 p-4">
          <QueryState isPending={models.isPending} error={models.error} />
          <div className="grid gap-2">
            <Label htmlFor="playground-model">Model</Label>
            <Select value={selected?.id ?? ""} onValueChange={setModel} disabled={streaming}>
              <SelectTrigger id="playground-model" aria-label="Model" className="w-full">
                <SelectValue placeholder="Choose a model" />
              </SelectTrigger>
              <SelectContent>
                {chatModels.map((m) => (
                  <SelectItem key={m.id} value={m.id}>
                    {m.id} — {m.name}
                  </SelectItem>
                ))}
              </SelectContent>
            </Select>
            {selected && (
              <p className="text-muted-foreground text-xs">
                {usd(selected.pricing.input_per_1m_tokens)} in / {usd(selected.pricing.output_per_1m_tokens)} out per 1M tokens
              </p>
            )}
          </div>
          <div className="grid gap-2">
            <Label htmlFor="playground-system">System prompt</Label>
            <textarea id="playground-system" className={TEXTAREA} rows={4} value={system} onChange={(e) => setSystem(e.target.value)} disabled={streaming} />
          </div>
          <FormField
            label="Max tokens"
            type="number"
            inputMode="numeric"
            min={1}
            step={1}
            placeholder="Model default"
            value={maxTokens}
            onChange={(e) => setMaxTokens(e.target.value)}
            disabled={streaming}
            hint="The answer's length limit; the credit held for it depends on it."
          />
          <div className="flex items-center justify-between gap-2 text-sm">
            <span>
              Conversation cost: <strong data-testid="playground-total">{usd(microsToDecimal(total))}</strong>
            </span>
            <Button variant="ghost" size="sm" onClick={() => setTurns([])} disabled={streaming || turns.length === 0}>
              <Trash2Icon /> Clear
            </Button>
          </div>
        </Card>
      </Section>
      <Section title="Chat" description="Streamed token by token. Enter sends, Shift+Enter starts a new line.">
        <Card className="grid min-w-0 gap-0 p-0">
          <ol aria-label="Conversation" aria-live="polite" className="grid max-h-[60vh] min-h-48 content-start gap-3 overflow-y-auto p-4">
            {turns.length === 0 && <li className="text-muted-foreground text-sm">Ask anything to start.</li>}
            {turns.map((turn, i) => (
              <li key={i} className={cn("grid gap-1", turn.role === "user" ? "justify-items-end" : "justify-items-start")}>
                <div
                  data-role={turn.role}
                  className={cn(
                    "max-w-[85%] rounded-lg px-3 py-2 text-sm break-words whitespace-pre-wrap",
                    turn.role === "user" ? "bg-primary text-primary-foreground" : "bg-muted",
                  )}
                >
                  {turn.content || (streaming && i === turns.length - 1 ? <span className="text-muted-foreground">…</span> : null)}
                </div>
                {turn.role === "assistant" && (turn.usage || turn.stopped) && (
                  <p className="text-muted-foreground text-xs" data-testid="answer-cost">
                    {turn.model}
                    {turn.usage && ` · ${count(turn.usage.prompt_tokens)} in + ${count(turn.usage.completion_tokens)} out tokens`}
                    {turn.cost != null && ` · ${usd(microsToDecimal(turn.cost))}`}
                    {turn.stopped && " · stopped (billed for the tokens generated, see Usage)"}
                  </p>
                )}
              </li>
            ))}
          </ol>
          {failure && (
            <div role="alert" className="border-destructive/40 bg-destructive/10 text-destructive mx-4 mb-3 rounded-md border px-3 py-2 text-sm">
              <strong>{failure.title}.</strong> {failure.message}
            </div>
          )}
          <form onSubmit={send} className="flex items-end gap-2 border-t p-3">
            <Label htmlFor="playground-message" className="sr-only">
              Message
            </Label>
            <textarea
              id="playground-message"
              className={TEXTAREA}
              rows={2}
              placeholder="Send a message"
              value={draft}
              onChange={(e) => setDraft(e.target.value)}
              onKeyDown={onKeyDown}
            />
            {streaming ? (
              <Button type="button" variant="outline" onClick={() => abort.current?.abort()}>
                <SquareIcon /> Stop
              </Button>
            ) : (
              <Button type="submit" disabled={!draft.trim() || !selected}>
                <SendIcon /> Send
              </Button>
            )}
          </form>
        </Card>
      </Section>
    </div>
  );
}
