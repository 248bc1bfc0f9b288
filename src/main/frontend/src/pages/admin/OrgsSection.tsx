import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useSearchParams } from "react-router";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { useAuth } from "@/lib/auth";
import { count, dateTime, usd } from "@/lib/format";
import { QueryState, Section, Stat } from "@/pages/dashboard/shared";
import { type CreditAnswer, CreditForm } from "./CreditForm";
import { Pager, Scroll, SearchBox, usePagedList } from "./shared";

interface AdminOrg {
  id: number;
  name: string;
  plan_id: string;
  members: number;
  balance_usd: string;
  created_at: string;
}

type Limits = Record<string, number | null>;

interface OrgDetail {
  id: number;
  name: string;
  created_at: string;
  plan: { id: string; name: string };
  effective_limits: Limits;
  balance_usd: string;
  key_count: number;
  active_key_count: number;
  suspended: boolean;
  members: Array<{ user_id: number; email: string; name: string; role: string; joined_at: string }>;
}

function OrgDetailCard({ id }: { id: number }) {
  const { api } = useAuth();
  const queries = useQueryClient();
  const org = useQuery({ queryKey: ["admin", "org", id], queryFn: () => api.get<OrgDetail>(`/api/admin/orgs/${id}`) });
  if (!org.data) return <QueryState isPending={org.isPending} error={org.error} />;
  const o = org.data;
  const post = async (body: { usd: string; reason: string }) => {
    const answer = await api.post<CreditAnswer>(`/api/admin/orgs/${id}/credits`, body);
    await queries.invalidateQueries({ queryKey: ["admin"] });
    return answer;
  };
  return (
    <Card className="gap-4" aria-labelledby="org-detail-title">
      <CardHeader className="flex flex-wrap items-center justify-between gap-2">
        <CardTitle>
          <h3 id="org-detail-title" className="text-lg">
            {o.name} <span className="text-muted-foreground text-sm font-normal">#{o.id}</span>
          </h3>
        </CardTitle>
        <Button variant="outline" size="sm" asChild>
          <Link to="/admin/orgs">Close</Link>
        </Button>
      </CardHeader>
      <CardContent className="grid gap-4">
        <div className="grid grid-cols-2 gap-3 md:grid-cols-4">
          <Stat label="Balance" value={<span data-testid="admin-org-balance">{usd(o.balance_usd)}</span>} />
          <Stat label="Plan" value={o.plan.name} />
          <Stat label="Keys" value={`${count(o.active_key_count)} / ${count(o.key_count)}`} hint="active / all" />
          <Stat label="API access" value={o.suspended ? "Suspended" : "Open"} hint={o.suspended ? "an open payment dispute" : undefined} />
        </div>
        <section className="grid gap-2">
          <h4 className="font-medium">Deposit or deduct credit</h4>
          <CreditForm orgName={o.name} post={post} />
        </section>
        <section className="grid gap-2">
          <h4 className="font-medium">Members</h4>
          <ul className="grid gap-1 text-sm">
            {o.members.map((m) => (
              <li key={m.user_id} className="flex flex-wrap gap-2">
                <span className="break-all">{m.email}</span>
                <Badge variant="secondary">{m.role}</Badge>
              </li>
            ))}
          </ul>
        </section>
        <section className="grid gap-2">
          <h4 className="font-medium">Effective limits</h4>
          <dl className="grid grid-cols-3 gap-2 text-sm sm:grid-cols-7">
            {Object.entries(o.effective_limits).map(([k, v]) => (
              <div key={k}>
                <dt className="text-muted-foreground text-xs uppercase">{k}</dt>
                <dd className="tabular-nums">{v == null ? "none" : count(v)}</dd>
              </div>
            ))}
          </dl>
        </section>
      </CardContent>
    </Card>
  );
}

export default function OrgsSection() {
  const [search, setSearch] = useSearchParams();
  const q = search.get("q") ?? "";
  const selected = Number(search.get("org")) || null;
  const { query, ...pager } = usePagedList<AdminOrg>("/api/admin/orgs", { q });
  return (
    <Section title="Organizations" description="Search by name or a member's e-mail; open one to see it and change its credit.">
      {selected && <OrgDetailCard id={selected} />}
      <SearchBox label="Search organizations" initial={q} onSearch={(v) => setSearch(v ? { q: v } : {})} />
      <QueryState isPending={query.isPending} error={query.error} />
      {query.data && (
        <Scroll>
          <Table>
            <TableHeader>
              <TableRow>
                <TableHead>Name</TableHead>
                <TableHead>Plan</TableHead>
                <TableHead className="text-right">Members</TableHead>
                <TableHead className="text-right">Balance</TableHead>
                <TableHead>Created</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {query.data.data.map((o) => (
                <TableRow key={o.id}>
                  <TableCell>
                    <Link className="font-medium underline-offset-4 hover:underline" to={`/admin/orgs?${new URLSearchParams({ ...(q ? { q } : {}), org: String(o.id) })}`}>
                      {o.name}
                    </Link>
                  </TableCell>
                  <TableCell>{o.plan_id}</TableCell>
                  <TableCell className="text-right tabular-nums">{count(o.members)}</TableCell>
                  <TableCell className="text-right tabular-nums">{usd(o.balance_usd)}</TableCell>
                  <TableCell>{dateTime(o.created_at)}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </Scroll>
      )}
      <Pager {...pager} />
    </Section>
  );
}
