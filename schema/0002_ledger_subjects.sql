-- Not every public event is about a challenge: verifying or hiding an
-- initiative, or changing a municipality's settings, belongs in the same
-- chain. Such events have no challenge; `subject` names what they are about
-- (e.g. 'initiative:12', 'municipality:GM0363').
ALTER TABLE events ALTER COLUMN challenge_id DROP NOT NULL;
ALTER TABLE events ADD COLUMN subject text;
ALTER TABLE events ADD CONSTRAINT events_have_a_subject CHECK (challenge_id IS NOT NULL OR subject IS NOT NULL);
CREATE INDEX events_by_subject ON events (subject, id) WHERE subject IS NOT NULL;
