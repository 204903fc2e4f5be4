-- 0004: enrollments and their state machine, holds and the waitlist,
-- workshop choices, discount codes, payments, idempotency keys, processor
-- webhooks, rosters.
--
-- The rules that must never break are constraints:
--   * seats: offerings.seats_taken (held + confirmed) <= capacity is 0003's
--     check; every function here changes it only with a conditional
--     `update ... set seats_taken = seats_taken + 1 where seats_taken < capacity`,
--     which under READ COMMITTED re-checks its condition on the newest row
--     after waiting for the row lock, so no concurrency and no number of
--     server processes can oversell;
--   * one active enrollment per learner and offering: a partial unique index;
--   * session seats and discount uses: the same conditional update, backed
--     by checks (sessions_seats_within_capacity, discount_codes_uses_within_max);
--   * one payment in flight per enrollment: a partial unique index;
--   * money never negative, refunds never above the charge: checks.
--
-- Every transition is one function called in one round trip. Row locks are
-- always taken in the same order, so that no two transitions can deadlock:
--     enrollment -> discount codes (by id) -> offerings (by id) -> sessions (by id)
-- and, at any point after the offering, waitlisted enrollments with SKIP
-- LOCKED, which never waits and so cannot close a cycle.
-- A registration takes only the discount code (when one is given) and the
-- offering, and holds the offering's lock from its seat update to its
-- commit: a few microseconds, which is what makes a rush fast.
--
-- Seats change without NOTIFY (see 0003): public caches bound staleness.

-- ---------------------------------------------------------------------------
-- Tables

-- Waitlist order: first come, first served, across all offerings. A
-- learner's position is the number of waitlisted enrollments of the same
-- offering with a number not above theirs, so positions are always 1..n.
create sequence registrar.waitlist_seq;

create table registrar.discount_codes (
    id uuid primary key default gen_random_uuid(),
    offering_id uuid not null references registrar.offerings (id) on delete cascade,
    code text not null check (code ~ '^[A-Za-z0-9_-]{3,40}$'),
    percent_off integer check (percent_off between 1 and 100),
    amount_off_cents integer check (amount_off_cents between 1 and 100000000),
    max_uses integer not null check (max_uses between 1 and 1000000),
    uses integer not null default 0,
    expires_at timestamptz,
    created_by uuid,
    created_at timestamptz not null default now(),
    constraint discount_codes_one_kind check ((percent_off is null) <> (amount_off_cents is null)),
    constraint discount_codes_uses_within_max check (uses >= 0 and uses <= max_uses)
);
-- Codes are case-insensitive within an offering.
create unique index discount_codes_code on registrar.discount_codes (offering_id, lower(code));

create table registrar.enrollments (
    id uuid primary key default gen_random_uuid(),
    offering_id uuid not null references registrar.offerings (id) on delete restrict,
    user_id uuid not null references registrar.users (id) on delete restrict,
    status text not null check (status in ('applied', 'held', 'confirmed', 'waitlisted',
        'rejected', 'cancelled', 'expired')),
    price_cents integer not null check (price_cents >= 0),
    discount_cents integer not null default 0,
    amount_due_cents integer generated always as (price_cents - discount_cents) stored,
    paid_cents integer not null default 0 check (paid_cents >= 0),
    refund_cents integer check (refund_cents >= 0),
    currency text not null check (currency ~ '^[A-Z]{3}$'),
    discount_code_id uuid references registrar.discount_codes (id) on delete set null,
    hold_expires_at timestamptz,
    -- Set while a charge is in flight: the sweep leaves the hold alone
    -- (for five minutes at most) and a cancellation waits for the outcome.
    payment_started_at timestamptz,
    waitlist_seq bigint,
    note text check (char_length(note) <= 2000),
    cancel_reason text check (char_length(cancel_reason) <= 2000),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint enrollments_discount_within_price check (discount_cents between 0 and price_cents),
    constraint enrollments_paid_within_due check (paid_cents <= price_cents - discount_cents),
    constraint enrollments_held_has_hold check (status <> 'held' or hold_expires_at is not null),
    constraint enrollments_waitlisted_has_place check (status <> 'waitlisted' or waitlist_seq is not null)
);
create unique index enrollments_one_active on registrar.enrollments (user_id, offering_id)
    where status in ('applied', 'held', 'confirmed', 'waitlisted');
create index enrollments_user on registrar.enrollments (user_id, created_at desc, id desc);
create index enrollments_offering on registrar.enrollments (offering_id, created_at, id);
create index enrollments_waitlist on registrar.enrollments (offering_id, waitlist_seq)
    where status = 'waitlisted';
create index enrollments_holds_due on registrar.enrollments (hold_expires_at) where status = 'held';

-- Workshops and small groups a learner chose.
create table registrar.enrollment_sessions (
    enrollment_id uuid not null references registrar.enrollments (id) on delete cascade,
    session_id uuid not null references registrar.sessions (id) on delete restrict,
    created_at timestamptz not null default now(),
    primary key (enrollment_id, session_id)
);
create index enrollment_sessions_session on registrar.enrollment_sessions (session_id);

-- Charges through the processor. No card data: the processor's token is
-- used once and never stored; processor_ref names the charge.
create table registrar.payments (
    id uuid primary key default gen_random_uuid(),
    enrollment_id uuid not null references registrar.enrollments (id) on delete restrict,
    -- The payer; stays (as a pseudonymous id) when an account is erased.
    user_id uuid not null,
    status text not null check (status in ('pending', 'succeeded', 'declined', 'refunded')),
    amount_cents integer not null check (amount_cents > 0),
    currency text not null check (currency ~ '^[A-Z]{3}$'),
    processor text not null default 'test',
    processor_ref text unique check (char_length(processor_ref) <= 100),
    refunded_cents integer not null default 0,
    refund_status text check (refund_status in ('pending', 'succeeded', 'failed')),
    refund_ref text check (char_length(refund_ref) <= 100),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint payments_refund_within_amount check (refunded_cents between 0 and amount_cents)
);
create index payments_enrollment on registrar.payments (enrollment_id, created_at);
create index payments_user on registrar.payments (user_id, created_at);
create unique index payments_one_pending on registrar.payments (enrollment_id) where status = 'pending';

-- Idempotency-Key of POST /enrollments/{id}/payments, per learner. The row
-- is inserted (and committed) before the charge; the first response is
-- stored when it is known and replayed to every repeat of the same body.
create table registrar.idempotency_keys (
    user_id uuid not null,
    key text not null check (char_length(key) between 1 and 255),
    fingerprint bytea not null,
    payment_id uuid,
    -- While the first request runs; a key locked for over a minute belongs
    -- to a request that died, and a repeat may take it over.
    locked_at timestamptz,
    response_status integer,
    response_body text,
    created_at timestamptz not null default now(),
    expires_at timestamptz not null default now() + interval '24 hours',
    primary key (user_id, key)
);
create index idempotency_keys_expires on registrar.idempotency_keys (expires_at);

