import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { MotionConfig } from "motion/react";
import { useState } from "react";
import { BrowserRouter } from "react-router";
import { LazyModalHost } from "@/components/modals/LazyModalHost";
import { Toaster } from "@/components/Toaster";
import { ApiError } from "@/lib/api";
import { AuthProvider } from "@/lib/auth";
import { CspNonceContext } from "@/lib/csp";
import { ModalProvider } from "@/lib/modals";
import { AppRoutes } from "./routes";

export function newQueryClient() {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 15_000,
        // A 4xx will not change by asking again; a network blip or a 5xx might.
        retry: (count, err) => count < 2 && !(err instanceof ApiError && err.status >= 400 && err.status < 500),
        refetchOnWindowFocus: false,
      },
    },
  });
}

export function App({ nonce }: { nonce?: string }) {
  const [queries] = useState(newQueryClient);
  return (
    <CspNonceContext.Provider value={nonce}>
      <MotionConfig nonce={nonce} reducedMotion="user">
        <QueryClientProvider client={queries}>
            <ModalProvider>
              <AuthProvider>
                <BrowserRouter>
                  <AppRoutes />
                  <LazyModalHost />
                </BrowserRouter>
                <Toaster />
              </AuthProvider>
            </ModalProvider>
        </QueryClientProvider>
      </MotionConfig>
    </CspNonceContext.Provider>
  );
}
