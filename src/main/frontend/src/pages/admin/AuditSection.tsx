import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { dateTime } from "@/lib/format";
import { QueryState, Section } from "@/pages/dashboard/shared";
import { Pager, Scroll, usePagedList } from "./shared";

interface AuditEntry {
  id: number;
  at: string;
  admin_email: string | null;
  action: string;
  target_type: string;
  target_id: string;
  details: Record<string, unknown>;
}

export default function AuditSection() {
  const { query, ...pager } = usePagedList<AuditEntry>("/api/admin/audit");
  return (
    <Section title="Audit log" description="Every change an admin made, newest first. Changes from the CLI have no admin.">
      <QueryState isPending={query.isPending} error={query.error} />
      {query.data && (
        <Scroll>
          <Table>
            <TableHeader>
              <TableRow>
                <TableHead>When</TableHead>
                <TableHead>Admin</TableHead>
                <TableHead>Action</TableHead>
                <TableHead>Target</TableHead>
                <TableHead>Details</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {query.data.data.map((e) => (
                <TableRow key={e.id}>
                  <TableCell className="whitespace-nowrap">{dateTime(e.at)}</TableCell>
                  <TableCell>{e.admin_email ?? "CLI"}</TableCell>
                  <TableCell className="font-medium">{e.action}</TableCell>
                  <TableCell>
                    {e.target_type} {e.target_id}
                  </TableCell>
                  <TableCell>
                    <code className="text-muted-foreground block max-w-md truncate text-xs" title={JSON.stringify(e.details)}>
                      {JSON.stringify(e.details)}
                    </code>
                  </TableCell>
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
