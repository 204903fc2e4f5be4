-- Group commit for registrations (issue 12): the registrations waiting
-- together for one offering are decided in one transaction, one round trip
-- and one WAL flush. registrar.enroll_batch decides each learner in order and
-- collects their outcomes instead of raising, so that one learner's refusal
-- changes nothing of theirs and rolls back nobody else's; registrar.enroll
-- becomes a batch of one, so every rule tested through it is the batch's.

-- ---------------------------------------------------------------------------
-- POST /api/v1/offerings/{id}/enrollments for p_users[i] with p_codes[i]
-- (null: no code), the learners in the order they arrived. One row per
-- learner, in that order: n (1-based), code 201 with body the enrollment
-- (held, confirmed, applied, or waitlisted with its exact place), or code
-- 404 (unknown or draft offering), 403 email-unverified, 422
-- registration-closed, 409 already-enrolled, 409 too-many-holds, 422
-- discount-code-invalid, with slug and detail as raise_app would have
-- raised them (detail: JSON text). Same rules as enroll in 0011.
--
-- Locking, in the order enroll in 0007/0011 takes them, for the whole
-- batch at once:
--   1. the learners' advisory locks (20072), in the order of their ids (as
--      the group registration in 0014 takes them), so that two batches
--      sharing learners cannot wait on each other;
--   2. each learner's own expired hold (expire_own_hold), as in 0004;
--   3. the discount codes named in the batch, FOR UPDATE in the order of
--      their ids, so that the check below and the use that follows see the
--      same row;
--   4. the offering's row (FOR NO KEY UPDATE, the lock the seat update
--      takes), so that seats and waitlist places are drawn in the order of
--      the learners inside the batch and in the order of that lock between
--      batches (of this process or another). Each seat is still the
--      conditional update (seats_taken < capacity) and the check
--      constraints still hold: two processes batching at once cannot
--      oversell.
-- All are held to the commit, which follows at once. Refusals are decided
-- before anything of that learner changes, except a lost race on the
-- partial unique index (a registration by another path without the
-- advisory lock), whose seat and code use are then given back.
create function registrar.enroll_batch(p_users uuid[], p_offering uuid, p_codes text[])
returns table (n integer, code integer, slug text, detail text, body json)
language plpgsql as $$
declare
    o registrar.offerings;
    e registrar.enrollments;
    u registrar.users;
    d registrar.discount_codes;
    q record;
    v_count integer := coalesce(array_length(p_users, 1), 0);
    v_code text;
    v_status text;
    v_due integer;
    v_existing uuid;
    v_seat boolean;
    v_closed text;
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

    -- 1, 2: the learners (verified or not: an unverified learner's expired
    -- hold cannot exist, since holding needs the verified email).
    perform pg_advisory_xact_lock(20072, hashtext(x.id::text))
    from (select distinct unnest(p_users) as id) x order by x.id;
    if v_closed is null then
        perform registrar.expire_own_hold(x.id, p_offering)
        from (select distinct unnest(p_users) as id) x order by x.id;
    end if;
    -- 3: the codes named, whatever the outcome.
    perform 1 from registrar.discount_codes c
    where c.offering_id = p_offering
      and lower(c.code) in (select lower(btrim(t)) from unnest(p_codes) t where t is not null)
    order by c.id
    for update;
    -- 4: the offering.
    select * into o from registrar.offerings where id = p_offering for no key update;

    for i in 1 .. v_count loop
        n := i;
        code := null;
        slug := null;
        detail := null;
        body := null;
        v_code := p_codes[i];
        select * into u from registrar.users where id = p_users[i];
        if u.email_verified_at is null then
            code := 403;
            slug := 'email-unverified';
            detail := jsonb_build_object('detail',
                'Confirm your email address before registering: open the link we sent you, or ask for a new one.')::text;
            return next;
            continue;
        end if;
        if v_closed is not null then
            code := 422;
            slug := 'registration-closed';
            detail := jsonb_build_object('detail', v_closed)::text;
            return next;
            continue;
        end if;
        select x.id into v_existing from registrar.enrollments x
        where x.user_id = p_users[i] and x.offering_id = p_offering
          and x.status in ('applied', 'held', 'confirmed', 'waitlisted');
        if v_existing is not null then
            code := 409;
            slug := 'already-enrolled';
            detail := jsonb_build_object('detail', 'You are already registered for this offering.',
                                         'enrollment_id', v_existing)::text;
            return next;
            continue;
        end if;
        -- price_quote's own test of the code, here without raising (the
        -- row is locked above: price_quote then sees the same).
        if v_code is not null then
            select * into d from registrar.discount_codes c
            where c.offering_id = p_offering and lower(c.code) = lower(btrim(v_code));
            if d.id is null or (d.expires_at is not null and d.expires_at <= now()) or d.uses >= d.max_uses then
                code := 422;
                slug := 'discount-code-invalid';
                detail := jsonb_build_object('detail', 'This discount code cannot be used for this offering.',
                    'errors', jsonb_build_array(jsonb_build_object(
                        'field', 'discount_code', 'message', 'is not a valid code for this offering')))::text;
                return next;
                continue;
            end if;
        end if;
        select * into o from registrar.offerings where id = p_offering;
        select * into q from registrar.price_quote(o, u.profession, v_code);
        v_due := q.price_cents - q.discount_cents;
        -- Under the offering's lock a seat's being free is exact: the
        -- status is known before anything changes.
        v_status := case when o.requires_application then 'applied'
                         when o.seats_taken >= o.capacity then 'waitlisted'
                         when v_due = 0 then 'confirmed' else 'held' end;
        if v_status = 'held' and (select count(*) from registrar.enrollments h
                                  where h.user_id = p_users[i] and h.status = 'held'
                                    and h.hold_expires_at > now()) >= 3 then
            code := 409;
            slug := 'too-many-holds';
            detail := jsonb_build_object('detail',
                'You already hold 3 unpaid seats. Pay for one of them, or cancel one, before registering for another.',
                'max_holds', 3)::text;
            return next;
            continue;
        end if;

        if q.discount_code_id is not null then
            update registrar.discount_codes set uses = uses + 1
            where id = q.discount_code_id and uses < max_uses;
            assert found, 'a locked valid code has a use left';
        end if;
        v_seat := false;
        if v_status in ('held', 'confirmed') then
            update registrar.offerings set seats_taken = seats_taken + 1
            where id = p_offering and seats_taken < capacity;
            v_seat := found;
            assert v_seat, 'a seat seen free under the row lock is free';
        end if;
        insert into registrar.enrollments (offering_id, user_id, status, price_cents, discount_cents,
            currency, discount_code_id, hold_expires_at, waitlist_seq, profession)
        values (p_offering, p_users[i], v_status, q.price_cents, q.discount_cents, o.currency, q.discount_code_id,
            case when v_status = 'held' then now() + make_interval(mins => o.hold_minutes) end,
            case when v_status = 'waitlisted' then nextval('registrar.waitlist_seq') end, u.profession)
        on conflict (user_id, offering_id) where status in ('applied', 'held', 'confirmed', 'waitlisted')
        do nothing
        returning * into e;
        if e.id is null then
            if v_seat then
                update registrar.offerings set seats_taken = seats_taken - 1 where id = p_offering;
            end if;
            if q.discount_code_id is not null then
                update registrar.discount_codes set uses = uses - 1 where id = q.discount_code_id;
            end if;
            code := 409;
            slug := 'already-enrolled';
            detail := jsonb_build_object('detail', 'You are already registered for this offering.')::text;
            return next;
            continue;
        end if;
        if v_seat then
            o.seats_taken := o.seats_taken + 1;
        end if;
        code := 201;
        body := registrar.enrollment_json(e, o)::json;
        return next;
    end loop;
end $$;

-- ---------------------------------------------------------------------------
-- The single registration is a batch of one: the same rules, the same
-- locking (enroll_batch above), the refusal raised as before.
create or replace function registrar.enroll(p_user uuid, p_offering uuid, p_code text) returns json
language plpgsql as $$
declare
    r record;
begin
    select * into r from registrar.enroll_batch(array[p_user], p_offering, array[p_code]);
    if r.code = 201 then
        return r.body;
    elsif r.code = 404 then
        return null;
    end if;
    raise exception using errcode = 'RG' || r.code, message = r.slug, detail = r.detail;
end $$;
