-- 0007: abuse resistance of registration (issue 8, items 1, 4, 5, 7, 11).
--
--   * Waitlist positions are exact under any concurrency: a registration
--     that finds the offering full takes the offering's row lock all the
--     same, and its place in the waitlist (waitlist_seq) is drawn under
--     that lock, so the waitlist's stored order is the order of the lock
--     and every earlier place is committed before a later one is counted.
--   * Registering needs a verified email (users.email_verified_at, a
--     one-day single-use link through the outbox, its token kept only as
--     a keyed digest as password-reset tokens are).
--   * Sign-ups, password-reset requests and discount codes tried are rate
--     limited per client address (IPv4 address, IPv6 /64) and per learner
--     in one table shared by every server process: rate_limit_take().
--   * A learner has at most 3 unpaid holds at once, across offerings.
--   * An unknown, used-up or expired discount code gets one and the same
--     answer.
--   * Links in messages are absolute, built from the server's
--     REGISTRAR_PUBLIC_URL, passed in by the server.
--   * A password change or reset revokes the calendar feed token; reset and
--     verification links are removed from an outbox row once delivered.

-- ---------------------------------------------------------------------------
-- Verified emails

alter table registrar.users add column if not exists email_verified_at timestamptz;

-- Admins made by `registrar create-admin` count as verified: an operator
-- vouches for them.
update registrar.users set email_verified_at = coalesce(email_verified_at, now()) where is_admin;

create table registrar.email_verifications (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references registrar.users (id) on delete cascade,
    token_hash bytea not null unique check (octet_length(token_hash) = 32),
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    used_at timestamptz
);
create index email_verifications_user on registrar.email_verifications (user_id, created_at);

-- API.md's `user`, now with email_verified.
create or replace function registrar.user_json(u registrar.users) returns json
language sql stable as $$
    select json_build_object(
        'id', u.id,
        'email', u.email,
        'email_verified', u.email_verified_at is not null,
        'full_name', u.full_name,
        'profession', u.profession,
        'credentials', u.credentials,
        'institution', u.institution,
        'roles', json_build_object(
            'admin', u.is_admin,
            'director_of', coalesce((
                select json_agg(c.slug order by c.slug)
                from registrar.course_directors d
                join registrar.courses c on c.id = d.course_id
                where d.user_id = u.id), '[]'::json)),
        'created_at', u.created_at)
$$;

-- A link of the web client: p_base_url (REGISTRAR_PUBLIC_URL, without a
-- trailing slash) + '/#/' + p_route + '?token=' + the token.
create function registrar.message_link(p_base_url text, p_route text, p_token text) returns text
language sql immutable as $$
    select rtrim(coalesce(p_base_url, ''), '/') || '/#/' || p_route || '?token=' || p_token
$$;

-- Issues a verification link for u (the token's digest is stored, the token
-- itself goes only into the message). At most 5 an hour per account: past
-- that nothing is sent (the API answers 202 either way). Nothing for an
-- account already verified.
create function registrar.email_verification_issue(u registrar.users, p_token text,
    p_token_hash bytea, p_base_url text) returns void
language plpgsql as $$
begin
    if u.id is null or u.email_verified_at is not null then
        return;
    end if;
    if (select count(*) from registrar.email_verifications v
        where v.user_id = u.id and v.created_at > now() - interval '1 hour') >= 5 then
        return;
    end if;
    insert into registrar.email_verifications (user_id, token_hash, expires_at)
    values (u.id, p_token_hash, now() + interval '1 day');
    insert into registrar.outbox (recipient, subject, body)
    values (u.email, 'Confirm your email address for Registrar', format(
        E'Hello %s,\n\n'
        'Please confirm that this is your email address, so that you can register for courses.\n'
        'Open this link within one day:\n\n'
        '%s\n\n'
        'If you did not make a Registrar account, ignore this message.\n',
        u.full_name, registrar.message_link(p_base_url, 'verify', p_token)));
end
$$;

-- POST /api/v1/accounts: account_create of 0002 plus the first
-- verification link. The unique index on users.email decides races.
create function registrar.account_create(p_email text, p_password_hash text, p_full_name text,
    p_profession text, p_credentials text, p_institution text, p_token text, p_token_hash bytea,
    p_base_url text) returns json
language plpgsql as $$
declare
    u registrar.users;
