-- Demo people (loaded by `scripts/dev run` after the demo year and after
-- `registrar create-admin` made the demo admin): a director of each course
-- and learners with registrations in every state, so that a newcomer who
-- signs in as a director finds a living roster. Development only: nothing
-- here is part of a release (it is not a migration).
--
-- Every demo account signs in with the demo admin's password: their
-- password_hash is the Argon2id hash `registrar create-admin` computed, and
-- their emails count as verified. Registrations go through the server's own
-- SQL (registrar.enroll, enrollment_decide, enrollment_cancel), so seats,
-- waitlist places and refunds are exactly what the API would have made.
-- Idempotent: accounts and registrations that exist are left alone.

\set ON_ERROR_STOP on

create function pg_temp.demo_person(p_email text, p_name text, p_profession text, p_credentials text,
    p_institution text) returns uuid
language plpgsql as $$
declare
    v_id uuid;
begin
    insert into registrar.users (email, password_hash, full_name, profession, credentials, institution,
        email_verified_at)
    select p_email, a.password_hash, p_name, p_profession, p_credentials, p_institution, now()
    from registrar.users a where a.email = 'admin@demo.example.org'
    on conflict (email) do nothing;
    select id into v_id from registrar.users where email = p_email;
    return v_id;
end $$;

-- A registration of the learner for the offering through registrar.enroll,
-- unless one exists; returns it.
create function pg_temp.demo_enroll(p_user uuid, p_offering uuid) returns registrar.enrollments
language plpgsql as $$
declare
    e registrar.enrollments;
begin
    select * into e from registrar.enrollments where user_id = p_user and offering_id = p_offering
    order by created_at desc limit 1;
    if e.id is null then
        perform registrar.enroll(p_user, p_offering, null);
        select * into e from registrar.enrollments where user_id = p_user and offering_id = p_offering;
    end if;
    return e;
end $$;

-- Pays a held registration in full, as a succeeded card payment would.
create function pg_temp.demo_pay(e registrar.enrollments) returns void
language plpgsql as $$
begin
    if e.status <> 'held' then
        return;
    end if;
    insert into registrar.payments (enrollment_id, user_id, status, amount_cents, currency, processor, processor_ref)
    values (e.id, e.user_id, 'succeeded', e.amount_due_cents, e.currency, 'test', 'demo_' || e.id);
    update registrar.enrollments set status = 'confirmed', paid_cents = amount_due_cents, hold_expires_at = null,
        updated_at = now()
    where id = e.id;
end $$;

do $$
declare
    admin uuid := (select id from registrar.users where email = 'admin@demo.example.org');
    names text[] := array['Amara Okafor', 'Benjamin Levi', 'Chen Wei', 'Daniela Ruiz', 'Elif Yılmaz',
        'Farah Haddad', 'Gabriel Moreau', 'Hana Sato', 'Ibrahim Diallo', 'Julia Nowak', 'Kwame Mensah',
        'Laila Rahimi', 'Marco Bianchi', 'Nadia Petrova', 'Oliver Brennan', 'Priya Raman', 'Quinn Murphy',
        'Rosa Alvarez', 'Samuel Cohen', 'Tamar Ben-David', 'Uma Krishnan', 'Victor Nguyen', 'Wanjiru Kamau',
        'Xavier Dubois', 'Yara Saleh', 'Zoë Lindqvist', 'Aisha Bello', 'Bruno Costa', 'Clara Jensen',
        'Dmitri Volkov', 'Esther Mwangi', 'Felix Schneider'];
    professions text[] := array['physician', 'nurse', 'physician', 'social_worker', 'chaplain', 'nurse',
        'physician_assistant', 'psychologist', 'pharmacist', 'trainee', 'physician', 'nurse'];
    credentials text[] := array['MD', 'RN', 'DO', 'LICSW', 'MDiv', 'BSN', 'PA-C', 'PhD', 'PharmD', '', 'MD', 'NP'];
    institutions text[] := array['Massachusetts General Hospital', 'Boston Medical Center',
        'Dana-Farber Cancer Institute', 'Beth Israel Deaconess', 'Tufts Medical Center', 'Hospice of the North Shore'];
    learners uuid[] := '{}';
    v uuid;
    e registrar.enrollments;
    sic uuid;
    pcep uuid;
    pa uuid;
    hi uuid;
    i integer;
