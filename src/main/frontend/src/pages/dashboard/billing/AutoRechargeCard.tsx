import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { text, useSubmit } from "@/components/modals/useForm";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { FormField } from "@/components/ui/form-field";
import { Label } from "@/components/ui/label";
import { Switch } from "@/components/ui/switch";
import { dateTime, usd } from "@/lib/format";
import { toast } from "@/lib/toasts";
import { useOrgApi } from "../shared";
import type { AutoRecharge } from "./api";
import { editableUsd } from "./money";

/** When the balance falls below a threshold, charge the saved card for a fixed amount (at most a few times a day). */
export function AutoRechargeCard({ settings, canEdit }: { settings: AutoRecharge; canEdit: boolean }) {
  const { api, path, key } = useOrgApi();
  const queries = useQueryClient();
  const [enabled, setEnabled] = useState(settings.enabled);
  const { busy, errors, onSubmit } = useSubmit(["enabled", "threshold_usd", "amount_usd"], async (data) => {
    await api.request("PUT", path("/billing/auto-recharge"), {
      body: { enabled, threshold_usd: text(data, "threshold_usd").trim(), amount_usd: text(data, "amount_usd").trim() },
    });
    await queries.invalidateQueries({ queryKey: key("billing") });
    toast("good", enabled ? "Auto-recharge is on" : "Auto-recharge is off");
  });
  const last = settings.last_attempt;
  return (
    <Card>
      <CardHeader>
        <CardTitle>
          <h3>Auto-recharge</h3>
        </CardTitle>
        <CardDescription>
          Charges the card saved by your last top-up when the balance falls below the threshold, at most {settings.cap.max_per_day} times a day (
          {settings.cap.used_last_24h} in the last 24 hours).
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-3">
        <p className="text-sm">
          {settings.payment_method ? (
            <>
              Saved card: <code className="text-xs">{settings.payment_method.id}</code>
            </>
          ) : (
            <span className="text-muted-foreground">No saved card yet: make a top-up first, its card is the one auto-recharge charges.</span>
          )}
        </p>
        {settings.disabled_reason && (
          <p role="alert" className="bg-warn/15 rounded-md p-2 text-sm">
            Turned off: {settings.disabled_reason}. Saving the settings again clears this.
          </p>
        )}
        <form className="grid gap-3" onSubmit={onSubmit} noValidate aria-label="Auto-recharge settings">
          <Label className="font-normal">
            <Switch checked={enabled} onCheckedChange={setEnabled} disabled={!canEdit} aria-label="Auto-recharge" />
            {enabled ? "On" : "Off"}
          </Label>
          {errors.enabled && <p role="alert" className="text-destructive text-sm">{errors.enabled}</p>}
          <div className="grid gap-3 sm:grid-cols-2">
            <FormField
              label="When the balance is below (USD)"
              name="threshold_usd"
              inputMode="decimal"
              placeholder="5.00"
              defaultValue={editableUsd(settings.threshold_usd)}
              disabled={!canEdit}
              error={errors.threshold_usd}
            />
            <FormField
              label="Add (USD)"
              name="amount_usd"
              inputMode="decimal"
              placeholder="20.00"
              defaultValue={editableUsd(settings.amount_usd)}
              disabled={!canEdit}
              error={errors.amount_usd}
            />
          </div>
          {canEdit ? (
            <Button type="submit" className="justify-self-start" disabled={busy}>
              {busy ? "Saving…" : "Save auto-recharge"}
            </Button>
          ) : (
            <p className="text-muted-foreground text-sm">Only admins and owners can change auto-recharge.</p>
          )}
        </form>
        {last && (
          <p className="text-muted-foreground text-sm">
            Last charge: {usd(last.amount_usd)} on {dateTime(last.at)}{" "}
            <Badge variant={last.status === "succeeded" ? "good" : last.status === "failed" ? "destructive" : "secondary"}>{last.status}</Badge>
            {last.failure_reason && <> — {last.failure_reason}</>}
          </p>
        )}
      </CardContent>
    </Card>
  );
}
