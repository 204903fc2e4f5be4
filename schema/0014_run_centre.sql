-- 0014: running the centre (issue 11): courses written by admins and
-- directors, finding people, admins made and unmade, registrations made by
-- staff for someone else and by a coordinator for a group.
--
-- Every change here writes an audit row (registrar.audit_log); reads of a
-- person's record do too, with ids only.

create extension if not exists pg_trgm;

-- ---------------------------------------------------------------------------
-- Courses

-- (0003's courses_notify trigger clears every server's response cache on a change.)

-- POST /api/v1/courses (admin; the route checks the role). 409 slug-taken:
-- the unique index on slug decides a race of two creations.
create function registrar.course_create(p_actor uuid, p_body jsonb) returns json
language plpgsql as $$
declare
    c registrar.courses;
begin
    insert into registrar.courses (slug, title, summary, credit_type)
    values (p_body->>'slug', p_body->>'title', coalesce(p_body->>'summary', ''),
            p_body->>'credit_type')
    on conflict (slug) do nothing
    returning * into c;
    if c.id is null then
        perform registrar.raise_app('RG409', 'slug-taken', 'A course with this slug already exists.',
            jsonb_build_object('errors', jsonb_build_array(jsonb_build_object('field', 'slug',
                'message', 'is already taken'))));
    end if;
    insert into registrar.audit_log (actor_id, action, object, detail)
    values (p_actor, 'course.create', 'course:' || c.slug, '{}'::jsonb);
    return registrar.course_json(c)::json;
end $$;

-- PATCH /api/v1/courses/{slug} (admin, its director): the members present
-- change, the others stay. Null (404) for an unknown course; 403 for a
-- caller who does not direct it (courses are public: no need to hide it).
create function registrar.course_update(p_actor uuid, p_admin boolean, p_slug text, p_body jsonb)
returns json
language plpgsql as $$
declare
    c registrar.courses;
begin
    select * into c from registrar.courses where slug = p_slug for no key update;
    if c.id is null then
        return null;
    end if;
    if not registrar.can_direct(c.id, p_actor, p_admin) then
        perform registrar.raise_app('RG403', 'forbidden',
            'Only an administrator or a director of this course may change it.');
    end if;
    update registrar.courses set
        title = coalesce(p_body->>'title', title),
        summary = coalesce(p_body->>'summary', summary),
        credit_type = coalesce(p_body->>'credit_type', credit_type),
        updated_at = now()
    where id = c.id
    returning * into c;
    insert into registrar.audit_log (actor_id, action, object, detail)
    values (p_actor, 'course.update', 'course:' || c.slug,
            jsonb_build_object('fields', (select jsonb_agg(k order by k) from jsonb_object_keys(p_body) k)));
    return registrar.course_json(c)::json;
end $$;

-- ---------------------------------------------------------------------------
-- People

-- GET /api/v1/users?q= searches "email name" for a substring, case
-- insensitively. A trigram GIN index answers `ILIKE '%q%'` without reading
-- every account (a B-tree cannot: the pattern has a leading wildcard), and
-- it keeps doing so as the accounts grow by thousands a year. The
-- separator is a line feed, which neither an email nor a name can hold,
-- so a match never spans the two.
create index users_search_trgm on registrar.users
    using gin ((email || E'\n' || full_name) gin_trgm_ops);

