-- Demo data (loaded by `scripts/dev run` after `registrar migrate`): a
-- realistic year of the centre's four courses, next calendar year, all in
-- Boston (America/New_York):
--
--   Serious Illness Communication    one day in February
--   PCEP                             Part 1 (5 days, March) and Part 2 (4 days,
--                                    June), by application
--   Practical Aspects                three days in April
--   Hospitalists and Intensivists    two days in May
--
-- each with a full schedule (plenaries, parallel workshops and small
-- groups, breaks), rooms, faculty, prices by profession and credit types.
-- Idempotent: ids are derived from the year and names, and every insert
-- skips rows that exist, so running it again changes nothing.

create function pg_temp.demo_id(variadic parts text[]) returns uuid
language sql immutable as $$
    select md5('registrar-demo/' || array_to_string(parts, '/'))::uuid
$$;

-- One session, its room and faculty, unless it exists.
create function pg_temp.demo_session(p_offering uuid, p_day date, p_from time, p_to time,
    p_title text, p_kind text, p_room text, p_faculty text[], p_capacity integer,
    p_description text) returns void
language plpgsql as $$
declare
    v_id uuid := pg_temp.demo_id(p_offering::text, p_day::text, p_from::text, p_room, p_title);
    v_room uuid;
    v_fid uuid;
    v_name text;
    v_i integer := 0;
    v_s registrar.sessions;
begin
    if exists (select 1 from registrar.sessions where id = v_id) then
        return;
    end if;
    insert into registrar.rooms (name) values (p_room)
    on conflict (key) do update set name = registrar.rooms.name
    returning id into v_room;
    insert into registrar.sessions (id, offering_id, title, kind, description, starts_at, ends_at,
        room_id, capacity, credit_hours)
    values (v_id, p_offering, p_title, p_kind, coalesce(p_description, ''),
        (p_day + p_from) at time zone 'America/New_York', (p_day + p_to) at time zone 'America/New_York',
        v_room, p_capacity,
        case when p_kind = 'break' then 0
             else round((extract(epoch from p_to - p_from) / 3600)::numeric * 4) / 4 end)
    returning * into v_s;
    foreach v_name in array coalesce(p_faculty, '{}') loop
        v_i := v_i + 1;
        insert into registrar.faculty (name) values (v_name)
        on conflict (key) do update set name = registrar.faculty.name
        returning id into v_fid;
        insert into registrar.session_faculty (session_id, faculty_id, position, during, active)
        values (v_id, v_fid, v_i, v_s.during, true);
    end loop;
end $$;

-- A full teaching day: plenary, three small groups, two workshops, plenary,
-- reflection, with breaks. Faculty rotate with the day so that nobody is in
-- two rooms at once.
create function pg_temp.demo_day(p_offering uuid, p_day date, p_n integer, p_theme text,
    p_faculty text[], p_capacity integer) returns void
language plpgsql as $$
declare
    f integer := array_length(p_faculty, 1);
    fac text[];
begin
    fac := array(select p_faculty[1 + ((p_n * 5 + k) % f)] from generate_series(0, f - 1) k);
    perform pg_temp.demo_session(p_offering, p_day, '08:00', '08:30', 'Breakfast and sign-in', 'break',
        'Atrium', '{}', null, 'Coffee, pastries and badges.');
    perform pg_temp.demo_session(p_offering, p_day, '08:30', '10:00', p_theme, 'plenary',
        'Auditorium', array[fac[1], fac[2]], null, 'The day''s opening plenary.');
    perform pg_temp.demo_session(p_offering, p_day, '10:00', '10:15', 'Break', 'break', 'Atrium', '{}', null, null);
    perform pg_temp.demo_session(p_offering, p_day, '10:15', '12:00', 'Small group ' || g || ': ' || p_theme,
        'small_group', 'Seminar Room ' || chr(64 + g), array[fac[2 + g]], (p_capacity + 2) / 3,
        'Cases from the participants'' own practice, with a facilitator.')
    from generate_series(1, 3) g;
    perform pg_temp.demo_session(p_offering, p_day, '12:00', '13:00', 'Lunch', 'break', 'Atrium', '{}', null, null);
    perform pg_temp.demo_session(p_offering, p_day, '13:00', '14:30',
        case w when 1 then 'Workshop: pain and symptom management at the bedside'
               else 'Workshop: running a family meeting' end,
        'workshop', 'Seminar Room ' || chr(64 + w), array[fac[5 + w]], (p_capacity + 1) / 2,
        'Choose one of the two parallel workshops.')
    from generate_series(1, 2) w;
    perform pg_temp.demo_session(p_offering, p_day, '14:30', '14:45', 'Break', 'break', 'Atrium', '{}', null, null);
    perform pg_temp.demo_session(p_offering, p_day, '14:45', '16:30', 'Skills practice: ' || p_theme,
        'plenary', 'Auditorium', array[fac[8], fac[9]], null, 'Demonstration and practice in pairs.');
    perform pg_temp.demo_session(p_offering, p_day, '16:30', '17:00', 'Reflection and evaluation', 'plenary',
        'Auditorium', array[fac[1]], null, null);
