import { useQuery } from "@tanstack/react-query";
import { useAuth } from "@/lib/auth";
import { useOrgApi } from "../shared";

export interface Endpoint {
  id: number;
  url: string;
  description: string;
  events: string[];
  enabled: boolean;
  disabled_reason: string | null;
  failing_since: string | null;
  previous_secret_expires_at: string | null;
  created_at: string;
  updated_at: string;
  /** Only in the answers of create and rotate-secret. */
  secret?: string;
}

export interface Delivery {
  id: string;
  type: string;
  event_count: number;
  status: "pending" | "delivered" | "failed";
  attempts: number;
  next_attempt_at: string | null;
  last_attempt_at: string | null;
  response_status: number | null;
  latency_ms: number | null;
  response_excerpt: string | null;
  error: string | null;
  created_at: string;
  finished_at: string | null;
}

export function useEndpoints(enabled: boolean) {
  const { api, path, key } = useOrgApi();
  return useQuery({
    queryKey: key("webhooks"),
    queryFn: () => api.get<{ data: Endpoint[] }>(path("/webhooks")).then((r) => r.data),
    enabled,
  });
}

/** The types an endpoint may subscribe to, from the server (the same for every organization). */
export function useEventTypes() {
  const { api } = useAuth();
  return useQuery({
    queryKey: ["webhook-event-types"],
    queryFn: () => api.get<{ data: string[] }>("/api/webhooks/event-types").then((r) => r.data),
    staleTime: Infinity,
  });
}

/** An endpoint's delivery log, newest first; polled while a message is still being delivered. */
export function useDeliveries(endpointId: number, status: string) {
  const { api, path, key } = useOrgApi();
  return useQuery({
    queryKey: key("webhooks", endpointId, "deliveries", status),
    queryFn: () =>
      api.get<{ data: Delivery[] }>(path(`/webhooks/${endpointId}/deliveries?limit=50${status ? `&status=${status}` : ""}`)).then((r) => r.data),
    refetchInterval: (q) => (q.state.data?.some((d) => d.status === "pending") ? 2_000 : false),
  });
}
