-- Webhook events of the features that landed beside webhooks, written to the outbox by triggers in the same
-- transaction as their facts (see V018): credits.low from the low-balance crossings, incident.* from the status
-- page's incidents.

-- credits.low: a low_balance_alerts row is inserted once per crossing (claimed before its e-mail goes, deleted when
-- the balance is seen back above), so each crossing emits one event, whichever replica saw it.
CREATE FUNCTION webhook_credits_low() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM webhook_emit(NEW.org_id, 'credits.low',
        jsonb_build_object('threshold_micros', NEW.threshold_micros, 'crossed_at', NEW.sent_at), NEW.sent_at);
    RETURN NULL;
END $$;
CREATE TRIGGER low_balance_alerts_webhook AFTER INSERT ON low_balance_alerts
    FOR EACH ROW EXECUTE FUNCTION webhook_credits_low();

-- incident.*: every incident change posts an update row (opening posts the first one), so the update rows alone
-- say what happened: the first update of an incident is incident.created, one with status resolved is
-- incident.resolved, any other (a human's update, an automatic incident's "still ongoing" note) incident.updated.
-- Incidents concern the service, so every endpoint subscribed to the type gets them, whatever its organization.
CREATE FUNCTION webhook_incident_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    i incidents;
    kind text;
BEGIN
    SELECT * INTO i FROM incidents WHERE id = NEW.incident_id;
    IF NOT EXISTS (SELECT 1 FROM incident_updates WHERE incident_id = NEW.incident_id AND id <> NEW.id) THEN
        kind := 'incident.created';
    ELSIF NEW.status = 'resolved' THEN
        kind := 'incident.resolved';
    ELSE
        kind := 'incident.updated';
    END IF;
    PERFORM webhook_emit_all(kind, jsonb_build_object(
        'incident_id', i.id, 'title', i.title, 'severity', i.severity, 'status', NEW.status,
        'services', to_jsonb(i.services), 'models', to_jsonb(i.models), 'automatic', i.auto_subject IS NOT NULL,
        'started_at', i.started_at,
        'resolved_at', CASE WHEN NEW.status = 'resolved' THEN COALESCE(i.resolved_at, NEW.at) END,
        'update', jsonb_build_object('update_id', NEW.id, 'message', NEW.message, 'at', NEW.at)), NEW.at);
    RETURN NULL;
END $$;
CREATE TRIGGER incident_updates_webhook AFTER INSERT ON incident_updates
    FOR EACH ROW EXECUTE FUNCTION webhook_incident_update();
