-- 0003: offerings (a course's run in a given year) and their schedules.
--
-- Rules that must hold under concurrent edits and across server processes
-- are constraints here, not C:
--   * seats_taken never exceeds capacity (a check; the enrollment code's
--     conditional update relies on it);
--   * two live sessions of one offering never share a room at the same time
--     (exclusion constraint on sessions);
--   * a faculty member is never in two live sessions at once, across all
--     offerings (exclusion constraint on session_faculty, which carries a
--     copy of its session's time range, kept in step by a trigger);
--   * a session ends after it starts.
-- That a session lies within one part of its offering, in the offering's
-- time zone, spans tables and is checked by the writing functions, which
-- serialise against changes of the parts by locking the offering row.
--
-- Deleting a session keeps its row as 'cancelled' (with a raised sequence)
-- so that calendar clients learn of it; cancelled sessions take part in no
-- constraint.
--
-- Changes that matter to public reads are announced on the channel
-- 'registrar_catalog', which clears every server's response cache. Changes
-- of seats_taken alone are not announced: the cache's 1 s bound keeps
-- seats_left fresh enough, and a registration rush must not empty the cache
-- with every seat.

-- ---------------------------------------------------------------------------
-- Tables

create table registrar.offerings (
    id uuid primary key default gen_random_uuid(),
    course_id uuid not null references registrar.courses (id) on delete restrict,
    title text not null check (char_length(title) between 1 and 200),
    status text not null default 'draft'
        check (status in ('draft', 'open', 'closed', 'cancelled')),
    starts_on date not null,
    ends_on date not null,
    requires_application boolean not null default false,
    -- An IANA name, checked against pg_timezone_names when written.
    timezone text not null check (char_length(timezone) between 1 and 64),
    venue text not null default '' check (char_length(venue) <= 300),
    capacity integer not null check (capacity between 0 and 100000),
    -- Held + confirmed enrollments; written only by the enrollment functions.
    seats_taken integer not null default 0,
    registration_opens_at timestamptz,
    registration_closes_at timestamptz,
    hold_minutes integer not null default 30 check (hold_minutes between 1 and 10080),
    approval_hold_days integer not null default 14 check (approval_hold_days between 1 and 365),
    max_credits numeric(6, 2) check (max_credits >= 0),
    currency text not null default 'USD' check (currency ~ '^[A-Z]{3}$'),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint offerings_seats_within_capacity check (seats_taken >= 0 and seats_taken <= capacity),
    constraint offerings_dates_ordered check (ends_on >= starts_on),
    constraint offerings_registration_ordered check (
        registration_closes_at is null or registration_opens_at is null
        or registration_closes_at > registration_opens_at)
);
create index offerings_course on registrar.offerings (course_id, starts_on, id);
create index offerings_starts on registrar.offerings (starts_on, id);

-- The stretches of days an offering runs (PCEP's Part 1 and Part 2). One
-- part from starts_on to ends_on when the director names none.
create table registrar.offering_parts (
    offering_id uuid not null references registrar.offerings (id) on delete cascade,
    position smallint not null check (position between 1 and 20),
    name text not null check (char_length(name) between 1 and 100),
    starts_on date not null,
    ends_on date not null,
    primary key (offering_id, position),
    constraint offering_parts_dates_ordered check (ends_on >= starts_on),
    constraint offering_parts_no_overlap exclude using gist (
        offering_id with =, daterange(starts_on, ends_on, '[]') with &&)
);

-- Price by profession; the early price applies until early_until (inclusive,
-- in the offering's time zone).
create table registrar.offering_prices (
    offering_id uuid not null references registrar.offerings (id) on delete cascade,
    profession text not null check (profession in ('physician', 'nurse',
        'physician_assistant', 'social_worker', 'chaplain', 'psychologist',
        'pharmacist', 'trainee', 'other')),
    amount_cents integer not null check (amount_cents between 0 and 100000000),
    early_amount_cents integer check (early_amount_cents between 0 and 100000000),
    early_until date,
    primary key (offering_id, profession),
    constraint offering_prices_early_complete check ((early_amount_cents is null) = (early_until is null)),
    constraint offering_prices_early_cheaper check (early_amount_cents is null or early_amount_cents <= amount_cents)
);

-- The credit a profession earns ('AMA PRA Category 1', 'ANCC contact hours', ...).
create table registrar.offering_credit_types (
    offering_id uuid not null references registrar.offerings (id) on delete cascade,
    profession text not null check (profession in ('physician', 'nurse',
        'physician_assistant', 'social_worker', 'chaplain', 'psychologist',
        'pharmacist', 'trainee', 'other')),
    credit_type text not null check (char_length(credit_type) between 1 and 100),
    primary key (offering_id, profession)
);

-- Refund rules: cancelling at least until_days_before the offering starts
-- refunds refund_percent. The rule with the largest until_days_before that
-- the cancellation still meets applies; none met means no refund.
create table registrar.offering_cancellation_rules (
    offering_id uuid not null references registrar.offerings (id) on delete cascade,
    until_days_before integer not null check (until_days_before between 0 and 3650),
    refund_percent integer not null check (refund_percent between 0 and 100),
    primary key (offering_id, until_days_before)
);

-- Rooms and faculty are rows, so that the exclusion constraints compare
-- identities, not spellings. The key is the trimmed, lower-cased name.
create table registrar.rooms (
    id uuid primary key default gen_random_uuid(),
    name text not null check (char_length(name) between 1 and 100),
    key text generated always as (lower(btrim(name))) stored unique
);

create table registrar.faculty (
    id uuid primary key default gen_random_uuid(),
    name text not null check (char_length(name) between 1 and 200),
    key text generated always as (lower(btrim(name))) stored unique,
    user_id uuid references registrar.users (id) on delete set null
);

create table registrar.sessions (
    id uuid primary key default gen_random_uuid(),
    offering_id uuid not null references registrar.offerings (id) on delete cascade,
    title text not null check (char_length(title) between 1 and 200),
    kind text not null check (kind in ('plenary', 'workshop', 'small_group', 'break')),
    description text not null default '' check (char_length(description) <= 4000),
    starts_at timestamptz not null,
    ends_at timestamptz not null,
    during tstzrange generated always as (tstzrange(starts_at, ends_at, '[)')) stored,
    room_id uuid references registrar.rooms (id),
    -- null: no limit of its own (plenaries); workshops have one.
    capacity integer check (capacity between 1 and 100000),
    -- Learners who chose this session; written only by the enrollment functions.
    seats_taken integer not null default 0,
    credit_hours numeric(5, 2) not null default 0 check (credit_hours between 0 and 100),
    status text not null default 'scheduled' check (status in ('scheduled', 'cancelled')),
    -- RFC 5545 SEQUENCE: raised by a trigger on every change of substance.
    sequence integer not null default 0,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint sessions_end_after_start check (ends_at > starts_at),
    constraint sessions_seats_within_capacity check (seats_taken >= 0
        and (capacity is null or seats_taken <= capacity)),
    constraint sessions_room_overlap exclude using gist (
        offering_id with =, room_id with =, during with &&)
        where (status = 'scheduled' and room_id is not null)
);
create index sessions_offering on registrar.sessions (offering_id, starts_at, id);

-- Who teaches a session. `during` and `active` copy the session's range and
-- status (trigger sessions_sync_faculty), so that one exclusion constraint
-- can see every offering's sessions at once.
create table registrar.session_faculty (
    session_id uuid not null references registrar.sessions (id) on delete cascade,
    faculty_id uuid not null references registrar.faculty (id),
    position smallint not null,
    during tstzrange not null,
    active boolean not null default true,
    primary key (session_id, faculty_id),
    constraint session_faculty_overlap exclude using gist (
        faculty_id with =, during with &&) where (active)
);
create index session_faculty_faculty on registrar.session_faculty (faculty_id);

-- Personal calendar feeds: one live token per learner, kept only as a
-- keyed hash (auth.h); issuing a new one replaces the row.
create table registrar.calendar_tokens (
    user_id uuid primary key references registrar.users (id) on delete cascade,
    token_hash bytea not null unique,
    created_at timestamptz not null default now()
);

-- ---------------------------------------------------------------------------
-- Seams for migration 0004 (enrollments), which replaces these two with
-- `create or replace function` of the same signatures.

-- Waitlisted enrollments of an offering, for the `offering` JSON.
create function registrar.offering_waitlist_length(p_offering uuid) returns integer
language sql stable as $$ select 0 $$;

-- The sessions (cancelled ones included, so that calendars drop them) that
-- belong in a learner's personal calendar feed: those of their confirmed
-- offerings that they chose or that everyone attends.
create function registrar.calendar_feed_sessions(p_user uuid) returns table (session_id uuid)
language sql stable as $$ select null::uuid where false $$;

-- ---------------------------------------------------------------------------
-- Triggers: keep session_faculty in step, raise SEQUENCE, announce changes.

-- A session's change of substance raises its RFC 5545 SEQUENCE (calendar
-- clients replace an event only when it grows). session_update raises it
-- itself when only the faculty changed.
create function registrar.sessions_bump_sequence() returns trigger
language plpgsql as $$
begin
    if (new.title, new.kind, new.description, new.starts_at, new.ends_at, new.room_id,
        new.status, new.capacity, new.credit_hours)
       is distinct from
       (old.title, old.kind, old.description, old.starts_at, old.ends_at, old.room_id,
        old.status, old.capacity, old.credit_hours)
       and new.sequence = old.sequence then
        new.sequence := old.sequence + 1;
    end if;
    if new.sequence <> old.sequence then
        new.updated_at := now();
    end if;
    return new;
end $$;

create trigger sessions_bump_sequence before update on registrar.sessions
    for each row execute function registrar.sessions_bump_sequence();

-- The faculty rows carry their session's range and liveness, so that the
-- faculty exclusion constraint sees moves and cancellations; a clash raised
-- here fails the session's own update.
create function registrar.sessions_sync_faculty() returns trigger
language plpgsql as $$
begin
    update registrar.session_faculty
    set during = new.during, active = (new.status = 'scheduled')
    where session_id = new.id;
    return null;
end $$;

create trigger sessions_sync_faculty after update on registrar.sessions
    for each row when (old.during is distinct from new.during or old.status is distinct from new.status)
    execute function registrar.sessions_sync_faculty();

-- NOTIFY is transactional: servers hear of a change once it is committed,
-- and identical payloads within one transaction are folded into one.
create function registrar.catalog_notify() returns trigger
language plpgsql as $$
begin
    perform pg_notify('registrar_catalog', tg_table_name);
    return null;
end $$;

create trigger offerings_notify_rows after insert or delete or truncate on registrar.offerings
    for each statement execute function registrar.catalog_notify();
-- Not for seats_taken alone: see the top of this file.
create trigger offerings_notify_update after update on registrar.offerings
    for each row when ((old.course_id, old.title, old.status, old.starts_on, old.ends_on,
        old.requires_application, old.timezone, old.venue, old.capacity,
        old.registration_opens_at, old.registration_closes_at, old.hold_minutes,
        old.approval_hold_days, old.max_credits, old.currency)
        is distinct from (new.course_id, new.title, new.status, new.starts_on, new.ends_on,
        new.requires_application, new.timezone, new.venue, new.capacity,
        new.registration_opens_at, new.registration_closes_at, new.hold_minutes,
        new.approval_hold_days, new.max_credits, new.currency))
    execute function registrar.catalog_notify();

create trigger sessions_notify_rows after insert or delete or truncate on registrar.sessions
    for each statement execute function registrar.catalog_notify();
create trigger sessions_notify_update after update on registrar.sessions
    for each row when (old.sequence is distinct from new.sequence)
    execute function registrar.catalog_notify();

create trigger offering_parts_notify after insert or update or delete or truncate on registrar.offering_parts
    for each statement execute function registrar.catalog_notify();
create trigger offering_prices_notify after insert or update or delete or truncate on registrar.offering_prices
    for each statement execute function registrar.catalog_notify();
create trigger offering_credit_types_notify after insert or update or delete or truncate on registrar.offering_credit_types
    for each statement execute function registrar.catalog_notify();
create trigger offering_cancellation_rules_notify after insert or update or delete or truncate
    on registrar.offering_cancellation_rules
    for each statement execute function registrar.catalog_notify();
create trigger session_faculty_notify after insert or update or delete or truncate on registrar.session_faculty
    for each statement execute function registrar.catalog_notify();
create trigger rooms_notify after insert or update or delete or truncate on registrar.rooms
    for each statement execute function registrar.catalog_notify();
create trigger faculty_notify after insert or update or delete or truncate on registrar.faculty
    for each statement execute function registrar.catalog_notify();
-- The course catalog of 0001 is served from the same cache.
create trigger courses_notify after insert or update or delete or truncate on registrar.courses
    for each statement execute function registrar.catalog_notify();
create trigger course_directors_notify after insert or update or delete or truncate on registrar.course_directors
    for each statement execute function registrar.catalog_notify();

-- ---------------------------------------------------------------------------
-- Helpers

-- p_ts as RFC 3339 wall time in zone p_tz with that zone's offset at that
-- instant ('2027-03-15T08:30:00-04:00'); null stays null. One expression
-- without a FROM, so that the planner inlines it (it is on every hot read).
create function registrar.rfc3339(p_ts timestamptz, p_tz text) returns text
language sql stable parallel safe as $$
    select to_char(p_ts at time zone p_tz, 'YYYY-MM-DD"T"HH24:MI:SS')
        || case when (p_ts at time zone p_tz) < (p_ts at time zone 'UTC')
                then '-' || to_char((p_ts at time zone 'UTC') - (p_ts at time zone p_tz), 'HH24:MI')
                else '+' || to_char((p_ts at time zone p_tz) - (p_ts at time zone 'UTC'), 'HH24:MI') end
$$;

-- Whether the viewer may write the course's offerings and schedules (and
-- see its drafts): an admin, or one of the course's directors.
create function registrar.can_direct(p_course uuid, p_viewer uuid, p_admin boolean) returns boolean
language sql stable parallel safe as $$
    select coalesce(p_admin, false) or (p_viewer is not null and exists (
        select 1 from registrar.course_directors d
        where d.course_id = p_course and d.user_id = p_viewer))
$$;

create function registrar.user_is_admin(p_user uuid) returns boolean
language sql stable parallel safe as $$
    select coalesce((select is_admin from registrar.users where id = p_user), false)
$$;

-- 400 invalid-request naming one field (the problem's `errors`).
create function registrar.raise_invalid(p_field text, p_message text) returns void
language plpgsql as $$
begin
    raise exception using errcode = 'RG400', message = 'invalid-request',
        detail = json_build_object('detail', p_field || ': ' || p_message,
            'errors', json_build_array(json_build_object('field', p_field, 'message', p_message)))::text;
end $$;

create function registrar.raise_forbidden() returns void
language plpgsql as $$
begin
    raise exception using errcode = 'RG403', message = 'forbidden',
        detail = json_build_object('detail',
            'Only an administrator or a director of this course may change it.')::text;
end $$;

create function registrar.profession_rank(p text) returns integer
language sql immutable parallel safe as $$
    select array_position(array['physician', 'nurse', 'physician_assistant', 'social_worker',
        'chaplain', 'psychologist', 'pharmacist', 'trainee', 'other'], p)
$$;

-- ---------------------------------------------------------------------------
-- JSON forms

-- API.md's `offering`.
create function registrar.offering_json(o registrar.offerings) returns json
language sql stable as $$
    select json_build_object(
        'id', o.id,
        'course_slug', (select c.slug from registrar.courses c where c.id = o.course_id),
        'title', o.title,
        'status', o.status,
        'starts_on', o.starts_on,
        'ends_on', o.ends_on,
        'parts', coalesce((select json_agg(json_build_object('name', p.name,
                     'starts_on', p.starts_on, 'ends_on', p.ends_on) order by p.position)
                 from registrar.offering_parts p where p.offering_id = o.id), '[]'::json),
        'requires_application', o.requires_application,
        'credit_types', coalesce((select json_agg(json_build_object('profession', t.profession,
                     'credit_type', t.credit_type) order by registrar.profession_rank(t.profession))
                 from registrar.offering_credit_types t where t.offering_id = o.id), '[]'::json),
        'timezone', o.timezone,
        'venue', o.venue,
        'capacity', o.capacity,
        'seats_taken', o.seats_taken,
        'seats_left', greatest(o.capacity - o.seats_taken, 0),
        'waitlist_length', registrar.offering_waitlist_length(o.id),
        'registration_opens_at', registrar.rfc3339(o.registration_opens_at, o.timezone),
        'registration_closes_at', registrar.rfc3339(o.registration_closes_at, o.timezone),
        'hold_minutes', o.hold_minutes,
        'approval_hold_days', o.approval_hold_days,
        'max_credits', trim_scale(o.max_credits),
        'prices', coalesce((select json_agg(json_build_object('profession', p.profession,
                     'amount_cents', p.amount_cents, 'early_amount_cents', p.early_amount_cents,
                     'early_until', p.early_until) order by registrar.profession_rank(p.profession))
                 from registrar.offering_prices p where p.offering_id = o.id), '[]'::json),
        'currency', o.currency,
        'cancellation_policy', coalesce((select json_agg(json_build_object(
                     'until_days_before', r.until_days_before, 'refund_percent', r.refund_percent)
                     order by r.until_days_before desc)
                 from registrar.offering_cancellation_rules r where r.offering_id = o.id), '[]'::json))
$$;

-- The summary of an offering inside its course (GET /courses/{slug}).
create function registrar.offering_summary_json(o registrar.offerings) returns json
language sql stable as $$
    select json_build_object(
        'id', o.id,
        'title', o.title,
        'status', o.status,
        'starts_on', o.starts_on,
        'ends_on', o.ends_on,
        'parts', coalesce((select json_agg(json_build_object('name', p.name,
                     'starts_on', p.starts_on, 'ends_on', p.ends_on) order by p.position)
                 from registrar.offering_parts p where p.offering_id = o.id), '[]'::json),
        'timezone', o.timezone,
        'venue', o.venue,
        'requires_application', o.requires_application,
        'capacity', o.capacity,
        'seats_left', greatest(o.capacity - o.seats_taken, 0),
        'registration_opens_at', registrar.rfc3339(o.registration_opens_at, o.timezone),
        'registration_closes_at', registrar.rfc3339(o.registration_closes_at, o.timezone))
$$;

-- API.md's `session`, its times in the offering's zone p_tz.
create function registrar.session_json(s registrar.sessions, p_tz text) returns json
language sql stable as $$
    select json_build_object(
        'id', s.id,
        'offering_id', s.offering_id,
        'title', s.title,
        'kind', s.kind,
        'description', s.description,
        'starts_at', registrar.rfc3339(s.starts_at, p_tz),
        'ends_at', registrar.rfc3339(s.ends_at, p_tz),
        'room', (select r.name from registrar.rooms r where r.id = s.room_id),
        'faculty', coalesce((select json_agg(f.name order by sf.position)
                 from registrar.session_faculty sf join registrar.faculty f on f.id = sf.faculty_id
                 where sf.session_id = s.id), '[]'::json),
        'capacity', s.capacity,
        'seats_left', case when s.capacity is not null then greatest(s.capacity - s.seats_taken, 0) end,
        'credit_hours', trim_scale(s.credit_hours))
$$;

-- GET /api/v1/courses/{slug}, replacing 0001's: the course with its
-- offerings' summaries by start date; drafts only for the course's
-- directors and admins.
create or replace function registrar.course_get(p_slug text, p_viewer uuid) returns json
language sql stable as $$
    select (registrar.course_json(c) || jsonb_build_object('offerings', coalesce((
        select jsonb_agg(registrar.offering_summary_json(o)::jsonb order by o.starts_on, o.id)
        from registrar.offerings o
        where o.course_id = c.id
          and (o.status <> 'draft'
               or registrar.can_direct(c.id, p_viewer, registrar.user_is_admin(p_viewer)))),
        '[]'::jsonb)))::json
    from registrar.courses c
    where c.slug = p_slug
$$;

-- ---------------------------------------------------------------------------
-- Reads

-- GET /api/v1/offerings/{id}; null (404) if absent or a draft the viewer may not see.
create function registrar.offering_get(p_id uuid, p_viewer uuid, p_admin boolean) returns json
language sql stable as $$
    select registrar.offering_json(o)
    from registrar.offerings o
    where o.id = p_id
      and (o.status <> 'draft' or registrar.can_direct(o.course_id, p_viewer, p_admin))
$$;

-- GET /api/v1/offerings?course=&status=&year=: by start date, then id. The
-- opaque cursor is the hex of the last item's 'starts_on/id'; a cursor that
-- is not one raises class 22 (400).
create function registrar.offerings_list(p_course text, p_status text, p_year integer,
    p_limit integer, p_cursor text, p_viewer uuid, p_admin boolean) returns json
language plpgsql stable as $$
declare
    v_after_on date;
    v_after_id uuid;
    v_text text;
begin
    if p_cursor is not null then
        v_text := convert_from(decode(p_cursor, 'hex'), 'UTF8');
        v_after_on := split_part(v_text, '/', 1)::date;
        v_after_id := split_part(v_text, '/', 2)::uuid;
    end if;
    return (
        with page as (
            select o, row_number() over (order by o.starts_on, o.id) as n
            from registrar.offerings o
            where (p_course is null
                   or o.course_id = (select c.id from registrar.courses c where c.slug = p_course))
              and (p_status is null or o.status = p_status)
              and (p_year is null or (o.starts_on >= make_date(p_year, 1, 1)
                                      and o.starts_on < make_date(p_year + 1, 1, 1)))
              and (p_cursor is null or (o.starts_on, o.id) > (v_after_on, v_after_id))
              and (o.status <> 'draft' or registrar.can_direct(o.course_id, p_viewer, p_admin))
            order by o.starts_on, o.id
            limit p_limit + 1)
        select json_build_object(
            'items', coalesce((select json_agg(registrar.offering_json(p.o) order by p.n)
                               from page p where p.n <= p_limit), '[]'::json),
            'next_cursor', (select encode(convert_to((p.o).starts_on::text || '/' || (p.o).id::text, 'UTF8'), 'hex')
                            from page p where p.n = p_limit
                              and exists (select 1 from page q where q.n > p_limit))));
end $$;

-- GET /api/v1/offerings/{id}/sessions: live sessions by start, then id.
-- The cursor is the hex of the last item's 'UTC start/id'. Null (404) if
-- the offering is absent or a draft the viewer may not see.
create function registrar.offering_sessions(p_offering uuid, p_limit integer, p_cursor text,
    p_viewer uuid, p_admin boolean) returns json
language plpgsql stable as $$
declare
    v_offering registrar.offerings;
    v_after_at timestamptz;
    v_after_id uuid;
    v_text text;
begin
    select * into v_offering from registrar.offerings o
    where o.id = p_offering
      and (o.status <> 'draft' or registrar.can_direct(o.course_id, p_viewer, p_admin));
    if not found then
        return null;
    end if;
    if p_cursor is not null then
        v_text := convert_from(decode(p_cursor, 'hex'), 'UTF8');
        v_after_at := split_part(v_text, '/', 1)::timestamp at time zone 'UTC';
        v_after_id := split_part(v_text, '/', 2)::uuid;
    end if;
    return (
        with page as (
            select s, row_number() over (order by s.starts_at, s.id) as n
            from registrar.sessions s
            where s.offering_id = p_offering and s.status = 'scheduled'
              and (p_cursor is null or (s.starts_at, s.id) > (v_after_at, v_after_id))
            order by s.starts_at, s.id
            limit p_limit + 1)
        select json_build_object(
            'items', coalesce((select json_agg(registrar.session_json(p.s, v_offering.timezone) order by p.n)
                               from page p where p.n <= p_limit), '[]'::json),
            'next_cursor', (select encode(convert_to(((p.s).starts_at at time zone 'UTC')::text
                                                     || '/' || (p.s).id::text, 'UTF8'), 'hex')
                            from page p where p.n = p_limit
                              and exists (select 1 from page q where q.n > p_limit))));
end $$;

-- ---------------------------------------------------------------------------
-- Writes of offerings
--
-- The server has checked the body's shape (fields, types, lengths, dates and
-- times well formed); these functions check what needs the database and
-- write. Absent members keep their value; JSON null clears a nullable one.

-- Applies p_body to offering p_id, which the caller has locked FOR UPDATE.
-- Raises invalid-request, capacity-below-taken or outside-offering.
create function registrar.offering_apply(p_id uuid, p_body jsonb, p_creating boolean) returns void
language plpgsql as $$
declare
    v_old registrar.offerings;
    v_new registrar.offerings;
    v_item jsonb;
    v_i integer;
    v_starts date;
    v_ends date;
    v_nparts integer;
    v_stranded json;
begin
    select * into v_old from registrar.offerings where id = p_id;

    if p_body ? 'timezone' and (p_creating or p_body->>'timezone' <> v_old.timezone) and not exists (
        select 1 from pg_timezone_names where name = p_body->>'timezone'
            and name ~ '^(UTC|[A-Z][A-Za-z_-]+(/[A-Za-z0-9_+-]+)+)$') then
        perform registrar.raise_invalid('timezone', 'is not an IANA time zone name such as America/New_York');
    end if;
    if p_body ? 'capacity' and (p_body->>'capacity')::integer < v_old.seats_taken then
        raise exception using errcode = 'RG409', message = 'capacity-below-taken',
            detail = json_build_object('detail', format(
                'The capacity cannot be lower than the %s seats already taken.', v_old.seats_taken),
                'seats_taken', v_old.seats_taken)::text;
    end if;

    if (case when p_body ? 'registration_closes_at' then (p_body->>'registration_closes_at')::timestamptz
             else v_old.registration_closes_at end)
       <= (case when p_body ? 'registration_opens_at' then (p_body->>'registration_opens_at')::timestamptz
                else v_old.registration_opens_at end) then
        perform registrar.raise_invalid('registration_closes_at', 'must be after registration_opens_at');
    end if;

    update registrar.offerings set
        title = case when p_body ? 'title' then p_body->>'title' else title end,
        status = case when p_body ? 'status' then p_body->>'status' else status end,
        requires_application = case when p_body ? 'requires_application'
            then (p_body->>'requires_application')::boolean else requires_application end,
        timezone = case when p_body ? 'timezone' then p_body->>'timezone' else timezone end,
        venue = case when p_body ? 'venue' then coalesce(p_body->>'venue', '') else venue end,
        capacity = case when p_body ? 'capacity' then (p_body->>'capacity')::integer else capacity end,
        registration_opens_at = case when p_body ? 'registration_opens_at'
            then (p_body->>'registration_opens_at')::timestamptz else registration_opens_at end,
        registration_closes_at = case when p_body ? 'registration_closes_at'
            then (p_body->>'registration_closes_at')::timestamptz else registration_closes_at end,
        hold_minutes = case when p_body ? 'hold_minutes'
            then (p_body->>'hold_minutes')::integer else hold_minutes end,
        approval_hold_days = case when p_body ? 'approval_hold_days'
            then (p_body->>'approval_hold_days')::integer else approval_hold_days end,
        max_credits = case when p_body ? 'max_credits'
            then (p_body->>'max_credits')::numeric else max_credits end,
        currency = case when p_body ? 'currency' then p_body->>'currency' else currency end,
        updated_at = now()
    where id = p_id
    returning * into v_new;

    -- Days and parts. The offering spans its parts exactly.
    if p_body ? 'parts' then
        delete from registrar.offering_parts where offering_id = p_id;
        v_i := 0;
        for v_item in select value from jsonb_array_elements(p_body->'parts') loop
            v_i := v_i + 1;
            if (v_item->>'ends_on')::date < (v_item->>'starts_on')::date then
                perform registrar.raise_invalid(format('parts[%s].ends_on', v_i - 1),
                    'must not be before starts_on');
            end if;
            begin
                insert into registrar.offering_parts (offering_id, position, name, starts_on, ends_on)
                values (p_id, v_i, v_item->>'name', (v_item->>'starts_on')::date, (v_item->>'ends_on')::date);
            exception when exclusion_violation then
                perform registrar.raise_invalid(format('parts[%s]', v_i - 1), 'overlaps another part');
            end;
        end loop;
        select min(starts_on), max(ends_on) into v_starts, v_ends
        from registrar.offering_parts where offering_id = p_id;
        if p_body ? 'starts_on' and (p_body->>'starts_on')::date <> v_starts then
            perform registrar.raise_invalid('starts_on', 'must be the first day of the first part');
        end if;
        if p_body ? 'ends_on' and (p_body->>'ends_on')::date <> v_ends then
            perform registrar.raise_invalid('ends_on', 'must be the last day of the last part');
        end if;
    elsif p_body ? 'starts_on' or p_body ? 'ends_on' or p_creating then
        v_starts := coalesce((p_body->>'starts_on')::date, v_old.starts_on);
        v_ends := coalesce((p_body->>'ends_on')::date, v_old.ends_on);
        if v_ends < v_starts then
            perform registrar.raise_invalid('ends_on', 'must not be before starts_on');
        end if;
        select count(*) into v_nparts from registrar.offering_parts where offering_id = p_id;
        if v_nparts = 0 then
            insert into registrar.offering_parts (offering_id, position, name, starts_on, ends_on)
            values (p_id, 1, 'Course days', v_starts, v_ends);
        elsif v_nparts = 1 then
            update registrar.offering_parts set starts_on = v_starts, ends_on = v_ends
            where offering_id = p_id;
        elsif exists (select 1 from registrar.offering_parts where offering_id = p_id
                      and (starts_on < v_starts or ends_on > v_ends)) then
            perform registrar.raise_invalid(case when p_body ? 'starts_on' then 'starts_on' else 'ends_on' end,
                'cuts into one of the parts; send the parts as well');
        else
            select min(starts_on), max(ends_on) into v_starts, v_ends
            from registrar.offering_parts where offering_id = p_id;
        end if;
    else
        v_starts := v_old.starts_on;
        v_ends := v_old.ends_on;
    end if;
    update registrar.offerings set starts_on = v_starts, ends_on = v_ends
    where id = p_id and (starts_on, ends_on) is distinct from (v_starts, v_ends);

    -- Moving days or changing the zone must not strand a session.
    if not p_creating and (p_body ? 'parts' or p_body ? 'starts_on' or p_body ? 'ends_on' or p_body ? 'timezone') then
        select json_agg(s.id order by s.starts_at) into v_stranded
        from registrar.sessions s
        where s.offering_id = p_id and s.status = 'scheduled'
          and not registrar.session_within_parts(p_id, v_new.timezone, s.starts_at, s.ends_at);
        if v_stranded is not null then
            raise exception using errcode = 'RG422', message = 'outside-offering',
                detail = json_build_object('detail',
                    'Some sessions would fall outside the offering''s days; move or delete them first.',
                    'sessions', v_stranded)::text;
        end if;
    end if;

    -- Credit types: every profession has one; those not named get the default.
    if p_body ? 'credit_types' or p_creating then
        delete from registrar.offering_credit_types where offering_id = p_id;
        for v_item in select value from jsonb_array_elements(coalesce(p_body->'credit_types', '[]')) loop
            begin
                insert into registrar.offering_credit_types (offering_id, profession, credit_type)
                values (p_id, v_item->>'profession', v_item->>'credit_type');
            exception when unique_violation then
                perform registrar.raise_invalid('credit_types', format('names %s twice', v_item->>'profession'));
            end;
        end loop;
        insert into registrar.offering_credit_types (offering_id, profession, credit_type)
        select p_id, p.profession, case p.profession when 'physician' then 'AMA PRA Category 1'
                                                      when 'nurse' then 'ANCC contact hours'
                                                      else 'participation' end
        from unnest(array['physician', 'nurse', 'physician_assistant', 'social_worker', 'chaplain',
                          'psychologist', 'pharmacist', 'trainee', 'other']) as p (profession)
        on conflict do nothing;
    end if;

    if p_body ? 'prices' then
        delete from registrar.offering_prices where offering_id = p_id;
        v_i := 0;
        for v_item in select value from jsonb_array_elements(p_body->'prices') loop
            v_i := v_i + 1;
            if (v_item->'early_amount_cents' is null or v_item->'early_amount_cents' = 'null')
               <> (v_item->'early_until' is null or v_item->'early_until' = 'null') then
                perform registrar.raise_invalid(format('prices[%s]', v_i - 1),
                    'early_amount_cents and early_until go together');
            end if;
            if (v_item->>'early_amount_cents')::integer > (v_item->>'amount_cents')::integer then
                perform registrar.raise_invalid(format('prices[%s].early_amount_cents', v_i - 1),
                    'must not be more than amount_cents');
            end if;
            begin
                insert into registrar.offering_prices (offering_id, profession, amount_cents,
                    early_amount_cents, early_until)
                values (p_id, v_item->>'profession', (v_item->>'amount_cents')::integer,
                    (v_item->>'early_amount_cents')::integer, (v_item->>'early_until')::date);
            exception when unique_violation then
                perform registrar.raise_invalid('prices', format('names %s twice', v_item->>'profession'));
            end;
        end loop;
    end if;

    if p_body ? 'cancellation_policy' then
        delete from registrar.offering_cancellation_rules where offering_id = p_id;
        for v_item in select value from jsonb_array_elements(p_body->'cancellation_policy') loop
            begin
                insert into registrar.offering_cancellation_rules (offering_id, until_days_before, refund_percent)
                values (p_id, (v_item->>'until_days_before')::integer, (v_item->>'refund_percent')::integer);
            exception when unique_violation then
                perform registrar.raise_invalid('cancellation_policy',
                    format('names until_days_before %s twice', v_item->>'until_days_before'));
            end;
        end loop;
    end if;
end $$;

-- Whether [p_starts, p_ends) lies within one part of the offering, reading
-- the part's days as midnight to midnight in zone p_tz.
create function registrar.session_within_parts(p_offering uuid, p_tz text, p_starts timestamptz,
    p_ends timestamptz) returns boolean
language sql stable as $$
    select exists (
        select 1 from registrar.offering_parts p
        where p.offering_id = p_offering
          and p_starts >= (p.starts_on::timestamp at time zone p_tz)
          and p_ends <= ((p.ends_on + 1)::timestamp at time zone p_tz))
$$;

-- POST /api/v1/courses/{slug}/offerings. Null (404) if there is no such course.
create function registrar.offering_create(p_viewer uuid, p_admin boolean, p_course text, p_body jsonb)
returns json
language plpgsql as $$
declare
    v_course uuid;
    v_id uuid;
begin
    select id into v_course from registrar.courses where slug = p_course;
    if not found then
        return null;
    end if;
    if not registrar.can_direct(v_course, p_viewer, p_admin) then
        perform registrar.raise_forbidden();
    end if;
    -- Placeholders that offering_apply overwrites from the body.
    insert into registrar.offerings (course_id, title, starts_on, ends_on, timezone, capacity)
    values (v_course, p_body->>'title', current_date, current_date, 'UTC', 0)
    returning id into v_id;
    perform registrar.offering_apply(v_id, p_body, true);
    return registrar.offering_get(v_id, p_viewer, p_admin);
end $$;

-- PATCH /api/v1/offerings/{id}. Null (404) if absent or an invisible draft.
--
-- Locking: the offering row FOR UPDATE, held to commit. That waits for
-- enrollments in flight (their seat update holds the row) and makes the
-- capacity check exact; and it conflicts with the FOR KEY SHARE that
-- session writes take, so parts and zone cannot change under a session
-- being placed, nor a session appear in days being removed.
create function registrar.offering_update(p_viewer uuid, p_admin boolean, p_id uuid, p_body jsonb)
returns json
language plpgsql as $$
declare
    v_o registrar.offerings;
begin
    select * into v_o from registrar.offerings where id = p_id for update;
    if not found then
        return null;
    end if;
    if not registrar.can_direct(v_o.course_id, p_viewer, p_admin) then
        if v_o.status = 'draft' then
            return null;
        end if;
        perform registrar.raise_forbidden();
    end if;
    perform registrar.offering_apply(p_id, p_body, false);
    return registrar.offering_get(p_id, p_viewer, p_admin);
end $$;

-- ---------------------------------------------------------------------------
-- Writes of sessions
--
-- Locking: the session's offering FOR KEY SHARE (see offering_update; it
-- never waits for enrollments, whose seat updates take FOR NO KEY UPDATE),
-- then the session row FOR UPDATE when it exists. Clashes are decided by
-- the exclusion constraints: of two clashing writes at the same moment, in
-- any processes, the second waits for the first to commit and then fails
-- with exclusion_violation, turned here into 409 schedule-conflict with the
-- ids of the sessions it clashes with (read after the wait, so the winner
-- is among them).

-- The live sessions that [p_starts, p_ends) would clash with: same room in
-- the offering, or a common faculty member anywhere.
create function registrar.session_conflicts(p_self uuid, p_offering uuid, p_room uuid,
    p_faculty uuid[], p_starts timestamptz, p_ends timestamptz) returns json
language sql stable as $$
    select coalesce(json_agg(x.id order by x.starts_at, x.id), '[]'::json)
    from (
        select s.id, s.starts_at from registrar.sessions s
        where s.status = 'scheduled' and s.id is distinct from p_self
          and s.during && tstzrange(p_starts, p_ends, '[)')
          and ((p_room is not null and s.offering_id = p_offering and s.room_id = p_room)
               or exists (select 1 from registrar.session_faculty sf
                          where sf.session_id = s.id and sf.faculty_id = any (p_faculty)))
    ) x
$$;

-- The clashing sessions themselves, so that an editor can name them: each
-- as its session JSON (in its own offering's timezone) plus its offering.
create function registrar.session_conflict_details(p_ids json) returns json
language sql stable as $$
    select coalesce(json_agg((registrar.session_json(s, o.timezone)::jsonb
                              || jsonb_build_object('offering_title', o.title))
                             order by s.starts_at, s.id), '[]'::json)
    from registrar.sessions s
    join registrar.offerings o on o.id = s.offering_id
    where s.id in (select value::uuid from json_array_elements_text(p_ids))
$$;

-- Creates (p_session null) or changes a session from p_body; returns its JSON.
create function registrar.session_write(p_viewer uuid, p_admin boolean, p_offering uuid,
    p_session uuid, p_body jsonb) returns json
language plpgsql as $$
declare
    v_conflicts json;
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
    exception when exclusion_violation then
        v_conflicts := registrar.session_conflicts(p_session, v_offering, v_room, v_faculty,
            v_starts, v_ends);
        raise exception using errcode = 'RG409', message = 'schedule-conflict',
            detail = json_build_object('detail',
                'The session clashes with another in the same room or with the same faculty member.',
                'conflicts', v_conflicts,
                'conflict_sessions', registrar.session_conflict_details(v_conflicts))::text;
    end;
    return registrar.session_json(v_s, v_o.timezone);
end $$;

-- POST /api/v1/offerings/{id}/sessions
create function registrar.session_create(p_viewer uuid, p_admin boolean, p_offering uuid, p_body jsonb)
returns json
language sql as $$
    select registrar.session_write(p_viewer, p_admin, p_offering, null, p_body)
$$;

-- PATCH /api/v1/sessions/{id}
create function registrar.session_update(p_viewer uuid, p_admin boolean, p_session uuid, p_body jsonb)
returns json
language sql as $$
    select registrar.session_write(p_viewer, p_admin, null, p_session, p_body)
$$;

-- DELETE /api/v1/sessions/{id}: the session becomes 'cancelled' (its
-- sequence raised by the trigger) and leaves every constraint. True, or
-- null (404) if absent, already cancelled or an invisible draft's.
-- Locking as in session_write.
create function registrar.session_delete(p_viewer uuid, p_admin boolean, p_session uuid)
returns boolean
language plpgsql as $$
declare
    v_o registrar.offerings;
begin
    select o.* into v_o from registrar.offerings o
    join registrar.sessions s on s.offering_id = o.id
    where s.id = p_session and s.status = 'scheduled'
    for key share of o;
    if not found then
        return null;
    end if;
    if not registrar.can_direct(v_o.course_id, p_viewer, p_admin) then
        if v_o.status = 'draft' then
            return null;
        end if;
        perform registrar.raise_forbidden();
    end if;
    update registrar.sessions set status = 'cancelled'
    where id = p_session and status = 'scheduled';
    return case when found then true end;
end $$;

-- ---------------------------------------------------------------------------
-- Calendars (rendered as RFC 5545 by the server with libical)

-- One calendar event per session, cancelled ones included: times as wall
-- clock in the offering's zone ('YYYY-MM-DD"T"HH24:MI:SS'), the stamp as
-- UTC epoch seconds of the last change, so that the feed and its ETag are
-- stable until something changes.
create function registrar.calendar_event_json(s registrar.sessions, o registrar.offerings) returns json
language sql stable as $$
    select json_build_object(
        'uid', s.id::text || '@registrar',
        'summary', s.title,
        'description', concat_ws(E'\n',
            nullif(s.description, ''),
            (select 'Faculty: ' || string_agg(f.name, ', ' order by sf.position)
             from registrar.session_faculty sf join registrar.faculty f on f.id = sf.faculty_id
             where sf.session_id = s.id),
            (select c.title from registrar.courses c where c.id = o.course_id) || ' — ' || o.title),
        'location', nullif(concat_ws(', ', (select r.name from registrar.rooms r where r.id = s.room_id),
                                     nullif(o.venue, '')), ''),
        'categories', s.kind,
        'tzid', o.timezone,
        'start', to_char(s.starts_at at time zone o.timezone, 'YYYY-MM-DD"T"HH24:MI:SS'),
        'end', to_char(s.ends_at at time zone o.timezone, 'YYYY-MM-DD"T"HH24:MI:SS'),
        'stamp', floor(extract(epoch from s.updated_at))::bigint,
        'created', floor(extract(epoch from s.created_at))::bigint,
        'sequence', s.sequence,
        'cancelled', s.status = 'cancelled')
$$;

-- GET /api/v1/offerings/{id}/schedule.ics: {name, events}. Null (404) if
-- absent or an invisible draft.
create function registrar.offering_calendar(p_offering uuid, p_viewer uuid, p_admin boolean)
returns json
language sql stable as $$
    select json_build_object(
        'name', (select c.title from registrar.courses c where c.id = o.course_id) || ' — ' || o.title,
        'events', coalesce((select json_agg(registrar.calendar_event_json(s, o) order by s.starts_at, s.id)
                            from registrar.sessions s where s.offering_id = o.id), '[]'::json))
    from registrar.offerings o
    where o.id = p_offering
      and (o.status <> 'draft' or registrar.can_direct(o.course_id, p_viewer, p_admin))
$$;

-- GET /api/v1/calendar/{feed_token}.ics, by the token's keyed hash. Null
-- (404) for an unknown or replaced token.
create function registrar.calendar_feed(p_token_hash bytea) returns json
language sql stable as $$
    select json_build_object(
        'name', 'My courses',
        'events', coalesce((select json_agg(registrar.calendar_event_json(s, o) order by s.starts_at, s.id)
                            from registrar.calendar_feed_sessions(t.user_id) f
                            join registrar.sessions s on s.id = f.session_id
                            join registrar.offerings o on o.id = s.offering_id), '[]'::json))
    from registrar.calendar_tokens t
    where t.token_hash = p_token_hash
$$;

-- POST /api/v1/me/calendar-token: stores the new token's hash in place of
-- the old one (one row per learner; the upsert serialises concurrent calls).
create function registrar.calendar_token_set(p_user uuid, p_token_hash bytea) returns boolean
language sql as $$
    insert into registrar.calendar_tokens (user_id, token_hash) values (p_user, p_token_hash)
    on conflict (user_id) do update set token_hash = excluded.token_hash, created_at = now()
    returning true
$$;
