/// <reference types="vitest/config" />
import { fileURLToPath } from "node:url";
import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";
import { webBuild } from "./build/webBuild";

/** The server replaces this in index.html with a fresh nonce per response (see StaticSite.java). */
const CSP_NONCE = "__CSP_NONCE__";
const GATEWAY = process.env.GATEWAY_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [
    react(),
    tailwindcss(),
    webBuild({ landingModule: "src/pages/landing/LandingPage.tsx", budgetBytes: 200 * 1024 }),
  ],
  resolve: { alias: { "@": fileURLToPath(new URL("./src", import.meta.url)) } },
  html: { cspNonce: CSP_NONCE },
  build: {
    // Maven points this at target/classes/webroot; a plain `npm run build` writes dist/.
    outDir: process.env.WEB_OUT_DIR ?? "dist",
    emptyOutDir: true,
    // No data: URIs and no inline modulepreload polyfill: everything is a same-origin file the CSP allows.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
    chunkSizeWarningLimit: 700,
  },
  server: { proxy: { "/api": GATEWAY, "/v1": GATEWAY } },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}", "build/**/*.test.ts"],
    css: false,
    // The shared 2-core build machine can be slow; a real hang still fails.
    testTimeout: 20_000,
  },
});