-- Webhook deliveries, by the processor's event id: a repeat changes nothing.
create table registrar.webhook_events (
    id text primary key check (char_length(id) between 1 and 255),
    type text not null check (char_length(type) between 1 and 100),
    payload jsonb not null,
    applied boolean not null,
    received_at timestamptz not null default now()
);

-- ---------------------------------------------------------------------------
-- Helpers and JSON forms

create function registrar.raise_app(p_code text, p_slug text, p_detail text,
    p_extra jsonb default '{}'::jsonb) returns void
language plpgsql as $$
begin
    raise exception using errcode = p_code, message = p_slug,
        detail = (jsonb_build_object('detail', p_detail) || coalesce(p_extra, '{}'::jsonb))::text;
end $$;

-- The percentage of the payment refunded on cancelling at p_at: the rule
-- with the largest until_days_before that the cancellation still meets,
-- counting whole days to starts_on in the offering's time zone; none, 0.
create function registrar.refund_percent(o registrar.offerings, p_at timestamptz) returns integer
language sql stable as $$
    select coalesce((
        select r.refund_percent from registrar.offering_cancellation_rules r
        where r.offering_id = o.id
          and r.until_days_before <= o.starts_on - (p_at at time zone o.timezone)::date
        order by r.until_days_before desc
        limit 1), 0)
$$;

-- The refund a cancellation would give now.
create function registrar.refund_preview(e registrar.enrollments, o registrar.offerings) returns integer
language sql stable as $$
    select case when e.status = 'confirmed' and e.paid_cents > 0
                then (e.paid_cents * registrar.refund_percent(o, now())) / 100
                else 0 end
$$;

create function registrar.waitlist_position(e registrar.enrollments) returns integer
language sql stable as $$
    select case when e.status = 'waitlisted' then (
        select count(*)::integer from registrar.enrollments w
        where w.offering_id = e.offering_id and w.status = 'waitlisted'
          and w.waitlist_seq <= e.waitlist_seq) end
$$;

-- API.md's `enrollment`, times in the offering's zone p_tz.
create function registrar.enrollment_json(e registrar.enrollments, o registrar.offerings) returns jsonb
language sql stable as $$
    select jsonb_build_object(
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
        'waitlist_position', registrar.waitlist_position(e),
        'session_ids', coalesce((select jsonb_agg(s.id order by s.starts_at, s.id)
                                 from registrar.enrollment_sessions es
                                 join registrar.sessions s on s.id = es.session_id
                                 where es.enrollment_id = e.id), '[]'::jsonb),
        'refund_cents', e.refund_cents,
        'refund_if_cancelled_cents', case when e.status in ('applied', 'held', 'confirmed', 'waitlisted')
                                          then registrar.refund_preview(e, o) end,
        'note', e.note,
        'created_at', registrar.rfc3339(e.created_at, o.timezone),
        'updated_at', registrar.rfc3339(e.updated_at, o.timezone))
$$;

-- The offering as a learner's list of registrations shows it.
create function registrar.enrollment_offering_json(o registrar.offerings) returns jsonb
language sql stable as $$
    select jsonb_build_object(
        'id', o.id,
        'course_slug', (select c.slug from registrar.courses c where c.id = o.course_id),
        'title', o.title,
        'status', o.status,
        'starts_on', o.starts_on,
        'ends_on', o.ends_on,
        'timezone', o.timezone,
        'venue', o.venue)
$$;

-- API.md's `payment`.
create function registrar.payment_json(p registrar.payments) returns jsonb
language sql stable as $$
    select jsonb_build_object(
        'id', p.id,
        'enrollment_id', p.enrollment_id,
        'status', p.status,
        'amount_cents', p.amount_cents,
        'refunded_cents', p.refunded_cents,
        'currency', p.currency,
        'processor_ref', p.processor_ref,
        'created_at', registrar.rfc3339(p.created_at, 'UTC'))
$$;

create function registrar.discount_code_json(d registrar.discount_codes) returns jsonb
language sql stable as $$
    select jsonb_build_object(
        'id', d.id,
        'offering_id', d.offering_id,
        'code', d.code,
        'percent_off', d.percent_off,
        'amount_off_cents', d.amount_off_cents,
        'max_uses', d.max_uses,
        'uses', d.uses,
        'expires_at', registrar.rfc3339(d.expires_at, 'UTC'),
        'created_at', registrar.rfc3339(d.created_at, 'UTC'))
$$;

-- The price of offering o for a learner of profession p_profession: the
-- profession's price (else the 'other' price, else free), the early price
-- while today in the offering's zone is not after early_until, less the
-- discount code p_code (null: none). An unknown, expired or used-up code
-- is 422 discount-code-invalid. Reads only; enroll() counts the use.
create function registrar.price_quote(o registrar.offerings, p_profession text, p_code text,
    out price_cents integer, out discount_cents integer, out discount_code_id uuid,
    out early boolean)
language plpgsql stable as $$
declare
    v_today date := (now() at time zone o.timezone)::date;
    d registrar.discount_codes;
begin
    select case when p.early_until is not null and v_today <= p.early_until
                then p.early_amount_cents else p.amount_cents end,
           p.early_until is not null and v_today <= p.early_until
    into price_cents, early
    from registrar.offering_prices p
    where p.offering_id = o.id and p.profession in (p_profession, 'other')
    order by p.profession = p_profession desc
    limit 1;
    price_cents := coalesce(price_cents, 0);
    early := coalesce(early, false);
    discount_cents := 0;
    if p_code is null then
        return;
    end if;
    select * into d from registrar.discount_codes c
    where c.offering_id = o.id and lower(c.code) = lower(btrim(p_code));
    if d.id is null or (d.expires_at is not null and d.expires_at <= now()) or d.uses >= d.max_uses then
        perform registrar.raise_app('RG422', 'discount-code-invalid',
            case when d.id is null then 'There is no such discount code for this offering.'
                 when d.uses >= d.max_uses then 'This discount code has been used up.'
                 else 'This discount code has expired.' end,
            jsonb_build_object('errors', jsonb_build_array(jsonb_build_object(
                'field', 'discount_code', 'message', 'is not a valid code for this offering'))));
    end if;
    discount_code_id := d.id;
    discount_cents := case when d.percent_off is not null then (price_cents * d.percent_off) / 100
                           else least(d.amount_off_cents, price_cents) end;
end $$;

create function registrar.outbox_to_user(p_user uuid, p_subject text, p_body text) returns void
language sql as $$
    insert into registrar.outbox (recipient, subject, body)
    select u.email, left(p_subject, 200), format(E'Hello %s,\n\n%s\n', u.full_name, p_body)
    from registrar.users u where u.id = p_user
