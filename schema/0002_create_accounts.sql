-- 0002: accounts, sign-in sessions, the sign-in rate limit, password resets,
-- the outbox of messages and the audit log.
--
-- Secrets never reach this database in the clear: passwords arrive as
-- Argon2id strings, session, CSRF and reset tokens as keyed BLAKE2b digests
-- (32 bytes) made by the server with its secret key. The one exception is
-- by design: a password-reset message in the outbox carries its link,
-- which is the token, until it is delivered.
--
-- Time rules (30 minutes idle, 12 hours absolute, 15-minute failure window,
-- 1-hour reset tokens) are checked here against now(), so that every server
-- process agrees and tests can age rows with plain SQL.

-- ---------------------------------------------------------------------------
-- Tables

create table registrar.auth_sessions (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references registrar.users (id) on delete cascade,
    token_hash bytea not null check (octet_length(token_hash) = 32),
    csrf_hash bytea not null check (octet_length(csrf_hash) = 32),
    created_at timestamptz not null default now(),
    -- Touched at most once a minute, so that reads stay reads.
    last_seen_at timestamptz not null default now(),
    revoked_at timestamptz
);
create unique index auth_sessions_token on registrar.auth_sessions (token_hash);
create index auth_sessions_user on registrar.auth_sessions (user_id) where revoked_at is null;

-- One row per failed (or in-flight) sign-in attempt; see auth_attempt_begin.
create table registrar.auth_failures (
    id bigint generated always as identity primary key,
    email text not null,
    client_ip inet,
    at timestamptz not null default now()
);
create index auth_failures_email on registrar.auth_failures (email, at);
create index auth_failures_ip on registrar.auth_failures (client_ip, at);
create index auth_failures_at on registrar.auth_failures (at);

create table registrar.password_resets (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references registrar.users (id) on delete cascade,
    token_hash bytea not null unique check (octet_length(token_hash) = 32),
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    used_at timestamptz
);
create index password_resets_user on registrar.password_resets (user_id, created_at);

-- Messages to people (password resets, waitlist promotions, ...), written
-- in the transaction that decides them and delivered later by a job.
create table registrar.outbox (
    id bigint generated always as identity primary key,
    recipient text not null check (char_length(recipient) between 3 and 254),
    subject text not null check (char_length(subject) between 1 and 200),
    body text not null,
    created_at timestamptz not null default now(),
    sent_at timestamptz,
    attempts integer not null default 0 check (attempts >= 0),
    last_attempt_at timestamptz
);
create index outbox_unsent on registrar.outbox (id) where sent_at is null;

-- Who did what to whom. actor_id and offering_id are plain ids without
-- foreign keys: audit rows outlive what they name (an erased account keeps
-- only its id here). detail never holds secrets or personal data beyond ids.
create table registrar.audit_log (
    id bigint generated always as identity primary key,
    at timestamptz not null default now(),
    actor_id uuid,
    action text not null check (char_length(action) between 1 and 100),
    object text not null check (char_length(object) between 1 and 200),
    detail jsonb not null default '{}'::jsonb,
    offering_id uuid
);
create index audit_log_at on registrar.audit_log (at);
create index audit_log_offering on registrar.audit_log (offering_id, at) where offering_id is not null;

-- ---------------------------------------------------------------------------
-- The account as API.md's `user`