end $$;

-- The offering with its parts, prices, credit types and refund rules.
create function pg_temp.demo_offering(p_id uuid, p_course text, p_title text, p_parts jsonb,
    p_capacity integer, p_requires_application boolean, p_max_credits numeric,
    p_price_physician integer) returns void
language plpgsql as $$
declare
    v_starts date := (select min((p->>'starts_on')::date) from jsonb_array_elements(p_parts) p);
    v_ends date := (select max((p->>'ends_on')::date) from jsonb_array_elements(p_parts) p);
begin
    insert into registrar.offerings (id, course_id, title, status, starts_on, ends_on,
        requires_application, timezone, venue, capacity, registration_opens_at,
        registration_closes_at, hold_minutes, approval_hold_days, max_credits)
    select p_id, c.id, p_title, 'open', v_starts, v_ends, p_requires_application, 'America/New_York',
        'Harbor Conference Center, 200 Atlantic Avenue, Boston, MA', p_capacity,
        (make_date(extract(year from v_starts)::integer - 1, 9, 1) + time '09:00') at time zone 'America/New_York',
        ((v_starts - 14) + time '17:00') at time zone 'America/New_York',
        30, 14, p_max_credits
    from registrar.courses c where c.slug = p_course
    on conflict (id) do nothing;

    insert into registrar.offering_parts (offering_id, position, name, starts_on, ends_on)
    select p_id, n, p->>'name', (p->>'starts_on')::date, (p->>'ends_on')::date
    from jsonb_array_elements(p_parts) with ordinality as x (p, n)
    on conflict do nothing;

    -- Physicians pay the most; the early price runs until 60 days before.
    insert into registrar.offering_prices (offering_id, profession, amount_cents, early_amount_cents, early_until)
    select p_id, pr.profession, (p_price_physician * pr.share)::integer,
        (p_price_physician * pr.share * 0.85)::integer, v_starts - 60
    from (values ('physician', 1.0), ('nurse', 0.6), ('physician_assistant', 0.6),
                 ('social_worker', 0.45), ('chaplain', 0.45), ('psychologist', 0.45),
                 ('pharmacist', 0.6), ('trainee', 0.25), ('other', 0.6)) as pr (profession, share)
    on conflict do nothing;

    insert into registrar.offering_credit_types (offering_id, profession, credit_type)
    select p_id, pr.profession, case pr.profession when 'physician' then 'AMA PRA Category 1'
                                                   when 'nurse' then 'ANCC contact hours'
                                                   else 'participation' end
    from unnest(array['physician', 'nurse', 'physician_assistant', 'social_worker', 'chaplain',
                      'psychologist', 'pharmacist', 'trainee', 'other']) as pr (profession)
    on conflict do nothing;

    insert into registrar.offering_cancellation_rules (offering_id, until_days_before, refund_percent)
    values (p_id, 60, 100), (p_id, 30, 75), (p_id, 14, 50)
    on conflict do nothing;
end $$;

do $$
declare
    y integer := extract(year from current_date)::integer + 1;
    -- Mondays of ISO weeks of the demo year.
    wk7 date := to_date(y || '-07', 'IYYY-IW');
    wk11 date := to_date(y || '-11', 'IYYY-IW');
    wk17 date := to_date(y || '-17', 'IYYY-IW');
    wk19 date := to_date(y || '-19', 'IYYY-IW');
    wk23 date := to_date(y || '-23', 'IYYY-IW');
    faculty text[] := array['Dr. Amara Okafor', 'Dr. Benjamin Liu', 'Dr. Carmen Reyes',
        'Dr. David Cohen', 'Ellen Murphy, RN', 'Dr. Farah Haddad', 'Rev. Grace Kim',
        'Dr. Henry Walsh', 'Isabel Costa, LICSW', 'Dr. Jonah Abrams', 'Dr. Keiko Tanaka',
        'Dr. Luis Moreno'];
    themes text[] := array['Teaching at the bedside', 'Giving and receiving feedback',
        'Prognosis and uncertainty', 'Designing a curriculum', 'Leading change in a health system',
        'Project presentations', 'Teaching communication skills', 'Grief, loss and self-care',
        'Sustaining a palliative care program'];
    sic uuid := pg_temp.demo_id(y::text, 'serious-illness-communication');
    pcep uuid := pg_temp.demo_id(y::text, 'pcep');
    pa uuid := pg_temp.demo_id(y::text, 'practical-aspects');
    hi uuid := pg_temp.demo_id(y::text, 'hospitalists-intensivists');
    d date;
    n integer := 0;