begin
    insert into registrar.users (email, password_hash, full_name, profession, credentials, institution)
    values (lower(btrim(p_email)), p_password_hash, p_full_name, p_profession,
            coalesce(p_credentials, ''), coalesce(p_institution, ''))
    on conflict (email) do nothing
    returning * into u;
    if u.id is null then
        raise exception using errcode = 'RG409', message = 'email-taken',
            detail = json_build_object('detail', 'An account with this email already exists.',
                'errors', json_build_array(json_build_object('field', 'email',
                    'message', 'is already registered')))::text;
    end if;
    perform registrar.email_verification_issue(u, p_token, p_token_hash, p_base_url);
    return registrar.user_json(u);
end
$$;

-- POST /api/v1/me/email-verification: another link (202 whatever happens).
create function registrar.email_verification_request(p_user uuid, p_token text, p_token_hash bytea,
    p_base_url text) returns void
language plpgsql as $$
declare
    u registrar.users;
begin
    -- The row lock orders concurrent requests of one account, so that the
    -- count of the last hour's links is exact.
    select * into u from registrar.users where id = p_user for no key update;
    perform registrar.email_verification_issue(u, p_token, p_token_hash, p_base_url);
end
$$;

-- POST /api/v1/auth/email-verifications/confirm: uses the token up (the
-- conditional update is the single-use guarantee: a concurrent second use
-- waits for the row lock, re-checks used_at and finds nothing), marks the
-- email verified and voids the account's other links. False for an
-- unknown, used or expired token.
create function registrar.email_verification_confirm(p_token_hash bytea) returns boolean
language plpgsql as $$
declare
    v_user uuid;
begin
    update registrar.email_verifications set used_at = now()
    where token_hash = p_token_hash and used_at is null and expires_at > now()
    returning user_id into v_user;
    if v_user is null then
        return false;
    end if;
    update registrar.users set email_verified_at = coalesce(email_verified_at, now()), updated_at = now()
    where id = v_user;
    update registrar.email_verifications set used_at = now() where user_id = v_user and used_at is null;
    return true;
end
$$;

-- registrar create-admin: as in 0002, and the admin's email counts as
-- verified (the operator vouches for it).
create or replace function registrar.admin_ensure(p_email text, p_full_name text, p_password_hash text)
returns text
language plpgsql as $$
declare
    v_id uuid;
    v_created boolean;
begin
    insert into registrar.users (email, password_hash, full_name, profession, is_admin, email_verified_at)
    values (lower(btrim(p_email)), p_password_hash, p_full_name, 'other', true, now())
    on conflict (email) do update set is_admin = true,
        email_verified_at = coalesce(registrar.users.email_verified_at, now()), updated_at = now()
    returning id, (xmax = 0) into v_id, v_created;
    insert into registrar.audit_log (actor_id, action, object, detail)
    values (null, case when v_created then 'admin.create' else 'admin.grant' end,
            'user:' || v_id, jsonb_build_object('via', 'create-admin'));
    return case when v_created then 'created' else 'promoted' end;
end
$$;

-- ---------------------------------------------------------------------------
-- Rate limits per client address and per learner

-- The key of a client address: the address itself for IPv4 (an
-- IPv4-mapped IPv6 address counts as its IPv4 address), its /64 for IPv6
-- (one subscriber usually holds a whole /64). Null for null.
create function registrar.address_key(p_ip inet) returns cidr
language sql immutable strict parallel safe as $$
    select case
        when family(p_ip) = 4 then network(set_masklen(p_ip, 32))
        when p_ip << '::ffff:0.0.0.0/96'::inet
            then network(set_masklen('0.0.0.0'::inet + (host(p_ip)::inet - '::ffff:0.0.0.0'::inet), 32))
        else network(set_masklen(p_ip, 64))
    end
$$;

-- One row per counted event; rows older than a day are of no use.
create table registrar.rate_events (
    id bigint generated always as identity primary key,
    kind text not null check (kind in ('signup', 'password-reset', 'discount-address', 'discount-learner')),
    key text not null check (char_length(key) between 1 and 64),
    at timestamptz not null default now()
);
create index rate_events_key on registrar.rate_events (kind, key, at);
create index rate_events_at on registrar.rate_events (at);

