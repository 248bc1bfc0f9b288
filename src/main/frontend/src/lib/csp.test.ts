import { describe, expect, it } from "vitest";
import { readCspNonce } from "./csp";

describe("readCspNonce", () => {
  it("reads the nonce the server wrote, and ignores the unreplaced placeholder of vite dev", () => {
    const doc = document.implementation.createHTMLDocument();
    doc.head.innerHTML = '<meta property="csp-nonce" nonce="abc123">';
    expect(readCspNonce(doc)).toBe("abc123");
    doc.head.innerHTML = '<meta property="csp-nonce" nonce="__CSP_NONCE__">';
    expect(readCspNonce(doc)).toBeUndefined();
    doc.head.innerHTML = "";
    expect(readCspNonce(doc)).toBeUndefined();
  });
});
