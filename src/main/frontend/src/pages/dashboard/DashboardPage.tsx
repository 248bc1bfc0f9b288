export default function DashboardPage() {
  return <div>dashboard</div>;
}