create function registrar.user_json(u registrar.users) returns json
language sql stable as $$
    select json_build_object(
        'id', u.id,
        'email', u.email,
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

-- POST /api/v1/accounts. The email arrives trimmed; it is lower-cased here.
-- The unique index on users.email decides races between two sign-ups.
create function registrar.account_create(p_email text, p_password_hash text, p_full_name text,
    p_profession text, p_credentials text, p_institution text) returns json
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
    return registrar.user_json(u);
end
$$;

-- GET /api/v1/me
create function registrar.me_get(p_user uuid) returns json
language sql stable as $$
    select registrar.user_json(u) from registrar.users u where u.id = p_user
$$;

-- PATCH /api/v1/me: null leaves a field as it is.
create function registrar.me_update(p_user uuid, p_full_name text, p_profession text,
    p_credentials text, p_institution text) returns json
language sql as $$
    update registrar.users u set
        full_name = coalesce(p_full_name, full_name),
        profession = coalesce(p_profession, profession),
        credentials = coalesce(p_credentials, credentials),
        institution = coalesce(p_institution, institution),
        updated_at = case when num_nonnulls(p_full_name, p_profession, p_credentials, p_institution) > 0
                          then now() else updated_at end
    where id = p_user
    returning registrar.user_json(u)
$$;

-- ---------------------------------------------------------------------------
-- The failure counter, shared by every server process
--
-- At most 10 failures per account (email, known or not) and per client
-- address in 15 minutes. An attempt is recorded as a failure BEFORE the
-- password is checked and the row is deleted again when the password turns
-- out right, so attempts in flight count too: however many arrive at once,
-- through however many processes, no more than 10 are ever checked.
--
-- Locking: a transaction-scoped advisory lock per email, then one per
-- address (always in that order, so two attempts cannot deadlock)
-- serialises count-then-insert for the same key; the locks are held for
-- the few microseconds of this one statement.
--
-- Returns (retry_after, attempt_id): retry_after > 0 means refused, with
-- the seconds until enough failures age out for one more attempt.
create function registrar.auth_attempt_begin(p_email text, p_ip inet,
    out retry_after integer, out attempt_id bigint)
language plpgsql as $$
declare
    c_window constant interval := interval '15 minutes';
    c_max constant integer := 10;
    n integer;
    oldest timestamptz;
begin
    retry_after := 0;
    perform pg_advisory_xact_lock(20021, hashtext(p_email));
    if p_ip is not null then
        perform pg_advisory_xact_lock(20022, hashtext(host(p_ip)));
    end if;

    select count(*) into n from registrar.auth_failures
    where email = p_email and at > now() - c_window;
    if n >= c_max then
        select f.at into oldest from registrar.auth_failures f
        where f.email = p_email and f.at > now() - c_window
        order by f.at offset n - c_max limit 1;
        retry_after := greatest(retry_after,
            greatest(1, ceil(extract(epoch from oldest + c_window - now()))::integer));
    end if;
    if p_ip is not null then
        select count(*) into n from registrar.auth_failures
        where client_ip = p_ip and at > now() - c_window;
        if n >= c_max then
            select f.at into oldest from registrar.auth_failures f
            where f.client_ip = p_ip and f.at > now() - c_window
            order by f.at offset n - c_max limit 1;
            retry_after := greatest(retry_after,
                greatest(1, ceil(extract(epoch from oldest + c_window - now()))::integer));
        end if;
    end if;
    if retry_after > 0 then
        return;
    end if;

    insert into registrar.auth_failures (email, client_ip) values (p_email, p_ip)
    returning id into attempt_id;
    -- Old rows are of no use to anyone: sweep now and then.
    if random() < 0.01 then
        delete from registrar.auth_failures where at < now() - c_window;
    end if;
end
$$;

-- POST /api/v1/auth/sessions, step 1 (before any hashing): the rate limit,
-- the attempt row, and the account's password hash (null for an unknown
-- email, which the server answers exactly like a wrong password).
create function registrar.auth_signin_begin(p_email text, p_ip text,
    out retry_after integer, out attempt_id bigint, out user_id uuid, out password_hash text)
language plpgsql as $$
declare
    v_email text := lower(btrim(p_email));
begin
    select a.retry_after, a.attempt_id into retry_after, attempt_id
    from registrar.auth_attempt_begin(v_email, nullif(p_ip, '')::inet) a;
    if retry_after > 0 then
        return;
    end if;
    select u.id, u.password_hash into user_id, password_hash
    from registrar.users u where u.email = v_email;