$$;

-- ---------------------------------------------------------------------------
-- Seams of 0003, now real

create or replace function registrar.offering_waitlist_length(p_offering uuid) returns integer
language sql stable as $$
    select count(*)::integer from registrar.enrollments
    where offering_id = p_offering and status = 'waitlisted'
$$;

-- A confirmed learner's feed: every session everyone attends (plenaries,
-- breaks) and the workshops and small groups they chose.
create or replace function registrar.calendar_feed_sessions(p_user uuid) returns table (session_id uuid)
language sql stable as $$
    select s.id
    from registrar.enrollments e
    join registrar.sessions s on s.offering_id = e.offering_id
    where e.user_id = p_user and e.status = 'confirmed'
      and (s.kind not in ('workshop', 'small_group')
           or exists (select 1 from registrar.enrollment_sessions es
                      where es.enrollment_id = e.id and es.session_id = s.id))
$$;

-- Hours of attended sessions; attendance arrives with a later migration,
-- which replaces this seam.
create function registrar.enrollment_attended_hours(p_enrollment uuid) returns numeric
language sql stable as $$ select 0::numeric $$;

-- ---------------------------------------------------------------------------
-- Seats: releasing one and giving it to the waitlist

-- Gives up to p_max free seats of the offering to the first waitlisted
-- learners, each a fresh hold (or confirmed when nothing is due), and tells
-- them through the outbox. Returns how many were promoted.
--
-- Locking: the first waitlisted enrollment FOR UPDATE SKIP LOCKED (one that
-- is being cancelled right now is passed over, never waited for), then the
-- offering's conditional seat update. Called inside cancel, the sweep and
-- the capacity trigger, whose transactions may already hold the offering.
create function registrar.promote_waitlist(p_offering uuid, p_max integer) returns integer
language plpgsql as $$
declare
    w registrar.enrollments;
    o registrar.offerings;
    v_n integer := 0;
begin
    while v_n < p_max loop
        select * into w from registrar.enrollments
        where offering_id = p_offering and status = 'waitlisted'
        order by waitlist_seq
        limit 1
        for update skip locked;
        exit when not found;
        update registrar.offerings set seats_taken = seats_taken + 1
        where id = p_offering and seats_taken < capacity
        returning * into o;
        exit when not found;
        update registrar.enrollments set
            status = case when amount_due_cents - paid_cents <= 0 then 'confirmed' else 'held' end,
            hold_expires_at = case when amount_due_cents - paid_cents <= 0 then null
                                   when o.requires_application then now() + make_interval(days => o.approval_hold_days)
                                   else now() + make_interval(mins => o.hold_minutes) end,
            updated_at = now()
        where id = w.id
        returning * into w;
        perform registrar.outbox_to_user(w.user_id, 'A seat is yours: ' || o.title,
            case when w.status = 'confirmed'
                 then format('A seat opened in %s and it is yours: your registration is confirmed.', o.title)
                 else format('A seat opened in %s and it is held for you until %s (%s). '
                             'Pay before then to confirm your registration.',
                             o.title, to_char(w.hold_expires_at at time zone o.timezone, 'YYYY-MM-DD HH24:MI'),
                             o.timezone) end);
        v_n := v_n + 1;
    end loop;
    return v_n;
end $$;

-- Frees the workshop seats of enrollments that end: session rows are
-- updated in id order (the global order of session locks), each once.
create function registrar.release_sessions(p_enrollments uuid[]) returns void
language plpgsql as $$
declare
    r record;
begin
    for r in
        select session_id, count(*)::integer as n from registrar.enrollment_sessions
        where enrollment_id = any (p_enrollments)
        group by session_id order by session_id
    loop
        update registrar.sessions set seats_taken = seats_taken - r.n where id = r.session_id;
    end loop;
    delete from registrar.enrollment_sessions where enrollment_id = any (p_enrollments);
end $$;

-- A hold of p_user's on p_offering that has run out but that the sweep has
-- not reached yet is expired now, as the sweep would expire it (its
-- discount use and seat given back, the seat offered to the waitlist), so
-- that registering again in between is not refused as already-enrolled.
--
-- Locking: that enrollment FOR UPDATE (the sweep skips it while it is
-- locked; a payment that began meanwhile keeps it out of the WHERE after
-- the wait), then its discount code, the offering, the waitlist and the
-- session rows: the sweep's own order.
create function registrar.expire_own_hold(p_user uuid, p_offering uuid) returns void
language plpgsql as $$
declare
    e registrar.enrollments;
begin
    select * into e from registrar.enrollments
    where user_id = p_user and offering_id = p_offering and status = 'held'
      and hold_expires_at <= now()
      and (payment_started_at is null or payment_started_at < now() - interval '5 minutes')
    for update;
    if not found then
        return;
    end if;
    update registrar.enrollments set status = 'expired', payment_started_at = null, updated_at = now()
    where id = e.id;
    if e.discount_code_id is not null then
        update registrar.discount_codes set uses = greatest(uses - 1, 0) where id = e.discount_code_id;
    end if;
    update registrar.offerings set seats_taken = seats_taken - 1 where id = p_offering;
    perform registrar.promote_waitlist(p_offering, 1);
    perform registrar.release_sessions(array[e.id]);
end $$;

-- A capacity raised by PATCH /offerings/{id} goes to the waitlist at once,
-- in the same transaction (which holds the offering row already).
create function registrar.offerings_capacity_promote() returns trigger
language plpgsql as $$
begin
    perform registrar.promote_waitlist(new.id, new.capacity - new.seats_taken);
    return null;
end $$;

create trigger offerings_capacity_promote after update of capacity on registrar.offerings
    for each row when (new.capacity > old.capacity)
    execute function registrar.offerings_capacity_promote();

-- ---------------------------------------------------------------------------
-- Registering

-- GET /api/v1/offerings/{id}/price: what registering would cost p_user now.
create function registrar.enrollment_quote(p_user uuid, p_offering uuid, p_code text) returns json
language plpgsql stable as $$
declare
    o registrar.offerings;
    q record;
begin
    select * into o from registrar.offerings where id = p_offering;
    if o.id is null or (o.status = 'draft' and not registrar.can_direct(o.course_id, p_user,
                                                                        registrar.user_is_admin(p_user))) then
        return null;
    end if;
    select * into q from registrar.price_quote(o,
        (select u.profession from registrar.users u where u.id = p_user), p_code);
    return json_build_object(
        'offering_id', o.id,
        'price_cents', q.price_cents,
        'early', q.early,
        'discount_cents', q.discount_cents,
        'amount_due_cents', q.price_cents - q.discount_cents,
        'currency', o.currency,
        'requires_application', o.requires_application,
        'seats_left', greatest(o.capacity - o.seats_taken, 0));
