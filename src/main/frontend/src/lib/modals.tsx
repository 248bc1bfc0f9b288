import { createContext, type ReactNode, useCallback, useContext, useMemo, useState } from "react";

export interface ConfirmRequest {
  title: string;
  description: string;
  confirmLabel: string;
  destructive?: boolean;
  onConfirm: () => Promise<unknown> | void;
}

export type Modal =
  | { kind: "signin" }
  | { kind: "signup" }
  | { kind: "forgot" }
  | { kind: "two_factor"; challenge: string }
  | { kind: "confirm"; request: ConfirmRequest }
  | { kind: "privacy" }
  | { kind: "terms" }
  | { kind: "contact" };

interface Modals {
  modal: Modal | null;
  open: (m: Modal) => void;
  close: () => void;
  confirm: (request: ConfirmRequest) => void;
}

const ModalContext = createContext<Modals | null>(null);

/** One modal at a time: opening Sign Up from Sign In replaces it, and focus moves into the new one. */
export function ModalProvider({ children }: { children: ReactNode }) {
  const [modal, setModal] = useState<Modal | null>(null);
  const open = useCallback((m: Modal) => setModal(m), []);
  const close = useCallback(() => setModal(null), []);
  const confirm = useCallback((request: ConfirmRequest) => setModal({ kind: "confirm", request }), []);
  const value = useMemo(() => ({ modal, open, close, confirm }), [modal, open, close, confirm]);
  return <ModalContext.Provider value={value}>{children}</ModalContext.Provider>;
}

export function useModals(): Modals {
  const m = useContext(ModalContext);
  if (!m) throw new Error("useModals outside ModalProvider");
  return m;
}
