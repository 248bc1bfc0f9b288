import { Link, useSearchParams } from "react-router";
import { Badge } from "@/components/ui/badge";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { count, dateTime } from "@/lib/format";
import { QueryState, Section } from "@/pages/dashboard/shared";
import { Pager, Scroll, SearchBox, usePagedList } from "./shared";

interface AdminUser {
  id: number;
  email: string;
  name: string;
  is_admin: boolean;
  email_verified: boolean;
  organizations: number;
  created_at: string;
}

export default function UsersSection() {
  const [search, setSearch] = useSearchParams();
  const q = search.get("q") ?? "";
  const { query, ...pager } = usePagedList<AdminUser>("/api/admin/users", { q });
  return (
    <Section title="Users" description="Every account; search by e-mail or name.">
      <SearchBox label="Search users" initial={q} onSearch={(v) => setSearch(v ? { q: v } : {})} />
      <QueryState isPending={query.isPending} error={query.error} />
      {query.data && (
        <Scroll>
          <Table>
            <TableHeader>
              <TableRow>
                <TableHead>E-mail</TableHead>
                <TableHead>Name</TableHead>
                <TableHead>Status</TableHead>
                <TableHead className="text-right">Orgs</TableHead>
                <TableHead>Created</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {query.data.data.map((u) => (
                <TableRow key={u.id}>
                  <TableCell>
                    <Link className="underline-offset-4 hover:underline" to={`/admin/orgs?q=${encodeURIComponent(u.email)}`}>
                      {u.email}
                    </Link>
                  </TableCell>
                  <TableCell>{u.name}</TableCell>
                  <TableCell className="space-x-1">
                    {u.is_admin && <Badge>admin</Badge>}
                    <Badge variant={u.email_verified ? "good" : "warn"}>{u.email_verified ? "verified" : "unverified"}</Badge>
                  </TableCell>
                  <TableCell className="text-right tabular-nums">{count(u.organizations)}</TableCell>
                  <TableCell>{dateTime(u.created_at)}</TableCell>
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
