import { useQuery } from "@tanstack/react-query";
import { useAuth } from "@/lib/auth";

/** One model of GET /api/models: prices are decimal USD strings per 1M tokens, exactly as the catalogue has them. */
export interface PublicModel {
  id: string;
  object: "model";
  owned_by: string;
  name: string;
  type: "chat" | "embedding";
  context_length: number;
  pricing: {
    input_per_1m_tokens: string;
    output_per_1m_tokens: string;
    input_per_1m_tokens_micros: number;
    output_per_1m_tokens_micros: number;
  };
}

export function usePublicModels() {
  const { api } = useAuth();
  return useQuery({
    queryKey: ["public-models"],
    queryFn: () => api.get<{ object: "list"; data: PublicModel[] }>("/api/models", { auth: false }).then((r) => r.data),
    staleTime: 5 * 60_000,
  });
}
