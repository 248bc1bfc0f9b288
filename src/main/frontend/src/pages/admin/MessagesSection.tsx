import { Badge } from "@/components/ui/badge";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { dateTime } from "@/lib/format";
import { QueryState, Section } from "@/pages/dashboard/shared";
import { Pager, usePagedList } from "./shared";

interface ContactMessage {
  id: number;
  name: string;
  email: string;
  topic: string;
  message: string;
  created_at: string;
  mailed: boolean;
}

export default function MessagesSection() {
  const { query, ...pager } = usePagedList<ContactMessage>("/api/admin/contact-messages");
  return (
    <Section title="Contact messages" description="What people sent through Contact Us, newest first. Answer them by e-mail.">
      <QueryState isPending={query.isPending} error={query.error} />
      {query.data && query.data.data.length === 0 && <p className="text-muted-foreground text-sm">No messages yet.</p>}
      {query.data?.data.map((m) => (
        <Card key={m.id} className="gap-2 py-4">
          <CardHeader className="flex flex-wrap items-center gap-2 px-4">
            <CardTitle>
              <h3 className="text-base">{m.name}</h3>
            </CardTitle>
            <a className="text-sm break-all underline-offset-4 hover:underline" href={`mailto:${m.email}`}>
              {m.email}
            </a>
            <Badge variant="secondary">{m.topic}</Badge>
            {!m.mailed && <Badge variant="warn">not e-mailed</Badge>}
            <span className="text-muted-foreground ml-auto text-xs">{dateTime(m.created_at)}</span>
          </CardHeader>
          <CardContent className="px-4 text-sm break-words whitespace-pre-line">{m.message}</CardContent>
        </Card>
      ))}
      <Pager {...pager} />
    </Section>
  );
}
