import { setNonce } from "get-nonce";
import { createContext, useContext } from "react";

/**
 * The nonce the server put in this page's CSP (style-src 'nonce-…'). A few libraries write <style> elements
 * (Radix's scroll lock, Select's viewport, Motion's presence): with the nonce the browser applies them, while
 * injected markup without it stays blocked. The server writes it on a meta tag; browsers hide a nonce attribute
 * from CSS selectors, so it cannot be read out by injected styles.
 */
export function readCspNonce(doc: Document = document): string | undefined {
  const meta = doc.querySelector<HTMLMetaElement>('meta[property="csp-nonce"]');
  const nonce = meta?.nonce || meta?.getAttribute("nonce") || undefined;
  // In `vite dev` the placeholder is never replaced; there is no CSP then either.
  return nonce && nonce !== "__CSP_NONCE__" ? nonce : undefined;
}

/** Hands the nonce to react-style-singleton (Radix's scroll lock) through get-nonce. */
export function installCspNonce(nonce: string | undefined) {
  if (nonce) setNonce(nonce);
}

export const CspNonceContext = createContext<string | undefined>(undefined);

export function useCspNonce(): string | undefined {
  return useContext(CspNonceContext);
}