begin
    -- Serious Illness Communication: one Friday of practised conversations with actors.
    perform pg_temp.demo_offering(sic, 'serious-illness-communication', 'Serious Illness Communication ' || y,
        jsonb_build_array(jsonb_build_object('name', 'Workshop day', 'starts_on', wk7 + 4, 'ends_on', wk7 + 4)),
        24, false, 7, 95000);
    d := wk7 + 4;
    perform pg_temp.demo_session(sic, d, '08:00', '08:30', 'Breakfast and sign-in', 'break', 'Atrium', '{}', null, null);
    perform pg_temp.demo_session(sic, d, '08:30', '09:30', 'Why serious illness conversations matter', 'plenary',
        'Auditorium', array[faculty[1], faculty[10]], null, null);
    perform pg_temp.demo_session(sic, d, '09:30', '12:00', 'Practice with actors: sharing serious news (group ' || g || ')',
        'small_group', 'Simulation Suite ' || g, array[faculty[1 + g]], 6,
        'Four learners, one facilitator and a trained actor.')
    from generate_series(1, 4) g;
    perform pg_temp.demo_session(sic, d, '12:00', '13:00', 'Lunch', 'break', 'Atrium', '{}', null, null);
    perform pg_temp.demo_session(sic, d, '13:00', '15:45', 'Practice with actors: what matters most (group ' || g || ')',
        'small_group', 'Simulation Suite ' || g, array[faculty[5 + g]], 6,
        'Exploring goals and values; responding to emotion.')
    from generate_series(1, 4) g;
    perform pg_temp.demo_session(sic, d, '15:45', '16:30', 'Bringing it back to your practice', 'plenary',
        'Auditorium', array[faculty[10]], null, null);

    -- PCEP: Part 1 Monday to Friday in March, Part 2 Monday to Thursday in June.
    perform pg_temp.demo_offering(pcep, 'pcep', 'PCEP ' || y,
        jsonb_build_array(
            jsonb_build_object('name', 'Part 1', 'starts_on', wk11, 'ends_on', wk11 + 4),
            jsonb_build_object('name', 'Part 2', 'starts_on', wk23, 'ends_on', wk23 + 3)),
        30, true, 63, 520000);
    for i in 0 .. 4 loop
        n := n + 1;
        perform pg_temp.demo_day(pcep, wk11 + i, n, themes[n], faculty, 30);
    end loop;
    for i in 0 .. 3 loop
        n := n + 1;
        perform pg_temp.demo_day(pcep, wk23 + i, n, themes[n], faculty, 30);
    end loop;

    -- Practical Aspects: Wednesday to Friday in April.
    perform pg_temp.demo_offering(pa, 'practical-aspects', 'Practical Aspects of Palliative Care ' || y,
        jsonb_build_array(jsonb_build_object('name', 'Course days', 'starts_on', wk17 + 2, 'ends_on', wk17 + 4)),
        80, false, 21, 210000);
    perform pg_temp.demo_day(pa, wk17 + 2, 1, 'Pain and symptom management', faculty, 80);
    perform pg_temp.demo_day(pa, wk17 + 3, 2, 'Prognosis and goals of care', faculty, 80);
    perform pg_temp.demo_day(pa, wk17 + 4, 3, 'Care at the end of life', faculty, 80);

    -- Hospitalists and Intensivists: Thursday and Friday in May.
    perform pg_temp.demo_offering(hi, 'hospitalists-intensivists',
        'Palliative Care for Hospitalists and Intensivists ' || y,
        jsonb_build_array(jsonb_build_object('name', 'Course days', 'starts_on', wk19 + 3, 'ends_on', wk19 + 4)),
        60, false, 14, 160000);
    perform pg_temp.demo_day(hi, wk19 + 3, 4, 'Family meetings in the ICU', faculty, 60);
    perform pg_temp.demo_day(hi, wk19 + 4, 5, 'Time-limited trials and withdrawing treatment', faculty, 60);
end $$;
