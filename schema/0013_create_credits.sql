-- 0013: after the course (issue 10, items 5-8): evaluation forms and
-- responses, credit claims, certificates with a public verification code,
-- transcripts, the ACCME activity report, and the messages that tell a
-- learner to evaluate and that their certificate is ready.
--
-- Attended hours are read only through registrar.enrollment_attended_hours()
-- (the attendance migration owns that function and its table; both are
-- repeated here, identical, so that this migration stands alone).

-- registrar.attendance is 0012's (session_id, enrollment_id, checked_in_at,
-- method, marked_by).

-- Hours of the scheduled sessions the learner attended.
create or replace function registrar.enrollment_attended_hours(p_enrollment uuid) returns numeric
language sql stable as $$
    select coalesce(sum(s.credit_hours), 0)::numeric
    from registrar.attendance a
    join registrar.sessions s on s.id = a.session_id
    where a.enrollment_id = p_enrollment and s.status = 'scheduled'
$$;

-- The statements printed on certificates. Null: the default wording
-- (registrar.accreditation_statement / designation_statement below).
alter table registrar.offerings
    add column accreditation_statement text check (char_length(accreditation_statement) between 1 and 2000),
    add column designation_statement text check (char_length(designation_statement) between 1 and 2000);

-- One form per offering. questions: [{id, kind, text, required, choices?}]
-- as API.md has it; the shape is checked by the server's field table and
-- by evaluation_form_check below, not by a constraint.
create table registrar.evaluation_forms (
    offering_id uuid primary key references registrar.offerings (id) on delete cascade,
    questions jsonb not null check (jsonb_typeof(questions) = 'array'),
    updated_at timestamptz not null default now()
);

-- One evaluation per enrollment: the primary key is the "once" rule.
create table registrar.evaluations (
    enrollment_id uuid primary key references registrar.enrollments (id) on delete cascade,
    offering_id uuid not null references registrar.offerings (id) on delete cascade,
    answers jsonb not null check (jsonb_typeof(answers) = 'object'),
    claimed_hours numeric(6, 2) not null check (claimed_hours >= 0),
    submitted_at timestamptz not null default now()
);
create index evaluations_offering on registrar.evaluations (offering_id, submitted_at);

-- A certificate, recorded when first issued: credits and credit type are
-- fixed then. The code is 12 characters of an alphabet without 0/O, 1/I/L
-- (made by libsodium in the server).
create table registrar.certificates (
    id uuid primary key default gen_random_uuid(),
    enrollment_id uuid not null unique references registrar.enrollments (id) on delete restrict,
    verification_code text not null unique check (verification_code ~ '^[2-9A-HJKMNP-Z]{12}$'),
    credit_type text not null check (char_length(credit_type) between 1 and 100),
    credits numeric(6, 2) not null check (credits >= 0 and credits * 4 = floor(credits * 4)),
    issued_at timestamptz not null default now()
);

-- Messages sent once per enrollment and kind (the jobs thread).
create table registrar.credit_notices (
    enrollment_id uuid not null references registrar.enrollments (id) on delete cascade,
    kind text not null check (kind in ('evaluate', 'certificate')),
    sent_at timestamptz not null default now(),
    primary key (enrollment_id, kind)
);

-- Public verification is limited per address like sign-ups.
alter table registrar.rate_events drop constraint rate_events_kind_check;
alter table registrar.rate_events add constraint rate_events_kind_check
    check (kind in ('signup', 'password-reset', 'discount-address', 'discount-learner',
                    'certificate-verify'));

-- ---------------------------------------------------------------------------
-- Rules

-- The profession the credit type follows. The one place to switch to the
-- profession recorded on the enrollment when that column lands.
create function registrar.enrollment_profession(p_enrollment uuid) returns text
language sql stable as $$
    select u.profession from registrar.enrollments e
    join registrar.users u on u.id = e.user_id where e.id = p_enrollment
$$;

-- Credits earned: the claimed hours, at most the attended sessions' hours,
-- at most max_credits (null: no cap), rounded down to a quarter hour. The
-- rounding comes last, so a cap that is no multiple of 0.25 still gives one.
-- Negative inputs count as 0.
create function registrar.credits_earned(p_claimed numeric, p_attended numeric, p_max numeric)
returns numeric
language sql immutable parallel safe as $$
    select trim_scale(floor(greatest(least(coalesce(p_claimed, 0), coalesce(p_attended, 0),
                                           coalesce(p_max, p_claimed, 0)), 0) * 4) / 4)
