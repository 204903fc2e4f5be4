-- 0008: privacy: a learner's export of everything held about them
-- (GET /api/v1/me/export), erasure of an account (DELETE /api/v1/me), and
-- the retention job that purges what is no longer needed (server/jobs/).
--
-- Each is one function, one transaction. What each keeps and drops is
-- written beside it; README.md's Privacy section says the same for people.

-- An erased account keeps its row (enrollments and payments name it, and
-- accounting needs them), stripped of everything personal: the id alone is
-- then a pseudonym. erased_at marks it.
alter table registrar.users add column erased_at timestamptz;

-- ---------------------------------------------------------------------------
-- Helpers

-- An audit row's detail with nothing personal left: numbers and booleans,
-- the few keys whose text is a code of ours (never a person's words), and
-- ids: any id when p_ids is null (ids name rows, not people, once an
-- account is erased), else only those in p_ids (an export shows the
-- learner's own ids, never another person's). Everything else (free text,
-- discount codes, other ids) goes.
create function registrar.audit_detail_scrub(p_detail jsonb, p_ids text[]) returns jsonb
language sql immutable as $$
    select coalesce(jsonb_object_agg(d.key, d.value), '{}'::jsonb)
    from jsonb_each(coalesce(p_detail, '{}'::jsonb)) d
    where jsonb_typeof(d.value) in ('number', 'boolean')
       or (jsonb_typeof(d.value) = 'string'
           and (d.key in ('format', 'via', 'status', 'course')
                or (d.value #>> '{}' ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                    and (p_ids is null or d.value #>> '{}' = any (p_ids)))))
$$;

-- A message body as its recipient may read it back: the secret part of a
-- reset or verification link (token=...) is masked.
create function registrar.outbox_body_masked(p_body text) returns text
language sql immutable as $$
    select regexp_replace(p_body, '(token=)[A-Za-z0-9_%-]+', '\1[removed]', 'gi')
$$;

-- The audit rows about p_user (their account, enrollments, payments) or
-- written by them; about tells which.
create function registrar.audit_rows_of(p_user uuid)
returns table (id bigint, about boolean)
language sql stable as $$
    select a.id, a.object = 'user:' || p_user
                 or a.object in (select 'enrollment:' || e.id from registrar.enrollments e
                                 where e.user_id = p_user)
                 or a.object in (select 'payment:' || p.id from registrar.payments p
                                 where p.user_id = p_user)
    from registrar.audit_log a
    where a.actor_id = p_user
       or a.object = 'user:' || p_user
       or a.object in (select 'enrollment:' || e.id from registrar.enrollments e where e.user_id = p_user)
       or a.object in (select 'payment:' || p.id from registrar.payments p where p.user_id = p_user)
$$;

-- ---------------------------------------------------------------------------
-- GET /api/v1/me/export

-- Everything held about p_user, as one JSON document, and an audit row
-- (privacy.export) saying it was taken. Nothing about anyone else: audit
-- rows written by staff about the learner say "staff", not who; rows the
-- learner wrote about others (a director's roster reads) keep only their
-- time, action and offering. No password hash, token or token digest
-- appears: sign-in sessions, reset links and the calendar feed are shown by
-- their times alone, and message bodies with their links masked.
--
-- Attendance and evaluations come with a later issue; their tables do not
-- exist yet, so the export carries them as empty lists. When they land,
-- replace this function with their rows in those two members (each a
-- subquery like `payments` below).
create function registrar.privacy_export(p_user uuid) returns json
language plpgsql as $$
declare
    u registrar.users;
    v_ids text[];
begin
    select * into u from registrar.users where id = p_user and erased_at is null;
    if u.id is null then
        return null;
    end if;
    insert into registrar.audit_log (actor_id, action, object, detail)
    values (p_user, 'privacy.export', 'user:' || p_user, '{}'::jsonb);
    -- The ids an audit row's detail may show: the learner's own.
    v_ids := array[p_user::text]
        || array(select e.id::text from registrar.enrollments e where e.user_id = p_user)
        || array(select e.offering_id::text from registrar.enrollments e where e.user_id = p_user)
        || array(select p.id::text from registrar.payments p where p.user_id = p_user);

    return json_build_object(
        'exported_at', registrar.rfc3339(now(), 'UTC'),
        'profile', (registrar.user_json(u)::jsonb || jsonb_build_object(
            'updated_at', registrar.rfc3339(u.updated_at, 'UTC')))::json,
        'enrollments', coalesce((
            select json_agg(json_build_object(
                'id', e.id,
                'status', e.status,
                'price_cents', e.price_cents,
                'discount_cents', e.discount_cents,
                'amount_due_cents', e.amount_due_cents,
                'paid_cents', e.paid_cents,
                'refund_cents', e.refund_cents,
                'currency', e.currency,
                'hold_expires_at', registrar.rfc3339(e.hold_expires_at, o.timezone),
                'waitlist_position', registrar.waitlist_position(e),
                'note', e.note,
                'cancel_reason', e.cancel_reason,
                'created_at', registrar.rfc3339(e.created_at, o.timezone),
                'updated_at', registrar.rfc3339(e.updated_at, o.timezone),
                'offering', json_build_object(
                    'id', o.id,
                    'course_title', c.title,
                    'title', o.title,
                    'starts_on', o.starts_on,
                    'ends_on', o.ends_on,
                    'timezone', o.timezone,
                    'venue', o.venue),
                'sessions', coalesce((
                    select json_agg(json_build_object(
                        'id', s.id, 'title', s.title, 'kind', s.kind,
                        'starts_at', registrar.rfc3339(s.starts_at, o.timezone),
                        'ends_at', registrar.rfc3339(s.ends_at, o.timezone),
                        'chosen_at', registrar.rfc3339(es.created_at, o.timezone))
                        order by s.starts_at, s.id)
                    from registrar.enrollment_sessions es
                    join registrar.sessions s on s.id = es.session_id
                    where es.enrollment_id = e.id), '[]'::json))
                order by e.created_at, e.id)
            from registrar.enrollments e
            join registrar.offerings o on o.id = e.offering_id
            join registrar.courses c on c.id = o.course_id
            where e.user_id = p_user), '[]'::json),
        'payments', coalesce((
            select json_agg(json_build_object(
                'id', p.id,
                'enrollment_id', p.enrollment_id,
                'status', p.status,
                'amount_cents', p.amount_cents,
                'refunded_cents', p.refunded_cents,
                'refund_status', p.refund_status,
                'currency', p.currency,
                'processor', p.processor,
                'processor_ref', p.processor_ref,
                'created_at', registrar.rfc3339(p.created_at, 'UTC'),
                'updated_at', registrar.rfc3339(p.updated_at, 'UTC'))
                order by p.created_at, p.id)
            from registrar.payments p where p.user_id = p_user), '[]'::json),
        'attendance', '[]'::json,
        'evaluations', '[]'::json,
        'messages', coalesce((
            select json_agg(json_build_object(
                'subject', m.subject,
                'body', registrar.outbox_body_masked(m.body),
                'created_at', registrar.rfc3339(m.created_at, 'UTC'),
                'sent_at', registrar.rfc3339(m.sent_at, 'UTC'))
                order by m.created_at, m.id)
            from registrar.outbox m where m.recipient = u.email), '[]'::json),
        'audit', coalesce((
            select json_agg(case when r.about then json_build_object(
                    'at', registrar.rfc3339(a.at, 'UTC'),
                    'action', a.action,
                    'object', a.object,
                    'offering_id', a.offering_id,
                    'by', case when a.actor_id = p_user then 'you'
                               when a.actor_id is null then 'system' else 'staff' end,
                    'detail', registrar.audit_detail_scrub(a.detail, v_ids))
                else json_build_object(
                    'at', registrar.rfc3339(a.at, 'UTC'),
                    'action', a.action,
                    'offering_id', a.offering_id,
                    'by', 'you') end
                order by a.at, a.id)
            from registrar.audit_rows_of(p_user) r
            join registrar.audit_log a on a.id = r.id), '[]'::json),
        'sign_in_sessions', coalesce((
            select json_agg(json_build_object(
                'created_at', registrar.rfc3339(s.created_at, 'UTC'),
                'last_seen_at', registrar.rfc3339(s.last_seen_at, 'UTC'),
                'revoked_at', registrar.rfc3339(s.revoked_at, 'UTC'))
                order by s.created_at, s.id)
            from registrar.auth_sessions s where s.user_id = p_user), '[]'::json),
        'sign_in_failures', coalesce((
            select json_agg(registrar.rfc3339(f.at, 'UTC') order by f.at, f.id)
            from registrar.auth_failures f where f.email = u.email and not f.pending), '[]'::json),
        'password_resets', coalesce((
            select json_agg(json_build_object(
                'created_at', registrar.rfc3339(r.created_at, 'UTC'),
                'expires_at', registrar.rfc3339(r.expires_at, 'UTC'),
                'used_at', registrar.rfc3339(r.used_at, 'UTC'))
                order by r.created_at, r.id)
            from registrar.password_resets r where r.user_id = p_user), '[]'::json),
        'calendar_feed', (
            select json_build_object('exists', count(*) > 0,
                                     'created_at', registrar.rfc3339(max(t.created_at), 'UTC'))
            from registrar.calendar_tokens t where t.user_id = p_user));
end $$;

-- ---------------------------------------------------------------------------
-- DELETE /api/v1/me

-- Erases p_user after the server checked their password against the hash
-- p_old_hash (step 1 of POST /me/password's kind, password_change_begin,
-- gave it and counted the attempt p_attempt, deleted here: it succeeded).
-- Raises 409 conflict if the password changed meanwhile, 409 last-admin
-- for the only admin, and whatever enrollment_cancel raises (409
-- payment-in-progress while a charge is in flight). Returns {refunds:
-- [{payment_id, processor_ref, amount_cents}]}: the server asks the
-- processor for each, as after a cancellation; null if there is no such
-- account (any more).
--
-- What happens, in this one transaction:
--   * registrations that are still live (applied, held, confirmed,
--     waitlisted) for offerings that have not ended are cancelled by
--     enrollment_cancel itself: seats back and to the waitlist, the
--     discount use back, refunds by the offering's policy queued;
--   * personal data is overwritten everywhere: the account (a unique
--     non-address email, no name, credentials, institution or password
--     hash; profession `other`), the enrollments' notes and reasons, the
--     messages to them (recipient and body; unsent ones are dropped),
--     the audit rows about or by them (detail scrubbed; ids stay);
--   * sessions, reset tokens, calendar feed, idempotency keys, sign-in
--     failures of the address and course directorships are deleted, a
--     faculty entry is unlinked from the account;
--   * payments stay as they are, under the account id, now a pseudonym.
--
-- Locking, in the global order (0004): the account FOR UPDATE (which also
-- holds off a registration of theirs made meanwhile: the trigger below
-- waits for it), every admin's row when the account is one (two last
-- admins erasing themselves at once: the second waits, then counts), the
-- live enrollments FOR UPDATE in id order, their discount codes in id
-- order, their offerings in id order, then each cancellation in offering
-- order (which takes the rest: sessions in id order, waitlisted rows SKIP
-- LOCKED). Offerings are taken before anything that the sweep or a
-- registration takes after them, so this cannot close a cycle with them.
create function registrar.privacy_erase(p_user uuid, p_attempt bigint, p_old_hash text) returns json
language plpgsql as $$
declare
    u registrar.users;
    r record;
    v_result json;
    v_refunds jsonb := '[]'::jsonb;
    v_cancelled integer := 0;
    v_erased_email text := 'erased-' || p_user || '@invalid';
begin
    delete from registrar.auth_failures where id = p_attempt;
    select * into u from registrar.users where id = p_user and erased_at is null for update;
    if u.id is null then
        return null;
    end if;
    if u.password_hash is distinct from p_old_hash then
        perform registrar.raise_app('RG409', 'conflict',
            'The password was changed meanwhile; sign in again.');
    end if;
    if u.is_admin then
        perform 1 from registrar.users where is_admin order by id for update;
        if not exists (select 1 from registrar.users
                       where is_admin and id <> p_user and erased_at is null) then
            perform registrar.raise_app('RG409', 'last-admin',
                'This is the only admin account. Make another admin before deleting it.');
        end if;
    end if;

    perform 1 from registrar.enrollments
    where user_id = p_user and status in ('applied', 'held', 'confirmed', 'waitlisted')
    order by id for update;
    perform 1 from registrar.discount_codes d
    where d.id in (select e.discount_code_id from registrar.enrollments e
                   where e.user_id = p_user and e.status in ('applied', 'held', 'confirmed', 'waitlisted'))
    order by d.id for update;
    perform 1 from registrar.offerings o
    where o.id in (select e.offering_id from registrar.enrollments e
                   where e.user_id = p_user and e.status in ('applied', 'held', 'confirmed', 'waitlisted'))
    order by o.id for no key update;

    for r in
        select e.id from registrar.enrollments e
        join registrar.offerings o on o.id = e.offering_id
        where e.user_id = p_user and e.status in ('applied', 'held', 'confirmed', 'waitlisted')
          and o.ends_on >= (now() at time zone o.timezone)::date
        order by o.id, e.id
    loop
        v_result := registrar.enrollment_cancel(p_user, false, r.id, null);
        v_cancelled := v_cancelled + 1;
        if v_result->'refund' is not null and json_typeof(v_result->'refund') = 'object' then
            v_refunds := v_refunds || jsonb_build_array(v_result->'refund');
        end if;
    end loop;

    update registrar.enrollments set note = null, cancel_reason = null
    where user_id = p_user and (note is not null or cancel_reason is not null);
    delete from registrar.outbox where recipient = u.email and sent_at is null;
    update registrar.outbox set recipient = v_erased_email, body = ''
    where recipient = u.email;
    update registrar.audit_log a set detail = registrar.audit_detail_scrub(a.detail, null)
    from registrar.audit_rows_of(p_user) x where a.id = x.id;
    delete from registrar.auth_sessions where user_id = p_user;
    delete from registrar.auth_failures where email = u.email;
    delete from registrar.password_resets where user_id = p_user;
    delete from registrar.email_verifications where user_id = p_user;
    delete from registrar.calendar_tokens where user_id = p_user;
    delete from registrar.idempotency_keys where user_id = p_user;
    delete from registrar.course_directors where user_id = p_user;
    update registrar.faculty set user_id = null where user_id = p_user;
    update registrar.users set
        email = v_erased_email,
        password_hash = null,
        full_name = 'Erased account',
        profession = 'other',
        credentials = '',
        institution = '',
        is_admin = false,
        erased_at = now(),
        email_verified_at = null,
        updated_at = now()
    where id = p_user;

    insert into registrar.audit_log (actor_id, action, object, detail)
    values (p_user, 'privacy.erase', 'user:' || p_user,
            jsonb_build_object('cancelled', v_cancelled, 'refunds', jsonb_array_length(v_refunds)));
    return json_build_object('refunds', v_refunds);
end $$;

-- A registration of an erased account is refused, also one that raced the
-- erasure: the row lock taken here (FOR KEY SHARE, which the erasure's FOR
-- UPDATE excludes) waits for an erasure in progress and then reads the
-- committed row, erased_at set. The foreign key's own check takes the same
-- lock, so this costs a registration no extra wait.
create function registrar.enrollments_refuse_erased() returns trigger
language plpgsql as $$
begin
    perform 1 from registrar.users where id = new.user_id and erased_at is null for key share;
    if not found then
        perform registrar.raise_app('RG401', 'unauthenticated', 'This account has been deleted.');
    end if;
    return new;
end $$;

create trigger enrollments_refuse_erased before insert on registrar.enrollments
    for each row execute function registrar.enrollments_refuse_erased();

-- ---------------------------------------------------------------------------
-- Retention (the jobs thread, every REGISTRAR_RETENTION_INTERVAL_MS)

-- Purges, at most p_limit rows of each kind per call (the caller repeats
-- while a kind filled its batch), so that no call holds locks for long:
--   * sign-in sessions that can no longer be used: revoked, idle past 30
--     minutes or older than 12 hours (auth_session_resolve's rules);
--   * sign-in attempts older than a day (the rate limit looks back 15
--     minutes);
--   * idempotency keys past their 24 hours;
--   * password-reset tokens past their expiry (one hour) and email-
--     verification tokens past theirs (one day), counted together as
--     `resets`;
--   * the bodies of delivered messages older than 30 days (the row stays:
--     recipient, subject and times, as a record that it was sent).
-- Returns {sessions, attempts, idempotency_keys, resets, bodies}: counts.
--
-- Locking: each batch's rows only; rows another process is purging are
-- skipped (SKIP LOCKED), so several servers may run this at once.
create function registrar.retention_purge(p_limit integer) returns json
language plpgsql as $$
declare
    v_sessions integer;
    v_attempts integer;
    v_keys integer;
    v_resets integer;
    v_verifications integer;
    v_bodies integer;
begin
    delete from registrar.auth_sessions
    where id in (select id from registrar.auth_sessions
                 where revoked_at is not null
                    or last_seen_at <= now() - interval '30 minutes'
                    or created_at <= now() - interval '12 hours'
                 limit p_limit for update skip locked);
    get diagnostics v_sessions = row_count;
    delete from registrar.auth_failures
    where id in (select id from registrar.auth_failures where at <= now() - interval '1 day'
                 limit p_limit for update skip locked);
    get diagnostics v_attempts = row_count;
    delete from registrar.idempotency_keys
    where (user_id, key) in (select user_id, key from registrar.idempotency_keys
                             where expires_at <= now()
                             limit p_limit for update skip locked);
    get diagnostics v_keys = row_count;
    delete from registrar.password_resets
    where id in (select id from registrar.password_resets where expires_at <= now()
                 limit p_limit for update skip locked);
    get diagnostics v_resets = row_count;
    delete from registrar.email_verifications
    where id in (select id from registrar.email_verifications where expires_at <= now()
                 limit p_limit for update skip locked);
    get diagnostics v_verifications = row_count;
    v_resets := v_resets + v_verifications;
    update registrar.outbox set body = ''
    where id in (select id from registrar.outbox
                 where sent_at <= now() - interval '30 days' and body <> ''
                 limit p_limit for update skip locked);
    get diagnostics v_bodies = row_count;
    return json_build_object('sessions', v_sessions, 'attempts', v_attempts,
        'idempotency_keys', v_keys, 'resets', v_resets, 'bodies', v_bodies);
end $$;
