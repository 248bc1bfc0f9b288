import { useEffect } from "react";
import { useLocation, useNavigate } from "react-router";
import { useAuth } from "@/lib/auth";
import { type Modal, useModals } from "@/lib/modals";
import LandingPage from "@/pages/landing/LandingPage";

/**
 * /signin, /signup, /forgot-password: the landing page with that modal open. After an OAuth sign-in of a user
 * with 2FA the server sends the browser to /signin#two_factor_challenge=…, which opens the 2FA Code modal.
 */
export default function SignInPage({ modal }: { modal: "signin" | "signup" | "forgot" }) {
  const { open } = useModals();
  const { status } = useAuth();
  const { hash } = useLocation();
  const navigate = useNavigate();
  useEffect(() => {
    const challenge = new URLSearchParams(hash.replace(/^#/, "")).get("two_factor_challenge");
    if (challenge) {
      open({ kind: "two_factor", challenge });
      // Keep the challenge out of the history and the address bar.
      navigate("/signin", { replace: true });
      return;
    }
    if (status === "signed_in" && modal === "signin") {
      navigate("/dashboard", { replace: true });
      return;
    }
    if (status === "signed_out") open({ kind: modal } as Modal);
  }, [hash, modal, open, navigate, status]);
  return <LandingPage />;
}
