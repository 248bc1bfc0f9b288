import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { KeyRoundIcon, PencilIcon, PlusIcon, TrashIcon } from "lucide-react";
import { useState } from "react";
import { text, useSubmit } from "@/components/modals/useForm";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { FormField } from "@/components/ui/form-field";
import { Label } from "@/components/ui/label";
import { Switch } from "@/components/ui/switch";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { routeError } from "@/lib/errors";
import { dateTime } from "@/lib/format";
import { useModals } from "@/lib/modals";
import { usePublicModels } from "@/lib/models";
import { toast } from "@/lib/toasts";
import { SecretDialog } from "./SecretDialog";
import { QueryState, Section, useOrgApi } from "./shared";

export interface ApiKey {
  id: string;
  name: string;
  status: "active" | "disabled" | "revoked" | "expired";
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
  allowed_models: string[] | null;
  limits: Record<string, number | null> | null;
  key?: string;
}

const LIMIT_FIELDS = [
  ["rpm", "Requests / minute"],
  ["rpd", "Requests / day"],
  ["tpm", "Tokens / minute"],
  ["tpd", "Tokens / day"],
] as const;

function useKeys() {
  const { api, path, key } = useOrgApi();
  return useQuery({ queryKey: key("keys"), queryFn: () => api.get<{ data: ApiKey[] }>(path("/keys")).then((r) => r.data) });
}

/** The form's optional fields as the API takes them: absent when empty. */
export function keyRequest(data: FormData, models: string[]): Record<string, unknown> {
  const body: Record<string, unknown> = { name: text(data, "name").trim() };
  const allowed = data.getAll("allowed_models").filter((m): m is string => typeof m === "string");
  if (allowed.length > 0 && allowed.length < models.length) body.allowed_models = allowed;
  const limits: Record<string, number> = {};
  for (const [field] of LIMIT_FIELDS) {
    const v = text(data, field).trim();
    if (v) limits[field] = Number(v);
  }
  if (Object.keys(limits).length > 0) body.limits = limits;
  const expires = text(data, "expires");
  if (expires) body.expires_at = `${expires}T23:59:59Z`;
  return body;
}

function CreateKeyDialog({ open, onOpenChange, onCreated }: { open: boolean; onOpenChange: (o: boolean) => void; onCreated: (k: ApiKey) => void }) {
  const { api, path, key } = useOrgApi();
  const queries = useQueryClient();
  const models = usePublicModels();
  const ids = (models.data ?? []).map((m) => m.id);
  const { busy, errors, onSubmit } = useSubmit(["name", "allowed_models", "limits", "expires_at"], async (data) => {
    const created = await api.post<ApiKey>(path("/keys"), keyRequest(data, ids));
    await queries.invalidateQueries({ queryKey: key("keys") });
    onCreated(created);
  });
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent>
        <DialogHeader>
          <DialogTitle>Create an API key</DialogTitle>
          <DialogDescription>Limits and models are optional: without them the key may use every model up to your organization's limits.</DialogDescription>
        </DialogHeader>
        <form className="grid gap-4" onSubmit={onSubmit} noValidate>
          <FormField label="Name" name="name" required maxLength={100} placeholder="production server" error={errors.name} />
          <fieldset className="grid gap-2">
            <legend className="mb-2 text-sm font-medium">Allowed models</legend>
            <div className="flex flex-wrap gap-4">
              {ids.map((id) => (
                <Label key={id} className="font-normal">
                  <input type="checkbox" name="allowed_models" value={id} defaultChecked className="accent-primary size-4" />
                  <code>{id}</code>
                </Label>
              ))}
            </div>
            {errors.allowed_models && <p role="alert" className="text-destructive text-sm">{errors.allowed_models}</p>}
          </fieldset>
          <div className="grid grid-cols-2 gap-3">
            {LIMIT_FIELDS.map(([field, label]) => (
              <FormField key={field} label={label} name={field} type="number" min={1} inputMode="numeric" placeholder="no limit" />
            ))}
          </div>
          {errors.limits && <p role="alert" className="text-destructive text-sm">{errors.limits}</p>}
          <FormField label="Expires on (optional)" name="expires" type="date" error={errors.expires_at} />
          <DialogFooter>
            <Button type="submit" disabled={busy}>
              {busy ? "Creating…" : "Create key"}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}

