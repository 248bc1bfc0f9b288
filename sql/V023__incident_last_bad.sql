-- Automatic incidents and several replicas: each replica judges a subject from its own samples, and traffic-based
-- troubles (an error rate) are seen only by the replicas that get the failing traffic. A replica that sees a
-- subject bad stamps its open incident here on every sample; an incident is resolved only once no replica has
-- stamped it for the resolve delay, so a replica without traffic cannot resolve an outage others still see.
ALTER TABLE incidents ADD COLUMN last_bad_at timestamptz;