$$;

-- The credit type of the learner's profession on the offering (every
-- profession has one: offering_apply fills the defaults).
create function registrar.enrollment_credit_type(p_enrollment uuid) returns text
language sql stable as $$
    select coalesce((select t.credit_type from registrar.enrollments e
                     join registrar.offering_credit_types t on t.offering_id = e.offering_id
                     where e.id = p_enrollment
                       and t.profession = registrar.enrollment_profession(p_enrollment)),
                    'participation')
$$;

-- An offering has ended when its last scheduled session has, or, without
-- sessions, at the end of its last day in its time zone.
create function registrar.offering_ended(o registrar.offerings) returns boolean
language sql stable as $$
    select now() >= coalesce(
        (select max(s.ends_at) from registrar.sessions s
         where s.offering_id = o.id and s.status = 'scheduled'),
        ((o.ends_on + 1)::timestamp at time zone o.timezone))
$$;

create function registrar.accreditation_statement(o registrar.offerings) returns text
language sql stable as $$
    select coalesce(o.accreditation_statement,
        'This activity has been planned and implemented in accordance with the accreditation '
        'requirements and policies of the Accreditation Council for Continuing Medical Education '
        '(ACCME). The centre is accredited by the ACCME to provide continuing medical education '
        'for physicians.')
$$;

create function registrar.designation_statement(o registrar.offerings) returns text
language sql stable as $$
    select coalesce(o.designation_statement,
        format('The centre designates this live activity for a maximum of %s AMA PRA Category 1 '
               'Credit(s)™. Physicians should claim only the credit commensurate with the extent '
               'of their participation in the activity.',
               trim_scale(coalesce(o.max_credits,
                   (select coalesce(sum(s.credit_hours), 0) from registrar.sessions s
                    where s.offering_id = o.id and s.status = 'scheduled')))))
$$;

-- ---------------------------------------------------------------------------
-- The certificate statements as offering fields

-- The statements of p_body, when present (null: back to the default
-- wording). The server's field table has checked their text.
create function registrar.offering_statements_apply(p_id uuid, p_body jsonb) returns void
language plpgsql as $$
begin
    if p_body ? 'accreditation_statement' then
        update registrar.offerings set accreditation_statement = p_body->>'accreditation_statement'
        where id = p_id;
    end if;
    if p_body ? 'designation_statement' then
        update registrar.offerings set designation_statement = p_body->>'designation_statement'
        where id = p_id;
    end if;
end $$;

-- As in 0003, with the effective statements (the default wording when none is set).
create or replace function registrar.offering_json(o registrar.offerings) returns json
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
        'accreditation_statement', registrar.accreditation_statement(o),
        'designation_statement', registrar.designation_statement(o),
        'cancellation_policy', coalesce((select json_agg(json_build_object(
                     'until_days_before', r.until_days_before, 'refund_percent', r.refund_percent)
                     order by r.until_days_before desc)
                 from registrar.offering_cancellation_rules r where r.offering_id = o.id), '[]'::json))
$$;

-- As in 0003, and the statements applied.
create or replace function registrar.offering_create(p_viewer uuid, p_admin boolean, p_course text, p_body jsonb)
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
    perform registrar.offering_statements_apply(v_id, p_body);
    return registrar.offering_get(v_id, p_viewer, p_admin);
end $$;

-- As in 0003, and the statements applied.
create or replace function registrar.offering_update(p_viewer uuid, p_admin boolean, p_id uuid, p_body jsonb)
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
    perform registrar.offering_statements_apply(p_id, p_body);
    return registrar.offering_get(p_id, p_viewer, p_admin);
end $$;

-- ---------------------------------------------------------------------------
-- Evaluation forms

-- The centre's default CME form, which a new offering starts from.
create function registrar.evaluation_form_default() returns jsonb
language sql immutable as $$
    select jsonb_build_array(
        jsonb_build_object('id', 'objectives', 'kind', 'rating', 'required', true,
            'text', 'The activity met its stated learning objectives.'),
        jsonb_build_object('id', 'bias', 'kind', 'choice', 'required', true,
            'text', 'Was the activity free of commercial bias?',
            'choices', jsonb_build_array('Yes', 'No', 'Unsure')),
        jsonb_build_object('id', 'change', 'kind', 'text', 'required', false,
            'text', 'What will you change in your practice as a result of this activity?'),
        jsonb_build_object('id', 'comments', 'kind', 'text', 'required', false,
            'text', 'Comments'))
