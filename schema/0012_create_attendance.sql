-- 0012: attendance per session (marked by directors, scanned from badges
-- at the door, or entered by learners with the room code), badge codes,
-- the replay guard of offline scans, the attended hours of the roster, and
-- the audit log for admins.

-- ---------------------------------------------------------------------------
-- Attendance
--
-- One row per learner present at a session. The engineer doing
-- certificates creates the same table with `create table if not exists`:
-- the columns are agreed and must stay exactly these.
create table if not exists registrar.attendance (
    session_id uuid references registrar.sessions,
    enrollment_id uuid references registrar.enrollments,
    checked_in_at timestamptz not null default now(),
    method text check (method in ('manual', 'badge', 'session_code')),
    marked_by uuid null,
    primary key (session_id, enrollment_id)
);
create index if not exists attendance_enrollment on registrar.attendance (enrollment_id);

-- The roster's attended_hours (the seam left in 0004): the credit hours of
-- the sessions the learner attended.
create or replace function registrar.enrollment_attended_hours(p_enrollment uuid) returns numeric
language sql stable as $$
    select coalesce(sum(s.credit_hours), 0)::numeric
    from registrar.attendance a join registrar.sessions s on s.id = a.session_id
    where a.enrollment_id = p_enrollment
$$;

-- The session and its offering for a director's request: null when the
-- session does not exist or sits in a draft the caller may not see (404),
-- RG403 when the caller does not direct the course.
create function registrar.attendance_session(p_actor uuid, p_admin boolean, p_session uuid)
returns registrar.offerings
language plpgsql stable as $$
declare
    o registrar.offerings;
begin
    select o2.* into o from registrar.sessions s join registrar.offerings o2 on o2.id = s.offering_id
    where s.id = p_session;
    if o.id is null or (o.status = 'draft' and not registrar.can_direct(o.course_id, p_actor, p_admin)) then
        return null;
    end if;
    perform registrar.require_director(o, p_actor, p_admin);
    return o;
end $$;

-- PUT/DELETE /api/v1/sessions/{id}/attendance[/{enrollment_id}]: marks
-- (p_present) or unmarks the enrollments at the session. Only confirmed
-- enrollments of the session's offering: any other id is 422
-- `not-confirmed` naming them, and nothing changes. A scheduled session
-- only (a cancelled one is 422 `session-cancelled`). One audit row per
-- enrollment whose attendance changed. Returns {changed}, or null (404).
--
-- Locking: the primary key decides between concurrent marks (insert ... on
-- conflict do nothing); an unmark deletes what is there.
create function registrar.attendance_set(p_actor uuid, p_admin boolean, p_session uuid,
    p_enrollments uuid[], p_present boolean) returns json
language plpgsql as $$
declare
    o registrar.offerings;
    v_status text;
    v_bad uuid[];
    v_changed uuid[];
begin
    o := registrar.attendance_session(p_actor, p_admin, p_session);
    if o.id is null then
        return null;
    end if;
    select status into v_status from registrar.sessions where id = p_session;
    if v_status <> 'scheduled' then
        perform registrar.raise_app('RG422', 'session-cancelled',
            'This session is cancelled: attendance cannot be recorded for it.');
    end if;
    select coalesce(array_agg(distinct x.id), '{}') into v_bad
    from unnest(p_enrollments) as x(id)
    where not exists (select 1 from registrar.enrollments e
                      where e.id = x.id and e.offering_id = o.id and e.status = 'confirmed');
    if cardinality(v_bad) > 0 then
        perform registrar.raise_app('RG422', 'not-confirmed',
            'Only confirmed registrations of this offering can be marked present or absent.',
            jsonb_build_object('enrollment_ids', to_jsonb(v_bad)));
    end if;
    if p_present then
        with ins as (
            insert into registrar.attendance (session_id, enrollment_id, method, marked_by)
            select p_session, x.id, 'manual', p_actor from (select distinct unnest(p_enrollments) as id) x
            on conflict do nothing
            returning enrollment_id)
        select coalesce(array_agg(enrollment_id), '{}') into v_changed from ins;
    else
        with del as (
            delete from registrar.attendance a
            where a.session_id = p_session and a.enrollment_id = any (p_enrollments)
            returning a.enrollment_id)
        select coalesce(array_agg(enrollment_id), '{}') into v_changed from del;
    end if;
    insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
    select p_actor, case when p_present then 'attendance.mark' else 'attendance.unmark' end,
           'enrollment:' || x.id, jsonb_build_object('session_id', p_session), o.id
    from unnest(v_changed) as x(id);
    return json_build_object('changed', cardinality(v_changed));
