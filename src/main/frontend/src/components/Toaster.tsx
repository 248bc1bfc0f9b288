import { Toast, ToastClose, ToastDescription, ToastProvider, ToastTitle, ToastViewport } from "@/components/ui/toast";
import { dismissToast, useToasts } from "@/lib/toasts";

/** Renders the toast queue; Radix announces each toast to screen readers and pauses it on hover or focus. */
export function Toaster() {
  const toasts = useToasts();
  return (
    <ToastProvider swipeDirection="right" duration={6000}>
      {toasts.map((t) => (
        <Toast
          key={t.id}
          kind={t.kind}
          type={t.kind === "bad" || t.kind === "warn" ? "foreground" : "background"}
          onOpenChange={(open) => !open && dismissToast(t.id)}
        >
          <div className="grid gap-1">
            <ToastTitle>{t.title}</ToastTitle>
            {t.description && <ToastDescription>{t.description}</ToastDescription>}
          </div>
          <ToastClose />
        </Toast>
      ))}
      <ToastViewport />
    </ToastProvider>
  );
}