end $$;

-- POST /api/v1/offerings/{id}/enrollments. Null (404) for an unknown or
-- draft offering.
--
-- Locking: reads take no lock. A discount code's use is counted by a
-- conditional update of its row (uses < max_uses), then the seat by the
-- offering's conditional update; both row locks are held to commit, which
-- follows at once. Full: no seat, no lock on the offering, the learner is
-- waitlisted. The insert's ON CONFLICT on the partial unique index catches
-- a second registration of the same learner racing this one; raising then
-- rolls the seat and the code's use back with everything else.
create function registrar.enroll(p_user uuid, p_offering uuid, p_code text) returns json
language plpgsql as $$
declare
    o registrar.offerings;
    e registrar.enrollments;
    q record;
    v_status text;
    v_due integer;
    v_existing uuid;
begin
    select * into o from registrar.offerings where id = p_offering;
    if o.id is null or o.status = 'draft' then
        return null;
    end if;
    if o.status <> 'open' or now() < coalesce(o.registration_opens_at, '-infinity')
       or now() >= coalesce(o.registration_closes_at, 'infinity') then
        perform registrar.raise_app('RG422', 'registration-closed', case
            when o.status <> 'open' then 'Registration for this offering is not open.'
            when now() < coalesce(o.registration_opens_at, '-infinity') then
                format('Registration opens at %s.', registrar.rfc3339(o.registration_opens_at, o.timezone))
            else 'Registration for this offering has closed.' end);
    end if;
    perform registrar.expire_own_hold(p_user, p_offering);
    select id into v_existing from registrar.enrollments
    where user_id = p_user and offering_id = p_offering
      and status in ('applied', 'held', 'confirmed', 'waitlisted');
    if v_existing is not null then
        perform registrar.raise_app('RG409', 'already-enrolled',
            'You are already registered for this offering.', jsonb_build_object('enrollment_id', v_existing));
    end if;
    select * into q from registrar.price_quote(o,
        (select u.profession from registrar.users u where u.id = p_user), p_code);
    v_due := q.price_cents - q.discount_cents;

    if q.discount_code_id is not null then
        update registrar.discount_codes set uses = uses + 1
        where id = q.discount_code_id and uses < max_uses
          and (expires_at is null or expires_at > now());
        if not found then
            perform registrar.raise_app('RG422', 'discount-code-invalid', 'This discount code has been used up.',
                jsonb_build_object('errors', jsonb_build_array(jsonb_build_object(
                    'field', 'discount_code', 'message', 'is not a valid code for this offering'))));
        end if;
    end if;

    if o.requires_application then
        v_status := 'applied';
    else
        update registrar.offerings set seats_taken = seats_taken + 1
        where id = p_offering and seats_taken < capacity;
        v_status := case when not found then 'waitlisted' when v_due = 0 then 'confirmed' else 'held' end;
    end if;

    insert into registrar.enrollments (offering_id, user_id, status, price_cents, discount_cents,
        currency, discount_code_id, hold_expires_at, waitlist_seq)
    values (p_offering, p_user, v_status, q.price_cents, q.discount_cents, o.currency, q.discount_code_id,
        case when v_status = 'held' then now() + make_interval(mins => o.hold_minutes) end,
        case when v_status = 'waitlisted' then nextval('registrar.waitlist_seq') end)
    on conflict (user_id, offering_id) where status in ('applied', 'held', 'confirmed', 'waitlisted')
    do nothing
    returning * into e;
    if e.id is null then
        perform registrar.raise_app('RG409', 'already-enrolled', 'You are already registered for this offering.');
    end if;
    return registrar.enrollment_json(e, o)::json;
end $$;

-- ---------------------------------------------------------------------------
-- Reading enrollments

-- GET /api/v1/enrollments/{id}: its learner, a director of the course, an
-- admin; anyone else gets null (404), so ids cannot be probed.
create function registrar.enrollment_get(p_viewer uuid, p_admin boolean, p_id uuid) returns json
language sql stable as $$
    select (registrar.enrollment_json(e, o) || jsonb_build_object(
        'offering', registrar.enrollment_offering_json(o),
        'payments', coalesce((select jsonb_agg(registrar.payment_json(p) order by p.created_at, p.id)
                              from registrar.payments p where p.enrollment_id = e.id), '[]'::jsonb)))::json
    from registrar.enrollments e
    join registrar.offerings o on o.id = e.offering_id
    where e.id = p_id
      and (e.user_id = p_viewer or registrar.can_direct(o.course_id, p_viewer, p_admin))
$$;

-- GET /api/v1/me/enrollments: newest first. The cursor is the hex of the
-- last item's 'created_at|id'.
create function registrar.me_enrollments(p_user uuid, p_limit integer, p_cursor text) returns json
language plpgsql stable as $$
declare
    v_at timestamptz;
    v_id uuid;
    v_items jsonb;
    v_next text;
begin
    if p_cursor is not null then
        v_at := split_part(convert_from(decode(p_cursor, 'hex'), 'UTF8'), '|', 1)::timestamptz;
        v_id := split_part(convert_from(decode(p_cursor, 'hex'), 'UTF8'), '|', 2)::uuid;
    end if;
    with page as (
        select e, o from registrar.enrollments e join registrar.offerings o on o.id = e.offering_id
        where e.user_id = p_user and (p_cursor is null or (e.created_at, e.id) < (v_at, v_id))
        order by e.created_at desc, e.id desc
        limit p_limit + 1
    ), numbered as (
        select (p.e).created_at as at, (p.e).id as id,
               registrar.enrollment_json(p.e, p.o) || jsonb_build_object('offering',
                   registrar.enrollment_offering_json(p.o)) as body,
               row_number() over (order by (p.e).created_at desc, (p.e).id desc) as n
        from page p
    )
    select coalesce(jsonb_agg(body order by n) filter (where n <= p_limit), '[]'::jsonb),
           max(case when n = p_limit and (select count(*) from numbered) > p_limit
                    then encode(convert_to(to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
                                           || '|' || id, 'UTF8'), 'hex') end)
    into v_items, v_next
    from numbered;
    return json_build_object('items', v_items, 'next_cursor', v_next);
end $$;

-- ---------------------------------------------------------------------------
-- Payments
--
-- POST /api/v1/enrollments/{id}/payments runs in three steps: payment_begin
-- (one transaction, committed), the processor's charge (outside the
-- database), payment_finish (one transaction). The idempotency key's row is
-- committed by payment_begin before anything is charged, so a repeat of
-- the same key (the same learner) can never charge again:
--   * a repeat that arrives while the first is between begin and finish
--     finds the row locked and waits for the stored response, polling
--     (10 ms steps, 5 s at most), then replays it byte for byte;
--   * a repeat after finish replays at once;
--   * a repeat with another body gets 422 idempotency-key-reused;
--   * a key whose first request died (locked over a minute, no response)
--     is taken over by a repeat, which charges again under the same
--     payment id: the processor's own idempotency returns the first charge.
-- Two inserts of the same key at the same instant are decided by the
-- primary key: the second waits for the first's commit, then sees it.

