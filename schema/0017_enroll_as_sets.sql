-- 0017: a batch of registrations decided as a set (issue 12).
--
-- enroll_batch in 0015 decided its learners one by one, each with its own
-- statements under the offering's row lock: the learner's row, the active
-- enrollment, the code, the price, the hold count, the seat update, the
-- insert, and per inserted row the message trigger and the JSON (whose
-- waitlist place counted the whole waitlist again). Measured with
-- track_functions, a batch of 64 cost about 0.9 ms per learner, and one
-- process's batches for an offering follow each other, so that cost bounded
-- the rush. Here the same rules are applied with a few statements for the
-- whole batch:
--
--   * the facts about every learner in one query (before the offering's
--     lock, which they do not need: the learners' own advisory locks keep
--     their registrations still);
--   * the price by price_quote once per distinct profession and code;
--   * the decisions in arrival order, in memory, under the offering's lock;
--   * one seat update, one code update and one insert for the batch;
--   * the registration messages and the erased-account refusal by
--     statement-level triggers, for every path that inserts registrations;
--   * the learners' rows locked FOR KEY SHARE before the offering's row, so
--     that an erasure racing the batch is waited for and refuses its
--     learner alone (the insert's foreign key check took that lock with
--     the offering's held, and a refusal by the trigger failed the batch);
--   * the waitlist places from one count, exact under the offering's lock.
--
-- The outcomes are enroll_batch's in 0015 for every input; the single
-- registration is still a batch of one (enroll in 0015, unchanged).

-- ---------------------------------------------------------------------------
-- API.md's `enrollment` with the waitlist place given (a caller that knows
-- it spares the count); the two-argument form counts it as before. Both
-- are PL/pgSQL now, as is outbox_to_user below: a SQL-language function
-- that cannot be inlined is parsed and planned again in every statement
-- that calls it (about 0.5 ms for this one), a PL/pgSQL function's plans
-- are kept by the session.

create function registrar.enrollment_json(e registrar.enrollments, o registrar.offerings,
    p_waitlist_position integer) returns jsonb
language plpgsql stable as $$
begin
    return jsonb_build_object(
        'id', e.id,
        'offering_id', e.offering_id,
        'user_id', e.user_id,
        'status', e.status,
        'price_cents', e.price_cents,
        'discount_cents', e.discount_cents,
        'amount_due_cents', e.amount_due_cents,
        'paid_cents', e.paid_cents,
        'currency', e.currency,
        'hold_expires_at', case when e.status = 'held' then registrar.rfc3339(e.hold_expires_at, o.timezone) end,
        'waitlist_position', case when e.status = 'waitlisted' then p_waitlist_position end,
        'session_ids', coalesce((select jsonb_agg(s.id order by s.starts_at, s.id)
                                 from registrar.enrollment_sessions es
                                 join registrar.sessions s on s.id = es.session_id
                                 where es.enrollment_id = e.id), '[]'::jsonb),
        'refund_cents', e.refund_cents,
        'refund_if_cancelled_cents', case when e.status in ('applied', 'held', 'confirmed', 'waitlisted')
                                          then registrar.refund_preview(e, o) end,
        'note', e.note,
        'created_at', registrar.rfc3339(e.created_at, o.timezone),
        'updated_at', registrar.rfc3339(e.updated_at, o.timezone));
end $$;

create or replace function registrar.enrollment_json(e registrar.enrollments, o registrar.offerings) returns jsonb
language plpgsql stable as $$
begin
    return registrar.enrollment_json(e, o, registrar.waitlist_position(e));
end $$;

-- A message to each of p_users[i] (subject p_subjects[i], body
-- p_bodies[i]), in that order, by one statement; outbox_to_user of 0004 is
-- a message to one, now through it (and in PL/pgSQL, above).
create function registrar.outbox_to_users(p_users uuid[], p_subjects text[], p_bodies text[]) returns void
language plpgsql as $$
begin
    insert into registrar.outbox (recipient, subject, body)
    select u.email, left(m.subject, 200), format(E'Hello %s,\n\n%s\n', u.full_name, m.body)
    from unnest(p_users, p_subjects, p_bodies) with ordinality m(user_id, subject, body, i)
    join registrar.users u on u.id = m.user_id
    order by m.i;