-- A page of accounts ordered by email (unique); the cursor is the hex of
-- the last email. q's own % _ and \ are matched literally.
create function registrar.users_list(p_q text, p_limit integer, p_cursor text) returns json
language plpgsql stable as $$
declare
    v_pattern text := case when p_q is null or p_q = '' then null
                           else '%' || replace(replace(replace(p_q, '\', '\\'), '%', '\%'), '_', '\_') || '%' end;
begin
    return (
        with page as (
            select u from registrar.users u
            where (v_pattern is null or (u.email || E'\n' || u.full_name) ilike v_pattern)
              and (p_cursor is null or u.email > convert_from(decode(p_cursor, 'hex'), 'UTF8'))
            order by u.email
            limit p_limit + 1
        ), numbered as (
            select (p.u).email as email, registrar.user_json(p.u) as body,
                   row_number() over (order by (p.u).email) as n
            from page p
        )
        select json_build_object(
            'items', coalesce((select json_agg(body order by n) from numbered where n <= p_limit), '[]'::json),
            'next_cursor', (select case when count(*) > p_limit
                                        then (select encode(convert_to(email, 'UTF8'), 'hex') from numbered where n = p_limit) end
                            from numbered)));
end $$;

-- GET /api/v1/users/{id} (admin): the account and its registrations, newest
-- first, each with its offering's title and course. The read is audited.
create function registrar.user_get(p_actor uuid, p_id uuid) returns json
language plpgsql as $$
declare
    u registrar.users;
begin
    select * into u from registrar.users where id = p_id;
    if u.id is null then
        return null;
    end if;
    insert into registrar.audit_log (actor_id, action, object, detail)
    values (p_actor, 'user.read', 'user:' || u.id, '{}'::jsonb);
    return (registrar.user_json(u)::jsonb || jsonb_build_object('enrollments', coalesce((
        select jsonb_agg(registrar.enrollment_json(e, o)
                         || jsonb_build_object('offering_title', o.title, 'course_slug', c.slug)
                         order by e.created_at desc, e.id)
        from registrar.enrollments e
        join registrar.offerings o on o.id = e.offering_id
        join registrar.courses c on c.id = o.course_id
        where e.user_id = u.id), '[]'::jsonb)))::json;
end $$;

-- PUT / DELETE /api/v1/users/{id}/admin (admin). Never the last admin: the
-- admins' rows are locked (in id order, so two revocations cannot
-- deadlock) before counting, so two admins revoking each other at once
-- leave one. Null (404) for an unknown account.
create function registrar.user_admin_set(p_actor uuid, p_id uuid, p_grant boolean) returns json
language plpgsql as $$
declare
    u registrar.users;
begin
    select * into u from registrar.users where id = p_id;
    if u.id is null then
        return null;
    end if;
    if u.is_admin = p_grant then
        return json_build_object('changed', false);
    end if;
    if not p_grant then
        perform 1 from registrar.users where is_admin order by id for update;
        if (select count(*) from registrar.users where is_admin and id <> p_id) = 0 then
            perform registrar.raise_app('RG409', 'last-admin',
                'This is the last administrator: make someone else an administrator first.');
        end if;
    end if;
    update registrar.users set is_admin = p_grant, updated_at = now() where id = p_id;
    insert into registrar.audit_log (actor_id, action, object, detail)
    values (p_actor, case when p_grant then 'admin.grant' else 'admin.revoke' end, 'user:' || p_id,
            jsonb_build_object('user_id', p_id));
    return json_build_object('changed', true);
end $$;

-- ---------------------------------------------------------------------------
-- Registrations made by staff and by coordinators

-- Registrations made in a group point at it; bill_to names who pays (the
-- invoice of the payments work reads it).
create table registrar.enrollment_groups (
    id uuid primary key default gen_random_uuid(),
    offering_id uuid not null references registrar.offerings (id) on delete restrict,
    coordinator_id uuid references registrar.users (id) on delete set null,
    bill_to jsonb check (bill_to is null or jsonb_typeof(bill_to) = 'object'),
    created_at timestamptz not null default now()
);
create index enrollment_groups_offering on registrar.enrollment_groups (offering_id);
alter table registrar.enrollments add column group_id uuid references registrar.enrollment_groups (id)
    on delete set null;
create index enrollments_group on registrar.enrollments (group_id) where group_id is not null;

-- The account of p_email, made when none exists: without a password and
-- unverified (staff vouch for the registration, not for the address), with
-- a set-password link (the reset flow's token, valid 7 days) in the outbox.
-- The unique index on email decides a race of two makers: the loser waits
-- for the winner's commit, then reads its row. The name and profession of
-- an existing account stay as its owner set them.
create function registrar.user_for_registration(p_email text, p_full_name text, p_profession text,
    p_token text, p_token_hash bytea, p_base_url text, p_offering_title text) returns registrar.users
language plpgsql as $$
declare
    u registrar.users;
begin
    insert into registrar.users (email, full_name, profession)
    values (lower(btrim(p_email)), p_full_name, p_profession)
    on conflict (email) do nothing
    returning * into u;
    if u.id is null then
        select * into u from registrar.users where email = lower(btrim(p_email));
        return u;
    end if;
    insert into registrar.password_resets (user_id, token_hash, expires_at)
    values (u.id, p_token_hash, now() + interval '7 days');
    insert into registrar.outbox (recipient, subject, body)
    values (u.email, 'Your Registrar account: choose a password', format(
        E'Hello %s,\n\n'
        'You have been registered for %s, and an account was made for you with this email address.\n'
        'To choose your password and see your registration, open this link within 7 days:\n\n'
        '%s\n\n'
        'If you did not expect this, reply to this message or ignore it.\n',
        u.full_name, p_offering_title, registrar.message_link(p_base_url, 'reset', p_token)));
    return u;
end $$;

-- The seats of a registration of p_n people, all or none. True when the n
-- seats were taken; false when the offering has not that many free, with
-- the offering's row lock held (FOR NO KEY UPDATE, as enroll() of 0007
-- takes it), so that waitlist places drawn after this are in lock order.
-- The conditional update cannot oversell under READ COMMITTED: a waiter
-- re-checks seats_taken + n <= capacity against the newest row.
-- enroll() could call this with p_n = 1 for its step 4.
create function registrar.seats_take(p_offering uuid, p_n integer) returns boolean
language plpgsql as $$
begin
    update registrar.offerings set seats_taken = seats_taken + p_n
    where id = p_offering and seats_taken + p_n <= capacity;
    if found then
        return true;
    end if;
    perform 1 from registrar.offerings where id = p_offering for no key update;
    update registrar.offerings set seats_taken = seats_taken + p_n
    where id = p_offering and seats_taken + p_n <= capacity;
    return found;
end $$;

-- One registration of u for o, the offering's row already handled: a
-- status of 'seat' (a seat was taken), 'waitlisted' or 'applied'. Inserts
-- with the learner's price; 409 already-enrolled through the partial unique
-- index (raising rolls back the seats taken with everything else).
create function registrar.enrollment_insert(o registrar.offerings, u registrar.users, p_kind text,
    p_group uuid) returns registrar.enrollments
language plpgsql as $$
declare
    q record;
    e registrar.enrollments;
    v_status text;
begin
    select * into q from registrar.price_quote(o, u.profession, null);
    v_status := case p_kind when 'seat' then
                    case when q.price_cents - q.discount_cents = 0 then 'confirmed' else 'held' end
                else p_kind end;
    insert into registrar.enrollments (offering_id, user_id, status, price_cents, discount_cents,
        currency, hold_expires_at, waitlist_seq, group_id)
    values (o.id, u.id, v_status, q.price_cents, q.discount_cents, o.currency,
        case when v_status = 'held' then now() + make_interval(mins => o.hold_minutes) end,
        case when v_status = 'waitlisted' then nextval('registrar.waitlist_seq') end, p_group)
    on conflict (user_id, offering_id) where status in ('applied', 'held', 'confirmed', 'waitlisted')
    do nothing
    returning * into e;
    if e.id is null then
        perform registrar.raise_app('RG409', 'already-enrolled',
            format('%s is already registered for this offering.', u.email),
            jsonb_build_object('email', u.email));
    end if;
    return e;
end $$;

-- Open for registration now, else 422 registration-closed (enroll()'s rule).
create function registrar.registration_check_open(o registrar.offerings) returns void
language plpgsql as $$
begin
    if o.status <> 'open' or now() < coalesce(o.registration_opens_at, '-infinity')
       or now() >= coalesce(o.registration_closes_at, 'infinity') then
        perform registrar.raise_app('RG422', 'registration-closed', case
            when o.status <> 'open' then 'Registration for this offering is not open.'
            when now() < coalesce(o.registration_opens_at, '-infinity') then
                format('Registration opens at %s.', registrar.rfc3339(o.registration_opens_at, o.timezone))
            else 'Registration for this offering has closed.' end);
    end if;
end $$;

-- POST /api/v1/offerings/{id}/enrollments/for (admin, its director):
-- registering someone by telephone, by p_user or by email (the account is
-- made when none exists). The rules of enroll() except two that are the
-- learner's own: a verified email (staff vouch) and the cap of 3 holds.
-- Null (404) for an unknown offering, or a draft the caller may not see;
-- 403 for a caller who does not direct the course; 404 for an unknown
-- p_user.
--
-- Locking: the learner's advisory lock (enroll()'s, so a registration by
-- the learner and one by staff cannot both pass the already-enrolled
-- check), the learner's own expired hold, then the offering's row
-- (seats_take). Held to the commit, which follows at once.
create function registrar.enroll_for(p_actor uuid, p_admin boolean, p_offering uuid, p_user uuid,
    p_email text, p_full_name text, p_profession text, p_token text, p_token_hash bytea,
    p_base_url text) returns json
language plpgsql as $$
declare
    o registrar.offerings;
    u registrar.users;
    e registrar.enrollments;
begin
    select * into o from registrar.offerings where id = p_offering;
    if o.id is null or (o.status = 'draft' and not registrar.can_direct(o.course_id, p_actor, p_admin)) then
        return null;
    end if;
    if not registrar.can_direct(o.course_id, p_actor, p_admin) then
        perform registrar.raise_app('RG403', 'forbidden',
            'Only an administrator or a director of this course may register someone else.');
    end if;
    perform registrar.registration_check_open(o);
    if p_user is not null then
        select * into u from registrar.users where id = p_user;
        if u.id is null then
            return null;
        end if;
    else
        u := registrar.user_for_registration(p_email, p_full_name, p_profession, p_token, p_token_hash,
            p_base_url, o.title);
    end if;
    perform pg_advisory_xact_lock(20072, hashtext(u.id::text));
    perform registrar.expire_own_hold(u.id, o.id);
    e := registrar.enrollment_insert(o, u,
        case when o.requires_application then 'applied'
             when registrar.seats_take(o.id, 1) then 'seat'
             else 'waitlisted' end, null);
    insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
    values (p_actor, 'enrollment.create_for', 'enrollment:' || e.id,
            jsonb_build_object('user_id', u.id, 'status', e.status), o.id);
    perform registrar.outbox_to_user(u.id, 'You are registered: ' || o.title,
        format('You have been registered for %s (status: %s).', o.title, e.status)
        || E'\n\nYour registration: ' || rtrim(p_base_url, '/') || '/#/registrations/' || e.id);
    return registrar.enrollment_json(e, o)::json;
end $$;

-- POST /api/v1/offerings/{id}/group-registrations (signed in, verified
-- email): p_members = [{email, full_name, profession}], each with the
-- token of its set-password link at the same index of p_tokens and
-- p_token_hashes (used only for an account made here). All seats or none:
-- the group's n seats are taken by one conditional update (seats_take), so
-- a rush of single registrations and groups never oversells and never
-- leaves part of a group seated; a full offering answers 409
-- not-enough-seats with seats_left, and nothing stays (not even the
-- accounts: the whole call is one transaction). An offering that takes
-- applications files one application per member. An email twice is 400.
--
-- Locking: each member's advisory lock in the order of their ids (no
-- cycle with another group naming the same people), their own expired
-- holds, then the offering's row.
create function registrar.group_register(p_coordinator uuid, p_offering uuid, p_members jsonb,
    p_bill_to jsonb, p_tokens text[], p_token_hashes text[], p_base_url text) returns json
language plpgsql as $$
declare
    o registrar.offerings;
    me registrar.users;
    u registrar.users;
    e registrar.enrollments;
    g registrar.enrollment_groups;
    v_users registrar.users[] := '{}';
    v_kind text;
    v_list jsonb := '[]'::jsonb;
    v_due bigint := 0;
    v_n integer := jsonb_array_length(p_members);
    i integer;
begin
    select * into o from registrar.offerings where id = p_offering;
    if o.id is null or o.status = 'draft' then
        return null;
    end if;
    select * into me from registrar.users where id = p_coordinator;
    if me.email_verified_at is null then
        perform registrar.raise_app('RG403', 'email-unverified',
            'Confirm your email address before registering: open the link we sent you, or ask for a new one.');
    end if;
    perform registrar.registration_check_open(o);
    if (select count(distinct lower(btrim(m->>'email'))) from jsonb_array_elements(p_members) m) <> v_n then
        perform registrar.raise_app('RG400', 'invalid-request', 'Each member may be named only once.',
            jsonb_build_object('errors', jsonb_build_array(jsonb_build_object('field', 'members',
                'message', 'names an email twice'))));
    end if;
    for i in 0 .. v_n - 1 loop
        u := registrar.user_for_registration(p_members->i->>'email', p_members->i->>'full_name',
            p_members->i->>'profession', p_tokens[i + 1], decode(p_token_hashes[i + 1], 'hex'),
            p_base_url, o.title);
        v_users := v_users || u;
    end loop;
    perform pg_advisory_xact_lock(20072, hashtext(x.id::text))
    from (select (unnest(v_users)).id) x order by x.id;
    foreach u in array v_users loop
        perform registrar.expire_own_hold(u.id, o.id);
    end loop;
    if o.requires_application then
        v_kind := 'applied';
    elsif registrar.seats_take(o.id, v_n) then
        v_kind := 'seat';
    else
        select * into o from registrar.offerings where id = p_offering;
        perform registrar.raise_app('RG409', 'not-enough-seats',
            format('This offering has %s seats left; the group needs %s.',
                   greatest(o.capacity - o.seats_taken, 0), v_n),
            jsonb_build_object('seats_left', greatest(o.capacity - o.seats_taken, 0), 'seats_needed', v_n));
    end if;
    insert into registrar.enrollment_groups (offering_id, coordinator_id, bill_to)
    values (o.id, p_coordinator, p_bill_to)
    returning * into g;
    foreach u in array v_users loop
        e := registrar.enrollment_insert(o, u, v_kind, g.id);
        v_list := v_list || registrar.enrollment_json(e, o);
        v_due := v_due + e.amount_due_cents;
        perform registrar.outbox_to_user(u.id, 'You are registered: ' || o.title,
            format('%s registered you for %s with a group (status: %s).', me.full_name, o.title, e.status)
            || E'\n\nYour registration: ' || rtrim(p_base_url, '/') || '/#/registrations/' || e.id);
    end loop;
    insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
    values (p_coordinator, 'group.create', 'group:' || g.id, jsonb_build_object('members', v_n), o.id);
    return json_build_object('group', json_build_object('id', g.id, 'enrollments', v_list,
        'amount_due_cents', v_due, 'currency', o.currency, 'bill_to', g.bill_to));
end $$;

-- ---------------------------------------------------------------------------
-- Messages to a roster

-- What a director wrote to whom; the outbox rows it made point back at it.
create table registrar.offering_messages (
    id bigint generated always as identity primary key,
    offering_id uuid not null references registrar.offerings (id) on delete cascade,
    actor_id uuid,
    audience text not null check (audience in ('confirmed', 'held', 'waitlisted', 'all')),
    subject text not null check (char_length(subject) between 1 and 150),
    body text not null check (char_length(body) between 1 and 10000),
    recipients integer not null check (recipients >= 0),
    created_at timestamptz not null default now()
);
create index offering_messages_offering on registrar.offering_messages (offering_id, id desc);
alter table registrar.outbox add column offering_message_id bigint
    references registrar.offering_messages (id) on delete set null;
create index outbox_offering_message on registrar.outbox (offering_message_id)
    where offering_message_id is not null;

-- POST /api/v1/offerings/{id}/messages (admin, its director): one outbox
-- message per learner of the audience (registrations confirmed, held,
-- waitlisted, or all four live states with applied), each learner once.
--
-- The bounded rate (p_per_minute, REGISTRAR_MAIL_RATE) is written into the
-- rows, not kept by a thread: message k of a broadcast is not due before
-- start + k minutes / rate, through the outbox's claimed_until (0006: a
-- row is claimed only once that has passed, so the jobs thread of any
-- process sends it no earlier). start is now, or the slot after the last
-- broadcast message still waiting, so that two broadcasts queue one after
-- the other instead of doubling the rate; a transaction-scoped advisory
-- lock orders concurrent broadcasts for that reading. Messages of single
-- events (links, promotions) are not slowed by this.
-- Null (404) for an unknown offering, or a draft the caller may not see;
-- 403 for a caller who does not direct the course.
create function registrar.offering_message_send(p_actor uuid, p_admin boolean, p_offering uuid,
    p_subject text, p_body text, p_to text, p_per_minute integer) returns json