begin
    if admin is null then
        raise exception 'run registrar create-admin for admin@demo.example.org first';
    end if;
    -- A director of each course.
    perform pg_temp.demo_person('director.' || c.slug || '@demo.example.org', 'Director of ' || c.title, 'physician',
        'MD', 'Registrar Demo Centre')
    from registrar.courses c;
    insert into registrar.course_directors (course_id, user_id)
    select c.id, u.id from registrar.courses c
    join registrar.users u on u.email = 'director.' || c.slug || '@demo.example.org'
    on conflict do nothing;

    for i in 1 .. array_length(names, 1) loop
        v := pg_temp.demo_person(format('learner%s@demo.example.org', lpad(i::text, 2, '0')), names[i],
            professions[1 + (i - 1) % array_length(professions, 1)],
            credentials[1 + (i - 1) % array_length(credentials, 1)],
            institutions[1 + (i - 1) % array_length(institutions, 1)]);
        learners := learners || v;
    end loop;

    -- The demo year's offerings (scripts/demo/0003_offerings.sql): the newest of each course.
    select o.id into sic from registrar.offerings o join registrar.courses c on c.id = o.course_id
    where c.slug = 'serious-illness-communication' order by o.starts_on desc limit 1;
    select o.id into pcep from registrar.offerings o join registrar.courses c on c.id = o.course_id
    where c.slug = 'pcep' order by o.starts_on desc limit 1;
    select o.id into pa from registrar.offerings o join registrar.courses c on c.id = o.course_id
    where c.slug = 'practical-aspects' order by o.starts_on desc limit 1;
    select o.id into hi from registrar.offerings o join registrar.courses c on c.id = o.course_id
    where c.slug = 'hospitalists-intensivists' order by o.starts_on desc limit 1;
    if sic is null or pcep is null or pa is null or hi is null then
        raise exception 'load scripts/demo/0003_offerings.sql first';
    end if;

    -- Serious Illness Communication (24 seats): full, most paid, a waitlist
    -- of four, one cancellation with its refund.
    for i in 1 .. 28 loop
        e := pg_temp.demo_enroll(learners[i], sic);
        if i % 4 <> 0 then
            perform pg_temp.demo_pay(e);
        end if;
    end loop;
    e := pg_temp.demo_enroll(learners[29], sic);
    -- learner 1 cancels, paid: the policy's refund, and the first waitlisted learner gets the seat.
    select * into e from registrar.enrollments where user_id = learners[1] and offering_id = sic;
    if e.status = 'confirmed' then
        perform registrar.enrollment_cancel(learners[1], false, e.id, 'A clinical emergency at home');
    end if;

    -- PCEP (by application): applications, two approved (held), one rejected.
    for i in 5 .. 12 loop
        e := pg_temp.demo_enroll(learners[i], pcep);
    end loop;
    for e in select * from registrar.enrollments where offering_id = pcep and status = 'applied'
             and user_id in (learners[5], learners[6]) loop
        perform registrar.enrollment_decide(admin, true, e.id, true, 'Welcome to PCEP');
    end loop;
    for e in select * from registrar.enrollments where offering_id = pcep and status = 'applied'
             and user_id = learners[7] loop
        perform registrar.enrollment_decide(admin, true, e.id, false, 'Please apply again next year');
    end loop;

    -- Practical Aspects and Hospitalists: open rosters, paid and held.
    for i in 10 .. 30 loop
        e := pg_temp.demo_enroll(learners[i], pa);
        if i % 3 <> 0 then
            perform pg_temp.demo_pay(e);
        end if;
    end loop;
    for i in 15 .. 26 loop
        e := pg_temp.demo_enroll(learners[i], hi);
        if i % 2 = 0 then
            perform pg_temp.demo_pay(e);
        end if;
    end loop;
    -- One learner of Hospitalists cancels before paying (no refund).
    select * into e from registrar.enrollments where user_id = learners[15] and offering_id = hi;
    if e.status = 'held' then
        perform registrar.enrollment_cancel(learners[15], false, e.id, 'Schedule conflict');
    end if;
end $$;

-- Holds of demo registrations last a week, not 30 minutes, so the held
-- state is there to see after a coffee (the sweep releases expired ones).
update registrar.enrollments e set hold_expires_at = now() + interval '7 days'
from registrar.users u
where u.id = e.user_id and u.email like '%@demo.example.org' and e.status = 'held'
  and e.hold_expires_at < now() + interval '7 days';

-- The demo's card payments were never at a processor: their refunds are
-- settled here rather than sent by the jobs thread.
update registrar.payments set refund_status = 'succeeded', status = 'refunded', updated_at = now()
where processor_ref like 'demo\_%' and refund_status = 'pending';