end $$;

create or replace function registrar.outbox_to_user(p_user uuid, p_subject text, p_body text) returns void
language plpgsql as $$
begin
    perform registrar.outbox_to_users(array[p_user], array[p_subject], array[p_body]);
end $$;

-- ---------------------------------------------------------------------------
-- Every registration is confirmed to its learner by a message (as in 0011),
-- now once per statement over the rows it inserted: one insert into the
-- outbox for all of them.

drop trigger enrollments_message on registrar.enrollments;
drop function registrar.enrollments_message();

create function registrar.enrollments_message() returns trigger
language plpgsql as $$
declare
    v_url text := registrar.public_url();
begin
    perform registrar.outbox_to_users(array_agg(n.user_id), array_agg('Registration: ' || o.title),
        array_agg(format(E'%s\n\nYour registration: %s',
            case n.status
                when 'confirmed' then format('Your seat in %s is confirmed.', o.title)
                when 'held' then format('A seat in %s is held for you; pay for it before %s to keep it.',
                    o.title, registrar.rfc3339(n.hold_expires_at, o.timezone))
                when 'waitlisted' then format('You are on the waitlist of %s.', o.title)
                else format('Your application for %s was received.', o.title) end,
            v_url || '/#/registrations/' || n.id)))
    from new_enrollments n
    join registrar.offerings o on o.id = n.offering_id;
    return null;
end $$;

create trigger enrollments_message after insert on registrar.enrollments
    referencing new table as new_enrollments
    for each statement execute function registrar.enrollments_message();

-- ---------------------------------------------------------------------------
-- A registration of an erased account is refused (as in 0008), now once per
-- statement: by the time statement triggers run, the foreign key's check
-- has locked every learner's row FOR KEY SHARE (waiting for an erasure in
-- progress, whose FOR UPDATE excludes it), and this query's snapshot is
-- newer than that wait, so an erasure that raced the insert is seen.

drop trigger enrollments_refuse_erased on registrar.enrollments;
drop function registrar.enrollments_refuse_erased();

create function registrar.enrollments_refuse_erased() returns trigger
language plpgsql as $$
begin
    if exists (select 1 from new_enrollments n join registrar.users u on u.id = n.user_id
               where u.erased_at is not null) then
        perform registrar.raise_app('RG401', 'unauthenticated', 'This account has been deleted.');
    end if;
    return null;
end $$;

create trigger enrollments_refuse_erased after insert on registrar.enrollments
    referencing new table as new_enrollments
    for each statement execute function registrar.enrollments_refuse_erased();

-- ---------------------------------------------------------------------------
-- The profession a registration was priced for (0011) is filled in only
-- when the insert did not give it: the trigger no longer runs for rows
-- that have it (every row enroll_batch inserts).

drop trigger enrollments_fill_profession on registrar.enrollments;
create trigger enrollments_fill_profession before insert on registrar.enrollments
    for each row when (new.profession is null)
    execute function registrar.enrollments_fill_profession();