language plpgsql as $$
declare
    o registrar.offerings;
    m registrar.offering_messages;
    v_step interval := interval '60 seconds' / greatest(p_per_minute, 1);
    v_start timestamptz;
    v_n integer;
begin
    select * into o from registrar.offerings where id = p_offering;
    if o.id is null or (o.status = 'draft' and not registrar.can_direct(o.course_id, p_actor, p_admin)) then
        return null;
    end if;
    if not registrar.can_direct(o.course_id, p_actor, p_admin) then
        perform registrar.raise_app('RG403', 'forbidden',
            'Only an administrator or a director of this course may write to its roster.');
    end if;
    perform pg_advisory_xact_lock(20140, 1);
    select greatest(now(), max(claimed_until) + v_step) into v_start
    from registrar.outbox where offering_message_id is not null and sent_at is null;
    v_start := coalesce(v_start, now());
    insert into registrar.offering_messages (offering_id, actor_id, audience, subject, body, recipients)
    values (o.id, p_actor, p_to, p_subject, p_body, 0)
    returning * into m;
    with learners as (
        select distinct u.id, u.email, u.full_name
        from registrar.enrollments e join registrar.users u on u.id = e.user_id
        where e.offering_id = o.id
          and case p_to when 'all' then e.status in ('applied', 'held', 'confirmed', 'waitlisted')
                        else e.status = p_to end
    ), numbered as (
        select l.*, row_number() over (order by l.email) - 1 as k from learners l
    )
    insert into registrar.outbox (recipient, subject, body, claimed_until, offering_message_id)
    select n.email, left(p_subject, 200),
           format(E'Hello %s,\n\n%s\n\n-- \nSent to the participants of %s. Your registration: %s/#/registrations\n',
                  n.full_name, p_body, o.title, registrar.public_url()),
           v_start + v_step * n.k, m.id
    from numbered n;
    get diagnostics v_n = row_count;
    update registrar.offering_messages set recipients = v_n where id = m.id;
    insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
    values (p_actor, 'message.send', 'offering_message:' || m.id,
            jsonb_build_object('to', p_to, 'recipients', v_n), o.id);
    return json_build_object('id', m.id, 'recipients', v_n);