-- Step 1. Returns {action: 'charge', payment_id, amount_cents, currency,
-- processor_ref?} when this request must charge, or {action: 'replay',
-- status, body} with the stored response. Errors before any charge (404,
-- 409 hold-expired, ...) roll the key back with everything else, so they
-- are not stored.
--
-- Locking: the key's row (insert or conditional update), then the
-- enrollment FOR UPDATE, which orders this against the sweep (which then
-- leaves a hold with a payment in flight alone: payment_started_at) and
-- against a cancellation. The partial unique index payments_one_pending
-- allows one charge in flight per enrollment.
create function registrar.payment_begin(p_user uuid, p_enrollment uuid, p_key text, p_token text)
returns json
language plpgsql as $$
declare
    v_fp bytea := sha256(convert_to(p_enrollment::text || E'\n' || p_token, 'UTF8'));
    k registrar.idempotency_keys;
    e registrar.enrollments;
    p registrar.payments;
    v_tries integer := 0;
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
                select * into p from registrar.payments where id = k.payment_id;
                if p.status = 'pending' then
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

-- Step 3: the processor's outcome ('succeeded', 'declined', 'invalid' or
-- 'unavailable'). Returns {status, body}: the response, which is stored in
-- the idempotency key (except for 'unavailable', whose outcome is unknown:
-- the key is left for a repeat to take over). p_problem is the problem
-- document the server made for a decline or an invalid token. Safe to run
-- twice (a webhook may have recorded the outcome first).
--
-- Locking: the payment row, then its enrollment (enrollment_json reads
-- only); no seat changes, the seat was held already.
create function registrar.payment_finish(p_user uuid, p_payment uuid, p_outcome text,
    p_processor_ref text, p_problem text) returns json
language plpgsql as $$
declare
    p registrar.payments;
    e registrar.enrollments;
    o registrar.offerings;
    v_status integer;
    v_body text;
begin
    select * into p from registrar.payments where id = p_payment and user_id = p_user for update;
    if p.id is null then
        return null;
    end if;
    if p_outcome = 'succeeded' and p.status = 'pending' then
        update registrar.payments set status = 'succeeded', processor_ref = p_processor_ref, updated_at = now()
        where id = p.id returning * into p;
        update registrar.enrollments set
            paid_cents = paid_cents + p.amount_cents,
            status = case when status = 'held' then 'confirmed' else status end,
            hold_expires_at = case when status = 'held' then null else hold_expires_at end,
            payment_started_at = null,
            updated_at = now()
        where id = p.enrollment_id;
    elsif p_outcome in ('declined', 'invalid') and p.status = 'pending' then
        update registrar.payments set status = 'declined', updated_at = now() where id = p.id
        returning * into p;
        update registrar.enrollments set payment_started_at = null, updated_at = now()
        where id = p.enrollment_id;
    elsif p_outcome = 'unavailable' then
        update registrar.idempotency_keys set locked_at = now() - interval '1 hour'
        where payment_id = p.id and response_status is null;
        return json_build_object('status', 503, 'body', null);
    end if;
    select * into e from registrar.enrollments where id = p.enrollment_id;
    select * into o from registrar.offerings where id = e.offering_id;
    if p.status in ('succeeded', 'refunded') then
        v_status := 201;
        v_body := jsonb_build_object('payment', registrar.payment_json(p),
                                     'enrollment', registrar.enrollment_json(e, o))::text;
    else
        v_status := case when p_outcome = 'invalid' then 400 else 402 end;
        v_body := p_problem;
    end if;
    update registrar.idempotency_keys set response_status = v_status, response_body = v_body, locked_at = null
    where payment_id = p.id and response_status is null;
    return json_build_object('status', v_status, 'body', v_body);
end $$;

-- After a refund went through the processor (or failed there).
create function registrar.refund_finish(p_payment uuid, p_ok boolean, p_refund_ref text) returns void
language sql as $$
    update registrar.payments set
        status = case when p_ok then 'refunded' else status end,
        refund_status = case when p_ok then 'succeeded' else 'failed' end,
        refund_ref = coalesce(p_refund_ref, refund_ref),
        updated_at = now()
    where id = p_payment and refund_status = 'pending'
$$;

-- Refunds the processor could not make at the time: the jobs thread retries.
create function registrar.refunds_pending(p_limit integer) returns json
language sql stable as $$
    select coalesce(json_agg(json_build_object('payment_id', p.id, 'processor_ref', p.processor_ref,
                                               'amount_cents', p.refunded_cents)), '[]'::json)
    from (select * from registrar.payments
          where refund_status = 'pending' and updated_at < now() - interval '1 minute'
          order by updated_at limit p_limit) p
$$;

-- POST /api/v1/payments/webhook, after the signature checked out. The
-- event id's row decides: a repeat changes nothing and says so.
-- Events: payment.succeeded / payment.failed {data: {payment_id,
-- processor_ref}} settle a charge whose response was lost;
-- payment.refunded {data: {processor_ref, amount_cents}} records a refund
-- made at the processor. Others are recorded and ignored.
create function registrar.payment_webhook(p_event_id text, p_type text, p_payload jsonb) returns json
language plpgsql as $$
declare
    v_data jsonb := coalesce(p_payload->'data', '{}'::jsonb);
    p registrar.payments;
    v_applied boolean := false;
    v_inserted text;
    v_amount integer;
begin
    insert into registrar.webhook_events (id, type, payload, applied)
    values (p_event_id, p_type, p_payload, false)
    on conflict (id) do nothing
    returning id into v_inserted;
    if v_inserted is null then
        return json_build_object('received', true, 'duplicate', true);
    end if;
    if p_type in ('payment.succeeded', 'payment.failed') and v_data ? 'payment_id' then
        select * into p from registrar.payments
        where id = (v_data->>'payment_id')::uuid and status = 'pending' for update;
        if p.id is not null then
            perform registrar.payment_finish(p.user_id, p.id,
                case when p_type = 'payment.succeeded' then 'succeeded' else 'declined' end,
                v_data->>'processor_ref',
                json_build_object('type', 'https://registrar.invalid/problems/payment-declined',
                    'title', 'Payment declined', 'status', 402,
                    'detail', 'The card was declined. No money was taken.')::text);
            v_applied := true;
        end if;
    elsif p_type = 'payment.refunded' and v_data ? 'processor_ref' then
        select * into p from registrar.payments
        where processor_ref = v_data->>'processor_ref' and status in ('succeeded', 'refunded') for update;
        if p.id is not null then
            v_amount := least(p.amount_cents, greatest(p.refunded_cents,
                coalesce((v_data->>'amount_cents')::integer, p.amount_cents)));
            update registrar.payments set status = 'refunded', refunded_cents = v_amount,
                refund_status = 'succeeded', updated_at = now()
            where id = p.id;
            insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
            select null, 'payment.refund', 'payment:' || p.id,
                   jsonb_build_object('refund_cents', v_amount, 'via', 'webhook', 'event_id', p_event_id),
                   e.offering_id
            from registrar.enrollments e where e.id = p.enrollment_id;
            v_applied := true;
        end if;
    end if;
    update registrar.webhook_events set applied = v_applied where id = p_event_id;
    return json_build_object('received', true, 'duplicate', false, 'applied', v_applied);