function RenameDialog({ apiKey, onClose }: { apiKey: ApiKey | null; onClose: () => void }) {
  const { api, path, key } = useOrgApi();
  const queries = useQueryClient();
  const { busy, errors, onSubmit } = useSubmit(["name"], async (data) => {
    await api.patch(path(`/keys/${apiKey?.id}`), { name: text(data, "name").trim() });
    await queries.invalidateQueries({ queryKey: key("keys") });
    toast("good", "Key renamed");
    onClose();
  });
  return (
    <Dialog open={apiKey !== null} onOpenChange={(o) => !o && onClose()}>
      <DialogContent>
        <DialogHeader>
          <DialogTitle>Rename key</DialogTitle>
        </DialogHeader>
        <form className="grid gap-4" onSubmit={onSubmit} noValidate>
          <FormField label="Name" name="name" defaultValue={apiKey?.name} required maxLength={100} error={errors.name} />
          <DialogFooter>
            <Button type="submit" disabled={busy}>
              Save
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}

function statusBadge(status: ApiKey["status"]) {
  const variant = status === "active" ? "good" : status === "disabled" ? "warn" : "secondary";
  return <Badge variant={variant}>{status}</Badge>;
}

function limitsText(k: ApiKey): string {
  const set = Object.entries(k.limits ?? {}).filter(([, v]) => v != null);
  return set.length === 0 ? "org limits" : set.map(([n, v]) => `${v} ${n}`).join(", ");
}

export default function KeysTab() {
  const keys = useKeys();
  const { api, path, key } = useOrgApi();
  const queries = useQueryClient();
  const { confirm } = useModals();
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<ApiKey | null>(null);
  const [renaming, setRenaming] = useState<ApiKey | null>(null);
  const setStatus = useMutation({
    mutationFn: ({ k, status }: { k: ApiKey; status: "active" | "disabled" }) => api.patch(path(`/keys/${k.id}`), { status }),
    onSuccess: (_r, { status }) => {
      toast("good", status === "active" ? "Key enabled" : "Key disabled");
      return queries.invalidateQueries({ queryKey: key("keys") });
    },
    onError: (err) => routeError(err),
  });
  const revoke = (k: ApiKey) =>
    confirm({
      title: `Revoke "${k.name}"?`,
      description: "Requests with this key fail at once, everywhere. A revoked key cannot be restored.",
      confirmLabel: "Revoke key",
      destructive: true,
      onConfirm: async () => {
        await api.delete(path(`/keys/${k.id}`));
        await queries.invalidateQueries({ queryKey: key("keys") });
        toast("good", "Key revoked", `"${k.name}" no longer works.`);
      },
    });
  return (
    <Section
      title="API keys"
      description="Use a key as the bearer token of OpenAI-compatible requests to /v1."
      action={
        <Button onClick={() => setCreating(true)}>
          <PlusIcon /> Create key
        </Button>
      }
    >
      <QueryState isPending={keys.isPending} error={keys.error} />
      {keys.data?.length === 0 && (
        <Card className="items-center py-10 text-center">
          <KeyRoundIcon className="text-muted-foreground size-8" aria-hidden />
          <p className="text-muted-foreground text-sm">No keys yet. Create one to make your first request.</p>
        </Card>
      )}
      {keys.data && keys.data.length > 0 && (
        <Card className="py-2">
          <Table>
            <TableHeader>
              <TableRow>
                <TableHead className="pl-4">Name</TableHead>
                <TableHead>Status</TableHead>
                <TableHead>Models</TableHead>
                <TableHead>Limits</TableHead>
                <TableHead>Last used</TableHead>
                <TableHead>Expires</TableHead>
                <TableHead className="pr-4 text-right">Actions</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {keys.data.map((k) => {
                const live = k.status === "active" || k.status === "disabled";
                return (
                  <TableRow key={k.id}>
                    <TableCell className="pl-4">
                      <div className="font-medium">{k.name}</div>
                      <code className="text-muted-foreground text-xs">{k.id}</code>
                    </TableCell>
                    <TableCell>{statusBadge(k.status)}</TableCell>
                    <TableCell className="text-muted-foreground">{k.allowed_models?.join(", ") ?? "all"}</TableCell>
                    <TableCell className="text-muted-foreground">{limitsText(k)}</TableCell>
                    <TableCell>{dateTime(k.last_used_at)}</TableCell>
                    <TableCell>{k.expires_at ? dateTime(k.expires_at) : "never"}</TableCell>
                    <TableCell className="pr-4">
                      <div className="flex items-center justify-end gap-1">
                        {live && (
                          <>
                            <Switch
                              aria-label={`${k.status === "active" ? "Disable" : "Enable"} ${k.name}`}
                              checked={k.status === "active"}
                              disabled={setStatus.isPending}
                              onCheckedChange={(on) => setStatus.mutate({ k, status: on ? "active" : "disabled" })}
                            />
                            <Button variant="ghost" size="icon" aria-label={`Rename ${k.name}`} onClick={() => setRenaming(k)}>
                              <PencilIcon />
                            </Button>
                            <Button variant="ghost" size="icon" aria-label={`Revoke ${k.name}`} onClick={() => revoke(k)}>
                              <TrashIcon className="text-destructive" />
                            </Button>
                          </>
                        )}
                      </div>
                    </TableCell>
                  </TableRow>
                );
              })}
            </TableBody>
          </Table>
        </Card>
      )}
      <CreateKeyDialog
        open={creating}
        onOpenChange={setCreating}
        onCreated={(k) => {
          setCreating(false);
          setCreated(k);
        }}
      />
      <SecretDialog
        secret={created?.key ?? null}
        title="Your new key"
        description="Copy it now: this is the only time it is shown. Store it like a password."
        copyLabel="Copy the key"
        testId="new-key-secret"
        onClose={() => setCreated(null)}
      />
      <RenameDialog apiKey={renaming} onClose={() => setRenaming(null)} />
    </Section>
  );
}
