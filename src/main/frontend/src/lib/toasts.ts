import { useSyncExternalStore } from "react";
import type { ToastKind } from "@/components/ui/toast";

export interface ToastMessage {
  id: number;
  kind: ToastKind;
  title: string;
  description?: string;
}

let next = 1;
let toasts: ToastMessage[] = [];
const listeners = new Set<() => void>();

function emit() {
  listeners.forEach((l) => l());
}

/** Shows a toast from anywhere (event handlers, the API client); at most five stay on screen. */
export function toast(kind: ToastKind, title: string, description?: string): number {
  const id = next++;
  toasts = [...toasts, { id, kind, title, description }].slice(-5);
  emit();
  return id;
}

export function dismissToast(id: number) {
  toasts = toasts.filter((t) => t.id !== id);
  emit();
}

export function useToasts(): ToastMessage[] {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => toasts,
  );
}
