import { Button } from "@/components/ui/button";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { CopyButton } from "@/pages/landing/CodeSample";

/** A secret the server shows only once (a new API key, a webhook signing secret), with a copy button. */
export function SecretDialog({
  secret,
  title,
  description,
  copyLabel,
  testId,
  onClose,
}: {
  secret: string | null;
  title: string;
  description: string;
  copyLabel: string;
  testId: string;
  onClose: () => void;
}) {
  return (
    <Dialog open={secret !== null} onOpenChange={(o) => !o && onClose()}>
      <DialogContent>
        <DialogHeader>
          <DialogTitle>{title}</DialogTitle>
          <DialogDescription>{description}</DialogDescription>
        </DialogHeader>
        <div className="bg-muted flex items-center gap-2 rounded-md p-2">
          <code className="flex-1 overflow-x-auto text-sm break-all" data-testid={testId}>
            {secret}
          </code>
          {secret && <CopyButton text={secret} label={copyLabel} />}
        </div>
        <DialogFooter>
          <Button onClick={onClose}>I have stored it</Button>
        </DialogFooter>
      </DialogContent>
    </Dialog>
  );
}