end $$;

-- GET /api/v1/sessions/{id}/attendance: who is recorded present, in the
-- order they arrived. Null (404) as attendance_session. A read of personal
-- data: audited as attendance.read (who, which session, how many rows).
create function registrar.attendance_list(p_actor uuid, p_admin boolean, p_session uuid)
returns json
language plpgsql as $$
declare
    o registrar.offerings;
    v_items json;
begin
    o := registrar.attendance_session(p_actor, p_admin, p_session);
    if o.id is null then
        return null;
    end if;
    v_items := coalesce((
        select json_agg(json_build_object(
                   'enrollment_id', a.enrollment_id,
                   'learner', json_build_object('id', u.id, 'full_name', u.full_name),
                   'checked_in_at', registrar.rfc3339(a.checked_in_at, o.timezone),
                   'method', a.method)
               order by a.checked_in_at, a.enrollment_id)
        from registrar.attendance a
        join registrar.enrollments e on e.id = a.enrollment_id
        join registrar.users u on u.id = e.user_id
        where a.session_id = p_session), '[]'::json);
    insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
    values (p_actor, 'attendance.read', 'session:' || p_session,
            jsonb_build_object('rows', json_array_length(v_items)), o.id);
    return json_build_object('items', v_items);
end $$;

-- ---------------------------------------------------------------------------
-- Badges
--
-- A badge code is 16 characters of Crockford's base 32 (80 random bits from
-- libsodium, made by the server). It is kept as it is, not hashed: it has
-- to be shown again to its learner and printed on the director's sheet, and
-- it grants nothing by itself (only a director's signed-in device can check
-- a badge in, and then only for the session's own offering).
create table registrar.badges (
    enrollment_id uuid primary key references registrar.enrollments (id) on delete cascade,
    code text not null unique check (code ~ '^[0-9A-HJKMNP-TV-Z]{16}$'),
    created_at timestamptz not null default now()
);

-- GET /api/v1/enrollments/{id}/badge: the badge of a confirmed enrollment,
-- given p_code when it has none yet (one round trip; a concurrent first
-- read keeps whichever code was stored first). Its learner, a director of
-- the course or an admin; anyone else gets null (404, as for an absent
-- enrollment). Not confirmed: 409 `not-confirmed`.
create function registrar.badge_get(p_actor uuid, p_admin boolean, p_enrollment uuid, p_code text)
returns json
language plpgsql as $$
declare
    e registrar.enrollments;
    o registrar.offerings;
    v_code text;
begin
    select * into e from registrar.enrollments where id = p_enrollment;
    if e.id is null then
        return null;
    end if;
    select * into o from registrar.offerings where id = e.offering_id;
    if e.user_id is distinct from p_actor and not registrar.can_direct(o.course_id, p_actor, p_admin) then
        return null;
    end if;
    if e.status <> 'confirmed' then
        perform registrar.raise_app('RG409', 'not-confirmed',
            'Only a confirmed registration has a badge.');
    end if;
    insert into registrar.badges (enrollment_id, code) values (e.id, p_code)
    on conflict (enrollment_id) do nothing;
    select code into v_code from registrar.badges where enrollment_id = e.id;
    return json_build_object('enrollment_id', e.id, 'badge_code', v_code);
end $$;

-- How many confirmed enrollments of the offering have no badge yet (the
-- server then makes that many codes for badge_sheet). Null (404) or RG403
-- as the roster.
create function registrar.badges_missing(p_actor uuid, p_admin boolean, p_offering uuid)
returns integer
language plpgsql as $$
declare
    o registrar.offerings;
begin
    select * into o from registrar.offerings where id = p_offering;
    if o.id is null or (o.status = 'draft' and not registrar.can_direct(o.course_id, p_actor, p_admin)) then
        return null;
    end if;
    perform registrar.require_director(o, p_actor, p_admin);
    return (select count(*) from registrar.enrollments e
            where e.offering_id = o.id and e.status = 'confirmed'
              and not exists (select 1 from registrar.badges b where b.enrollment_id = e.id));
end $$;

-- GET /api/v1/offerings/{id}/badges: gives the codes p_codes to the
-- confirmed enrollments still without one, then lists every confirmed
-- enrollment's badge (by name) with what the sheet prints. An enrollment
-- confirmed between badges_missing and this call may still lack a code:
-- `missing` says how many, and the server asks again. Audited as an export
-- of personal data.
create function registrar.badge_sheet(p_actor uuid, p_admin boolean, p_offering uuid, p_codes text[])
returns json
language plpgsql as $$
declare
    o registrar.offerings;
    v_items json;
    v_missing integer;
begin
    select * into o from registrar.offerings where id = p_offering;
    if o.id is null or (o.status = 'draft' and not registrar.can_direct(o.course_id, p_actor, p_admin)) then
        return null;
    end if;
    perform registrar.require_director(o, p_actor, p_admin);
    insert into registrar.badges (enrollment_id, code)
    select m.id, c.code
    from (select e.id, row_number() over (order by e.created_at, e.id) as n
          from registrar.enrollments e
          where e.offering_id = o.id and e.status = 'confirmed'
            and not exists (select 1 from registrar.badges b where b.enrollment_id = e.id)) m
    join (select code, n from unnest(coalesce(p_codes, '{}')) with ordinality as t(code, n)) c
      on c.n = m.n
    on conflict do nothing;
    select coalesce(json_agg(json_build_object(
               'enrollment_id', e.id, 'full_name', u.full_name, 'profession', u.profession,
               'credentials', u.credentials, 'institution', u.institution, 'badge_code', b.code)
               order by u.full_name, e.id), '[]'::json),
           count(*) filter (where b.code is null)
    into v_items, v_missing
    from registrar.enrollments e
    join registrar.users u on u.id = e.user_id
    left join registrar.badges b on b.enrollment_id = e.id
    where e.offering_id = o.id and e.status = 'confirmed';
    if v_missing = 0 then
        insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
        values (p_actor, 'badges.export', 'offering:' || o.id,
                jsonb_build_object('rows', json_array_length(v_items)), o.id);
    end if;
    return json_build_object('title', o.title, 'items', v_items, 'missing', v_missing);
end $$;

-- ---------------------------------------------------------------------------
-- Check-in at the door

-- The answer given to each scan nonce: a scan queued offline and sent again
-- gets the first answer and changes nothing. Kept per session.
create table registrar.check_in_nonces (
    session_id uuid not null references registrar.sessions (id) on delete cascade,
    nonce text not null check (char_length(nonce) between 1 and 100),
    result jsonb,
    created_at timestamptz not null default now(),
    primary key (session_id, nonce)
);

-- The learner a check-in answer names.
create function registrar.check_in_learner(u registrar.users) returns jsonb
language sql stable as $$
    select jsonb_build_object('id', u.id, 'full_name', u.full_name, 'profession', u.profession,
                              'institution', u.institution)
$$;

-- POST /api/v1/sessions/{id}/check-ins: the badge p_code scanned at the
-- door of the session. Refusals are 404 `not-found` (API.md) with a
-- `reason`: `unknown` (no registration has this badge), `cancelled` (its
-- registration is no longer confirmed), `other-offering`. A learner already
-- present is 200 with already = true. Audited when it records attendance.
--
-- Locking: the nonce row is inserted first; a concurrent scan with the same
-- nonce (the same queue replayed by two tabs or two server processes) waits
-- on its primary key for the first to commit, then reads its answer.
create function registrar.badge_check_in(p_actor uuid, p_admin boolean, p_session uuid,
    p_code text, p_nonce text) returns json
language plpgsql as $$
declare
    o registrar.offerings;
    v_status text;
    v_result jsonb;
    e registrar.enrollments;
    u registrar.users;
    v_new boolean;
begin
    o := registrar.attendance_session(p_actor, p_admin, p_session);
    if o.id is null then
        return null;
    end if;
    select status into v_status from registrar.sessions where id = p_session;
    if v_status <> 'scheduled' then
        perform registrar.raise_app('RG422', 'session-cancelled',
            'This session is cancelled: nobody can be checked in to it.');
    end if;
    if p_nonce is not null then
        insert into registrar.check_in_nonces (session_id, nonce) values (p_session, p_nonce)
        on conflict do nothing;
        if not found then
            select result into v_result from registrar.check_in_nonces
            where session_id = p_session and nonce = p_nonce;
            if v_result is not null then
                return v_result::json;
            end if;
        end if;
    end if;
    select e2.* into e from registrar.badges b join registrar.enrollments e2 on e2.id = b.enrollment_id
    where b.code = upper(p_code);
    if e.id is null then
        perform registrar.raise_app('RG404', 'not-found', 'No registration has this badge.',
            jsonb_build_object('reason', 'unknown'));
    end if;
    select * into u from registrar.users where id = e.user_id;
    if e.offering_id <> o.id then
        perform registrar.raise_app('RG404', 'not-found',
            'This badge is for another offering.', jsonb_build_object('reason', 'other-offering'));
    end if;
    if e.status <> 'confirmed' then
        perform registrar.raise_app('RG404', 'not-found',
            'This registration is ' || e.status || ', not confirmed.',
            jsonb_build_object('reason', 'cancelled', 'learner', registrar.check_in_learner(u)));
    end if;
    insert into registrar.attendance (session_id, enrollment_id, method, marked_by)
    values (p_session, e.id, 'badge', p_actor)
    on conflict do nothing;
    v_new := found;
    if v_new then
        insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
        values (p_actor, 'attendance.check_in', 'enrollment:' || e.id,
                jsonb_build_object('session_id', p_session, 'method', 'badge'), o.id);
    end if;
    v_result := jsonb_build_object('enrollment_id', e.id, 'learner', registrar.check_in_learner(u),
                                   'already', not v_new);
    if p_nonce is not null then
        update registrar.check_in_nonces set result = v_result
        where session_id = p_session and nonce = p_nonce;
    end if;
    return v_result::json;
end $$;

-- The window of a session's room code is checked by the server (it holds
-- the key); this says whether the session is open for self check-in: from
-- 30 minutes before it starts to 30 minutes after it ends. For
-- GET /api/v1/sessions/{id}/check-in-code: the director's view of it.
create function registrar.check_in_code_session(p_actor uuid, p_admin boolean, p_session uuid)
returns json
language plpgsql as $$
declare
    o registrar.offerings;
