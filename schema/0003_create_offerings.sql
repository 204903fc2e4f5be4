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
