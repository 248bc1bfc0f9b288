import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { useOrgApi } from "./shared";

export interface UsageRow {
  day?: string;
  model?: string;
  key_id?: string;
  key_name?: string | null;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cost_micros: number;
  cost_usd: string;
  p50_latency_ms: number | null;
}

export interface UsageSummary {
  from: string;
  to: string;
  group_by: "day" | "model" | "key";
  rows: UsageRow[];
  total: UsageRow;
}

export interface RequestRecord {
  request_id: string;
  created_at: string;
  key_id: string | null;
  model: string;
  endpoint: string;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cost_usd: string;
  status: number;
  latency_ms: number | null;
  estimated: boolean;
}

export interface Monitor {
  today: { requests: number; tokens: number; cost_usd: string };
  this_month: { requests: number; tokens: number; cost_usd: string; top_model: { model: string } | null };
}

export function useSummary(groupBy: "day" | "model" | "key", from: string, to: string) {
  const { api, path, key } = useOrgApi();
  return useQuery({
    queryKey: key("usage", groupBy, from, to),
    queryFn: () => api.get<UsageSummary>(path(`/usage/summary?group_by=${groupBy}&from=${from}&to=${to}`)),
  });
}

export function useMonitor() {
  const { api, path, key } = useOrgApi();
  return useQuery({ queryKey: key("monitor"), queryFn: () => api.get<Monitor>(path("/usage/monitor")) });
}

/** The request log, newest first, a page at a time (keyset paging: each page names the cursor of the next). */
export function useRequestLog(pageSize: number, filters: { model?: string; key_id?: string } = {}) {
  const { api, path, key } = useOrgApi();
  return useInfiniteQuery({
    queryKey: key("requests", pageSize, filters),
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) => {
      const q = new URLSearchParams({ limit: String(pageSize) });
      if (pageParam) q.set("before", pageParam);
      if (filters.model) q.set("model", filters.model);
      if (filters.key_id) q.set("key_id", filters.key_id);
      return api.get<{ data: RequestRecord[]; has_more: boolean; next_cursor: string | null }>(path(`/usage/requests?${q}`));
    },
    getNextPageParam: (last) => (last.has_more ? last.next_cursor : null),
  });
}