end
$$;

-- POST /api/v1/auth/sessions, step 3 (after the password checked out):
-- forgets the attempt, stores a fresher hash when the server made one, and
-- opens the session. p_old_hash is the hash that was checked: if the
-- password changed in between, nobody is signed in (null).
create function registrar.auth_signin_finish(p_attempt bigint, p_user uuid, p_old_hash text,
    p_new_hash text, p_token_hash bytea, p_csrf_hash bytea) returns json
language plpgsql as $$
declare
    u registrar.users;
    s registrar.auth_sessions;
begin
    delete from registrar.auth_failures where id = p_attempt;
    if p_new_hash is not null then
        update registrar.users set password_hash = p_new_hash
        where id = p_user and password_hash = p_old_hash
        returning * into u;
    else
        select * into u from registrar.users where id = p_user and password_hash = p_old_hash;
    end if;
    if u.id is null then
        return null;
    end if;
    insert into registrar.auth_sessions (user_id, token_hash, csrf_hash)
    values (u.id, p_token_hash, p_csrf_hash)
    returning * into s;
    if random() < 0.01 then
        delete from registrar.auth_sessions
        where revoked_at < now() - interval '1 day'
           or last_seen_at < now() - interval '1 day'
           or created_at < now() - interval '2 days';
    end if;
    return json_build_object(
        'expires_at', least(s.last_seen_at + interval '30 minutes', s.created_at + interval '12 hours'),
        'user', registrar.user_json(u));
end
$$;

-- Drops an attempt row that was no attempt after all (hashing failed).
create function registrar.auth_attempt_cancel(p_attempt bigint) returns void
language sql as $$
    delete from registrar.auth_failures where id = p_attempt
$$;

-- Every authenticated request: the live session with this token digest.
-- Idle 30 minutes or older than 12 hours is expired. last_seen_at is
-- written at most once a minute, so most requests only read.
create function registrar.auth_session_resolve(p_token_hash bytea,
    out session_id uuid, out user_id uuid, out is_admin boolean, out csrf_hash bytea)
returns setof record
language plpgsql as $$
declare
    v_seen timestamptz;
begin
    select s.id, s.user_id, u.is_admin, s.csrf_hash, s.last_seen_at
    into session_id, user_id, is_admin, csrf_hash, v_seen
    from registrar.auth_sessions s
    join registrar.users u on u.id = s.user_id
    where s.token_hash = p_token_hash
      and s.revoked_at is null
      and s.last_seen_at > now() - interval '30 minutes'
      and s.created_at > now() - interval '12 hours';
    if not found then
        return;
    end if;
    if v_seen < now() - interval '1 minute' then
        update registrar.auth_sessions set last_seen_at = now() where id = session_id;
    end if;
    return next;
end
$$;

-- DELETE /api/v1/auth/sessions/current
create function registrar.auth_session_revoke(p_session uuid) returns void
language sql as $$
    update registrar.auth_sessions set revoked_at = now()
    where id = p_session and revoked_at is null
$$;

-- ---------------------------------------------------------------------------
-- Passwords

-- POST /api/v1/me/password, step 1: the same failure counter as sign-in
-- (a stolen session must not become a password oracle), and the hash.
create function registrar.password_change_begin(p_user uuid, p_ip text,
    out retry_after integer, out attempt_id bigint, out password_hash text)
language plpgsql as $$
declare
    v_email text;
begin
    select u.email, u.password_hash into v_email, password_hash
    from registrar.users u where u.id = p_user;
    if v_email is null then
        retry_after := 0;
        return;
    end if;
    select a.retry_after, a.attempt_id into retry_after, attempt_id
    from registrar.auth_attempt_begin(v_email, nullif(p_ip, '')::inet) a;
end
$$;