end $$;

-- GET /api/v1/offerings/{id}/messages (admin, its director): what was
-- sent, newest first, with how many have gone out so far. The cursor is
-- the hex of the last id's text.
create function registrar.offering_messages_list(p_actor uuid, p_admin boolean, p_offering uuid,
    p_limit integer, p_cursor text) returns json
language plpgsql stable as $$
declare
    o registrar.offerings;
    v_before bigint := case when p_cursor is null then null
                            else convert_from(decode(p_cursor, 'hex'), 'UTF8')::bigint end;
begin
    select * into o from registrar.offerings where id = p_offering;
    if o.id is null or (o.status = 'draft' and not registrar.can_direct(o.course_id, p_actor, p_admin)) then
        return null;
    end if;
    if not registrar.can_direct(o.course_id, p_actor, p_admin) then
        perform registrar.raise_app('RG403', 'forbidden',
            'Only an administrator or a director of this course may read its messages.');
    end if;
    return (
        with page as (
            select m.*, row_number() over (order by m.id desc) as n
            from registrar.offering_messages m
            where m.offering_id = o.id and (v_before is null or m.id < v_before)
            order by m.id desc
            limit p_limit + 1
        )
        select json_build_object(
            'items', coalesce((select json_agg(json_build_object(
                'id', p.id, 'subject', p.subject, 'body', p.body, 'to', p.audience,
                'recipients', p.recipients,
                'sent', (select count(*) from registrar.outbox x
                         where x.offering_message_id = p.id and x.sent_at is not null),
                'sender', (select json_build_object('id', u.id, 'full_name', u.full_name)
                           from registrar.users u where u.id = p.actor_id),
                'created_at', registrar.rfc3339(p.created_at, o.timezone)) order by p.id desc)
                from page p where p.n <= p_limit), '[]'::json),
            'next_cursor', (select case when count(*) > p_limit
                                        then (select encode(convert_to(id::text, 'UTF8'), 'hex') from page where n = p_limit) end
                            from page)));
