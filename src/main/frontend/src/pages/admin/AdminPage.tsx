import { ShieldAlertIcon } from "lucide-react";
import { lazy, Suspense } from "react";
import { Link, NavLink, useParams } from "react-router";
import { PageLoading } from "@/components/layout/Layout";
import { Button } from "@/components/ui/button";
import { useAuth } from "@/lib/auth";
import { useModals } from "@/lib/modals";
import { cn } from "@/lib/utils";
import NotFoundPage from "@/pages/NotFoundPage";

/** The admin console's sections, one path each (/admin/orgs...). StaticSite.java serves /admin/* for them. */
export const SECTIONS = [
  { path: "orgs", title: "Organizations", page: lazy(() => import("./OrgsSection")) },
  { path: "users", title: "Users", page: lazy(() => import("./UsersSection")) },
  { path: "models", title: "Models", page: lazy(() => import("./ModelsSection")) },
  { path: "backends", title: "Backends", page: lazy(() => import("./BackendsSection")) },
  { path: "incidents", title: "Incidents", page: lazy(() => import("./IncidentsSection")) },
  { path: "audit", title: "Audit log", page: lazy(() => import("./AuditSection")) },
  { path: "messages", title: "Messages", page: lazy(() => import("./MessagesSection")) },
] as const;

function Refusal({ signedOut }: { signedOut: boolean }) {
  const { open } = useModals();
  return (
    <section className="mx-auto grid max-w-md gap-4 px-4 py-20 text-center">
      <ShieldAlertIcon className="text-muted-foreground mx-auto size-10" aria-hidden />
      <h1 className="text-2xl font-semibold">{signedOut ? "Sign in to use the admin console" : "403: admins only"}</h1>
      <p className="text-muted-foreground">
        {signedOut
          ? "The admin console is for the platform's administrators."
          : "Your account is not a platform administrator. An operator can grant it with the CLI: admin grant EMAIL."}
      </p>
      {signedOut ? (
        <Button className="mx-auto" onClick={() => open({ kind: "signin" })}>
          Sign in
        </Button>
      ) : (
        <Button className="mx-auto" variant="outline" asChild>
          <Link to="/dashboard">Go to your dashboard</Link>
        </Button>
      )}
    </section>
  );
}

/** /admin/:section: platform admins only (users.is_admin, re-checked by the server on every call). */
export default function AdminPage() {
  const { section } = useParams();
  const { status, me } = useAuth();
  const current = SECTIONS.find((s) => s.path === section);
  if (!current) return <NotFoundPage />;
  if (status === "loading") return <PageLoading />;
  if (status === "signed_out" || !me?.is_admin) return <Refusal signedOut={status === "signed_out"} />;
  return (
    <div className="mx-auto max-w-6xl px-4 py-6">
      <h1 className="mb-3 text-2xl font-semibold">Admin console</h1>
      <nav aria-label="Admin console" className="-mx-4 mb-6 overflow-x-auto border-b px-4">
        <ul className="flex min-w-max gap-1">
          {SECTIONS.map((s) => (
            <li key={s.path}>
              <NavLink
                to={`/admin/${s.path}`}
                className={({ isActive }) =>
                  cn(
                    "inline-block border-b-2 px-3 py-2 text-sm font-medium whitespace-nowrap",
                    isActive ? "border-primary text-foreground" : "text-muted-foreground hover:text-foreground border-transparent",
                  )
                }
              >
                {s.title}
              </NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <Suspense fallback={<PageLoading />}>
        <current.page />
      </Suspense>
    </div>
  );
}