end $$;

-- ---------------------------------------------------------------------------
-- Cancelling, deciding applications, choosing workshops

-- POST /api/v1/enrollments/{id}/cancel by its learner, a director of the
-- course or an admin (anyone else: null, 404). A seat given up goes to the
-- waitlist at once; the refund follows the offering's policy by days before
-- its start in its zone. Returns {enrollment, refund?}: with a refund the
-- server then asks the processor for it and calls refund_finish.
--
-- Locking: the enrollment FOR UPDATE, then the discount code (a use given
-- back when nothing was paid), the offering (seat), the sessions in id
-- order, and the first waitlisted enrollment SKIP LOCKED.
create function registrar.enrollment_cancel(p_actor uuid, p_admin boolean, p_id uuid, p_reason text)
returns json
language plpgsql as $$
declare
    e registrar.enrollments;
    o registrar.offerings;
    p registrar.payments;
    v_percent integer := 0;
    v_refund integer := 0;
    v_had_seat boolean;
begin
    select * into e from registrar.enrollments where id = p_id for update;
    if e.id is null then
        return null;
    end if;
    select * into o from registrar.offerings where id = e.offering_id;
    if e.user_id is distinct from p_actor and not registrar.can_direct(o.course_id, p_actor, p_admin) then
        return null;
    end if;
    if e.status not in ('applied', 'held', 'confirmed', 'waitlisted') then
        perform registrar.raise_app('RG409', 'not-cancellable',
            format('This registration is %s already.', e.status), jsonb_build_object('status', e.status));
    end if;
    if e.payment_started_at > now() - interval '5 minutes'
       and exists (select 1 from registrar.payments where enrollment_id = e.id and status = 'pending') then
        perform registrar.raise_app('RG409', 'payment-in-progress',
            'A payment for this registration is being processed; try again in a moment.');
    end if;
    v_had_seat := e.status in ('held', 'confirmed');
    if e.paid_cents > 0 then
        v_percent := registrar.refund_percent(o, now());
        v_refund := (e.paid_cents * v_percent) / 100;
    end if;
    if e.discount_code_id is not null and e.paid_cents = 0 and e.status <> 'confirmed' then
        update registrar.discount_codes set uses = uses - 1 where id = e.discount_code_id and uses > 0;
    end if;
    update registrar.enrollments set status = 'cancelled', refund_cents = v_refund,
        cancel_reason = p_reason, payment_started_at = null, updated_at = now()
    where id = e.id
    returning * into e;
    if v_had_seat then
        update registrar.offerings set seats_taken = seats_taken - 1 where id = o.id;
    end if;
    perform registrar.release_sessions(array[e.id]);
    if v_had_seat then
        perform registrar.promote_waitlist(o.id, 1);
    end if;
    if v_refund > 0 then
        -- The charge to refund: the enrollment's succeeded payment (one charge pays it in full).
        select * into p from registrar.payments
        where enrollment_id = e.id and status = 'succeeded' order by created_at desc limit 1 for update;
        update registrar.payments set refunded_cents = v_refund, refund_status = 'pending', updated_at = now()
        where id = p.id;
        insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
        values (p_actor, 'enrollment.refund', 'enrollment:' || e.id,
                jsonb_build_object('payment_id', p.id, 'refund_cents', v_refund, 'refund_percent', v_percent,
                                   'paid_cents', e.paid_cents), o.id);
    end if;
    if e.user_id is distinct from p_actor then
        insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
        values (p_actor, 'enrollment.cancel', 'enrollment:' || e.id,
                jsonb_build_object('refund_cents', v_refund), o.id);
        perform registrar.outbox_to_user(e.user_id, 'Your registration was cancelled: ' || o.title,
            format('Your registration for %s was cancelled by the course team.%s', o.title,
                   case when v_refund > 0 then format(' %s %s will be refunded to your card.',
                        to_char(v_refund / 100.0, 'FM999999990.00'), e.currency) else '' end));
    end if;
    return json_build_object('enrollment', registrar.enrollment_json(e, o),
        'refund', case when v_refund > 0 then json_build_object('payment_id', p.id,
            'processor_ref', p.processor_ref, 'amount_cents', v_refund) end);
end $$;

-- POST /api/v1/enrollments/{id}/approve and /reject: a director of the
-- course or an admin. The learner themself gets 403; anyone else 404.
-- Approval holds a seat for approval_hold_days (confirmed if nothing is
-- due) or waitlists the learner when the offering is full.
--
-- Locking: the enrollment FOR UPDATE, then (approval) the offering's
-- conditional seat update, or (rejection) the discount code.
create function registrar.enrollment_decide(p_actor uuid, p_admin boolean, p_id uuid, p_approve boolean,
    p_note text) returns json
language plpgsql as $$
declare
    e registrar.enrollments;
    o registrar.offerings;
    v_status text;