begin
    o := registrar.attendance_session(p_actor, p_admin, p_session);
    if o.id is null then
        return null;
    end if;
    return (select json_build_object('session_id', s.id, 'timezone', o.timezone,
                                     'status', s.status)
            from registrar.sessions s where s.id = p_session);
end $$;

-- POST /api/v1/enrollments/{id}/check-ins: the learner's own check-in with
-- the room code; p_code_ok is the server's verdict on the code (current or
-- previous window). Checked in this order: the enrollment is the caller's
-- (else null, 404), confirmed (409 `not-confirmed`), the session belongs to
-- its offering (422 `unknown-session`), is open now (422
-- `check-in-closed`), the code is right (422 `invalid-code`). Returns
-- {enrollment_id, session_id, already}. Audited when it records attendance.
create function registrar.self_check_in(p_actor uuid, p_enrollment uuid, p_session uuid,
    p_code_ok boolean) returns json
language plpgsql as $$
declare
    e registrar.enrollments;
    s registrar.sessions;
    v_new boolean;
begin
    select * into e from registrar.enrollments where id = p_enrollment and user_id = p_actor;
    if e.id is null then
        return null;
    end if;
    if e.status <> 'confirmed' then
        perform registrar.raise_app('RG409', 'not-confirmed',
            'Only a confirmed registration can check in.');
    end if;
    select * into s from registrar.sessions where id = p_session and offering_id = e.offering_id;
    if s.id is null or s.status <> 'scheduled' then
        perform registrar.raise_app('RG422', 'unknown-session',
            'This session is not part of your registration''s offering.');
    end if;
    if now() < s.starts_at - interval '30 minutes' or now() > s.ends_at + interval '30 minutes' then
        perform registrar.raise_app('RG422', 'check-in-closed',
            'Self check-in is open from 30 minutes before the session starts to 30 minutes after it ends.');
    end if;
    if not p_code_ok then
        perform registrar.raise_app('RG422', 'invalid-code',
            'That code is wrong or no longer shown: enter the code on the screen now.');
    end if;
    insert into registrar.attendance (session_id, enrollment_id, method, marked_by)
    values (s.id, e.id, 'session_code', p_actor)
    on conflict do nothing;
    v_new := found;
    if v_new then
        insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
        values (p_actor, 'attendance.check_in', 'enrollment:' || e.id,
                jsonb_build_object('session_id', s.id, 'method', 'session_code'), e.offering_id);
    end if;
    return json_build_object('enrollment_id', e.id, 'session_id', s.id, 'already', not v_new);
