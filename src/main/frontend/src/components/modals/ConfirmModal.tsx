import { useState } from "react";
import { Button } from "@/components/ui/button";
import { DialogClose, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { routeError } from "@/lib/errors";
import { type ConfirmRequest, useModals } from "@/lib/modals";

/** Asks before an action that cannot be undone; the modal stays open (and says why) if the action fails. */
export function ConfirmModal({ request }: { request: ConfirmRequest }) {
  const { close } = useModals();
  const [busy, setBusy] = useState(false);
  const confirm = async () => {
    setBusy(true);
    try {
      await request.onConfirm();
      close();
    } catch (err) {
      routeError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <DialogHeader>
        <DialogTitle>{request.title}</DialogTitle>
        <DialogDescription>{request.description}</DialogDescription>
      </DialogHeader>
      <DialogFooter>
        <DialogClose asChild>
          <Button variant="outline">Cancel</Button>
        </DialogClose>
        <Button variant={request.destructive ? "destructive" : "default"} disabled={busy} onClick={confirm}>
          {busy ? "Working…" : request.confirmLabel}
        </Button>
      </DialogFooter>
    </>
  );
}