-- ---------------------------------------------------------------------------
-- POST /api/v1/offerings/{id}/enrollments for p_users[i] with p_codes[i]:
-- the contract, the outcomes and the locking of 0015, in the same order
-- (the learners' advisory locks by id, their expired holds, the codes named
-- FOR UPDATE by id, the offering FOR NO KEY UPDATE), with the learners'
-- facts read between the codes and the offering so that the offering's
-- lock is held for the decisions and the writes alone.
--
-- Decided in arrival order: the checks of 0015 in its order (verified,
-- open, not already registered, also not earlier in this batch, the code
-- valid with a use left after the earlier learners' uses, the hold cap for
-- a hold); then the status (applied, waitlisted when no seat is left after
-- the earlier learners', confirmed when nothing is due, else held). The
-- seats are one conditional update (seats_taken + k <= capacity, as the
-- check constraint also demands), so that two processes batching at once
-- still cannot oversell. A lost race on the partial unique index (a
-- registration by a path without the advisory lock) gives its seat and
-- code use back and answers 409, as before.
create or replace function registrar.enroll_batch(p_users uuid[], p_offering uuid, p_codes text[])
returns table (n integer, code integer, slug text, detail text, body json)
language plpgsql
-- Every lookup here has its index. A session keeps the plans it made first,
-- and a plan made while the tables were small (a server started on a new
-- database, then a rush) may scan a table that has since grown to
-- thousands of rows, with the offering's lock held; in 20-s bench-rush runs
-- such plans brought one process from about 3,900 registrations/s to 1,804
-- (p99 from 33 to 211 ms). Without sequential scans the plans are index
-- probes whatever the statistics were.
set enable_seqscan = off
as $$
#variable_conflict use_column
declare
    o registrar.offerings;
    v_count integer := coalesce(array_length(p_users, 1), 0);
    v_closed text;
    -- What is known of each learner, by place in the batch.
    v_verified boolean[];
    v_profession text[];
    v_existing uuid[];
    v_code_id uuid[];
    v_code_usable boolean[];
    v_code_left integer[];
    v_price integer[];
    v_discount integer[];
    v_holds integer[];
    -- The outcome of each: a refusal, or the enrollment to insert.
    v_refused integer[] := array_fill(null::integer, array[v_count]);
    v_slug text[] := array_fill(null::text, array[v_count]);
    v_detail text[] := array_fill(null::text, array[v_count]);
    v_id uuid[] := array_fill(null::uuid, array[v_count]);
    v_status text[] := array_fill(null::text, array[v_count]);
    v_seq bigint[] := array_fill(null::bigint, array[v_count]);
    v_use uuid[] := array_fill(null::uuid, array[v_count]);
    -- The codes of this batch and the uses each has left.
    v_cids uuid[] := '{}';
    v_cleft integer[] := '{}';
    -- The learners accepted so far, and their enrollments' ids.
    v_in uuid[] := '{}';
    v_in_ids uuid[] := '{}';
    v_c integer;
    v_k integer;
    v_st text;
    v_seats_left integer;
    v_taken integer := 0;
    v_accepted integer := 0;
    v_made uuid[];
    v_rows registrar.enrollments[];
    v_before integer;
begin
    if coalesce(array_length(p_codes, 1), 0) <> v_count then
        perform registrar.raise_app('RG400', 'invalid-request', 'One discount code (or null) per learner.');
    end if;
    select * into o from registrar.offerings where id = p_offering;
    if o.id is null or o.status = 'draft' then
        return query select i, 404, 'not-found'::text, null::text, null::json
                     from generate_series(1, v_count) i;
        return;
    end if;
    if o.status <> 'open' or now() < coalesce(o.registration_opens_at, '-infinity')
       or now() >= coalesce(o.registration_closes_at, 'infinity') then
        v_closed := case
            when o.status <> 'open' then 'Registration for this offering is not open.'
            when now() < coalesce(o.registration_opens_at, '-infinity') then
                format('Registration opens at %s.', registrar.rfc3339(o.registration_opens_at, o.timezone))
            else 'Registration for this offering has closed.' end;
    end if;

    -- The learners' locks, their expired holds, the codes named (as in 0015).
    perform pg_advisory_xact_lock(20072, hashtext(x.id::text))
    from (select distinct unnest(p_users) as id) x order by x.id;
    if v_closed is null then
        perform registrar.expire_own_hold(x.user_id, p_offering)
        from (select distinct h.user_id from registrar.enrollments h
              where h.user_id = any(p_users) and h.offering_id = p_offering
                and h.status = 'held' and h.hold_expires_at <= now()) x
        order by x.user_id;
    end if;
    if array_remove(p_codes, null) <> '{}' then
        perform 1 from registrar.discount_codes c
        where c.offering_id = p_offering
          and lower(c.code) in (select lower(btrim(t)) from unnest(p_codes) t where t is not null)
        order by c.id
        for update;
    end if;

    -- The learners' facts: verified, profession, active registration here,
    -- the code they named (as price_quote tests it, the uses counted below).
    -- Each lookup is one index probe per learner (a lateral, and no
    -- sequential scan: see the function's settings above). The learner's
    -- row is locked FOR KEY SHARE, as the insert's foreign key check would
    -- lock it: an erasure in progress (FOR UPDATE) is waited for and then
    -- seen (its email no longer verified), so that an erased learner is
    -- refused alone instead of the trigger below refusing the whole batch.
    select array_agg(u.email_verified_at is not null order by b.i),
           array_agg(u.profession order by b.i),
           array_agg(x.id order by b.i),
           array_agg(d.id order by b.i),
           array_agg(d.id is not null and (d.expires_at is null or d.expires_at > now()) order by b.i),
           array_agg(d.max_uses - d.uses order by b.i)
    into v_verified, v_profession, v_existing, v_code_id, v_code_usable, v_code_left
    from unnest(p_users, p_codes) with ordinality b(user_id, dcode, i)
    left join lateral (
        select u.email_verified_at, u.profession from registrar.users u
        where u.id = b.user_id for key share) u on true
    left join lateral (
        select x.id from registrar.enrollments x
        where x.user_id = b.user_id and x.offering_id = p_offering
          and x.status in ('applied', 'held', 'confirmed', 'waitlisted') limit 1) x on true
    left join registrar.discount_codes d
        on b.dcode is not null and d.offering_id = p_offering and lower(d.code) = lower(btrim(b.dcode));

    -- The price of each, by price_quote once per profession and usable code;
    -- and, only for a learner who would owe money, the holds they have.
    with b as (
        select b.i, b.user_id, b.profession,
               case when b.usable and b.left_ > 0 then b.dcode end as qcode
        from unnest(p_users, p_codes, v_profession, v_code_usable, v_code_left)
             with ordinality b(user_id, dcode, profession, usable, left_, i)
    ), k as (
        select distinct b.profession, b.qcode from b
    ), q as (
        select k.profession, k.qcode, p.price_cents, p.discount_cents
        from k cross join lateral registrar.price_quote(o, k.profession, k.qcode) p
    )
    select array_agg(q.price_cents order by b.i),
           array_agg(q.discount_cents order by b.i),
           array_agg(h.n order by b.i)
    into v_price, v_discount, v_holds
    from b
    left join q on q.profession is not distinct from b.profession and q.qcode is not distinct from b.qcode
    left join lateral (
        select count(*)::integer as n from registrar.enrollments h
        where h.user_id = b.user_id and h.status = 'held' and h.hold_expires_at > now()
          and not o.requires_application and q.price_cents > q.discount_cents) h on true;

    -- The offering, and each learner's outcome in arrival order.
    select * into o from registrar.offerings where id = p_offering for no key update;
    v_seats_left := greatest(o.capacity - o.seats_taken, 0);
    for i in 1 .. v_count loop
        if not coalesce(v_verified[i], false) then
            v_refused[i] := 403;
            v_slug[i] := 'email-unverified';
            v_detail[i] := jsonb_build_object('detail',
                'Confirm your email address before registering: open the link we sent you, or ask for a new one.')::text;
            continue;
        end if;
        if v_closed is not null then
            v_refused[i] := 422;
            v_slug[i] := 'registration-closed';
            v_detail[i] := jsonb_build_object('detail', v_closed)::text;
            continue;
        end if;
        v_k := array_position(v_in, p_users[i]);
        if v_existing[i] is not null or v_k is not null then
            v_refused[i] := 409;
            v_slug[i] := 'already-enrolled';
            v_detail[i] := jsonb_build_object('detail', 'You are already registered for this offering.',
                'enrollment_id', coalesce(v_existing[i], v_in_ids[v_k]))::text;
            continue;
        end if;
        v_c := null;
        if p_codes[i] is not null then
            if v_code_id[i] is not null then
                v_c := array_position(v_cids, v_code_id[i]);
                if v_c is null then
                    v_cids := v_cids || v_code_id[i];
                    v_cleft := v_cleft || v_code_left[i];
                    v_c := array_length(v_cids, 1);
                end if;
            end if;
            if v_c is null or not v_code_usable[i] or v_cleft[v_c] <= 0 then
                v_refused[i] := 422;
                v_slug[i] := 'discount-code-invalid';
                v_detail[i] := jsonb_build_object('detail', 'This discount code cannot be used for this offering.',
                    'errors', jsonb_build_array(jsonb_build_object(
                        'field', 'discount_code', 'message', 'is not a valid code for this offering')))::text;
                continue;
            end if;
        end if;
        v_st := case when o.requires_application then 'applied'
                     when v_seats_left <= 0 then 'waitlisted'
                     when v_price[i] - v_discount[i] = 0 then 'confirmed' else 'held' end;
        if v_st = 'held' and v_holds[i] >= 3 then
            v_refused[i] := 409;
            v_slug[i] := 'too-many-holds';
            v_detail[i] := jsonb_build_object('detail',
                'You already hold 3 unpaid seats. Pay for one of them, or cancel one, before registering for another.',
                'max_holds', 3)::text;
            continue;
        end if;
        v_id[i] := gen_random_uuid();
        v_in := v_in || p_users[i];
        v_in_ids := v_in_ids || v_id[i];
        v_status[i] := v_st;
        v_accepted := v_accepted + 1;
        if v_st in ('held', 'confirmed') then
            v_seats_left := v_seats_left - 1;
            v_taken := v_taken + 1;
        elsif v_st = 'waitlisted' then
            v_seq[i] := nextval('registrar.waitlist_seq');
        end if;
        if v_c is not null then
            v_cleft[v_c] := v_cleft[v_c] - 1;
            v_use[i] := v_code_id[i];
        end if;
    end loop;

    -- The writes, once for the batch.
    if v_taken > 0 then
        update registrar.offerings set seats_taken = seats_taken + v_taken
        where id = p_offering and seats_taken + v_taken <= capacity;
        assert found, 'seats seen free under the row lock are free';
    end if;
    if array_remove(v_use, null) <> '{}' then
        update registrar.discount_codes c set uses = c.uses + u.n
        from (select x.id, count(*)::integer as n from unnest(v_use) x(id) where x.id is not null group by x.id) u
        where c.id = u.id;
    end if;
    if v_accepted > 0 then
        with ins as (
            insert into registrar.enrollments as e (id, offering_id, user_id, status, price_cents,
                discount_cents, currency, discount_code_id, hold_expires_at, waitlist_seq, profession)
            select a.id, p_offering, a.user_id, a.status, a.price, a.discount, o.currency, a.code_id,
                   case when a.status = 'held' then now() + make_interval(mins => o.hold_minutes) end,
                   a.seq, a.profession
            from unnest(v_id, p_users, v_status, v_price, v_discount, v_use, v_seq, v_profession)
                 with ordinality a(id, user_id, status, price, discount, code_id, seq, profession, i)
            where a.id is not null
            order by a.i
            on conflict (user_id, offering_id) where status in ('applied', 'held', 'confirmed', 'waitlisted')
            do nothing
            returning e
        )
        select coalesce(array_agg(ins.e), '{}') into v_rows from ins;
    end if;
    v_made := array(select r.id from unnest(v_rows) r);
    if coalesce(array_length(v_made, 1), 0) < v_accepted then
        -- Lost to a registration by another path: its seat and use go back.
        for i in 1 .. v_count loop
            if v_id[i] is not null and not v_id[i] = any(v_made) then
                if v_status[i] in ('held', 'confirmed') then
                    update registrar.offerings set seats_taken = seats_taken - 1 where id = p_offering;
                end if;
                if v_use[i] is not null then
                    update registrar.discount_codes set uses = uses - 1 where id = v_use[i];
                end if;
                v_id[i] := null;
                v_refused[i] := 409;
                v_slug[i] := 'already-enrolled';
                v_detail[i] := jsonb_build_object('detail', 'You are already registered for this offering.')::text;
            end if;
        end loop;
    end if;

    -- Each learner's row. A waitlisted one's place: the offering's places
    -- before this batch's first (all drawn under this lock, so all counted)
    -- plus its rank in the batch.
    select count(*)::integer into v_before from registrar.enrollments w
    where w.offering_id = p_offering and w.status = 'waitlisted'
      and w.waitlist_seq < (select min(r.waitlist_seq) from unnest(v_rows) r where r.status = 'waitlisted');
    return query
    select b.i::integer, coalesce(v_refused[b.i], 201), v_slug[b.i], v_detail[b.i],
           case when r.id is not null
                then registrar.enrollment_json(r.er, o, v_before + r.place::integer)::json end
    from generate_series(1, v_count) b(i)
    left join (
        select x as er, x.id, row_number() over (partition by x.status order by x.waitlist_seq) as place
        from unnest(v_rows) x
    ) r on r.id = v_id[b.i]
    order by b.i;
end $$;