end $$;

-- ---------------------------------------------------------------------------
-- Waitlist control

-- The waitlisted enrollment p_id, locked, with its offering, for a caller
-- who directs the course: null (404) when it does not exist or the caller
-- is neither an admin nor its director nor its learner; 403 for its
-- learner; 409 not-waitlisted otherwise when it is not waitlisted.
create function registrar.waitlisted_for_staff(p_actor uuid, p_admin boolean, p_id uuid,
    out e registrar.enrollments, out o registrar.offerings)
language plpgsql as $$
begin
    select * into e from registrar.enrollments where id = p_id for update;
    if e.id is null then
        return;
    end if;
    select * into o from registrar.offerings where id = e.offering_id;
    if not registrar.can_direct(o.course_id, p_actor, p_admin) then
        if e.user_id = p_actor then
            perform registrar.raise_app('RG403', 'forbidden',
                'Only an administrator or a director of this course may change its waitlist.');
        end if;
        e := null;
        return;
    end if;
    if e.status <> 'waitlisted' then
        perform registrar.raise_app('RG409', 'not-waitlisted', 'This registration is not on the waitlist.',
            jsonb_build_object('status', e.status));
    end if;
end $$;

-- DELETE /api/v1/enrollments/{id}/waitlist (admin, its director): off the
-- waitlist (cancelled, nothing was paid or held); the places after it move
-- up by themselves (waitlist_position counts). Audited; the learner is told.
create function registrar.waitlist_remove(p_actor uuid, p_admin boolean, p_id uuid) returns json
language plpgsql as $$
declare
    w record;
begin
    select * into w from registrar.waitlisted_for_staff(p_actor, p_admin, p_id);
    if (w.e).id is null then
        return null;
    end if;
    update registrar.enrollments set status = 'cancelled', cancel_reason = 'taken off the waitlist',
        updated_at = now()
    where id = p_id;
    insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
    values (p_actor, 'waitlist.remove', 'enrollment:' || p_id,
            jsonb_build_object('user_id', (w.e).user_id), (w.o).id);
    perform registrar.outbox_to_user((w.e).user_id, 'Off the waitlist: ' || (w.o).title,
        format('Your place on the waitlist of %s has been withdrawn by the course office.', (w.o).title));
    return json_build_object('removed', true);
end $$;

-- POST /api/v1/enrollments/{id}/promote (admin, its director): a seat for
-- this waitlisted learner now, out of the waitlist's order, with a reason.
-- A free seat is taken as any registration takes one (seats_take). With
-- none free, p_over_capacity says to make one: the capacity goes up by one
-- in the same statement as the seat is taken, so CHECK (seats_taken <=
-- capacity) keeps holding and the offering shows the capacity it really
-- has (the audit row keeps the old and the new). Without it, 409
-- not-enough-seats. Held (or confirmed when nothing is due), as the sweep's
-- promotion; the learner is told.
--
-- Locking: the enrollment FOR UPDATE, then the offering's row.
create function registrar.waitlist_promote(p_actor uuid, p_admin boolean, p_id uuid, p_reason text,
    p_over_capacity boolean) returns json
language plpgsql as $$
declare
    w record;
    e registrar.enrollments;
    o registrar.offerings;
    v_raised boolean := false;
