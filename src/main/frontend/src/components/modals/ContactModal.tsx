import { useId } from "react";
import { Button } from "@/components/ui/button";
import { DialogDescription, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { FormField } from "@/components/ui/form-field";
import { Label } from "@/components/ui/label";
import { Textarea } from "@/components/ui/textarea";
import { useAuth } from "@/lib/auth";
import { useModals } from "@/lib/modals";
import { toast } from "@/lib/toasts";
import { text, useSubmit } from "./useForm";

/** The server's bounds (ContactInput.java), checked here too so a long message is refused before it is sent. */
export const MAX_MESSAGE = 5000;
export const TOPICS = [
  ["general", "General question"],
  ["billing", "Billing and payments"],
  ["technical", "Technical problem"],
  ["privacy", "My data and privacy"],
  ["other", "Something else"],
] as const;

/** Contact Us: POST /api/contact; stored and e-mailed to the operator, with a green toast once it is sent. */
export function ContactModal() {
  const { api, me } = useAuth();
  const { close } = useModals();
  const topicId = useId();
  const messageId = useId();
  const { busy, errors, onSubmit } = useSubmit(["name", "email", "topic", "message"], async (data) => {
    await api.post("/api/contact", { name: text(data, "name").trim(), email: text(data, "email").trim(), topic: text(data, "topic"), message: text(data, "message") }, { auth: false });
    close();
    toast("good", "Message sent", "Thank you. We answer by e-mail, usually within one working day.");
  });
  return (
    <>
      <DialogHeader>
        <DialogTitle>Contact Us</DialogTitle>
        <DialogDescription>Questions, problems, or a request about your data. We answer by e-mail.</DialogDescription>
      </DialogHeader>
      <form className="grid gap-4" onSubmit={onSubmit} noValidate>
        <FormField label="Name" name="name" autoComplete="name" required maxLength={200} defaultValue={me?.name ?? ""} error={errors.name} />
        <FormField label="E-mail" name="email" type="email" autoComplete="email" required defaultValue={me?.email ?? ""} error={errors.email} />
        <div className="grid gap-2">
          <Label htmlFor={topicId}>Topic</Label>
          <select id={topicId} name="topic" defaultValue="general" className="border-input bg-background h-9 rounded-md border px-3 text-sm" aria-invalid={errors.topic ? true : undefined}>
            {TOPICS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </div>
        <div className="grid gap-2">
          <Label htmlFor={messageId}>Message</Label>
          <Textarea
            id={messageId}
            name="message"
            required
            maxLength={MAX_MESSAGE}
            rows={5}
            aria-invalid={errors.message ? true : undefined}
            aria-describedby={errors.message ? `${messageId}-error` : undefined}
          />
          {errors.message && (
            <p id={`${messageId}-error`} role="alert" className="text-destructive text-sm">
              {errors.message}
            </p>
          )}
        </div>
        <Button type="submit" disabled={busy}>
          {busy ? "Sending…" : "Send message"}
        </Button>
      </form>
    </>
  );
}
