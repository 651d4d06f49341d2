-- The statistics, kept up with the event log instead of rescanning it.
--
-- /api/v1/stats and the statistics pages used to aggregate every event on each
-- request: seconds at 100,000 events, minutes at 10 million. Each challenge's
-- facts are now derived from its own events once, by the one function below,
-- and refreshed for the challenges that have new events since the watermark.
-- The facts are derived data, like events.doc: the event log stays the
-- record, and the statistics still agree with the timelines because they are
-- computed from nothing else.

CREATE TABLE challenge_facts (
    challenge_id        bigint PRIMARY KEY REFERENCES challenges,
    municipality_code   text NOT NULL,
    category            text NOT NULL,          -- of its service (services are never changed)
    last_event_id       bigint NOT NULL,
    submitted_at        timestamptz,            -- the submit event's time
    state               text NOT NULL,          -- the last event's to_state
    due_at              timestamptz,            -- the clock the last event left running
    waiting_on          text,
    decided_at          timestamptz,            -- the municipality's first decision
    in_time             boolean,                -- that decision came before the deadline then running
    outcome             text,                   -- the last accept/consent/reject/decline/inadmissible action
    budget_cents        bigint,                 -- the agreements' budgets, summed
    grounds             jsonb NOT NULL DEFAULT '[]'  -- the grounds of each rejection, one array per event
);
CREATE INDEX challenge_facts_by_municipality ON challenge_facts (municipality_code);

-- Every event up to last_event_id is reflected in challenge_facts. Event ids
-- become visible in order (registry/store/events.py), so nothing below the
-- watermark can appear later.
CREATE TABLE challenge_facts_watermark (
    only_row        boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    last_event_id   bigint NOT NULL DEFAULT 0
);
INSERT INTO challenge_facts_watermark DEFAULT VALUES;

-- Bring the facts up to date with at most `batch` more events (NULL: all).
-- Returns the new watermark, or NULL when another session is refreshing
-- (the caller then reads the watermark that session will leave behind).
CREATE FUNCTION refresh_challenge_facts(batch bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    since bigint;
    upto bigint;
BEGIN
    SELECT last_event_id INTO since FROM challenge_facts_watermark FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT coalesce(max(id), since) INTO upto
      FROM (SELECT id FROM events WHERE id > since ORDER BY id LIMIT batch) next_events;
    IF upto = since THEN
        RETURN since;
    END IF;

    WITH changed AS (
        SELECT DISTINCT challenge_id FROM events
         WHERE id > since AND id <= upto AND challenge_id IS NOT NULL
    ), ev AS (
        SELECT e.challenge_id, e.id,
               e.body->>'action' AS action,
               e.body->>'to_state' AS to_state,
               (e.body->>'occurred_at')::timestamptz AS at,
               (e.body->>'due_at')::timestamptz AS due_at,
               e.body->>'waiting_on' AS waiting_on,
               e.body->'data' AS data,
               lag((e.body->>'due_at')::timestamptz) OVER w AS prev_due
          FROM events e
         WHERE e.challenge_id IN (SELECT challenge_id FROM changed) AND e.id <= upto
        WINDOW w AS (PARTITION BY e.challenge_id ORDER BY e.id)
    ), per AS (
        SELECT challenge_id,
               max(id) AS last_event_id,
               min(at) FILTER (WHERE action = 'submit') AS submitted_at,
               (array_agg(to_state ORDER BY id DESC))[1] AS state,
               (array_agg(due_at ORDER BY id DESC))[1] AS due_at,
               (array_agg(waiting_on ORDER BY id DESC))[1] AS waiting_on,
               min(at) FILTER (WHERE action IN ('declare_inadmissible', 'accept', 'propose_modification', 'reject')) AS decided_at,
               (array_agg(at <= prev_due ORDER BY id)
                   FILTER (WHERE action IN ('declare_inadmissible', 'accept', 'propose_modification', 'reject')
                           AND prev_due IS NOT NULL))[1] AS in_time,
               (array_agg(action ORDER BY id DESC)
                   FILTER (WHERE action IN ('accept', 'consent', 'reject', 'decline', 'declare_inadmissible')))[1] AS outcome,
               sum((data->>'budget_cents')::bigint) FILTER (WHERE action = 'conclude_agreement') AS budget_cents,
               coalesce(jsonb_agg(data->'grounds' ORDER BY id)
                   FILTER (WHERE action IN ('reject', 'declare_inadmissible')), '[]') AS grounds
          FROM ev GROUP BY challenge_id
    )
    INSERT INTO challenge_facts AS f
           (challenge_id, municipality_code, category, last_event_id, submitted_at, state, due_at,
            waiting_on, decided_at, in_time, outcome, budget_cents, grounds)
    SELECT per.challenge_id, c.municipality_code, s.category, per.last_event_id, per.submitted_at, per.state,
           per.due_at, per.waiting_on, per.decided_at, per.in_time, per.outcome, per.budget_cents, per.grounds
      FROM per
      JOIN challenges c ON c.id = per.challenge_id
      JOIN services s ON s.id = c.service_id
    ON CONFLICT (challenge_id) DO UPDATE SET
        last_event_id = EXCLUDED.last_event_id, submitted_at = EXCLUDED.submitted_at, state = EXCLUDED.state,
        due_at = EXCLUDED.due_at, waiting_on = EXCLUDED.waiting_on, decided_at = EXCLUDED.decided_at,
        in_time = EXCLUDED.in_time, outcome = EXCLUDED.outcome, budget_cents = EXCLUDED.budget_cents,
        grounds = EXCLUDED.grounds;

    UPDATE challenge_facts_watermark SET last_event_id = upto;
    RETURN upto;
END $$;

SELECT refresh_challenge_facts(NULL);