$$;

create function registrar.evaluation_form_of(p_offering uuid) returns jsonb
language sql stable as $$
    select coalesce((select f.questions from registrar.evaluation_forms f
                     where f.offering_id = p_offering), registrar.evaluation_form_default())
$$;

-- GET /offerings/{id}/evaluation-form: directors, admins, and learners with
-- a held or confirmed registration (or an evaluation in). Others 403.
create function registrar.evaluation_form_get(p_viewer uuid, p_admin boolean, p_offering uuid)
returns json
language plpgsql stable as $$
declare
    o registrar.offerings;
begin
    select * into o from registrar.offerings where id = p_offering;
    if not found then
        return null;
    end if;
    if not registrar.can_direct(o.course_id, p_viewer, p_admin) and not exists (
            select 1 from registrar.enrollments e where e.offering_id = o.id
            and e.user_id = p_viewer and e.status in ('held', 'confirmed')) then
        if o.status = 'draft' then
            return null;
        end if;
        perform registrar.raise_app('RG403', 'forbidden',
            'Only this offering''s learners and directors may see its evaluation form.');
    end if;
    return json_build_object('questions', registrar.evaluation_form_of(o.id));
end $$;

-- PUT /offerings/{id}/evaluation-form. The field table has checked each
-- question's members; here: ids unique, choices present exactly for kind
-- choice (2 to 20, unique). Once answers are in, an answered question may
-- be reworded and have choices added, but neither removed nor change its
-- kind or lose a choice (409 form-answered): the answers already given
-- must keep their meaning.
--
-- Locking: the offering row FOR UPDATE, the same lock evaluation_submit
-- takes, so no answer arrives between the check and the write.
create function registrar.evaluation_form_put(p_viewer uuid, p_admin boolean, p_offering uuid,
    p_questions jsonb) returns json
language plpgsql as $$
declare
    o registrar.offerings;
    q jsonb;
    old jsonb;
    v_ids text[] := '{}';
    v_i integer := 0;
begin
    select * into o from registrar.offerings where id = p_offering for update;
    if not found then
        return null;
    end if;
    perform registrar.require_director(o, p_viewer, p_admin);
    for q in select value from jsonb_array_elements(p_questions) loop
        if q->>'id' = any (v_ids) then
            perform registrar.raise_invalid(format('questions[%s].id', v_i), 'is used twice');
        end if;
        v_ids := v_ids || (q->>'id');
        if (q->>'kind' = 'choice') <> coalesce(jsonb_typeof(q->'choices') = 'array', false) then
            perform registrar.raise_invalid(format('questions[%s].choices', v_i),
                'are needed for a choice question, and only for one');
        end if;
        if q->>'kind' = 'choice' and (jsonb_array_length(q->'choices') < 2
                or (select count(distinct c) from jsonb_array_elements_text(q->'choices') c)
                   <> jsonb_array_length(q->'choices')) then
            perform registrar.raise_invalid(format('questions[%s].choices', v_i),
                'must be at least two different choices');
        end if;
        v_i := v_i + 1;
    end loop;
    for old in select value from jsonb_array_elements(registrar.evaluation_form_of(o.id)) loop
        if not exists (select 1 from registrar.evaluations e
                       where e.offering_id = o.id and e.answers ? (old->>'id')) then
            continue;
        end if;
        select value into q from jsonb_array_elements(p_questions) where value->>'id' = old->>'id';
        if q is null or q->>'kind' <> old->>'kind'
           or (old->>'kind' = 'choice' and not (q->'choices') @> (old->'choices')) then
            perform registrar.raise_app('RG409', 'form-answered',
                format('Question %s already has answers: it may be reworded and gain choices, '
                       'but not be removed, change its kind or lose a choice.', old->>'id'),
                jsonb_build_object('question_id', old->>'id'));
        end if;
    end loop;
    insert into registrar.evaluation_forms (offering_id, questions) values (o.id, p_questions)
    on conflict (offering_id) do update set questions = excluded.questions, updated_at = now();
    return json_build_object('questions', p_questions);
end $$;

-- ---------------------------------------------------------------------------
-- Evaluations and claims

