import { useQuery } from "@tanstack/react-query";
import { api } from "@/lib/api";

/** One model of GET /api/models: prices are decimal USD strings per 1M tokens, exactly as the catalogue has them. */
export interface PublicModel {
  id: string;
  object: "model";
  owned_by: string;
  name: string;
  type: "chat" | "embedding";
  context_length: number;
  pricing: { input_per_1m_tokens: string; output_per_1m_tokens: string };
}

export function usePublicModels() {
  return useQuery({
    queryKey: ["public-models"],
    queryFn: () => api.get<{ object: "list"; data: PublicModel[] }>("/api/models", { auth: false }).then((r) => r.data),
    staleTime: 5 * 60_000,
  });
}

/** "$0.150000" → "$0.15": trims trailing zeros but keeps cents, without going through a float. */
export function usd(decimal: string): string {
  const [whole, frac = ""] = decimal.split(".");
  const trimmed = frac.replace(/0+$/, "").padEnd(2, "0");
  return `$${whole}.${trimmed}`;
}