begin
    select * into e from registrar.enrollments where id = p_id for update;
    if e.id is null then
        return null;
    end if;
    select * into o from registrar.offerings where id = e.offering_id;
    if not registrar.can_direct(o.course_id, p_actor, p_admin) then
        if e.user_id = p_actor then
            perform registrar.raise_app('RG403', 'forbidden',
                'Only an administrator or a director of this course may decide applications.');
        end if;
        return null;
    end if;
    if e.status <> 'applied' then
        perform registrar.raise_app('RG409', 'not-applied',
            format('This registration is %s, not an application awaiting a decision.', e.status),
            jsonb_build_object('status', e.status));
    end if;
    if p_approve then
        update registrar.offerings set seats_taken = seats_taken + 1
        where id = o.id and seats_taken < capacity;
        v_status := case when not found then 'waitlisted' when e.amount_due_cents = 0 then 'confirmed'
                         else 'held' end;
        update registrar.enrollments set status = v_status, note = p_note,
            hold_expires_at = case when v_status = 'held' then now() + make_interval(days => o.approval_hold_days) end,
            waitlist_seq = case when v_status = 'waitlisted' then nextval('registrar.waitlist_seq') end,
            updated_at = now()
        where id = e.id returning * into e;
        perform registrar.outbox_to_user(e.user_id, 'Your application was approved: ' || o.title,
            case v_status
                when 'confirmed' then format('Your application for %s was approved and your registration is confirmed.', o.title)
                when 'held' then format('Your application for %s was approved. A seat is held for you until %s (%s); pay before then to confirm it.',
                    o.title, to_char(e.hold_expires_at at time zone o.timezone, 'YYYY-MM-DD HH24:MI'), o.timezone)
                else format('Your application for %s was approved. The offering is full, so you are on its waitlist; you will hear from us when a seat opens.', o.title)
            end || coalesce(E'\n\n' || p_note, ''));
    else
        if e.discount_code_id is not null then
            update registrar.discount_codes set uses = uses - 1 where id = e.discount_code_id and uses > 0;
        end if;
        update registrar.enrollments set status = 'rejected', note = p_note, updated_at = now()
        where id = e.id returning * into e;
        perform registrar.outbox_to_user(e.user_id, 'Your application: ' || o.title,
            format('We are sorry: your application for %s was not accepted.', o.title)
            || coalesce(E'\n\n' || p_note, ''));
    end if;
    insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
    values (p_actor, case when p_approve then 'enrollment.approve' else 'enrollment.reject' end,
            'enrollment:' || e.id, jsonb_build_object('status', e.status), o.id);
    return registrar.enrollment_json(e, o)::json;
end $$;

-- PUT /api/v1/enrollments/{id}/sessions: the learner's workshops and small
-- groups, replacing the previous choice. Only a held or confirmed
-- registration chooses. Two chosen sessions may not overlap (409
-- schedule-conflict); a full session is 409 session-full.
--
-- Locking: the enrollment FOR UPDATE (one change of choice at a time per
-- learner), then each session whose seat changes, in id order, with the
-- conditional update `seats_taken < capacity`: never oversold, and no two
-- choosers can deadlock.
create function registrar.enrollment_sessions_set(p_user uuid, p_id uuid, p_sessions uuid[]) returns json
language plpgsql as $$
declare
    e registrar.enrollments;
    o registrar.offerings;
    v_ids uuid[] := array(select distinct x from unnest(p_sessions) x where x is not null order by 1);
    v_bad uuid[];
    v_clash uuid[];
    r record;
begin
    select * into e from registrar.enrollments where id = p_id and user_id = p_user for update;
    if e.id is null then
        return null;
    end if;
    select * into o from registrar.offerings where id = e.offering_id;
    if e.status not in ('held', 'confirmed') then
        perform registrar.raise_app('RG409', 'not-active',
            format('Workshops are chosen for a held or confirmed registration; this one is %s.', e.status),
            jsonb_build_object('status', e.status));
    end if;
    v_bad := array(select x from unnest(v_ids) x where not exists (
        select 1 from registrar.sessions s where s.id = x and s.offering_id = e.offering_id
            and s.status = 'scheduled' and s.kind in ('workshop', 'small_group')));
    if cardinality(v_bad) > 0 then
        perform registrar.raise_app('RG422', 'unknown-session',
            'Only scheduled workshops and small groups of this offering can be chosen.',
            jsonb_build_object('sessions', to_jsonb(v_bad), 'errors', jsonb_build_array(jsonb_build_object(
                'field', 'session_ids', 'message', 'names a session that cannot be chosen'))));
    end if;
    v_clash := array(select distinct x from (
        select a.id as x from registrar.sessions a join registrar.sessions b
            on a.id <> b.id and a.during && b.during
        where a.id = any (v_ids) and b.id = any (v_ids)) c order by 1);
    if cardinality(v_clash) > 0 then
        perform registrar.raise_app('RG409', 'schedule-conflict',
            'Two of the chosen sessions take place at the same time.',
            jsonb_build_object('conflicts', to_jsonb(v_clash)));
    end if;
    for r in
        select coalesce(n.id, c.session_id) as id, n.id is not null as wanted, c.session_id is not null as had
        from unnest(v_ids) as n(id)
        full join (select session_id from registrar.enrollment_sessions where enrollment_id = e.id) c
            on c.session_id = n.id
        order by 1
    loop
        if r.wanted and not r.had then
            update registrar.sessions set seats_taken = seats_taken + 1
            where id = r.id and (capacity is null or seats_taken < capacity);
            if not found then
                perform registrar.raise_app('RG409', 'session-full',
                    format('The session "%s" is full.', (select title from registrar.sessions where id = r.id)),
                    jsonb_build_object('sessions', jsonb_build_array(r.id)));
            end if;
            insert into registrar.enrollment_sessions (enrollment_id, session_id) values (e.id, r.id);
        elsif r.had and not r.wanted then
            update registrar.sessions set seats_taken = seats_taken - 1 where id = r.id;
            delete from registrar.enrollment_sessions where enrollment_id = e.id and session_id = r.id;
        end if;
    end loop;
    update registrar.enrollments set updated_at = now() where id = e.id returning * into e;
    return registrar.enrollment_json(e, o)::json;
end $$;

-- ---------------------------------------------------------------------------
-- The sweep: expired holds and waitlist promotion, without any request

-- Expires up to p_limit due holds and promotes waitlisted learners where
-- seats are free. Returns {expired, promoted}.
--
-- Locking: due holds FOR UPDATE SKIP LOCKED, so several server processes
-- sweep at once without waiting for each other or expiring a hold twice
-- (a hold whose learner is paying or cancelling right now is passed over
-- and its row re-checked after: payment_started_at is in the row, so the
-- re-check sees a payment that began meanwhile). Then the discount codes,
-- the offerings and the sessions, each in id order, then promotion
-- (waitlisted rows SKIP LOCKED).
create function registrar.sweep(p_limit integer) returns json
language plpgsql as $$
declare
    v_ids uuid[];
    v_promoted integer := 0;
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

    -- Idempotency keys are kept 24 hours.
    delete from registrar.idempotency_keys
    where ctid = any (array(select ctid from registrar.idempotency_keys
                            where expires_at <= now() limit p_limit));

    return json_build_object('expired', cardinality(v_ids), 'promoted', v_promoted);
end $$;

-- ---------------------------------------------------------------------------
-- Directors' reads and writes

-- Raises 403 unless p_actor may direct offering o's course.
create function registrar.require_director(o registrar.offerings, p_actor uuid, p_admin boolean) returns void
language plpgsql as $$
begin
    if not registrar.can_direct(o.course_id, p_actor, p_admin) then
        perform registrar.raise_app('RG403', 'forbidden',
            'Only an administrator or a director of this course may see or change this.');
    end if;
end $$;

