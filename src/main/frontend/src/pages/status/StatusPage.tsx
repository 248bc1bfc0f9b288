import { useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { FormField } from "@/components/ui/form-field";
import { text, useSubmit } from "@/components/modals/useForm";
import { useAuth } from "@/lib/auth";
import { dateTime } from "@/lib/format";
import { cn } from "@/lib/utils";
import { LEVEL_BG, type StatusDocument } from "./status";
import { IncidentCard, ServerCard, ServiceCard } from "./StatusCards";

/** How often the page reloads the status while it is open (the server caches it for a few seconds anyway). */
export const REFRESH_MS = 30_000;

function Subscribe() {
  const { api } = useAuth();
  const [done, setDone] = useState<string | null>(null);
  const subscribe = useMutation({
    mutationFn: (email: string) => api.post<{ message: string }>("/api/status/subscribe", { email }, { auth: false }),
  });
  const { busy, errors, onSubmit } = useSubmit(["email"], async (data) => {
    const answer = await subscribe.mutateAsync(text(data, "email"));
    setDone(answer.message);
  });
  return (
    <section aria-labelledby="subscribe-title" className="bg-card grid gap-3 rounded-xl border p-4">
      <h2 id="subscribe-title" className="text-lg font-semibold">
        Get incident e-mails
      </h2>
      {done ? (
        <p role="status" className="text-sm">
          {done} Open the link in the e-mail to confirm.
        </p>
      ) : (
        <form onSubmit={onSubmit} className="flex flex-wrap items-start gap-2" noValidate>
          <FormField label="E-mail" name="email" type="email" autoComplete="email" required error={errors.email} className="min-w-0 flex-1" />
          <Button type="submit" disabled={busy} className="mt-[1.375rem]">
            {busy ? "Subscribing…" : "Subscribe"}
          </Button>
        </form>
      )}
    </section>
  );
}

/** /status: public, no sign-in; reloads every 30 s while open. */
export default function StatusPage() {
  const { api } = useAuth();
  const status = useQuery({
    queryKey: ["status"],
    queryFn: () => api.get<StatusDocument>("/api/status", { auth: false }),
    refetchInterval: REFRESH_MS,
  });
  const doc = status.data;
  return (
    <div className="mx-auto grid max-w-5xl gap-8 px-4 py-8">
      <header className="grid gap-3">
        <h1 className="text-3xl font-semibold tracking-tight">GPT API status</h1>
        {status.isPending && (
          <p role="status" className="text-muted-foreground">
            Loading the status…
          </p>
        )}
        {status.isError && !doc && (
          <p role="alert" className="text-destructive">
            The status could not be loaded: {status.error.message} It is retried every 30 seconds.
          </p>
        )}
        {doc && (
          <div className="bg-card flex flex-wrap items-center gap-3 rounded-xl border p-4" data-testid="overall-status">
            <span aria-hidden className={cn("size-4 rounded-full", LEVEL_BG[doc.status])} />
            <p className="text-xl font-semibold">{doc.description}</p>
            <p className="text-muted-foreground ml-auto text-xs">Updated {dateTime(doc.updated_at)}</p>
          </div>
        )}
      </header>
      {doc && (
        <>
          {doc.incidents.open.length > 0 && (
            <section aria-labelledby="open-title" className="grid gap-3">
              <h2 id="open-title" className="text-xl font-semibold">
                Open incidents
              </h2>
              {doc.incidents.open.map((i) => (
                <IncidentCard key={i.id} incident={i} />
              ))}
            </section>
          )}
          <section aria-labelledby="services-title" className="grid gap-3">
            <h2 id="services-title" className="text-xl font-semibold">
              Services
            </h2>
            <div className="grid gap-3 md:grid-cols-2">
              {doc.services.map((s) => (
                <ServiceCard key={s.id} service={s} />
              ))}
            </div>
          </section>
          <section aria-labelledby="servers-title" className="grid gap-3">
            <h2 id="servers-title" className="text-xl font-semibold">
              Servers
            </h2>
            {doc.servers.length === 0 ? (
              <p className="text-muted-foreground text-sm">No inference servers are configured.</p>
            ) : (
              <div className="grid gap-3 md:grid-cols-2">
                {doc.servers.map((s) => (
                  <ServerCard key={s.id} server={s} />
                ))}
              </div>
            )}
          </section>
          <section aria-labelledby="recent-title" className="grid gap-3">
            <h2 id="recent-title" className="text-xl font-semibold">
              Recent incidents
            </h2>
            {doc.incidents.recent.length === 0 ? (
              <p className="text-muted-foreground text-sm">No incidents in the last 14 days.</p>
            ) : (
              doc.incidents.recent.map((i) => <IncidentCard key={i.id} incident={i} />)
            )}
          </section>
        </>
      )}
      <Subscribe />
    </div>
  );
}