-- POST /api/v1/me/password, step 3: sets the new hash if the old one is
-- still in place (else false: changed meanwhile) and revokes every other
-- session of the account. The row lock of the update orders concurrent
-- changes; the loser sees a hash other than the one it checked.
create function registrar.password_change_finish(p_user uuid, p_session uuid, p_attempt bigint,
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
    return true;
end
$$;

-- POST /api/v1/auth/password-resets. Does nothing for an unknown email,
-- and nothing past 5 requests an hour for one account (the answer is 202
-- either way). The token itself goes only into the message.
create function registrar.password_reset_request(p_email text, p_token text, p_token_hash bytea)
returns void
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
        '/#/reset?token=%s\n\n'
        'If you did not ask for this, ignore this message: your password stays as it is.\n',
        u.full_name, p_token));
end
$$;

-- POST /api/v1/auth/password-resets/confirm, step 1: is the token live?
-- (Spares an Argon2 hash for tokens that are not.)
create function registrar.password_reset_check(p_token_hash bytea) returns boolean
language sql stable as $$
    select exists (select 1 from registrar.password_resets
                   where token_hash = p_token_hash and used_at is null and expires_at > now())
$$;

-- POST /api/v1/auth/password-resets/confirm, step 3: uses the token up
-- (the conditional update is the single-use guarantee: a concurrent second
-- use waits for the row lock, re-checks used_at and finds nothing), sets the
-- password, revokes every session, forgets the account's failures and
-- voids its other reset tokens.
create function registrar.password_reset_confirm(p_token_hash bytea, p_new_hash text)
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
    delete from registrar.auth_failures
    where email = (select email from registrar.users where id = v_user);
    return true;
end
$$;

-- ---------------------------------------------------------------------------
-- Roles

-- PUT/DELETE /api/v1/courses/{slug}/directors/{user_id}: null when the
-- course or the user does not exist. Writes an audit row when the role
-- actually changes; granting twice or revoking a non-director is a no-op.
create function registrar.course_director_set(p_actor uuid, p_slug text, p_user uuid,
    p_grant boolean) returns json
language plpgsql as $$
declare
    v_course uuid;
    v_changed integer;
begin
    select id into v_course from registrar.courses where slug = p_slug;
    if v_course is null or not exists (select 1 from registrar.users where id = p_user) then
        return null;
    end if;
    if p_grant then
        insert into registrar.course_directors (course_id, user_id) values (v_course, p_user)
        on conflict do nothing;
    else
        delete from registrar.course_directors where course_id = v_course and user_id = p_user;
    end if;
    get diagnostics v_changed = row_count;
    if v_changed > 0 then
        insert into registrar.audit_log (actor_id, action, object, detail)
        values (p_actor, case when p_grant then 'director.grant' else 'director.revoke' end,
                'user:' || p_user, jsonb_build_object('course', p_slug, 'user_id', p_user));
        perform pg_notify('registrar_catalog', 'course:' || p_slug);
    end if;
    return json_build_object('changed', v_changed > 0);
end
$$;

-- registrar create-admin: creates the account, or makes an existing one an
-- admin (its password then stays as it is). Returns 'created' or 'promoted'.
create function registrar.admin_ensure(p_email text, p_full_name text, p_password_hash text)
returns text
language plpgsql as $$
declare
    v_id uuid;
    v_created boolean;
begin
    insert into registrar.users (email, password_hash, full_name, profession, is_admin)
    values (lower(btrim(p_email)), p_password_hash, p_full_name, 'other', true)
    on conflict (email) do update set is_admin = true, updated_at = now()
    returning id, (xmax = 0) into v_id, v_created;
    insert into registrar.audit_log (actor_id, action, object, detail)
    values (null, case when v_created then 'admin.create' else 'admin.grant' end,
            'user:' || v_id, jsonb_build_object('via', 'create-admin'));
    return case when v_created then 'created' else 'promoted' end;
end
$$;
