import { useMutation, useQueryClient } from "@tanstack/react-query";
import { PencilIcon, PlusIcon, RotateCwIcon, SendIcon, TrashIcon, WebhookIcon } from "lucide-react";
import { useState } from "react";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { routeError } from "@/lib/errors";
import { dateTime } from "@/lib/format";
import { useModals } from "@/lib/modals";
import { toast } from "@/lib/toasts";
import { SecretDialog } from "./SecretDialog";
import { QueryState, Section, canManage, useOrgApi } from "./shared";
import { type Endpoint, useEndpoints } from "./webhooks/api";
import { DeliveryLog } from "./webhooks/DeliveryLog";
import { EndpointDialog } from "./webhooks/EndpointDialog";

interface Shown {
  secret: string;
  rotated: boolean;
}

function EndpointCard({ endpoint, onEdit, onSecret }: { endpoint: Endpoint; onEdit: () => void; onSecret: (s: Shown) => void }) {
  const { api, path, key } = useOrgApi();
  const queries = useQueryClient();
  const { confirm } = useModals();
  const [log, setLog] = useState(false);
  const label = endpoint.description || endpoint.url;
  const test = useMutation({
    mutationFn: () => api.post(path(`/webhooks/${endpoint.id}/test`)),
    onSuccess: () => {
      setLog(true);
      toast("good", "Test event queued", "A webhook.test message is on its way; its delivery shows below.");
      return queries.invalidateQueries({ queryKey: key("webhooks", endpoint.id, "deliveries") });
    },
    onError: (err) => routeError(err),
  });
  const rotate = () =>
    confirm({
      title: "Rotate the signing secret?",
      description:
        "A new secret signs every message from now on. The current one keeps signing too (a second signature) for a grace period, so you can update your receiver without missing a message.",
      confirmLabel: "Rotate secret",
      onConfirm: async () => {
        const rotated = await api.post<Endpoint>(path(`/webhooks/${endpoint.id}/rotate-secret`));
        await queries.invalidateQueries({ queryKey: key("webhooks") });
        if (rotated.secret) onSecret({ secret: rotated.secret, rotated: true });
      },
    });
  const remove = () =>
    confirm({
      title: `Delete the endpoint ${endpoint.url}?`,
      description: "Its waiting events and its delivery log are deleted with it. Nothing more is sent to this URL.",
      confirmLabel: "Delete endpoint",
      destructive: true,
      onConfirm: async () => {
        await api.delete(path(`/webhooks/${endpoint.id}`));
        await queries.invalidateQueries({ queryKey: key("webhooks") });
        toast("good", "Endpoint deleted");
      },
    });
  return (
    <Card className="gap-3" data-testid="webhook-endpoint">
      <CardHeader className="flex flex-wrap items-start justify-between gap-2">
        <div className="grid min-w-0 gap-1">
          <CardTitle className="text-base break-all">{endpoint.url}</CardTitle>
          {endpoint.description && <p className="text-muted-foreground text-sm">{endpoint.description}</p>}
        </div>
        <Badge variant={endpoint.enabled ? "good" : "warn"}>{endpoint.enabled ? "enabled" : "disabled"}</Badge>
      </CardHeader>
      <CardContent className="grid gap-3">
        {!endpoint.enabled && endpoint.disabled_reason && (
          <p role="status" className="bg-warn/15 rounded-md p-2 text-sm">
            Disabled: {endpoint.disabled_reason}. Events wait until you enable it again (Edit).
          </p>
        )}
        {endpoint.enabled && endpoint.failing_since && (
          <p role="status" className="bg-warn/15 rounded-md p-2 text-sm">
            Failing since {dateTime(endpoint.failing_since)}: check the delivery log. After 3 days without a success it is disabled.
          </p>
        )}
        <ul className="flex flex-wrap gap-1" aria-label="Events">
          {endpoint.events.map((e) => (
            <li key={e}>
              <Badge variant="secondary">
                <code>{e}</code>
              </Badge>
            </li>
          ))}
        </ul>
        {endpoint.previous_secret_expires_at && new Date(endpoint.previous_secret_expires_at) > new Date() && (
          <p className="text-muted-foreground text-xs">The previous secret also signs until {dateTime(endpoint.previous_secret_expires_at)}.</p>
        )}
        <div className="flex flex-wrap gap-2">
          <Button size="sm" variant="outline" disabled={test.isPending || !endpoint.enabled} onClick={() => test.mutate()}>
            <SendIcon /> Send test event
          </Button>
          <Button size="sm" variant="outline" aria-expanded={log} onClick={() => setLog(!log)}>
            {log ? "Hide deliveries" : "Deliveries"}
          </Button>
          <Button size="sm" variant="ghost" onClick={onEdit} aria-label={`Edit ${label}`}>
            <PencilIcon /> Edit
          </Button>
          <Button size="sm" variant="ghost" onClick={rotate} aria-label={`Rotate secret of ${label}`}>
            <RotateCwIcon /> Rotate secret
          </Button>
          <Button size="sm" variant="ghost" onClick={remove} aria-label={`Delete ${label}`}>
            <TrashIcon className="text-destructive" /> Delete
          </Button>
        </div>
        {log && <DeliveryLog endpoint={endpoint} />}
      </CardContent>
    </Card>
  );
}

export default function WebhooksTab() {
  const { org } = useOrgApi();
  const admin = canManage(org.role);
  const endpoints = useEndpoints(admin);
  const [editing, setEditing] = useState<Endpoint | "new" | null>(null);
  const [shown, setShown] = useState<Shown | null>(null);
  if (!admin) {
    return (
      <Section title="Webhooks">
        <Card className="items-center py-10 text-center">
          <WebhookIcon className="text-muted-foreground size-8" aria-hidden />
          <p className="text-muted-foreground max-w-md text-sm">
            Only admins and owners of {org.name} can see and manage its webhooks. Ask one of them to add an endpoint, or to make you an admin.
          </p>
        </Card>
      </Section>
    );
  }
  return (
    <Section
      title="Webhooks"
      description="Signed HTTP callbacks to your server when usage is recorded, credit is added or runs low, a payment succeeds, a key changes, a limit is hit or an incident opens."
      action={
        <Button onClick={() => setEditing("new")}>
          <PlusIcon /> Add endpoint
        </Button>
      }
    >
      <QueryState isPending={endpoints.isPending} error={endpoints.error} />
      {endpoints.data?.length === 0 && (
        <Card className="items-center py-10 text-center">
          <WebhookIcon className="text-muted-foreground size-8" aria-hidden />
          <p className="text-muted-foreground text-sm">No endpoints yet. Add one to receive events.</p>
        </Card>
      )}
      <div className="grid gap-4">
        {endpoints.data?.map((e) => (
          <EndpointCard key={e.id} endpoint={e} onEdit={() => setEditing(e)} onSecret={setShown} />
        ))}
      </div>
      {editing !== null && (
        <EndpointDialog
          key={editing === "new" ? "new" : editing.id}
          open
          endpoint={editing === "new" ? null : editing}
          onClose={() => setEditing(null)}
          onCreated={(e) => {
            setEditing(null);
            if (e.secret) setShown({ secret: e.secret, rotated: false });
          }}
        />
      )}
      <SecretDialog
        secret={shown?.secret ?? null}
        title={shown?.rotated ? "Your new signing secret" : "Your endpoint's signing secret"}
        description="Copy it now: this is the only time it is shown. Your receiver verifies each message's webhook-signature with it."
        copyLabel="Copy the secret"
        testId="webhook-secret"
        onClose={() => setShown(null)}
      />
    </Section>
  );
}
