-- 0009: sign-in limits that cannot lock a real user out, schedule
-- conflicts that name only what the caller may read, sessions of at most
-- 24 hours, and payments whose request died settled without a charge for
-- a seat that is gone.

-- ---------------------------------------------------------------------------
-- Sign-in failures
--
-- Until now ten failures for one email from anywhere kept its owner out for
-- 15 minutes: anyone who knew the address could lock a learner out on the
-- morning registration opened. Now:
--   * the hard limit (10 failures in 15 minutes, then 429 until the oldest
--     leaves the window) counts per (account, client address) and per
--     client address overall: an attacker's address is stopped, the owner's
--     is not;
--   * per account, from any address, failures beyond the 5th only slow
--     attempts down: each further attempt waits 1, 2, 4, 8, 16, then 30
--     seconds after the last one began, so the owner is held up by seconds
--     at most, and a crowd of addresses still gets one guess per 30 s.
-- Addresses are keyed on their network: /32 for IPv4, /64 for IPv6 (one
-- subscriber's whole prefix), IPv4-mapped IPv6 as the IPv4 address.

-- The key a client address is counted under is registrar.address_key(inet)
-- (schema/0007), shared with the limits on sign-ups, resets and codes.

-- Written by auth_attempt_begin with each row: the counts are on the key,
-- never on the exact address.
alter table registrar.auth_failures add column client_net cidr;
update registrar.auth_failures set client_net = registrar.address_key(client_ip)
where client_ip is not null;
drop index registrar.auth_failures_ip;
create index auth_failures_net on registrar.auth_failures (client_net, at);
-- (An address has few rows in any window, the address limit sees to
-- that: the (account, address) count needs no index of its own.)

-- The hard limit over the rows of one address key p_net, of one account
-- (p_email) or of all: seconds until one more attempt may start, 0 if
-- it may now. As in 0005, a pending row younger than a minute may still
-- turn out a failure and counts; an older one was never checked and counts
-- for nothing; when only pending rows fill the window the answer is 1 s
-- (they may well succeed and be forgotten).
create function registrar.auth_attempt_limit(p_email text, p_net cidr) returns integer
language plpgsql stable as $$
declare
    c_window constant interval := interval '15 minutes';
    c_max constant integer := 10;
    n integer;
    settled integer;
    oldest timestamptz;
begin
    select count(*) filter (where not f.pending or f.at > now() - interval '1 minute'),
           count(*) filter (where not f.pending)
    into n, settled
    from registrar.auth_failures f
    where f.client_net = p_net and (p_email is null or f.email = p_email)
      and f.at > now() - c_window;
    if n < c_max then
        return 0;
    end if;
    if settled < c_max then
        return 1;
    end if;
    select f.at into oldest from registrar.auth_failures f
    where f.client_net = p_net and (p_email is null or f.email = p_email)
      and f.at > now() - c_window and not f.pending
    order by f.at offset settled - c_max limit 1;
    return greatest(1, ceil(extract(epoch from oldest + c_window - now()))::integer);
end
$$;

-- The account's growing delay: after 5 failures in 15 minutes from
-- anywhere, the k-th further attempt (k = 1, 2, ...) may start
-- min(2^(k-1), 30) seconds after the latest attempt began. Counted over
-- settled failures, the answer is that wait; when only attempts still being
-- checked make it (they may succeed), 1 s, as for the hard limit. So
-- however many arrive at once, through however many processes, at most 5
-- are checked together, then one per delay.
create function registrar.auth_attempt_delay(p_email text) returns integer
language plpgsql stable as $$
declare
    c_window constant interval := interval '15 minutes';
    c_free constant integer := 5;
    c_cap constant integer := 30;
    n integer;
    settled integer;
    last_any timestamptz;
    last_settled timestamptz;
    v_wait integer;
begin
    select count(*) filter (where not f.pending or f.at > now() - interval '1 minute'),
           count(*) filter (where not f.pending),
           max(f.at) filter (where not f.pending or f.at > now() - interval '1 minute'),
           max(f.at) filter (where not f.pending)
    into n, settled, last_any, last_settled
    from registrar.auth_failures f
    where f.email = p_email and f.at > now() - c_window;
    if settled >= c_free then
        v_wait := ceil(extract(epoch from last_settled
            + make_interval(secs => least(power(2, settled - c_free), c_cap)) - now()))::integer;
        if v_wait > 0 then
            return v_wait;
        end if;
    end if;
    if n >= c_free and last_any + make_interval(secs => least(power(2, n - c_free), c_cap)) > now() then
        return 1;
    end if;
    return 0;
end
$$;

-- Seconds until one more attempt for p_email from p_ip may start (0: now):
-- the hard limit per (account, address) and per address, the account's
-- delay. p_ip null (no address known) leaves the address out.
create or replace function registrar.auth_attempt_wait(p_email text, p_ip inet) returns integer
language plpgsql stable as $$
declare
    v_net cidr := registrar.address_key(p_ip);
    v_wait integer := registrar.auth_attempt_delay(p_email);
begin
    if v_net is not null then
        v_wait := greatest(v_wait, registrar.auth_attempt_limit(p_email, v_net),
                         registrar.auth_attempt_limit(null, v_net));
    end if;
    return v_wait;
end
$$;

-- Same contract as before (0002, 0005): refused (retry_after > 0, nothing
-- recorded) or an attempt row that counts while the password is checked.
--
-- Locking: a transaction-scoped advisory lock per email, then one per
-- address key (always in that order, so two attempts cannot deadlock),
-- serialises count-then-insert for every count above: the account's delay
-- and the (account, address) limit under the email's lock, the address
-- limit under the address's.
create or replace function registrar.auth_attempt_begin(p_email text, p_ip inet,
    out retry_after integer, out attempt_id bigint)
language plpgsql as $$
declare
    v_net cidr := registrar.address_key(p_ip);
begin
    perform pg_advisory_xact_lock(20021, hashtext(p_email));
    if v_net is not null then
        perform pg_advisory_xact_lock(20022, hashtext(v_net::text));
    end if;
    retry_after := registrar.auth_attempt_wait(p_email, p_ip);
    if retry_after > 0 then
        return;
    end if;
    insert into registrar.auth_failures (email, client_ip, client_net) values (p_email, p_ip, v_net)
    returning id into attempt_id;
    if random() < 0.01 then
        delete from registrar.auth_failures where at < now() - interval '15 minutes';
    end if;
end
$$;

-- ---------------------------------------------------------------------------
-- Sessions: at most a day long, and conflicts told on a need-to-know basis

-- A session is one sitting: a day at most (a multi-day course is several
-- sessions). Longer is 400 naming ends_at, like an end before the start.
alter table registrar.sessions add constraint sessions_at_most_a_day
    check (ends_at - starts_at <= interval '24 hours');

-- Whether the viewer may read a session of offering o at all: its
-- directors and admins always, anyone else only once it is not a draft.
create function registrar.session_readable(o registrar.offerings, p_viewer uuid, p_admin boolean)
returns boolean
language sql stable as $$
    select o.status <> 'draft' or registrar.can_direct(o.course_id, p_viewer, p_admin)
$$;

-- The ids among p_ids (clashing sessions) that the viewer may read, in the
-- order given: a draft's sessions of a course the viewer does not direct
-- are left out.
create function registrar.session_conflicts_readable(p_ids json, p_viewer uuid, p_admin boolean)
returns json
language sql stable as $$
    select coalesce(json_agg(x.value order by x.n), '[]'::json)
    from json_array_elements_text(p_ids) with ordinality as x(value, n)
    join registrar.sessions s on s.id = x.value::uuid
    join registrar.offerings o on o.id = s.offering_id
    where registrar.session_readable(o, p_viewer, p_admin)
$$;

-- The clashing sessions as the viewer may see them: in full (session JSON
-- in its offering's timezone plus offering_title) where the viewer directs
-- the course; otherwise only {"summary": "a session of another offering"}:
-- no title, room, description, faculty or id (a director must not learn
-- another course's schedule, least of all a draft's, from a clash; the ids
-- the viewer may read are in `conflicts`).
create function registrar.session_conflict_details(p_ids json, p_viewer uuid, p_admin boolean)
returns json
language sql stable as $$
    select coalesce(json_agg(
        case
            when registrar.can_direct(o.course_id, p_viewer, p_admin) then
                registrar.session_json(s, o.timezone)::jsonb
                    || jsonb_build_object('offering_title', o.title)
            else jsonb_build_object('summary', 'a session of another offering')
        end
        order by s.starts_at, s.id), '[]'::json)
    from registrar.sessions s
    join registrar.offerings o on o.id = s.offering_id
    where s.id in (select value::uuid from json_array_elements_text(p_ids))
$$;

-- As in 0003 (same contract, same locking), with two changes: a session
-- longer than 24 hours (the constraint above) is 400 naming ends_at, and a
-- schedule-conflict names only what the caller may read.
create or replace function registrar.session_write(p_viewer uuid, p_admin boolean, p_offering uuid,
    p_session uuid, p_body jsonb) returns json
language plpgsql as $$
declare
    v_conflicts json;
    v_constraint text;
    v_o registrar.offerings;
    v_s registrar.sessions;
    v_offering uuid := p_offering;
    v_starts timestamptz;
    v_ends timestamptz;
    v_room uuid;
    v_faculty uuid[];
    v_fid uuid;
    v_name text;
    v_i integer;
begin
    if p_session is not null then
        select offering_id into v_offering from registrar.sessions
        where id = p_session and status = 'scheduled';
        if not found then
            return null;
        end if;
    end if;
    select * into v_o from registrar.offerings where id = v_offering for key share;
    if not found then
        return null;
    end if;
    if not registrar.can_direct(v_o.course_id, p_viewer, p_admin) then
        if v_o.status = 'draft' then
            return null;
        end if;
        perform registrar.raise_forbidden();
    end if;
    if p_session is not null then
        select * into v_s from registrar.sessions where id = p_session for update;
        if v_s.status <> 'scheduled' then
            return null;
        end if;
    end if;

    v_starts := coalesce((p_body->>'starts_at')::timestamptz, v_s.starts_at);
    v_ends := coalesce((p_body->>'ends_at')::timestamptz, v_s.ends_at);
    if v_ends <= v_starts then
        perform registrar.raise_invalid('ends_at', 'must be after starts_at');
    end if;
    if not registrar.session_within_parts(v_offering, v_o.timezone, v_starts, v_ends) then
        raise exception using errcode = 'RG422', message = 'outside-offering',
            detail = json_build_object('detail', format(
                'A session must lie within one of the offering''s parts (%s, in %s).',
                (select string_agg(format('%s to %s', p.starts_on, p.ends_on), ', ' order by p.position)
                 from registrar.offering_parts p where p.offering_id = v_offering),
                v_o.timezone))::text;
    end if;
    if p_body ? 'capacity' and p_session is not null and (p_body->>'capacity')::integer < v_s.seats_taken then
        raise exception using errcode = 'RG409', message = 'capacity-below-taken',
            detail = json_build_object('detail', format(
                'The capacity cannot be lower than the %s seats already taken.', v_s.seats_taken),
                'seats_taken', v_s.seats_taken)::text;
    end if;

    if p_body ? 'room' then
        if nullif(btrim(p_body->>'room'), '') is not null then
            insert into registrar.rooms (name) values (btrim(p_body->>'room'))
            on conflict (key) do update set name = registrar.rooms.name
            returning id into v_room;
        end if;
    else
        v_room := v_s.room_id;
    end if;
    if p_body ? 'faculty' then
        v_faculty := '{}';
        for v_name in select btrim(value) from jsonb_array_elements_text(p_body->'faculty') loop
            insert into registrar.faculty (name) values (v_name)
            on conflict (key) do update set name = registrar.faculty.name
            returning id into v_fid;
            if v_fid = any (v_faculty) then
                perform registrar.raise_invalid('faculty', format('names %s twice', v_name));
            end if;
            v_faculty := v_faculty || v_fid;
        end loop;
    else
        select coalesce(array_agg(faculty_id order by position), '{}') into v_faculty
        from registrar.session_faculty where session_id = p_session;
    end if;

    begin
        if p_session is null then
            insert into registrar.sessions (offering_id, title, kind, description, starts_at, ends_at,
                room_id, capacity, credit_hours)
            values (v_offering, p_body->>'title', p_body->>'kind', coalesce(p_body->>'description', ''),
                v_starts, v_ends, v_room, (p_body->>'capacity')::integer,
                coalesce((p_body->>'credit_hours')::numeric, 0))
            returning * into v_s;
        else
            update registrar.sessions set
                title = case when p_body ? 'title' then p_body->>'title' else title end,
                kind = case when p_body ? 'kind' then p_body->>'kind' else kind end,
                description = case when p_body ? 'description'
                    then coalesce(p_body->>'description', '') else description end,
                starts_at = v_starts,
                ends_at = v_ends,
                room_id = v_room,
                capacity = case when p_body ? 'capacity' then (p_body->>'capacity')::integer else capacity end,
                credit_hours = case when p_body ? 'credit_hours'
                    then coalesce((p_body->>'credit_hours')::numeric, 0) else credit_hours end
            where id = p_session
            returning * into v_s;
        end if;
        if p_body ? 'faculty' then
            delete from registrar.session_faculty where session_id = v_s.id;
            for v_i in 1 .. coalesce(array_length(v_faculty, 1), 0) loop
                insert into registrar.session_faculty (session_id, faculty_id, position, during, active)
                values (v_s.id, v_faculty[v_i], v_i, v_s.during, true);
            end loop;
            if p_session is not null then
                -- A change of faculty alone is a change of the event too.
                update registrar.sessions set sequence = sequence + 1
                where id = v_s.id and sequence = v_s.sequence
                returning * into v_s;
            end if;
        end if;
    exception
        when exclusion_violation then
            v_conflicts := registrar.session_conflicts(p_session, v_offering, v_room, v_faculty,
                v_starts, v_ends);
            raise exception using errcode = 'RG409', message = 'schedule-conflict',
                detail = json_build_object('detail',
                    'The session clashes with another in the same room or with the same faculty member.',
                    'conflicts', registrar.session_conflicts_readable(v_conflicts, p_viewer, p_admin),
                    'conflict_sessions',
                    registrar.session_conflict_details(v_conflicts, p_viewer, p_admin))::text;
        when check_violation then
            -- The rule is the constraint's; this only names the field it is about.
            get stacked diagnostics v_constraint = constraint_name;
            if v_constraint = 'sessions_at_most_a_day' then
                perform registrar.raise_invalid('ends_at', 'must be at most 24 hours after starts_at');
            end if;
            raise;
    end;
    return registrar.session_json(v_s, v_o.timezone);
end $$;


-- Replaced by the three-argument form above.
drop function registrar.session_conflict_details(json);

-- ---------------------------------------------------------------------------
-- Payments whose request died
--
-- A payment request killed between payment_begin and payment_finish leaves
-- its payment 'pending' and its Idempotency-Key locked without a response.
-- It is settled one of two ways:
--   * a repeat of the key after the takeover window (a minute) takes it
--     over (payment_begin below): if the registration is still payable it
--     charges again under the same payment id (the processor's idempotency
--     returns the first charge, if there was one); if it is not (cancelled,
--     expired, or its hold ran out) it charges nothing, settles the payment
--     as declined and stores the refusal as the key's response;
--   * otherwise the sweep does the same for pending payments of
--     registrations that expired or were cancelled, once the payment is
--     five minutes old (the grace the sweep and cancelling already give a
--     payment in flight).
-- A registration still held with a payment in flight is left to its
-- learner's repeat, or to the sweep once the hold runs out.

-- Whether a registration may be charged now: held, with time left on the
-- hold (the same rules payment_begin applies to a first request).
create function registrar.payment_payable(e registrar.enrollments) returns boolean
language sql stable as $$
    select e.status = 'held' and e.hold_expires_at > now()
$$;

-- Settles pending payment p_payment of registration e, which is no longer
-- payable, without a charge: the payment becomes declined (no money taken),
-- the registration's payment_started_at is cleared, and the refusal (409
-- hold-expired, already-paid, or not-payable with the registration's
-- status, as payment_begin answers a first request) is stored as the response of
-- the payment's Idempotency-Key. Returns {status, body}.
--
-- Locking: the caller holds the payment row (and, in payment_begin, the
-- registration); the key row is updated last.
create function registrar.payment_abandon(p_payment uuid, e registrar.enrollments) returns json
language plpgsql as $$
declare
    v_expired boolean := e.status = 'expired' or (e.status = 'held' and e.hold_expires_at <= now());
    v_body text;
begin
    update registrar.payments set status = 'declined', updated_at = now()
    where id = p_payment and status = 'pending';
    update registrar.enrollments set payment_started_at = null
    where id = e.id and payment_started_at is not null;
    v_body := case when v_expired then
        json_build_object('type', 'https://registrar.invalid/problems/hold-expired',
            'title', 'The seat hold has expired', 'status', 409,
            'detail', 'The seat was held for a limited time, and that time has run out. No money was taken. Register again to get a seat or a place on the waitlist.')
    when e.status = 'confirmed' then
        json_build_object('type', 'https://registrar.invalid/problems/already-paid',
            'title', 'Conflict', 'status', 409,
            'detail', 'This registration is already confirmed. No money was taken.')
    else
        json_build_object('type', 'https://registrar.invalid/problems/not-payable',
            'title', 'Conflict', 'status', 409,
            'detail', format('A registration that is %s cannot be paid. No money was taken.', e.status),
            'enrollment_status', e.status)
    end::text;
    update registrar.idempotency_keys set response_status = 409, response_body = v_body, locked_at = null
    where payment_id = p_payment and response_status is null;
    return json_build_object('status', 409, 'body', v_body);
end $$;

-- As in 0004 (same contract, same locking, the payment row and then the
-- registration FOR UPDATE on a takeover), except that a takeover re-checks
-- that the registration is still payable.
create or replace function registrar.payment_begin(p_user uuid, p_enrollment uuid, p_key text, p_token text)
returns json
language plpgsql as $$
declare
    v_fp bytea := sha256(convert_to(p_enrollment::text || E'\n' || p_token, 'UTF8'));
    k registrar.idempotency_keys;
    e registrar.enrollments;
    p registrar.payments;
    v_tries integer := 0;
    v_settled json;
begin
    loop
        delete from registrar.idempotency_keys
        where user_id = p_user and key = p_key and expires_at <= now();
        insert into registrar.idempotency_keys (user_id, key, fingerprint, locked_at)
        values (p_user, p_key, v_fp, now())
        on conflict (user_id, key) do nothing
        returning * into k;
        exit when k.key is not null;

        select * into k from registrar.idempotency_keys where user_id = p_user and key = p_key;
        if k.key is null then
            continue; -- rolled back or expired meanwhile: try to own it
        end if;
        if k.fingerprint <> v_fp then
            perform registrar.raise_app('RG422', 'idempotency-key-reused',
                'This Idempotency-Key was used with another request; use a new key for a new payment.');
        end if;
        if k.response_status is not null then
            return json_build_object('action', 'replay', 'status', k.response_status, 'body', k.response_body);
        end if;
        if k.locked_at < now() - interval '1 minute' then
            update registrar.idempotency_keys set locked_at = now()
            where user_id = p_user and key = p_key and locked_at = k.locked_at and response_status is null
            returning * into k;
            if found then
                select * into p from registrar.payments where id = k.payment_id for update;
                if p.status = 'pending' then
                    -- The seat may have gone since the first request began:
                    -- never charge for a registration that is no longer payable.
                    select * into e from registrar.enrollments where id = p.enrollment_id for update;
                    if not registrar.payment_payable(e) then
                        v_settled := registrar.payment_abandon(p.id, e);
                        return json_build_object('action', 'replay', 'status', v_settled->'status',
                            'body', v_settled->>'body');
                    end if;
                    update registrar.enrollments set payment_started_at = now() where id = p.enrollment_id;
                    return json_build_object('action', 'charge', 'payment_id', p.id,
                        'amount_cents', p.amount_cents, 'currency', p.currency);
                end if;
                return json_build_object('action', 'finish', 'payment_id', p.id, 'status', p.status);
            end if;
        end if;
        v_tries := v_tries + 1;
        if v_tries > 500 then
            perform registrar.raise_app('RG409', 'idempotency-key-in-use',
                'A request with this Idempotency-Key is still running; repeat it in a moment.');
        end if;
        perform pg_sleep(0.01);
    end loop;

    -- This request owns the key.
    select * into e from registrar.enrollments where id = p_enrollment and user_id = p_user for update;
    if e.id is null then
        perform registrar.raise_app('RG404', 'not-found', 'There is no such enrollment of yours.');
    end if;
    if e.status = 'confirmed' then
        perform registrar.raise_app('RG409', 'already-paid', 'This registration is already confirmed.');
    end if;
    if e.status = 'expired' or (e.status = 'held' and e.hold_expires_at <= now()) then
        perform registrar.raise_app('RG409', 'hold-expired',
            'The seat was held for a limited time, and that time has run out. Register again to get a seat or a place on the waitlist.');
    end if;
    if e.status <> 'held' then
        perform registrar.raise_app('RG409', 'not-payable',
            format('A registration that is %s cannot be paid.', e.status), jsonb_build_object('status', e.status));
    end if;
    if exists (select 1 from registrar.payments where enrollment_id = e.id and status = 'pending') then
        perform registrar.raise_app('RG409', 'payment-in-progress',
            'Another payment for this registration is being processed.');
    end if;
    insert into registrar.payments (enrollment_id, user_id, status, amount_cents, currency)
    values (e.id, p_user, 'pending', e.amount_due_cents - e.paid_cents, e.currency)
    returning * into p;
    update registrar.enrollments set payment_started_at = now() where id = e.id;
    update registrar.idempotency_keys set payment_id = p.id where user_id = p_user and key = p_key;
    return json_build_object('action', 'charge', 'payment_id', p.id,
        'amount_cents', p.amount_cents, 'currency', p.currency);
end $$;

-- As in 0004, and then settles the pending payments of registrations that
-- are gone (see payment_abandon). Returns {expired, promoted, payments_settled}.
create or replace function registrar.sweep(p_limit integer) returns json
language plpgsql as $$
declare
    v_ids uuid[];
    v_promoted integer := 0;
    v_settled integer := 0;
    r record;
begin
    with due as (
        select id from registrar.enrollments
        where status = 'held' and hold_expires_at <= now()
          and (payment_started_at is null or payment_started_at < now() - interval '5 minutes')
        order by hold_expires_at
        limit p_limit
        for update skip locked
    ), expired as (
        update registrar.enrollments e set status = 'expired', payment_started_at = null, updated_at = now()
        from due where e.id = due.id
        returning e.id
    )
    select coalesce(array_agg(id), '{}') into v_ids from expired;

    -- An unpaid hold that ran out gives its discount code's use back.
    for r in
        select discount_code_id as id, count(*)::integer as n from registrar.enrollments
        where id = any (v_ids) and discount_code_id is not null
        group by discount_code_id order by discount_code_id
    loop
        update registrar.discount_codes set uses = greatest(uses - r.n, 0) where id = r.id;
    end loop;

    -- One pass over the offerings in id order: give back the seats of the
    -- expired holds, then give free seats to the waitlist (those just
    -- released, and any a promotion passed over earlier because its first
    -- waitlisted row was locked then).
    for r in
        select o.id, coalesce(x.n, 0) as n from registrar.offerings o
        left join (select offering_id, count(*)::integer as n from registrar.enrollments
                   where id = any (v_ids) group by offering_id) x on x.offering_id = o.id
        where x.n is not null
           or (o.seats_taken < o.capacity
               and exists (select 1 from registrar.enrollments w
                           where w.offering_id = o.id and w.status = 'waitlisted'))
        order by o.id
    loop
        if r.n > 0 then
            update registrar.offerings set seats_taken = seats_taken - r.n where id = r.id;
        end if;
        v_promoted := v_promoted + registrar.promote_waitlist(r.id, p_limit);
    end loop;

    perform registrar.release_sessions(v_ids);

    -- Payments whose request died with the charge in flight, for a
    -- registration that has since expired or been cancelled: settled
    -- without a charge (their keys then replay the refusal).
    for r in
        select p.id, e as e from registrar.payments p
        join registrar.enrollments e on e.id = p.enrollment_id
        where p.status = 'pending' and e.status in ('expired', 'cancelled')
          and p.created_at < now() - interval '5 minutes'
          and (e.payment_started_at is null or e.payment_started_at < now() - interval '5 minutes')
        order by p.created_at
        limit p_limit
        for update of p skip locked
    loop
        perform registrar.payment_abandon(r.id, r.e);
        v_settled := v_settled + 1;
    end loop;

    -- Idempotency keys are kept 24 hours.
    delete from registrar.idempotency_keys
    where ctid = any (array(select ctid from registrar.idempotency_keys
                            where expires_at <= now() limit p_limit));

    return json_build_object('expired', cardinality(v_ids), 'promoted', v_promoted,
        'payments_settled', v_settled);
end $$;