begin
    select * into w from registrar.waitlisted_for_staff(p_actor, p_admin, p_id);
    if (w.e).id is null then
        return null;
    end if;
    o := w.o;
    if not registrar.seats_take(o.id, 1) then
        if not coalesce(p_over_capacity, false) then
            perform registrar.raise_app('RG409', 'not-enough-seats',
                'The offering is full: promote with over_capacity to add a seat for this learner.',
                jsonb_build_object('seats_left', 0));
        end if;
        update registrar.offerings set capacity = capacity + 1, seats_taken = seats_taken + 1,
            updated_at = now()
        where id = o.id;
        v_raised := true;
    end if;
    select * into o from registrar.offerings where id = o.id;
    update registrar.enrollments set
        status = case when amount_due_cents - paid_cents <= 0 then 'confirmed' else 'held' end,
        hold_expires_at = case when amount_due_cents - paid_cents <= 0 then null
                               else now() + make_interval(mins => o.hold_minutes) end,
        updated_at = now()
    where id = p_id
    returning * into e;
    insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
    values (p_actor, 'waitlist.promote', 'enrollment:' || p_id,
            jsonb_build_object('user_id', e.user_id, 'reason', p_reason, 'over_capacity', v_raised)
            || case when v_raised then jsonb_build_object('capacity_from', o.capacity - 1, 'capacity_to', o.capacity)
                    else '{}'::jsonb end, o.id);
    perform registrar.outbox_to_user(e.user_id, 'A seat is yours: ' || o.title,
        case when e.status = 'confirmed'
             then format('A seat in %s is yours: your registration is confirmed.', o.title)
             else format('A seat in %s is held for you until %s (%s). Pay before then to confirm your registration.',
                         o.title, to_char(e.hold_expires_at at time zone o.timezone, 'YYYY-MM-DD HH24:MI'), o.timezone) end
        || E'\n\nYour registration: ' || registrar.public_url() || '/#/registrations/' || e.id);
    return registrar.enrollment_json(e, o)::json;
end $$;

-- ---------------------------------------------------------------------------
-- The roster a director works from

-- An offering's money and heads: registrations by status (all of them),
-- by the learner's profession (the live ones: applied, held, confirmed,
-- waitlisted), paid and refunded so far, and what the seats held or
-- confirmed still owe.
create function registrar.roster_totals(p_offering uuid) returns jsonb
language sql stable as $$
    select jsonb_build_object(
        'by_status', coalesce((select jsonb_object_agg(status, n) from (
            select e.status, count(*) as n from registrar.enrollments e
            where e.offering_id = p_offering group by e.status) s), '{}'::jsonb),
        'by_profession', coalesce((select jsonb_object_agg(profession, n) from (
            select e.profession, count(*) as n from registrar.enrollments e
            where e.offering_id = p_offering and e.status in ('applied', 'held', 'confirmed', 'waitlisted')
            group by e.profession) p), '{}'::jsonb),
        'paid_cents', (select coalesce(sum(e.paid_cents), 0) from registrar.enrollments e
                       where e.offering_id = p_offering),
        'refunded_cents', (select coalesce(sum(e.refund_cents), 0) from registrar.enrollments e
                           where e.offering_id = p_offering),
        'outstanding_cents', (select coalesce(sum(greatest(e.amount_due_cents - e.paid_cents, 0)), 0)
                              from registrar.enrollments e
                              where e.offering_id = p_offering and e.status in ('held', 'confirmed')))
$$;

-- GET /api/v1/offerings/{id}/roster with search and sort: roster() of 0004
-- plus p_q (a substring of the name or email, any case, % and _ literal),
-- p_sort (registered, the default; name; email; status), and on every page
-- `total` (rows matching), `page_count` (pages of p_limit) and `totals`
-- (roster_totals). The cursor is the hex of the next row's offset: a
-- director's list is short and sorted many ways, and an offset keeps every
-- sort one query. p_limit null: everything (the CSV). Audited as roster().
create function registrar.roster_read(p_actor uuid, p_admin boolean, p_offering uuid,
    p_statuses text[], p_q text, p_sort text, p_limit integer, p_cursor text, p_format text)