end $$;

-- ---------------------------------------------------------------------------
-- The audit log for admins

create index audit_log_actor on registrar.audit_log (actor_id, id) where actor_id is not null;

-- GET /api/v1/audit: newest first, filtered by offering, actor, action (a
-- whole action, or a family: `attendance` matches `attendance.mark` ...)
-- and time (since, inclusive). The cursor is the hex of the last row's id.
-- Admins only (the route says so; p_admin is checked again here).
create function registrar.audit_list(p_admin boolean, p_offering uuid, p_actor uuid,
    p_action text, p_since timestamptz, p_limit integer, p_cursor text) returns json
language plpgsql stable as $$
declare
    v_after bigint;
begin
    if not coalesce(p_admin, false) then
        perform registrar.raise_app('RG403', 'forbidden', 'Only an administrator may read the audit log.');
    end if;
    if p_cursor is not null then
        v_after := convert_from(decode(p_cursor, 'hex'), 'UTF8')::bigint;
    end if;
    return (
        with page as (
            select a, row_number() over (order by a.id desc) as n
            from registrar.audit_log a
            where (p_offering is null or a.offering_id = p_offering)
              and (p_actor is null or a.actor_id = p_actor)
              and (p_action is null or a.action = p_action or left(a.action, length(p_action) + 1) = p_action || '.')
              and (p_since is null or a.at >= p_since)
              and (v_after is null or a.id < v_after)
            order by a.id desc
            limit p_limit + 1)
        select json_build_object(
            'items', coalesce((select json_agg(json_build_object(
                                   'at', registrar.rfc3339((p.a).at, 'UTC'),
                                   'actor_id', (p.a).actor_id,
                                   'action', (p.a).action,
                                   'object', (p.a).object,
                                   'offering_id', (p.a).offering_id,
                                   'detail', (p.a).detail) order by p.n)
                               from page p where p.n <= p_limit), '[]'::json),
            'next_cursor', (select encode(convert_to((p.a).id::text, 'UTF8'), 'hex')
                            from page p where p.n = p_limit
                              and exists (select 1 from page q where q.n > p_limit))));
end $$;