-- GET /api/v1/offerings/{id}/roster (JSON pages; p_limit null: everything,
-- for the CSV export). p_statuses: the enrollment statuses listed (held and
-- confirmed by default; 'applied' lists applications to decide). Every read
-- writes an audit row: who, which offering, how many rows, which format.
-- The cursor is the hex of the last item's 'created_at|id'.
create function registrar.roster(p_actor uuid, p_admin boolean, p_offering uuid, p_statuses text[],
    p_limit integer, p_cursor text, p_format text) returns json
language plpgsql as $$
declare
    o registrar.offerings;
    v_at timestamptz;
    v_id uuid;
    v_items jsonb;
    v_next text;
    v_rows integer;
    v_statuses text[] := coalesce(p_statuses, array['held', 'confirmed']);
begin
    select * into o from registrar.offerings where id = p_offering;
    if o.id is null or (o.status = 'draft' and not registrar.can_direct(o.course_id, p_actor, p_admin)) then
        return null;
    end if;
    perform registrar.require_director(o, p_actor, p_admin);
    if p_cursor is not null then
        v_at := split_part(convert_from(decode(p_cursor, 'hex'), 'UTF8'), '|', 1)::timestamptz;
        v_id := split_part(convert_from(decode(p_cursor, 'hex'), 'UTF8'), '|', 2)::uuid;
    end if;
    with page as (
        select e, u from registrar.enrollments e join registrar.users u on u.id = e.user_id
        where e.offering_id = o.id and e.status = any (v_statuses)
          and (p_cursor is null or (e.created_at, e.id) > (v_at, v_id))
        order by e.created_at, e.id
        limit case when p_limit is null then null else p_limit + 1 end
    ), numbered as (
        select (p.e).created_at as at, (p.e).id as id,
               jsonb_build_object(
                   'enrollment', registrar.enrollment_json(p.e, o),
                   'learner', registrar.user_json(p.u),
                   'sessions', coalesce((select jsonb_agg(jsonb_build_object('id', s.id, 'title', s.title,
                                   'starts_at', registrar.rfc3339(s.starts_at, o.timezone))
                                   order by s.starts_at, s.id)
                               from registrar.enrollment_sessions es
                               join registrar.sessions s on s.id = es.session_id
                               where es.enrollment_id = (p.e).id), '[]'::jsonb),
                   'attended_hours', registrar.enrollment_attended_hours((p.e).id)) as body,
               row_number() over (order by (p.e).created_at, (p.e).id) as n
        from page p
    )
    select coalesce(jsonb_agg(body order by n) filter (where p_limit is null or n <= p_limit), '[]'::jsonb),
           max(case when p_limit is not null and n = p_limit
                         and (select count(*) from numbered) > p_limit
                    then encode(convert_to(to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
                                           || '|' || id, 'UTF8'), 'hex') end)
    into v_items, v_next
    from numbered;
    v_rows := jsonb_array_length(v_items);
    insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
    values (p_actor, case when p_format = 'csv' then 'roster.export' else 'roster.read' end,
            'offering:' || o.id,
            jsonb_build_object('rows', v_rows, 'format', coalesce(p_format, 'json'),
                               'statuses', to_jsonb(v_statuses)), o.id);
    return json_build_object('offering', registrar.enrollment_offering_json(o),
                             'items', v_items, 'next_cursor', v_next);
end $$;

-- GET /api/v1/offerings/{id}/waitlist: in order, with positions 1..n.
-- The cursor is the last item's place number (waitlist_seq), in hex.
create function registrar.waitlist(p_actor uuid, p_admin boolean, p_offering uuid, p_limit integer,
    p_cursor text) returns json
language plpgsql as $$
declare
    o registrar.offerings;
    v_after bigint;
    v_before integer;
    v_items jsonb;
    v_next text;
begin
    select * into o from registrar.offerings where id = p_offering;
    if o.id is null or (o.status = 'draft' and not registrar.can_direct(o.course_id, p_actor, p_admin)) then
        return null;
    end if;
    perform registrar.require_director(o, p_actor, p_admin);
    v_after := case when p_cursor is null then 0 else ('x' || lpad(p_cursor, 16, '0'))::bit(64)::bigint end;
    select count(*)::integer into v_before from registrar.enrollments
    where offering_id = o.id and status = 'waitlisted' and waitlist_seq <= v_after;
    with page as (
        select e, u from registrar.enrollments e join registrar.users u on u.id = e.user_id
        where e.offering_id = o.id and e.status = 'waitlisted' and e.waitlist_seq > v_after
        order by e.waitlist_seq
        limit p_limit + 1
    ), numbered as (
        select (p.e).waitlist_seq as seq,
               jsonb_build_object('position', v_before + row_number() over (order by (p.e).waitlist_seq),
                                  'enrollment', registrar.enrollment_json(p.e, o),
                                  'learner', registrar.user_json(p.u)) as body,
               row_number() over (order by (p.e).waitlist_seq) as n
        from page p
    )
    select coalesce(jsonb_agg(body order by n) filter (where n <= p_limit), '[]'::jsonb),
           max(case when n = p_limit and (select count(*) from numbered) > p_limit then lpad(to_hex(seq), 16, '0') end)
    into v_items, v_next
    from numbered;
    insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
    values (p_actor, 'waitlist.read', 'offering:' || o.id,
            jsonb_build_object('rows', jsonb_array_length(v_items)), o.id);
    return json_build_object('items', v_items, 'next_cursor', v_next);
end $$;

-- POST /api/v1/offerings/{id}/discount-codes. A code already used for the
-- offering (in any letter case) is 409 code-taken.
create function registrar.discount_code_create(p_actor uuid, p_admin boolean, p_offering uuid,
    p_code text, p_percent integer, p_amount integer, p_max_uses integer, p_expires_at timestamptz)
returns json
language plpgsql as $$
declare
    o registrar.offerings;
    d registrar.discount_codes;
begin
    select * into o from registrar.offerings where id = p_offering;
    if o.id is null or (o.status = 'draft' and not registrar.can_direct(o.course_id, p_actor, p_admin)) then
        return null;
    end if;
    perform registrar.require_director(o, p_actor, p_admin);
    insert into registrar.discount_codes (offering_id, code, percent_off, amount_off_cents, max_uses,
        expires_at, created_by)
    values (o.id, p_code, p_percent, p_amount, p_max_uses, p_expires_at, p_actor)
    on conflict (offering_id, lower(code)) do nothing
    returning * into d;
    if d.id is null then
        perform registrar.raise_app('RG409', 'code-taken', 'This offering already has a discount code of that name.',
            jsonb_build_object('errors', jsonb_build_array(jsonb_build_object(
                'field', 'code', 'message', 'is already a code of this offering'))));
    end if;
    insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
    values (p_actor, 'discount.create', 'discount:' || d.id,
            jsonb_build_object('code', d.code, 'max_uses', d.max_uses), o.id);
    return registrar.discount_code_json(d)::json;
end $$;
