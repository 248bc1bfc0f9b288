import { ActivityIcon, BarChart3Icon, KeyRoundIcon, WalletIcon } from "lucide-react";
import { domAnimation, LazyMotion, m } from "motion/react";
import { Link } from "react-router";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { useAuth } from "@/lib/auth";
import { useModals } from "@/lib/modals";
import { usd } from "@/lib/format";
import { usePublicModels } from "@/lib/models";
import { CodeSample } from "./CodeSample";

function sample(origin: string) {
  return `from openai import OpenAI

client = OpenAI(
    base_url="${origin}/v1",
    api_key="gpt_live_...your key...",
)
reply = client.chat.completions.create(
    model="gpt-fast",
    messages=[{"role": "user", "content": "Hello!"}],
)
print(reply.choices[0].message.content)`;
}

const FEATURES = [
  { icon: KeyRoundIcon, title: "Keys with limits", text: "Per-key requests, tokens and spend per minute, hour, day and month, allowed models and expiry." },
  { icon: BarChart3Icon, title: "Usage analytics", text: "Requests, tokens, cost and latency by day, model and key, with the full request log and CSV export." },
  { icon: WalletIcon, title: "Prepaid credits", text: "Top up by card; every request is priced per token and debited exactly, never beyond your balance." },
  { icon: ActivityIcon, title: "Status", text: "Live status of every service and server, with incidents posted as they happen." },
];

const STEPS = [
  ["Register", "Create an account and verify your e-mail. Your organization is ready at once."],
  ["Add credit and a key", "Top up your balance and create an API key with the limits you want."],
  ["Change the base URL", "Point your OpenAI SDK at GPT API. Nothing else in your code changes."],
];

function Reveal({ children, delay = 0 }: { children: React.ReactNode; delay?: number }) {
  return (
    <m.div
      className="min-w-0"
      initial={{ opacity: 0, y: 12 }}
      whileInView={{ opacity: 1, y: 0 }}
      viewport={{ once: true, margin: "-40px" }}
      transition={{ duration: 0.4, delay }}
    >
      {children}
    </m.div>
  );
}

function Models() {
  const { data, isPending, isError } = usePublicModels();
  if (isPending) return <p className="text-muted-foreground text-sm">Loading the models…</p>;
  if (isError) return <p className="text-muted-foreground text-sm">The model list is not available right now.</p>;
  return (
    <Card className="py-2">
      <Table>
        <TableHeader>
          <TableRow>
            <TableHead className="pl-4">Model</TableHead>
            <TableHead>Type</TableHead>
            <TableHead className="text-right">Input / 1M tokens</TableHead>
            <TableHead className="pr-4 text-right">Output / 1M tokens</TableHead>
          </TableRow>
        </TableHeader>
        <TableBody>
          {data.map((m) => (
            <TableRow key={m.id}>
              <TableCell className="pl-4">
                <code className="font-medium">{m.id}</code>
                {m.name && m.name !== m.id && <div className="text-muted-foreground text-xs">{m.name}</div>}
              </TableCell>
              <TableCell>
                <Badge variant="secondary">{m.type}</Badge>
              </TableCell>
              <TableCell className="text-right tabular-nums">{usd(m.pricing.input_per_1m_tokens)}</TableCell>
              <TableCell className="pr-4 text-right tabular-nums">
                {m.type === "embedding" ? "—" : usd(m.pricing.output_per_1m_tokens)}
              </TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </Card>
  );
}

export default function LandingPage() {
  const { status } = useAuth();
  const { open } = useModals();
  const cta =
    status === "signed_in" ? (
      <Button size="lg" asChild>
        <Link to="/dashboard">Open the dashboard</Link>
      </Button>
    ) : (
      <Button size="lg" onClick={() => open({ kind: "signup" })}>
        Get your API key
      </Button>
    );
  return (
    // LazyMotion with the DOM features only: a fraction of the full `motion` component's size.
    <LazyMotion features={domAnimation} strict>
      <section className="mx-auto grid max-w-6xl items-center gap-10 px-4 py-16 md:grid-cols-2 md:py-24">
        <Reveal>
          <Badge variant="outline" className="mb-4">
            OpenAI-compatible
          </Badge>
          <h1 className="text-4xl font-bold tracking-tight text-balance sm:text-5xl">
            Your models behind the API you already use.
          </h1>
          <p className="text-muted-foreground mt-4 text-lg">
            GPT API speaks the OpenAI API: chat, streaming and embeddings. Keep your SDK and your code; change only the
            base URL, and get keys with limits, usage analytics and prepaid credits.
          </p>
          <div className="mt-8 flex flex-wrap gap-3">
            {cta}
            <Button size="lg" variant="outline" asChild>
              <Link to="/docs">Read the docs</Link>
            </Button>
          </div>
        </Reveal>
        <Reveal delay={0.1}>
          <CodeSample title="Python" code={sample(window.location.origin)} highlight="base_url" />
          <p className="text-muted-foreground mt-2 text-sm">The highlighted line is the only change.</p>
        </Reveal>
      </section>

      <section aria-labelledby="models" className="mx-auto max-w-6xl px-4 py-12">
        <h2 id="models" className="mb-2 text-2xl font-semibold tracking-tight">
          Models and prices
        </h2>
        <p className="text-muted-foreground mb-6">Pay per token from your prepaid balance. No subscription.</p>
        <Models />
      </section>

      <section aria-labelledby="features" className="mx-auto max-w-6xl px-4 py-12">
        <h2 id="features" className="mb-6 text-2xl font-semibold tracking-tight">
          Everything around the model
        </h2>
        <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
          {FEATURES.map((f, i) => (
            <Reveal key={f.title} delay={i * 0.05}>
              <Card className="h-full">
                <CardHeader>
                  <f.icon className="text-primary size-6" aria-hidden />
                  <CardTitle>
                    <h3>{f.title}</h3>
                  </CardTitle>
                  <CardDescription>{f.text}</CardDescription>
                </CardHeader>
              </Card>
            </Reveal>
          ))}
        </div>
      </section>

      <section aria-labelledby="how" className="mx-auto max-w-6xl px-4 py-12">
        <h2 id="how" className="mb-6 text-2xl font-semibold tracking-tight">
          How it works
        </h2>
        <ol className="grid gap-4 md:grid-cols-3">
          {STEPS.map(([title, text], i) => (
            <li key={title}>
              <Card className="h-full">
                <CardContent className="flex gap-4">
                  <span className="bg-primary text-primary-foreground flex size-8 shrink-0 items-center justify-center rounded-full font-semibold">
                    {i + 1}
                  </span>
                  <div>
                    <h3 className="font-semibold">{title}</h3>
                    <p className="text-muted-foreground text-sm">{text}</p>
                  </div>
                </CardContent>
              </Card>
            </li>
          ))}
        </ol>
      </section>

      <section className="mx-auto max-w-6xl px-4 py-12">
        <div className="bg-primary/10 flex flex-col items-start gap-4 rounded-2xl p-8 md:flex-row md:items-center md:justify-between">
          <div>
            <h2 className="text-2xl font-semibold tracking-tight">Start in two minutes</h2>
            <p className="text-muted-foreground">Register, add credit, create a key, change one line.</p>
          </div>
          {cta}
        </div>
      </section>
    </LazyMotion>
  );
}