-- Counts one event of p_kind for p_key (an address_key as text, or a
-- learner's id), at most p_limit in p_window_s seconds: past that it raises
-- 429 rate-limited with retry_after (seconds until the oldest counted event
-- leaves the window) and counts nothing. A null key (no client address) is
-- not limited. Call it in a transaction of its own, committed before the
-- work it guards: a guarded request that fails must still have counted.
--
-- Locking: a transaction-scoped advisory lock per (kind, key) serialises
-- count-then-insert, so however many requests arrive at once through
-- however many processes, no more than p_limit are let through.
create function registrar.rate_limit_take(p_kind text, p_key text, p_limit integer, p_window_s integer)
returns void
language plpgsql as $$
declare
    v_window interval := make_interval(secs => p_window_s);
    n integer;
    oldest timestamptz;
begin
    if p_key is null then
        return;
    end if;
    perform pg_advisory_xact_lock(20071, hashtext(p_kind || '|' || p_key));
    select count(*) into n from registrar.rate_events
    where kind = p_kind and key = p_key and at > now() - v_window;
    if n >= p_limit then
        select e.at into oldest from registrar.rate_events e
        where e.kind = p_kind and e.key = p_key and e.at > now() - v_window
        order by e.at offset greatest(n - p_limit, 0) limit 1;
        perform registrar.raise_app('RG429', 'rate-limited',
            'Too many requests of this kind from here. Wait a while before trying again.',
            jsonb_build_object('retry_after',
                greatest(1, ceil(extract(epoch from coalesce(oldest, now()) + v_window - now()))::integer)));
    end if;
    insert into registrar.rate_events (kind, key) values (p_kind, p_key);
    if random() < 0.01 then
        delete from registrar.rate_events where at < now() - interval '1 day';
    end if;
end
$$;

-- ---------------------------------------------------------------------------
-- Passwords: absolute links, calendar feeds revoked

-- POST /api/v1/auth/password-resets: password_reset_request of 0002 with an
-- absolute link built from p_base_url.
create function registrar.password_reset_request(p_email text, p_token text, p_token_hash bytea,
    p_base_url text) returns void
language plpgsql as $$
declare
    u registrar.users;
begin
    select * into u from registrar.users where email = lower(btrim(p_email));
    if u.id is null then
        return;
    end if;
    if (select count(*) from registrar.password_resets r
        where r.user_id = u.id and r.created_at > now() - interval '1 hour') >= 5 then
        return;
    end if;
    insert into registrar.password_resets (user_id, token_hash, expires_at)
    values (u.id, p_token_hash, now() + interval '1 hour');
    insert into registrar.outbox (recipient, subject, body)
    values (u.email, 'Reset your Registrar password', format(
        E'Hello %s,\n\n'
        'Someone, probably you, asked to reset the password of your Registrar account.\n'
        'To choose a new password, open this link within one hour:\n\n'
        '%s\n\n'
        'If you did not ask for this, ignore this message: your password stays as it is.\n',
        u.full_name, registrar.message_link(p_base_url, 'reset', p_token)));
end
$$;

-- As in 0002, and the calendar feed token goes too: whoever had the
-- password may have copied the feed's address.
create or replace function registrar.password_change_finish(p_user uuid, p_session uuid, p_attempt bigint,
    p_old_hash text, p_new_hash text) returns boolean
language plpgsql as $$
begin
    delete from registrar.auth_failures where id = p_attempt;
    update registrar.users set password_hash = p_new_hash, updated_at = now()
    where id = p_user and password_hash = p_old_hash;
    if not found then
        return false;
    end if;
    update registrar.auth_sessions set revoked_at = now()
    where user_id = p_user and id <> p_session and revoked_at is null;
    delete from registrar.calendar_tokens where user_id = p_user;
    return true;
end
$$;

create or replace function registrar.password_reset_confirm(p_token_hash bytea, p_new_hash text)
returns boolean
language plpgsql as $$
declare
    v_user uuid;
begin
    update registrar.password_resets set used_at = now()
    where token_hash = p_token_hash and used_at is null and expires_at > now()
    returning user_id into v_user;
    if v_user is null then
        return false;
    end if;
    update registrar.users set password_hash = p_new_hash, updated_at = now() where id = v_user;
    update registrar.auth_sessions set revoked_at = now() where user_id = v_user and revoked_at is null;
    update registrar.password_resets set used_at = now() where user_id = v_user and used_at is null;
    delete from registrar.calendar_tokens where user_id = v_user;
    delete from registrar.auth_failures
    where email = (select email from registrar.users where id = v_user);
    return true;
end
$$;

-- ---------------------------------------------------------------------------
-- The outbox: a delivered message keeps no live link

-- The relay accepted the message. Idempotent. Reset and verification links
-- (the tokens themselves) are replaced by a placeholder, so that the row
-- stays readable but a copy of the database opens nothing.
create or replace function registrar.outbox_sent(p_id bigint) returns void
language sql as $$
    update registrar.outbox
    set sent_at = coalesce(sent_at, now()), claimed_until = null,
        attempts = attempts + case when sent_at is null then 1 else 0 end,
        last_attempt_at = case when sent_at is null then now() else last_attempt_at end,
        body = regexp_replace(body, '\S*#/(reset|verify)\?token=[A-Za-z0-9_=-]*',
                              '[link removed after delivery]', 'g')
    where id = p_id
$$;

-- ---------------------------------------------------------------------------
-- Registering

-- One answer for every discount code that cannot be used, whatever the
-- reason (unknown, used up, expired): the answer tells a guesser nothing.
create function registrar.raise_discount_invalid() returns void
language plpgsql as $$
begin
    perform registrar.raise_app('RG422', 'discount-code-invalid',
        'This discount code cannot be used for this offering.',
        jsonb_build_object('errors', jsonb_build_array(jsonb_build_object(
            'field', 'discount_code', 'message', 'is not a valid code for this offering'))));
end $$;

-- As in 0004, but an unusable code raises the one answer above.
create or replace function registrar.price_quote(o registrar.offerings, p_profession text, p_code text,
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
        perform registrar.raise_discount_invalid();
    end if;
    discount_code_id := d.id;
    discount_cents := case when d.percent_off is not null then (price_cents * d.percent_off) / 100
                           else least(d.amount_off_cents, price_cents) end;
end $$;

-- GET /api/v1/offerings/{id}/price: unchanged but for price_quote's one
-- answer; the server counts a quote with a code (rate_limit_take) before.
create or replace function registrar.enrollment_quote(p_user uuid, p_offering uuid, p_code text) returns json
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

-- A waitlisted enrollment's place: 1 + the waitlisted enrollments of the
-- same offering before it in the stored order. Since every place is drawn
-- under the offering's row lock (enroll below), all earlier places are
-- committed by the time a later one is read: the count misses none.
create or replace function registrar.waitlist_position(e registrar.enrollments) returns integer
language sql stable as $$
    select case when e.status = 'waitlisted' then (
        select count(*)::integer from registrar.enrollments w
        where w.offering_id = e.offering_id and w.status = 'waitlisted'
          and w.waitlist_seq <= e.waitlist_seq) end
$$;

-- POST /api/v1/offerings/{id}/enrollments. Null (404) for an unknown or
-- draft offering; 403 email-unverified before the email is verified; 409
-- too-many-holds when the learner already has 3 unpaid holds (of any
-- offering) and this registration would hold a fourth seat.
--
-- Locking, in this order:
--   1. a transaction-scoped advisory lock per learner, so that two
--      registrations of one learner cannot both count 2 holds and make 4
--      (taken before any row lock, and by nothing else: it closes no cycle);
--   2. the learner's own expired hold (expire_own_hold, as in 0004);
--   3. the discount code's conditional update (uses < max_uses);
--   4. the offering's row: the conditional seat update, or, when the
--      offering is full, the row lock itself (FOR NO KEY UPDATE, the lock
--      the seat update takes), so that places on the waitlist are drawn in
--      the order of that lock and each answer's position counts every
--      earlier place, committed by then. A seat freed while this waited
--      for the lock is taken after all.
-- All are held to the commit, which follows at once. The insert's ON
-- CONFLICT on the partial unique index catches a second registration of
-- the same learner racing this one; raising then rolls the seat and the
-- code's use back with everything else.
create or replace function registrar.enroll(p_user uuid, p_offering uuid, p_code text) returns json
language plpgsql as $$
declare
    o registrar.offerings;
    e registrar.enrollments;
    u registrar.users;
    q record;
    v_status text;
    v_due integer;
    v_existing uuid;
begin
    select * into o from registrar.offerings where id = p_offering;
    if o.id is null or o.status = 'draft' then
        return null;
    end if;
    select * into u from registrar.users where id = p_user;
    if u.email_verified_at is null then
        perform registrar.raise_app('RG403', 'email-unverified',
            'Confirm your email address before registering: open the link we sent you, or ask for a new one.');
    end if;
    if o.status <> 'open' or now() < coalesce(o.registration_opens_at, '-infinity')
       or now() >= coalesce(o.registration_closes_at, 'infinity') then
        perform registrar.raise_app('RG422', 'registration-closed', case
            when o.status <> 'open' then 'Registration for this offering is not open.'
            when now() < coalesce(o.registration_opens_at, '-infinity') then
                format('Registration opens at %s.', registrar.rfc3339(o.registration_opens_at, o.timezone))
            else 'Registration for this offering has closed.' end);
    end if;
    perform pg_advisory_xact_lock(20072, hashtext(p_user::text));
    perform registrar.expire_own_hold(p_user, p_offering);
    select id into v_existing from registrar.enrollments
    where user_id = p_user and offering_id = p_offering
      and status in ('applied', 'held', 'confirmed', 'waitlisted');
    if v_existing is not null then
        perform registrar.raise_app('RG409', 'already-enrolled',
            'You are already registered for this offering.', jsonb_build_object('enrollment_id', v_existing));
    end if;
    select * into q from registrar.price_quote(o, u.profession, p_code);
    v_due := q.price_cents - q.discount_cents;

    if q.discount_code_id is not null then
        update registrar.discount_codes set uses = uses + 1
        where id = q.discount_code_id and uses < max_uses
          and (expires_at is null or expires_at > now());
        if not found then
            perform registrar.raise_discount_invalid();
        end if;
    end if;

    if o.requires_application then
        v_status := 'applied';
    else
        update registrar.offerings set seats_taken = seats_taken + 1
        where id = p_offering and seats_taken < capacity;
        if not found then
            perform 1 from registrar.offerings where id = p_offering for no key update;
            update registrar.offerings set seats_taken = seats_taken + 1
            where id = p_offering and seats_taken < capacity;
        end if;
        v_status := case when not found then 'waitlisted' when v_due = 0 then 'confirmed' else 'held' end;
    end if;

    if v_status = 'held' and (select count(*) from registrar.enrollments h
                              where h.user_id = p_user and h.status = 'held'
                                and h.hold_expires_at > now()) >= 3 then
        perform registrar.raise_app('RG409', 'too-many-holds',
            'You already hold 3 unpaid seats. Pay for one of them, or cancel one, before registering for another.',
            jsonb_build_object('max_holds', 3));
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
-- Links in messages decided without a request (waitlist promotions by the
-- sweep, a cancellation, a capacity trigger): the server's
-- REGISTRAR_PUBLIC_URL, stored by each server process when it starts
-- (settings_set_public_url). Processes of one deployment share one value.

create table registrar.settings (
    id boolean primary key default true check (id),
    public_url text not null check (public_url ~ '^https?://[^/?#@ ]+' and char_length(public_url) <= 200),
    updated_at timestamptz not null default now()
);

create function registrar.settings_set_public_url(p_url text) returns void
language sql as $$
    insert into registrar.settings (public_url) values (rtrim(p_url, '/'))
    on conflict (id) do update set public_url = excluded.public_url, updated_at = now()
    where registrar.settings.public_url is distinct from excluded.public_url
$$;

-- The base of links in messages (config.c's default until a server stored one).
create function registrar.public_url() returns text
language sql stable as $$
    select coalesce((select public_url from registrar.settings where id), 'http://127.0.0.1:8080')
$$;

-- As in 0004, and the message links to the registration, where the learner pays.
create or replace function registrar.promote_waitlist(p_offering uuid, p_max integer) returns integer
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
                             o.timezone) end
            || E'\n\nYour registration: ' || registrar.public_url() || '/#/registrations/' || w.id);
        v_n := v_n + 1;
    end loop;
    return v_n;
end $$;


-- ---------------------------------------------------------------------------
-- Deciding applications (0004's enrollment_decide): an approval that finds
-- the offering full draws its waitlist place under the offering's row lock,
-- as enroll() does, so that places stay exact when approvals and
-- registrations race; the approval's message links to the registration.
--
-- Locking: the enrollment FOR UPDATE, then (approval) the offering's
-- conditional seat update or its row lock, or (rejection) the discount code.
create or replace function registrar.enrollment_decide(p_actor uuid, p_admin boolean, p_id uuid, p_approve boolean,
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
        if not found then
            -- Full: the waitlist place is drawn under the offering's row lock, as in enroll().
            perform 1 from registrar.offerings where id = o.id for no key update;
            update registrar.offerings set seats_taken = seats_taken + 1
            where id = o.id and seats_taken < capacity;
        end if;
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
            end || coalesce(E'\n\n' || p_note, '')
            || E'\n\nYour registration: ' || registrar.public_url() || '/#/registrations/' || e.id);
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
