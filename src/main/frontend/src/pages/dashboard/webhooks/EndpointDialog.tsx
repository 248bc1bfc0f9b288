import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { text, useSubmit } from "@/components/modals/useForm";
import { Button } from "@/components/ui/button";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { FormField } from "@/components/ui/form-field";
import { Label } from "@/components/ui/label";
import { Switch } from "@/components/ui/switch";
import { ApiError } from "@/lib/api";
import { toast } from "@/lib/toasts";
import { useOrgApi } from "../shared";
import { type Endpoint, useEventTypes } from "./api";

const FIELDS = ["url", "events", "description", "enabled"] as const;

/** The PATCH body: only what changed, so an unchanged URL is not resolved and checked again. */
export function endpointChanges(before: Endpoint, data: FormData, enabled: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const url = text(data, "url").trim();
  const description = text(data, "description").trim();
  const events = data.getAll("events").filter((e): e is string => typeof e === "string");
  if (url !== before.url) body.url = url;
  if (description !== before.description) body.description = description;
  if (events.join() !== before.events.join()) body.events = events;
  if (enabled !== before.enabled) body.enabled = enabled;
  return body;
}

/**
 * Creates an endpoint (`endpoint` null; its secret is handed to `onCreated`, shown once) or edits one: URL,
 * description, events, and enabled (turning it on again after the gateway disabled it).
 */
export function EndpointDialog({
  open,
  endpoint,
  onClose,
  onCreated,
}: {
  open: boolean;
  endpoint: Endpoint | null;
  onClose: () => void;
  onCreated: (e: Endpoint) => void;
}) {
  const { api, path, key } = useOrgApi();
  const queries = useQueryClient();
  const types = useEventTypes();
  const [enabled, setEnabled] = useState(endpoint?.enabled ?? true);
  const { busy, errors, onSubmit } = useSubmit(FIELDS, async (data) => {
    const events = data.getAll("events");
    if (events.length === 0) throw new ApiError(400, "invalid_request", "Choose at least one event to receive.", "events");
    if (endpoint) {
      const changes = endpointChanges(endpoint, data, enabled);
      if (Object.keys(changes).length > 0) {
        await api.patch(path(`/webhooks/${endpoint.id}`), changes);
        await queries.invalidateQueries({ queryKey: key("webhooks") });
        toast("good", "Endpoint saved");
      }
      onClose();
      return;
    }
    const description = text(data, "description").trim();
    const created = await api.post<Endpoint>(path("/webhooks"), {
      url: text(data, "url").trim(),
      events,
      ...(description ? { description } : {}),
    });
    await queries.invalidateQueries({ queryKey: key("webhooks") });
    onCreated(created);
  });
  return (
    <Dialog open={open} onOpenChange={(o) => !o && onClose()}>
      <DialogContent className="max-h-[90vh] overflow-y-auto">
        <DialogHeader>
          <DialogTitle>{endpoint ? "Edit endpoint" : "Add a webhook endpoint"}</DialogTitle>
          <DialogDescription>
            GPT API sends each event as a signed POST (Standard Webhooks) to this URL, retrying for up to a day until it answers 2xx.
          </DialogDescription>
        </DialogHeader>
        <form className="grid gap-4" onSubmit={onSubmit} noValidate>
          <FormField
            label="URL"
            name="url"
            type="url"
            required
            maxLength={2048}
            placeholder="https://example.com/gpt-api/webhooks"
            defaultValue={endpoint?.url}
            hint="https:// and a public address."
            error={errors.url}
          />
          <FormField label="Description (optional)" name="description" maxLength={500} defaultValue={endpoint?.description} error={errors.description} />
          <fieldset className="grid gap-2" aria-describedby={errors.events ? "events-error" : undefined}>
            <legend className="mb-2 text-sm font-medium">Events</legend>
            {types.isPending && <p className="text-muted-foreground text-sm">Loading event types…</p>}
            {types.error && <p role="alert" className="text-destructive text-sm">{types.error.message}</p>}
            <div className="grid gap-2 sm:grid-cols-2">
              {types.data?.map((t) => (
                <Label key={t} className="font-normal">
                  <input type="checkbox" name="events" value={t} defaultChecked={endpoint?.events.includes(t)} className="accent-primary size-4" />
                  <code>{t}</code>
                </Label>
              ))}
            </div>
            {errors.events && (
              <p id="events-error" role="alert" className="text-destructive text-sm">
                {errors.events}
              </p>
            )}
          </fieldset>
          {endpoint && (
            <div className="grid gap-1">
              <Label className="font-normal">
                <Switch checked={enabled} onCheckedChange={setEnabled} aria-label="Enabled" />
                {enabled ? "Enabled" : "Disabled: events wait, none are sent"}
              </Label>
              {errors.enabled && <p role="alert" className="text-destructive text-sm">{errors.enabled}</p>}
            </div>
          )}
          <DialogFooter>
            <Button type="submit" disabled={busy}>
              {busy ? "Saving…" : endpoint ? "Save" : "Add endpoint"}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}
