import { lazy, Suspense } from "react";
import { NavLink, useParams } from "react-router";
import { PageLoading } from "@/components/layout/Layout";
import { Button } from "@/components/ui/button";
import { useAuth } from "@/lib/auth";
import { useModals } from "@/lib/modals";
import { cn } from "@/lib/utils";
import NotFoundPage from "@/pages/NotFoundPage";

/** The dashboard's tabs, one path each (/dashboard/keys...), in the order the product spec lists them. */
export const TABS = [
  { path: "overview", title: "Overview", page: lazy(() => import("./OverviewTab")) },
  { path: "keys", title: "API keys", page: lazy(() => import("./KeysTab")) },
  { path: "usage", title: "Usage", page: lazy(() => import("./UsageTab")) },
  { path: "limits", title: "Limits", page: lazy(() => import("./LimitsTab")) },
  { path: "billing", title: "Billing", page: lazy(() => import("./BillingTab")) },
  { path: "organization", title: "Organization", page: lazy(() => import("./OrganizationTab")) },
  { path: "security", title: "Security", page: lazy(() => import("./SecurityTab")) },
  { path: "playground", title: "Playground", page: lazy(() => import("./PlaygroundTab")) },
  { path: "webhooks", title: "Webhooks", page: lazy(() => import("./WebhooksTab")) },
] as const;

/** A signed-out visit (a bookmark, or just signed out): asks, without popping a dialog over the page. */
function SignedOut() {
  const { open } = useModals();
  return (
    <section className="mx-auto grid max-w-md gap-4 px-4 py-20 text-center">
      <h1 className="text-2xl font-semibold">Sign in to see your dashboard</h1>
      <Button className="mx-auto" onClick={() => open({ kind: "signin" })}>
        Sign in
      </Button>
    </section>
  );
}

export default function DashboardPage() {
  const { tab } = useParams();
  const { status, org } = useAuth();
  const current = TABS.find((t) => t.path === tab);
  if (!current) return <NotFoundPage />;
  if (status === "loading") return <PageLoading />;
  if (status === "signed_out") return <SignedOut />;
  return (
    <div className="mx-auto max-w-6xl px-4 py-6">
      <nav aria-label="Dashboard" className="-mx-4 mb-6 overflow-x-auto border-b px-4">
        <ul className="flex min-w-max gap-1">
          {TABS.map((t) => (
            <li key={t.path}>
              <NavLink
                to={`/dashboard/${t.path}`}
                className={({ isActive }) =>
                  cn(
                    "inline-block border-b-2 px-3 py-2 text-sm font-medium whitespace-nowrap",
                    isActive ? "border-primary text-foreground" : "text-muted-foreground hover:text-foreground border-transparent",
                  )
                }
              >
                {t.title}
              </NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <h1 className="sr-only">{current.title}</h1>
      {!org ? (
        <p className="text-muted-foreground">You are not in any organization yet. Create one in the Organization tab.</p>
      ) : null}
      <Suspense fallback={<PageLoading />}>
        {org || current.path === "organization" || current.path === "security" ? <current.page /> : null}
      </Suspense>
    </div>
  );
}
