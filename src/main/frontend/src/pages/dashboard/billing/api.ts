import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { useAuth } from "@/lib/auth";
import { useOrgApi } from "../shared";

/** A part of the billing state the server could not read (Stripe down): the rest still answers. */
export interface Unavailable {
  available: false;
  message: string;
}

export function isUnavailable(part: unknown): part is Unavailable {
  return typeof part === "object" && part !== null && (part as { available?: unknown }).available === false;
}

export interface Payment {
  id: string;
  payment_intent: string | null;
  currency: string;
  amount_micros: number;
  amount_usd: string;
  amount_refunded_micros: number;
  amount_refunded_usd: string;
  status: string;
  refunded: boolean;
  disputed: boolean;
  receipt_url: string | null;
  description: string | null;
  created: string | null;
}

export interface Dispute {
  id: string;
  charge: string | null;
  amount_usd: string;
  reason: string | null;
  status: string;
  open: boolean;
  opened_at: string | null;
  closed_at: string | null;
}

export interface Limits {
  rpm: number | null;
  rph: number | null;
  rpd: number | null;
  tpm: number | null;
  tph: number | null;
  tpd: number | null;
  concurrency: number | null;
}

export interface Plan {
  id: string;
  name: string;
  description: string | null;
  monthly_price_usd: string;
  monthly_price_micros: number;
  included_credit_usd: string;
  included_credit_micros: number;
  limits: Limits;
}

export interface Subscription {
  id: string;
  plan_id: string;
  status: string;
  current_period_end: string | null;
  cancel_at_period_end: boolean;
}

export interface AutoRecharge {
  enabled: boolean;
  threshold_usd: string | null;
  amount_usd: string | null;
  disabled_reason: string | null;
  payment_method: { id: string } | null;
  max_per_day: number;
  last_attempt: {
    status: string;
    amount_usd: string;
    failure_reason: string | null;
    at: string | null;
    finished_at: string | null;
  } | null;
  cap: { max_per_day: number; used_last_24h: number };
}

export interface BillingState {
  customer_id: string | null;
  payments: Payment[] | Unavailable;
  disputes: { suspended: boolean; data: Dispute[] } | Unavailable;
  auto_recharge: AutoRecharge | Unavailable;
  plan: Plan | null | Unavailable;
  subscription: Subscription | null | Unavailable;
}

export interface LedgerEntry {
  id: number;
  kind: string;
  amount_micros: number;
  amount_usd: string;
  reason: string | null;
  request_id: string | null;
  created_at: string | null;
}

interface LedgerPage {
  data: LedgerEntry[];
  has_more: boolean;
  next_before: number | null;
}

/** GET …/billing: asked only when billing is on (it answers 503 billing_disabled otherwise). */
export function useBillingState(enabled: boolean) {
  const { api, path, key } = useOrgApi();
  return useQuery({ queryKey: key("billing"), queryFn: () => api.get<BillingState>(path("/billing")), enabled });
}

/** The plans for sale and the free plan (public). */
export function usePlans(enabled: boolean) {
  const { api } = useAuth();
  return useQuery({
    queryKey: ["plans"],
    queryFn: () => api.get<{ data: Plan[]; free_plan: Plan | null }>("/api/plans", { auth: false }),
    enabled,
    staleTime: 5 * 60_000,
  });
}

export const LEDGER_PAGE = 20;

/** The ledger, newest first, a page at a time (keyset: `before` the last entry shown). */
export function useLedger(refetchInterval: number | false = false) {
  const { api, path, key } = useOrgApi();
  return useInfiniteQuery({
    queryKey: key("ledger"),
    initialPageParam: 0,
    queryFn: ({ pageParam }) =>
      api.get<LedgerPage>(path(`/credits/ledger?limit=${LEDGER_PAGE}${pageParam ? `&before=${pageParam}` : ""}`)),
    getNextPageParam: (last) => (last.has_more && last.next_before ? last.next_before : undefined),
    refetchInterval,
  });
}

/** Leaves the app for a Stripe page (Checkout, the Customer Portal); an object so tests can watch the call. */
export const stripePage = {
  go(url: string) {
    window.location.assign(url);
  },
};
