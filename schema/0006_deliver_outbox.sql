-- 0006: delivery of the outbox by the jobs thread (server/jobs/jobs.c,
-- server/jobs/mail.c).
--
-- A message goes through: unsent and unclaimed → claimed (claimed_until =
-- now() + 2 minutes, committed before anything is sent) → sent (sent_at) or
-- failed (attempts + 1, last_error, claimed_until pushed out by the back-off).
-- A claim is taken FOR UPDATE SKIP LOCKED and committed at once, so two
-- processes never hold the same message: the second one skips the locked row
-- while the first claims it, and afterwards sees claimed_until in the future.
-- The claim outlives the longest send (curl gives up after 30 s), so a message
-- is sent twice only if its process dies between the relay's answer and
-- outbox_sent(): the claim then lapses and the message goes once more.

alter table registrar.outbox
    add column claimed_until timestamptz,
    add column last_error_at timestamptz,
    -- A short code ("curl 7", "curl 55 smtp 451"), never the relay's text,
    -- which may quote addresses.
    add column last_error text check (char_length(last_error) <= 40);

-- Claims up to p_limit due messages for the caller for two minutes and
-- returns them as [{id, recipient, subject, body, created}] (created: unix
-- seconds). Due: unsent, no claim or back-off in force, and fewer than 20
-- attempts (with the back-off that is about four days of trying; a message
-- that never goes, say to a dead address, then stays with its last_error
-- for an operator to see).
-- Locking: the candidate rows FOR UPDATE SKIP LOCKED; a row another process
-- is claiming is skipped, never waited for.
create function registrar.outbox_claim(p_limit integer) returns json
language sql as $$
    with due as (
        select id from registrar.outbox
        where sent_at is null and (claimed_until is null or claimed_until <= now())
          and attempts < 20
        order by id
        limit greatest(p_limit, 0)
        for update skip locked
    ), claimed as (
        update registrar.outbox o set claimed_until = now() + interval '2 minutes'
        from due where o.id = due.id
        returning o.id, o.recipient, o.subject, o.body, o.created_at
    )
    select coalesce(json_agg(json_build_object('id', id, 'recipient', recipient,
        'subject', subject, 'body', body, 'created', extract(epoch from created_at)::bigint)
        order by id), '[]'::json)
    from claimed
$$;

-- The relay accepted the message. Idempotent.
create function registrar.outbox_sent(p_id bigint) returns void
language sql as $$
    update registrar.outbox
    set sent_at = coalesce(sent_at, now()), claimed_until = null,
        attempts = attempts + case when sent_at is null then 1 else 0 end,
        last_attempt_at = case when sent_at is null then now() else last_attempt_at end
    where id = p_id
$$;

-- The relay refused the message or could not be reached: try again after
-- 30 s × 2^(attempts − 1), at most 6 hours (30 s, 1 min, 2 min, ... ).
create function registrar.outbox_failed(p_id bigint, p_error text) returns void
language sql as $$
    update registrar.outbox
    set attempts = attempts + 1, last_attempt_at = now(), last_error_at = now(),
        last_error = left(p_error, 40),
        claimed_until = now() + least(interval '6 hours',
            interval '30 seconds' * power(2, least(attempts, 20)))
    where id = p_id and sent_at is null
$$;
