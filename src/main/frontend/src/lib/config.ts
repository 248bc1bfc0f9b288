import { useQuery } from "@tanstack/react-query";
import { useAuth } from "@/lib/auth";

export interface PublicConfig {
  oauth_providers: string[];
  signup_enabled: boolean;
  billing_enabled?: boolean;
  /** Checkout top-up amounts as USD decimal strings ("5.00"), when billing is on. */
  topup?: { min_usd: string; max_usd: string; presets_usd: string[] };
  [key: string]: unknown;
}

/** What the server says before anyone signs in (which OAuth providers are on...). */
export function usePublicConfig() {
  const { api } = useAuth();
  return useQuery({
    queryKey: ["config"],
    queryFn: () => api.get<PublicConfig>("/api/config", { auth: false }),
    staleTime: 5 * 60_000,
  });
}
