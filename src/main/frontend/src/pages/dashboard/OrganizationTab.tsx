import { useQuery, useQueryClient } from "@tanstack/react-query";
import { text, useSubmit } from "@/components/modals/useForm";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent } from "@/components/ui/card";
import { FormField } from "@/components/ui/form-field";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { useAuth } from "@/lib/auth";
import { dateTime } from "@/lib/format";
import { useModals } from "@/lib/modals";
import { toast } from "@/lib/toasts";
import { QueryState, Section } from "./shared";

interface Member {
  user_id: number;
  email: string;
  name: string;
  role: string;
  joined_at: string;
}

interface Invitation {
  id: number;
  email: string;
  role: string;
  expires_at: string;
}

function CreateOrg() {
  const { api, reloadMe, selectOrg } = useAuth();
  const { busy, errors, onSubmit } = useSubmit(["name"], async (data) => {
    const org = await api.post<{ id: number; name: string }>("/api/orgs", { name: text(data, "name").trim() });
    await reloadMe();
    selectOrg(org.id);
    toast("good", "Organization created", `You now work in ${org.name}.`);
  });
  return (
    <Section title="New organization" description="Each organization has its own keys, balance and members.">
      <Card>
        <CardContent>
          <form className="flex flex-wrap items-end gap-3" onSubmit={onSubmit} noValidate>
            <FormField className="min-w-56 flex-1" label="Name" name="name" required maxLength={100} error={errors.name} />
            <Button type="submit" disabled={busy}>
              Create
            </Button>
          </form>
        </CardContent>
      </Card>
    </Section>
  );
}

function Members({ orgId, canManage }: { orgId: number; canManage: boolean }) {
  const { api, me } = useAuth();
  const queries = useQueryClient();
  const { confirm } = useModals();
  const members = useQuery({ queryKey: ["org", orgId, "members"], queryFn: () => api.get<{ data: Member[] }>(`/api/orgs/${orgId}/members`).then((r) => r.data) });
  const remove = (m: Member) =>
    confirm({
      title: `Remove ${m.email}?`,
      description: "They lose access to this organization's keys, usage and balance at once.",
      confirmLabel: "Remove",
      destructive: true,
      onConfirm: async () => {
        await api.delete(`/api/orgs/${orgId}/members/${m.user_id}`);
        await queries.invalidateQueries({ queryKey: ["org", orgId, "members"] });
        toast("good", "Member removed");
      },
    });
  return (
    <Section title="Members">
      <QueryState isPending={members.isPending} error={members.error} />
      {members.data && (
        <Card className="py-2">
          <Table>
            <TableHeader>
              <TableRow>
                <TableHead className="pl-4">Member</TableHead>
                <TableHead>Role</TableHead>
                <TableHead>Joined</TableHead>
                <TableHead className="pr-4 text-right">Actions</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {members.data.map((m) => (
                <TableRow key={m.user_id}>
                  <TableCell className="pl-4">
                    <div className="font-medium">{m.name || m.email}</div>
                    <div className="text-muted-foreground text-xs">{m.email}</div>
                  </TableCell>
                  <TableCell>
                    <Badge variant={m.role === "owner" ? "default" : "secondary"}>{m.role}</Badge>
                  </TableCell>
                  <TableCell>{dateTime(m.joined_at)}</TableCell>
                  <TableCell className="pr-4 text-right">
                    {canManage && m.role !== "owner" && m.user_id !== me?.id && (
                      <Button variant="ghost" size="sm" className="text-destructive" onClick={() => remove(m)}>
                        Remove
                      </Button>
                    )}
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </Card>
      )}
    </Section>
  );
}

function Invitations({ orgId }: { orgId: number }) {
  const { api } = useAuth();
  const queries = useQueryClient();
  const invitations = useQuery({
    queryKey: ["org", orgId, "invitations"],
    queryFn: () => api.get<{ data: Invitation[] }>(`/api/orgs/${orgId}/invitations`).then((r) => r.data),
  });
  const { busy, errors, onSubmit } = useSubmit(["email", "role"], async (data) => {
    await api.post(`/api/orgs/${orgId}/invitations`, { email: text(data, "email").trim(), role: text(data, "role") });
    await queries.invalidateQueries({ queryKey: ["org", orgId, "invitations"] });
    toast("good", "Invitation sent", `We e-mailed ${text(data, "email")} a link to join.`);
  });
  return (
    <Section title="Invitations" description="An invitation is valid for 7 days and only for the invited address.">
      <Card>
        <CardContent className="grid gap-4">
          <form className="flex flex-wrap items-end gap-3" onSubmit={onSubmit} noValidate>
            <FormField className="min-w-56 flex-1" label="E-mail" name="email" type="email" required error={errors.email} />
            <div className="grid gap-2">
              <label htmlFor="invite-role" className="text-sm font-medium">
                Role
              </label>
              <select id="invite-role" name="role" defaultValue="member" className="border-input bg-background h-9 rounded-md border px-3 text-sm">
                <option value="member">member</option>
                <option value="admin">admin</option>
              </select>
            </div>
            <Button type="submit" disabled={busy}>
              Invite
            </Button>
          </form>
          <QueryState isPending={invitations.isPending} error={invitations.error} />
          {invitations.data?.map((i) => (
            <div key={i.id} className="flex items-center justify-between gap-2 text-sm">
              <span>
                {i.email} <Badge variant="secondary">{i.role}</Badge>
              </span>
              <span className="text-muted-foreground">expires {dateTime(i.expires_at)}</span>
            </div>
          ))}
        </CardContent>
      </Card>
    </Section>
  );
}

export default function OrganizationTab() {
  const { org, api, reloadMe } = useAuth();
  const { confirm } = useModals();
  const canManage = org?.role === "owner" || org?.role === "admin";
  return (
    <div className="grid gap-8">
      {org && (
        <>
          <div className="flex flex-wrap items-center justify-between gap-2">
            <h2 className="text-xl font-semibold">
              {org.name} <Badge variant="outline">{org.role}</Badge>
            </h2>
            {org.role !== "owner" && (
              <Button
                variant="outline"
                onClick={() =>
                  confirm({
                    title: `Leave ${org.name}?`,
                    description: "You lose access to its keys, usage and balance. An admin can invite you again.",
                    confirmLabel: "Leave",
                    destructive: true,
                    onConfirm: async () => {
                      await api.post(`/api/orgs/${org.id}/leave`);
                      await reloadMe();
                      toast("good", "You left the organization");
                    },
                  })
                }
              >
                Leave organization
              </Button>
            )}
          </div>
          <Members orgId={org.id} canManage={canManage} />
          {canManage && <Invitations orgId={org.id} />}
        </>
      )}
      <CreateOrg />
    </div>
  );
}
