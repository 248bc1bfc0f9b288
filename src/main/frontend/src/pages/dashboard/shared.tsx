import { useQuery } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { useAuth } from "@/lib/auth";

/** The org's API path (/api/orgs/7/...) and its query key prefix: every tab works on the selected org. */
export function useOrgApi() {
  const { api, org } = useAuth();
  if (!org) throw new Error("no organization selected");
  return { api, org, path: (rest: string) => `/api/orgs/${org.id}${rest}`, key: (...parts: unknown[]) => ["org", org.id, ...parts] };
}

/** Admins and owners manage the org's keys, money and webhooks; members read. */
export function canManage(role: string | undefined): boolean {
  return role === "owner" || role === "admin";
}

export interface Balance {
  balance_micros: number;
  balance_usd: string;
}

/** The org's balance; `refetchInterval` polls it (while a payment's credit is on its way). */
export function useBalance(refetchInterval: number | false = false) {
  const { api, path, key } = useOrgApi();
  return useQuery({ queryKey: key("credits"), queryFn: () => api.get<Balance>(path("/credits")), refetchInterval });
}

export function Stat({ label, value, hint }: { label: string; value: ReactNode; hint?: ReactNode }) {
  return (
    <Card className="gap-2 py-4">
      <CardHeader className="px-4">
        <CardDescription>{label}</CardDescription>
        <CardTitle className="text-2xl tabular-nums">{value}</CardTitle>
      </CardHeader>
      {hint && <CardContent className="text-muted-foreground px-4 text-xs">{hint}</CardContent>}
    </Card>
  );
}

export function Section({ title, description, action, children }: { title: string; description?: ReactNode; action?: ReactNode; children: ReactNode }) {
  return (
    <section className="grid min-w-0 gap-3">
      <div className="flex flex-wrap items-end justify-between gap-2">
        <div>
          <h2 className="text-lg font-semibold">{title}</h2>
          {description && <p className="text-muted-foreground text-sm">{description}</p>}
        </div>
        {action}
      </div>
      {children}
    </section>
  );
}

export function QueryState({ isPending, error }: { isPending: boolean; error: Error | null }) {
  if (isPending) return <p className="text-muted-foreground text-sm" role="status">Loading…</p>;
  if (error)
    return (
      <p className="text-destructive text-sm" role="alert">
        {error.message}
      </p>
    );
  return null;
}
