import { Dialog, DialogContent } from "@/components/ui/dialog";
import { useModals } from "@/lib/modals";
import { ForgotPasswordModal, SignInModal, SignUpModal, TwoFactorModal } from "./AuthModals";
import { ConfirmModal } from "./ConfirmModal";
import { ContactModal } from "./ContactModal";
import { PrivacyModal, TermsModal } from "./LegalModals";

/** The one dialog of the app; its content follows the open modal. Radix traps focus and closes on Escape. */
export default function ModalHost() {
  const { modal, close } = useModals();
  return (
    <Dialog open={modal !== null} onOpenChange={(open) => !open && close()}>
      <DialogContent key={modal?.kind} className={modal?.kind === "privacy" || modal?.kind === "terms" ? "sm:max-w-2xl" : undefined}>
        {modal?.kind === "signin" && <SignInModal />}
        {modal?.kind === "signup" && <SignUpModal />}
        {modal?.kind === "forgot" && <ForgotPasswordModal />}
        {modal?.kind === "two_factor" && <TwoFactorModal challenge={modal.challenge} />}
        {modal?.kind === "confirm" && <ConfirmModal request={modal.request} />}
        {modal?.kind === "privacy" && <PrivacyModal />}
        {modal?.kind === "terms" && <TermsModal />}
        {modal?.kind === "contact" && <ContactModal />}
      </DialogContent>
    </Dialog>
  );
}
