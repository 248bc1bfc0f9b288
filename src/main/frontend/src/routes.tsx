import { lazy } from "react";
import { Navigate, Route, Routes } from "react-router";
import { Layout } from "@/components/layout/Layout";

// Each page is its own chunk: the landing page downloads none of the dashboard's code (or its chart library).
const LandingPage = lazy(() => import("@/pages/landing/LandingPage"));
const DashboardPage = lazy(() => import("@/pages/dashboard/DashboardPage"));
const VerifyPage = lazy(() => import("@/pages/links/VerifyPage"));
const ResetPasswordPage = lazy(() => import("@/pages/links/ResetPasswordPage"));
const InvitePage = lazy(() => import("@/pages/links/InvitePage"));
const SignInPage = lazy(() => import("@/pages/links/SignInPage"));
const DocsPage = lazy(() => import("@/pages/docs/DocsPage"));
const StatusPage = lazy(() => import("@/pages/status/StatusPage"));
const StatusLinkPage = lazy(() => import("@/pages/status/StatusLinkPage"));
const AdminPage = lazy(() => import("@/pages/admin/AdminPage"));
const OAuthErrorPage = lazy(() => import("@/pages/oauth/OAuthErrorPage"));
const NotFoundPage = lazy(() => import("@/pages/NotFoundPage"));

/**
 * The app's routes. StaticSite.java serves index.html for exactly these prefixes (its APP_ROUTES list): keep the
 * two in step, or a reload of a new page gets a 404.
 */
export function AppRoutes() {
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route index element={<LandingPage />} />
        <Route path="dashboard" element={<Navigate to="/dashboard/overview" replace />} />
        <Route path="dashboard/:tab" element={<DashboardPage />} />
        <Route path="verify" element={<VerifyPage />} />
        <Route path="reset" element={<ResetPasswordPage />} />
        <Route path="reset-password" element={<ResetPasswordPage />} />
        <Route path="forgot-password" element={<SignInPage modal="forgot" />} />
        <Route path="invite" element={<InvitePage />} />
        <Route path="signin" element={<SignInPage modal="signin" />} />
        <Route path="signup" element={<SignInPage modal="signup" />} />
        <Route path="status" element={<StatusPage />} />
        <Route path="status/confirm" element={<StatusLinkPage action="confirm" />} />
        <Route path="status/unsubscribe" element={<StatusLinkPage action="unsubscribe" />} />
        <Route path="oauth/error" element={<OAuthErrorPage />} />
        <Route path="docs" element={<DocsPage />} />
        <Route path="admin" element={<Navigate to="/admin/orgs" replace />} />
        <Route path="admin/:section" element={<AdminPage />} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