returns json
language plpgsql as $$
declare
    o registrar.offerings;
    v_offset integer := case when p_cursor is null then 0
                             else convert_from(decode(p_cursor, 'hex'), 'UTF8')::integer end;
    v_pattern text := case when p_q is null or p_q = '' then null
                           else '%' || replace(replace(replace(p_q, '\', '\\'), '%', '\%'), '_', '\_') || '%' end;
    v_statuses text[] := coalesce(p_statuses, array['held', 'confirmed']);
    v_sort text := coalesce(p_sort, 'registered');
    v_total integer;
    v_items jsonb;
begin
    select * into o from registrar.offerings where id = p_offering;
    if o.id is null or (o.status = 'draft' and not registrar.can_direct(o.course_id, p_actor, p_admin)) then
        return null;
    end if;
    perform registrar.require_director(o, p_actor, p_admin);
    if v_offset < 0 then
        raise exception using errcode = '22023', message = 'bad cursor';
    end if;
    select count(*) into v_total
    from registrar.enrollments e join registrar.users u on u.id = e.user_id
    where e.offering_id = o.id and e.status = any (v_statuses)
      and (v_pattern is null or (u.email || E'\n' || u.full_name) ilike v_pattern);
    with page as (
        select e, u, row_number() over (order by
                   case when v_sort = 'name' then lower(u.full_name) end,
                   case when v_sort = 'email' then u.email end,
                   case when v_sort = 'status' then e.status end,
                   e.created_at, e.id) as n
        from registrar.enrollments e join registrar.users u on u.id = e.user_id
        where e.offering_id = o.id and e.status = any (v_statuses)
          and (v_pattern is null or (u.email || E'\n' || u.full_name) ilike v_pattern)
        order by n
        offset v_offset
        limit p_limit
    )
    select coalesce(jsonb_agg(jsonb_build_object(
               'enrollment', registrar.enrollment_json(p.e, o),
               -- The profession the registration recorded (0011), not today's profile.
               'learner', registrar.user_json(p.u)::jsonb
                              || jsonb_build_object('profession', (p.e).profession),
               'sessions', coalesce((select jsonb_agg(jsonb_build_object('id', s.id, 'title', s.title,
                               'starts_at', registrar.rfc3339(s.starts_at, o.timezone))
                               order by s.starts_at, s.id)
                           from registrar.enrollment_sessions es
                           join registrar.sessions s on s.id = es.session_id
                           where es.enrollment_id = (p.e).id), '[]'::jsonb),
               'attended_hours', registrar.enrollment_attended_hours((p.e).id)) order by p.n), '[]'::jsonb)
    into v_items
    from page p;
    insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
    values (p_actor, case when p_format = 'csv' then 'roster.export' else 'roster.read' end,
            'offering:' || o.id,
            jsonb_build_object('rows', jsonb_array_length(v_items), 'format', coalesce(p_format, 'json'),
                               'statuses', to_jsonb(v_statuses), 'searched', v_pattern is not null), o.id);
    return json_build_object('offering', registrar.enrollment_offering_json(o),
        'items', v_items,
        'next_cursor', case when p_limit is not null and v_offset + p_limit < v_total
                            then encode(convert_to((v_offset + p_limit)::text, 'UTF8'), 'hex') end,
        'total', v_total,
        'page_count', case when p_limit is null or v_total = 0 then 1
                           else (v_total + p_limit - 1) / p_limit end,
        'totals', registrar.roster_totals(o.id));
end $$;

-- GET /api/v1/offerings/{id}/waitlist: as in 0004, and each page carries
-- the waitlist's `total` and its `page_count` at this page's size.
create or replace function registrar.waitlist(p_actor uuid, p_admin boolean, p_offering uuid, p_limit integer,
    p_cursor text) returns json
language plpgsql as $$
declare
    o registrar.offerings;
    v_after bigint;
    v_before integer;
    v_total integer;
    v_items jsonb;
    v_next text;
begin
    select * into o from registrar.offerings where id = p_offering;
    if o.id is null or (o.status = 'draft' and not registrar.can_direct(o.course_id, p_actor, p_admin)) then
        return null;
    end if;
    perform registrar.require_director(o, p_actor, p_admin);
    v_after := case when p_cursor is null then 0 else ('x' || lpad(p_cursor, 16, '0'))::bit(64)::bigint end;
    select count(*) filter (where waitlist_seq <= v_after)::integer, count(*)::integer
    into v_before, v_total
    from registrar.enrollments
    where offering_id = o.id and status = 'waitlisted';
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
    return json_build_object('items', v_items, 'next_cursor', v_next, 'total', v_total,
        'page_count', case when v_total = 0 then 1 else (v_total + p_limit - 1) / p_limit end);
end $$;

-- ---------------------------------------------------------------------------
-- Transfers

-- POST /api/v1/enrollments/{id}/transfer (its learner, an admin, its
-- director), one of:
--   p_to_email: to a colleague. The registration itself moves (its id, its
--     seat or place, its price and its payments, which point at it), so
--     the payment follows without a refund and a charge. The colleague's
--     account is made when none exists (p_full_name and p_profession are
--     then needed), with a set-password link. 409 already-enrolled when
--     the colleague holds a registration of the offering. Both are told.
--   p_to_offering: to another offering of the same course (409 otherwise:
--     not-same-course), open for registration. A held or confirmed seat
--     moves only if the other offering has one free (409 not-enough-seats);
--     the freed seat goes to the old offering's waitlist at once. A
--     waitlisted registration joins the end of the other waitlist; an
--     application stays one. The price becomes the other offering's for
--     the learner's profession (the discount is kept up to the new price):
--     a higher one leaves the difference due; of a lower one the
--     overpayment is refunded through the refund path of cancellations
--     (the payment's refunded_cents and refund_status 'pending', which the
--     jobs thread sends to the processor).
-- Null (404) for an unknown enrollment or one the caller may not see; 409
-- not-transferable for a registration no longer live.
--
-- Locking: the enrollment FOR UPDATE; for a colleague, the colleague's
-- advisory lock (enroll()'s); for an offering, both offerings' rows in id
-- order (two transfers in opposite directions cannot deadlock; enroll()
-- locks one offering only), then the payment row.
create function registrar.enrollment_transfer(p_actor uuid, p_admin boolean, p_id uuid, p_to_email text,
    p_full_name text, p_profession text, p_to_offering uuid, p_token text, p_token_hash bytea,
    p_base_url text) returns json
language plpgsql as $$
declare
    e registrar.enrollments;
    o registrar.offerings;
    t registrar.offerings;
    u registrar.users;
    v_from uuid;
    q record;
    v_price integer;
    v_discount integer;
    v_refund integer := 0;
    v_had_seat boolean;
    p registrar.payments;
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
        perform registrar.raise_app('RG409', 'not-transferable',
            format('This registration is %s: there is nothing to transfer.', e.status),
            jsonb_build_object('status', e.status));
    end if;
    if e.payment_started_at > now() - interval '5 minutes'
       and exists (select 1 from registrar.payments where enrollment_id = e.id and status = 'pending') then
        perform registrar.raise_app('RG409', 'payment-in-progress',
            'A payment for this registration is being processed; try again in a moment.');
    end if;
    v_from := e.user_id;

    if p_to_email is not null then
        select * into u from registrar.users where email = lower(btrim(p_to_email));
        if u.id is null and (p_full_name is null or p_profession is null) then
            perform registrar.raise_app('RG400', 'invalid-request',
                'No account has this email: give the colleague''s full name and profession to make one.',
                jsonb_build_object('errors', jsonb_build_array(jsonb_build_object('field',
                    case when p_full_name is null then 'full_name' else 'profession' end,
                    'message', 'is required for a colleague without an account'))));
        end if;
        if u.id is null then
            u := registrar.user_for_registration(p_to_email, p_full_name, p_profession,
                p_token, p_token_hash, p_base_url, o.title);
        end if;
        if u.id = v_from then
            perform registrar.raise_app('RG400', 'invalid-request', 'The registration is already this person''s.',
                jsonb_build_object('errors', jsonb_build_array(jsonb_build_object('field', 'to_email',
                    'message', 'is the registration''s own learner'))));
        end if;
        perform pg_advisory_xact_lock(20072, hashtext(u.id::text));
        if exists (select 1 from registrar.enrollments where user_id = u.id and offering_id = o.id
                   and status in ('applied', 'held', 'confirmed', 'waitlisted')) then
            perform registrar.raise_app('RG409', 'already-enrolled',
                'This colleague is already registered for this offering.');
        end if;
        update registrar.enrollments set user_id = u.id, updated_at = now() where id = e.id
        returning * into e;
        -- Workshops chosen were the first learner's choice, not the colleague's.
        perform registrar.release_sessions(array[e.id]);
        insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
        values (p_actor, 'enrollment.transfer', 'enrollment:' || e.id,
                jsonb_build_object('from_user', v_from, 'to_user', u.id), o.id);
        perform registrar.outbox_to_user(v_from, 'Your registration was transferred: ' || o.title,
            format('Your registration for %s now belongs to %s, and your payment goes with it.', o.title, u.full_name));
        perform registrar.outbox_to_user(u.id, 'A registration was transferred to you: ' || o.title,
            format('The registration of %s for %s is now yours (status: %s).', (select full_name from registrar.users where id = v_from), o.title, e.status)
            || E'\n\nYour registration: ' || rtrim(p_base_url, '/') || '/#/registrations/' || e.id);
        return registrar.enrollment_json(e, o)::json;
    end if;

    select * into t from registrar.offerings where id = p_to_offering;
    if t.id is null or (t.status = 'draft' and not registrar.can_direct(t.course_id, p_actor, p_admin)) then
        perform registrar.raise_app('RG404', 'not-found', 'No such offering.',
            jsonb_build_object('errors', jsonb_build_array(jsonb_build_object('field', 'to_offering_id',
                'message', 'is not an offering'))));
    end if;
    if t.course_id <> o.course_id or t.id = o.id then
        perform registrar.raise_app('RG409', 'not-same-course',
            'A registration moves only to another offering of the same course.');
    end if;
    perform registrar.registration_check_open(t);
    perform 1 from registrar.offerings where id in (o.id, t.id) order by id for no key update;
    perform pg_advisory_xact_lock(20072, hashtext(e.user_id::text));
    if exists (select 1 from registrar.enrollments where user_id = e.user_id and offering_id = t.id
               and status in ('applied', 'held', 'confirmed', 'waitlisted')) then
        perform registrar.raise_app('RG409', 'already-enrolled',
            'The learner is already registered for the other offering.');
    end if;
    v_had_seat := e.status in ('held', 'confirmed');
    if v_had_seat then
        update registrar.offerings set seats_taken = seats_taken + 1
        where id = t.id and seats_taken < capacity;
        if not found then
            perform registrar.raise_app('RG409', 'not-enough-seats', 'The other offering has no seat free.',
                jsonb_build_object('seats_left', 0));
        end if;
        update registrar.offerings set seats_taken = seats_taken - 1 where id = o.id;
    end if;
    select * into u from registrar.users where id = e.user_id;
    -- The price of the profession the registration recorded (0011).
    select * into q from registrar.price_quote(t, e.profession, null);
    v_price := q.price_cents;
    v_discount := least(e.discount_cents, v_price);
    v_refund := greatest(e.paid_cents - (v_price - v_discount), 0);
    perform registrar.release_sessions(array[e.id]);
    update registrar.enrollments set offering_id = t.id, price_cents = v_price, discount_cents = v_discount,
        paid_cents = paid_cents - v_refund,
        refund_cents = case when v_refund > 0 then coalesce(refund_cents, 0) + v_refund else refund_cents end,
        currency = t.currency,
        waitlist_seq = case when status = 'waitlisted' then nextval('registrar.waitlist_seq') else waitlist_seq end,
        hold_expires_at = case when status = 'held' then greatest(hold_expires_at, now() + make_interval(mins => t.hold_minutes))
                               else hold_expires_at end,
        updated_at = now()
    where id = e.id
    returning * into e;
    if v_refund > 0 then
        select * into p from registrar.payments
        where enrollment_id = e.id and status = 'succeeded' order by created_at desc limit 1 for update;
        update registrar.payments set refunded_cents = refunded_cents + v_refund, refund_status = 'pending',
            updated_at = now()
        where id = p.id;
    end if;
    if v_had_seat then
        perform registrar.promote_waitlist(o.id, 1);
    end if;
    insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
    values (p_actor, 'enrollment.transfer', 'enrollment:' || e.id,
            jsonb_build_object('from_offering', o.id, 'to_offering', t.id, 'price_cents', v_price,
                               'refund_cents', v_refund, 'payment_id', p.id), t.id);
    perform registrar.outbox_to_user(e.user_id, 'Your registration moved: ' || t.title,
        format('Your registration moved from %s to %s.%s', o.title, t.title,
            case when v_refund > 0 then format(' %s %s will be refunded to your card.',
                     to_char(v_refund / 100.0, 'FM999999990.00'), e.currency)
                 when e.amount_due_cents > e.paid_cents then format(' %s %s is still due.',
                     to_char((e.amount_due_cents - e.paid_cents) / 100.0, 'FM999999990.00'), e.currency)
                 else '' end)
        || E'\n\nYour registration: ' || rtrim(p_base_url, '/') || '/#/registrations/' || e.id);
    return registrar.enrollment_json(e, t)::json;
end $$;
