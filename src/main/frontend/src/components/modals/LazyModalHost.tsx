import { lazy, Suspense, useEffect, useState } from "react";
import { useModals } from "@/lib/modals";

const ModalHost = lazy(() => import("./ModalHost"));

/**
 * Loads the dialogs (Radix Dialog, the forms) the first time one opens, then keeps them mounted so closing can
 * return focus. Most landing-page visitors never open one, so it stays out of the page's first download.
 */
export function LazyModalHost() {
  const { modal } = useModals();
  const [needed, setNeeded] = useState(false);
  useEffect(() => {
    if (modal) setNeeded(true);
  }, [modal]);
  if (!needed && !modal) return null;
  return (
    <Suspense fallback={null}>
      <ModalHost />
    </Suspense>
  );
}