-- POST /enrollments/{id}/evaluation: the learner's own confirmed
-- registration (else 404), after the offering has ended (409
-- offering-not-ended), once (409 already-evaluated), claimed hours at most
-- the attended hours (422 claimed-hours-exceed-attended), answers as the
-- form asks (400 naming answers.<id>).
--
-- Locking: the enrollment row FOR UPDATE (a second submission at once
-- waits, then finds the first), and the offering FOR SHARE (the form
-- cannot change under the check).
create function registrar.evaluation_submit(p_user uuid, p_enrollment uuid, p_answers jsonb,
    p_claimed numeric) returns json
language plpgsql as $$
declare
    e registrar.enrollments;
    o registrar.offerings;
    q jsonb;
    a jsonb;
    k text;
    v_attended numeric;
begin
    select * into e from registrar.enrollments where id = p_enrollment and user_id = p_user for update;
    if not found then
        return null;
    end if;
    -- The server's JSON gives 1.1 as 1.1000000000000001; the field table
    -- has allowed two decimals at most, so this is the number sent.
    p_claimed := round(p_claimed, 2);
    select * into o from registrar.offerings where id = e.offering_id for share;
    if e.status <> 'confirmed' then
        perform registrar.raise_app('RG409', 'not-confirmed',
            'Only a confirmed registration can be evaluated.');
    end if;
    if not registrar.offering_ended(o) then
        perform registrar.raise_app('RG409', 'offering-not-ended',
            'The evaluation opens when the offering has ended.');
    end if;
    if exists (select 1 from registrar.evaluations where enrollment_id = e.id) then
        perform registrar.raise_app('RG409', 'already-evaluated',
            'This registration has been evaluated already; an evaluation is submitted once.');
    end if;
    v_attended := registrar.enrollment_attended_hours(e.id);
    if p_claimed > v_attended then
        perform registrar.raise_app('RG422', 'claimed-hours-exceed-attended',
            format('You may claim at most the %s hours of the sessions you attended.',
                   trim_scale(v_attended)),
            jsonb_build_object('attended_hours', trim_scale(v_attended),
                'errors', jsonb_build_array(jsonb_build_object('field', 'claimed_hours',
                    'message', format('is more than the %s hours attended', trim_scale(v_attended))))));
    end if;
    for k in select jsonb_object_keys(p_answers) loop
        if not exists (select 1 from jsonb_array_elements(registrar.evaluation_form_of(o.id)) f
                       where f.value->>'id' = k) then
            perform registrar.raise_invalid('answers.' || k, 'is not a question of this form');
        end if;
    end loop;
    for q in select value from jsonb_array_elements(registrar.evaluation_form_of(o.id)) loop
        a := p_answers->(q->>'id');
        if a is null or a = 'null'::jsonb or (jsonb_typeof(a) = 'string' and btrim(a #>> '{}') = '') then
            if (q->>'required')::boolean then
                perform registrar.raise_invalid('answers.' || (q->>'id'), 'is required');
            end if;
            continue;
        end if;
        if q->>'kind' = 'rating' and not (jsonb_typeof(a) = 'number' and a::numeric in (1, 2, 3, 4, 5)) then
            perform registrar.raise_invalid('answers.' || (q->>'id'), 'must be a rating from 1 to 5');
        elsif q->>'kind' = 'text' and not (jsonb_typeof(a) = 'string' and char_length(a #>> '{}') <= 4000) then
            perform registrar.raise_invalid('answers.' || (q->>'id'), 'must be text of at most 4000 characters');
        elsif q->>'kind' = 'choice' and not (jsonb_typeof(a) = 'string' and (q->'choices') ? (a #>> '{}')) then
            perform registrar.raise_invalid('answers.' || (q->>'id'), 'must be one of the question''s choices');
        end if;
    end loop;
    -- Unanswered optional questions (null or blank) are not kept as answers.
    insert into registrar.evaluations (enrollment_id, offering_id, answers, claimed_hours)
    values (e.id, o.id,
            coalesce((select jsonb_object_agg(k2, v2) from jsonb_each(p_answers) as t (k2, v2)
                      where v2 <> 'null'::jsonb
                        and not (jsonb_typeof(v2) = 'string' and btrim(v2 #>> '{}') = '')), '{}'::jsonb),
            p_claimed);
    return json_build_object('enrollment_id', e.id, 'claimed_hours', trim_scale(p_claimed),
        'attended_hours', trim_scale(v_attended),
        'credits', registrar.credits_earned(p_claimed, v_attended, o.max_credits),
        'credit_type', registrar.enrollment_credit_type(e.id),
        'submitted_at', registrar.rfc3339(now(), o.timezone));
end $$;

-- GET /offerings/{id}/evaluations: every response and, per question, the
-- mean and counts of ratings, the counts of choices, the texts. Audited.
create function registrar.evaluations_report(p_viewer uuid, p_admin boolean, p_offering uuid)
returns json
language plpgsql as $$
declare
    o registrar.offerings;
    v_form jsonb;
    v_n integer;
begin
    select * into o from registrar.offerings where id = p_offering;
    if not found then
        return null;
    end if;
    perform registrar.require_director(o, p_viewer, p_admin);
    v_form := registrar.evaluation_form_of(o.id);
    select count(*) into v_n from registrar.evaluations where offering_id = o.id;
    insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
    values (p_viewer, 'evaluations.read', 'offering:' || o.id, jsonb_build_object('rows', v_n), o.id);
    return json_build_object(
        'questions', v_form,
        'responses', coalesce((select json_agg(json_build_object(
                'enrollment_id', ev.enrollment_id,
                'learner', json_build_object('id', u.id, 'full_name', u.full_name),
                'claimed_hours', trim_scale(ev.claimed_hours),
                'answers', ev.answers,
                'submitted_at', registrar.rfc3339(ev.submitted_at, o.timezone))
                order by ev.submitted_at, ev.enrollment_id)
            from registrar.evaluations ev
            join registrar.enrollments e on e.id = ev.enrollment_id
            join registrar.users u on u.id = e.user_id
            where ev.offering_id = o.id), '[]'::json),
        'summary', coalesce((select json_object_agg(q->>'id',
                case q->>'kind'
                when 'rating' then (select json_build_object(
                        'mean', round(avg((ev.answers->>(q->>'id'))::numeric), 2),
                        'counts', json_build_object(
                            '1', count(*) filter (where ev.answers->>(q->>'id') = '1'),
                            '2', count(*) filter (where ev.answers->>(q->>'id') = '2'),
                            '3', count(*) filter (where ev.answers->>(q->>'id') = '3'),
                            '4', count(*) filter (where ev.answers->>(q->>'id') = '4'),
                            '5', count(*) filter (where ev.answers->>(q->>'id') = '5')))
                    from registrar.evaluations ev
                    where ev.offering_id = o.id and ev.answers ? (q->>'id'))
                when 'choice' then json_build_object('counts', (
                    select json_object_agg(c, (select count(*) from registrar.evaluations ev
                                               where ev.offering_id = o.id
                                                 and ev.answers->>(q->>'id') = c))
                    from jsonb_array_elements_text(q->'choices') c))
                else json_build_object('texts', coalesce((
                    select json_agg(ev.answers->>(q->>'id') order by ev.submitted_at, ev.enrollment_id)
                    from registrar.evaluations ev
                    where ev.offering_id = o.id and ev.answers ? (q->>'id')), '[]'::json))
                end)
            from jsonb_array_elements(v_form) q), '{}'::json));
end $$;

-- ---------------------------------------------------------------------------
-- Certificates

-- What a certificate shows (the PDF and the public check read this).
create function registrar.certificate_json(c registrar.certificates) returns json
language sql stable as $$
    select json_build_object(
        'verification_code', c.verification_code,
        'verify_url', registrar.public_url() || '/#/verify-certificate/' || c.verification_code,
        'learner_name', u.full_name,
        'course_title', co.title,
        'offering_title', o.title,
        'starts_on', o.starts_on,
        'ends_on', o.ends_on,
        'venue', o.venue,
        'credit_type', c.credit_type,
        'credits', trim_scale(c.credits),
        'issued_at', registrar.rfc3339(c.issued_at, o.timezone),
        'accreditation_statement', registrar.accreditation_statement(o),
        'designation_statement', registrar.designation_statement(o))
    from registrar.enrollments e
    join registrar.users u on u.id = e.user_id
    join registrar.offerings o on o.id = e.offering_id
    join registrar.courses co on co.id = o.course_id
    where e.id = c.enrollment_id
$$;

-- GET /enrollments/{id}/certificate: its learner, the course's directors,
-- admins (anyone else 404). Needs the offering ended and the evaluation in
-- (409 not-completed). The first call records the certificate with
-- p_code (the server's fresh random code; later calls ignore theirs) and
-- the credits as they stand, and writes an audit row.
--
-- Locking: the enrollment row FOR UPDATE, so two first downloads at once
-- record one certificate.
create function registrar.certificate_issue(p_viewer uuid, p_admin boolean, p_enrollment uuid,
    p_code text) returns json
language plpgsql as $$
declare
    e registrar.enrollments;
    o registrar.offerings;
    ev registrar.evaluations;
    c registrar.certificates;
begin
    select e1.* into e from registrar.enrollments e1
    join registrar.offerings o1 on o1.id = e1.offering_id
    where e1.id = p_enrollment
      and (e1.user_id = p_viewer or registrar.can_direct(o1.course_id, p_viewer, p_admin))
    for update of e1;
    if not found then
        return null;
    end if;
    select * into c from registrar.certificates where enrollment_id = e.id;
    if found then
        return registrar.certificate_json(c);
    end if;
    select * into o from registrar.offerings where id = e.offering_id;
    select * into ev from registrar.evaluations where enrollment_id = e.id;
    if e.status <> 'confirmed' or not registrar.offering_ended(o) or ev.enrollment_id is null then
        perform registrar.raise_app('RG409', 'not-completed',
            case when e.status <> 'confirmed' then 'Only a confirmed registration earns a certificate.'
                 when not registrar.offering_ended(o) then 'The certificate is ready after the offering has ended and the evaluation is in.'
                 else 'The certificate is ready once the evaluation is in.' end,
            jsonb_build_object('ended', registrar.offering_ended(o),
                               'evaluated', ev.enrollment_id is not null));
    end if;
    insert into registrar.certificates (enrollment_id, verification_code, credit_type, credits)
    values (e.id, p_code, registrar.enrollment_credit_type(e.id),
            registrar.credits_earned(ev.claimed_hours, registrar.enrollment_attended_hours(e.id),
                                     o.max_credits))
    returning * into c;
    insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
    values (p_viewer, 'certificate.issue', 'enrollment:' || e.id,
            jsonb_build_object('certificate_id', c.id, 'credits', c.credits), o.id);
    return registrar.certificate_json(c);
end $$;

-- GET /certificates/{code}: the public check; null (404) for no such code.
create function registrar.certificate_verify(p_code text) returns json
language sql stable as $$
    select json_build_object('learner_name', j->'learner_name', 'course_title', j->'course_title',
        'offering_title', j->'offering_title', 'starts_on', j->'starts_on', 'ends_on', j->'ends_on',
        'credit_type', j->'credit_type', 'credits', j->'credits', 'issued_at', j->'issued_at')
    from registrar.certificates c, registrar.certificate_json(c) j
    where c.verification_code = upper(p_code)
$$;

-- GET /offerings/{id}/certificates: every issued certificate, by learner
-- name. Audited as an export.
create function registrar.offering_certificates(p_viewer uuid, p_admin boolean, p_offering uuid)
returns json
language plpgsql as $$
declare
    o registrar.offerings;
    v json;
begin
    select * into o from registrar.offerings where id = p_offering;
    if not found then
        return null;
    end if;
    perform registrar.require_director(o, p_viewer, p_admin);
    select coalesce(json_agg(registrar.certificate_json(c) order by u.full_name, c.id), '[]'::json)
    into v
    from registrar.certificates c
    join registrar.enrollments e on e.id = c.enrollment_id
    join registrar.users u on u.id = e.user_id
    where e.offering_id = o.id;
    insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
    values (p_viewer, 'certificates.export', 'offering:' || o.id,
            jsonb_build_object('rows', json_array_length(v)), o.id);
    return json_build_object('title', o.title, 'certificates', v);
end $$;

-- GET /offerings/{id}/completion: per confirmed learner, attended hours,
-- whether the evaluation is in and the certificate issued.
create function registrar.offering_completion(p_viewer uuid, p_admin boolean, p_offering uuid)
returns json
language plpgsql as $$
declare
    o registrar.offerings;
begin
    select * into o from registrar.offerings where id = p_offering;
    if not found then
        return null;
    end if;
    perform registrar.require_director(o, p_viewer, p_admin);
    return json_build_object(
        'ended', registrar.offering_ended(o),
        'items', coalesce((select json_agg(json_build_object(
                'enrollment_id', e.id,
                'learner', json_build_object('id', u.id, 'full_name', u.full_name,
                                             'profession', registrar.enrollment_profession(e.id)),
                'attended_hours', trim_scale(registrar.enrollment_attended_hours(e.id)),
                'evaluated', ev.enrollment_id is not null,
                'claimed_hours', trim_scale(ev.claimed_hours),
                'certificate_issued', c.id is not null,
                'credits', trim_scale(c.credits)) order by u.full_name, e.id)
            from registrar.enrollments e
            join registrar.users u on u.id = e.user_id
            left join registrar.evaluations ev on ev.enrollment_id = e.id
            left join registrar.certificates c on c.enrollment_id = e.id
            where e.offering_id = o.id and e.status = 'confirmed'), '[]'::json));
end $$;

-- GET /me/transcript: every certificate of the learner, newest first, with
-- totals by credit type.
create function registrar.transcript(p_user uuid) returns json
language sql stable as $$
    select json_build_object(
        'learner_name', (select full_name from registrar.users where id = p_user),
        'items', coalesce((select json_agg(json_build_object(
                'offering', json_build_object('id', o.id, 'title', o.title, 'course_title', co.title,
                                              'starts_on', o.starts_on, 'ends_on', o.ends_on),
                'credit_type', c.credit_type,
                'credits', trim_scale(c.credits),
                'issued_at', registrar.rfc3339(c.issued_at, o.timezone),
                'verification_code', c.verification_code) order by o.starts_on desc, c.issued_at desc)
            from registrar.certificates c
            join registrar.enrollments e on e.id = c.enrollment_id
            join registrar.offerings o on o.id = e.offering_id
            join registrar.courses co on co.id = o.course_id
            where e.user_id = p_user), '[]'::json),
        'totals_by_credit_type', coalesce((select json_object_agg(t.credit_type, t.total)
            from (select c.credit_type, trim_scale(sum(c.credits)) as total
                  from registrar.certificates c
                  join registrar.enrollments e on e.id = c.enrollment_id
                  where e.user_id = p_user group by c.credit_type) t), '{}'::json))
$$;

-- ---------------------------------------------------------------------------
-- Privacy: what GET /me/export adds about credits

-- The learner's evaluations and certificates, as members merged into
-- registrar.privacy_export's document (privacy.c's statement does
-- `privacy_export(u)::jsonb || privacy_export_credits(u)`, so the
-- attendance engineer's replacement of privacy_export stays theirs).
create function registrar.privacy_export_credits(p_user uuid) returns jsonb
language sql stable as $$
    select jsonb_build_object(
        'attendance', coalesce((select jsonb_agg(jsonb_build_object(
                'enrollment_id', a.enrollment_id,
                'session', jsonb_build_object('id', s.id, 'title', s.title,
                    'starts_at', registrar.rfc3339(s.starts_at, o.timezone)),
                'checked_in_at', registrar.rfc3339(a.checked_in_at, 'UTC'),
                'method', a.method) order by a.checked_in_at)
            from registrar.attendance a
            join registrar.enrollments e on e.id = a.enrollment_id
            join registrar.sessions s on s.id = a.session_id
            join registrar.offerings o on o.id = e.offering_id
            where e.user_id = p_user), '[]'::jsonb),
        'evaluations', coalesce((select jsonb_agg(jsonb_build_object(
                'enrollment_id', ev.enrollment_id,
                'offering', jsonb_build_object('id', o.id, 'title', o.title),
                'answers', ev.answers,
                'claimed_hours', trim_scale(ev.claimed_hours),
                'submitted_at', registrar.rfc3339(ev.submitted_at, 'UTC')) order by ev.submitted_at)
            from registrar.evaluations ev
            join registrar.enrollments e on e.id = ev.enrollment_id
            join registrar.offerings o on o.id = e.offering_id
            where e.user_id = p_user), '[]'::jsonb),
        'certificates', coalesce((select jsonb_agg(jsonb_build_object(
                'enrollment_id', c.enrollment_id,
                'offering', jsonb_build_object('id', o.id, 'title', o.title),
                'verification_code', c.verification_code,
                'credit_type', c.credit_type,
                'credits', trim_scale(c.credits),
                'issued_at', registrar.rfc3339(c.issued_at, 'UTC')) order by c.issued_at)
            from registrar.certificates c
            join registrar.enrollments e on e.id = c.enrollment_id
            join registrar.offerings o on o.id = e.offering_id
            where e.user_id = p_user), '[]'::jsonb))
$$;

-- ---------------------------------------------------------------------------
-- ACCME

-- GET /offerings/{id}/accme-report: the activity as PARS asks for it.
-- Learners: confirmed registrations with attended hours, physicians (by the
-- enrollment's profession) and others. What the database does not hold
-- (city, state, country, commercial support) is null: the centre fills it
-- in by hand (README "Credits and certificates"). Audited as an export.
create function registrar.accme_report(p_viewer uuid, p_admin boolean, p_offering uuid) returns json
language plpgsql as $$
declare
    o registrar.offerings;
    v json;
begin
    select * into o from registrar.offerings where id = p_offering;
    if not found then
        return null;
    end if;
    perform registrar.require_director(o, p_viewer, p_admin);
    select json_build_object('activity', json_build_object(
        'title', co.title || ': ' || o.title,
        'format', 'Course',
        'starts_on', o.starts_on,
        'ends_on', o.ends_on,
        'venue', o.venue,
        'city', null,
        'state', null,
        'country', null,
        'credits_designated', trim_scale(coalesce(o.max_credits,
            (select coalesce(sum(s.credit_hours), 0) from registrar.sessions s
             where s.offering_id = o.id and s.status = 'scheduled'))),
        'physician_learners', (select count(*) from registrar.enrollments e
            where e.offering_id = o.id and e.status = 'confirmed'
              and registrar.enrollment_attended_hours(e.id) > 0
              and registrar.enrollment_profession(e.id) = 'physician'),
        'other_learners', (select count(*) from registrar.enrollments e
            where e.offering_id = o.id and e.status = 'confirmed'
              and registrar.enrollment_attended_hours(e.id) > 0
              and registrar.enrollment_profession(e.id) <> 'physician'),
        'certificates_issued', (select count(*) from registrar.certificates c
            join registrar.enrollments e on e.id = c.enrollment_id where e.offering_id = o.id),
        'commercial_support', null,
        'ended', registrar.offering_ended(o)))
    into v
    from registrar.courses co where co.id = o.course_id;
    insert into registrar.audit_log (actor_id, action, object, detail, offering_id)
    values (p_viewer, 'accme-report.read', 'offering:' || o.id, '{}'::jsonb, o.id);
    return v;
end $$;

-- ---------------------------------------------------------------------------
-- Messages (the jobs thread)

-- Sends, once per confirmed enrollment, the reminder to evaluate when its
-- offering has ended (no evaluation yet), and the news that the certificate
-- is ready when the evaluation is in. Returns how many messages it queued.
-- Offerings that ended over 60 days ago get no reminder (a server started
-- on an old database must not mail every learner of past years).
--
-- Locking: the notice's primary key; ON CONFLICT DO NOTHING makes two
-- server processes running it at once send each message once.
create function registrar.credit_notices_send(p_limit integer) returns integer
language plpgsql as $$
declare
    r record;
    n integer := 0;
begin
    for r in
        select e.id, e.user_id, o.title, co.title as course_title, ev.enrollment_id is not null as evaluated
        from registrar.enrollments e
        join registrar.offerings o on o.id = e.offering_id
        join registrar.courses co on co.id = o.course_id
        left join registrar.evaluations ev on ev.enrollment_id = e.id
        where e.status = 'confirmed' and o.ends_on >= current_date - 60
          and registrar.offering_ended(o)
          and not exists (select 1 from registrar.credit_notices cn where cn.enrollment_id = e.id
                          and cn.kind = case when ev.enrollment_id is null then 'evaluate' else 'certificate' end)
        limit p_limit
    loop
        insert into registrar.credit_notices (enrollment_id, kind)
        values (r.id, case when r.evaluated then 'certificate' else 'evaluate' end)
        on conflict do nothing;
        if not found then
            continue;
        end if;
        if r.evaluated then
            perform registrar.outbox_to_user(r.user_id, 'Your certificate is ready',
                format(E'Your certificate for %s (%s) is ready to download:\n%s', r.course_title, r.title,
                       registrar.public_url() || '/#/registrations/' || r.id));
        else
            perform registrar.outbox_to_user(r.user_id, 'Please evaluate ' || r.course_title,
                format(E'%s (%s) has ended. Evaluate it and claim your credit here:\n%s', r.course_title,
                       r.title, registrar.public_url() || '/#/registrations/' || r.id));
        end if;
        n := n + 1;
    end loop;
    return n;
end $$;
