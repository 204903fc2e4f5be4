-- 0001: the registrar schema, accounts' core table, the course catalog and
-- its seed: the centre's four annual courses.
--
-- Functions that serve hot reads return the response body as json, so the
-- server passes it through and pgbench can run the very same call.

create extension if not exists btree_gist;

create table registrar.users (
    id uuid primary key default gen_random_uuid(),
    email text not null,
    password_hash text,
    full_name text not null check (char_length(full_name) between 1 and 200),
    profession text not null check (profession in ('physician', 'nurse',
        'physician_assistant', 'social_worker', 'chaplain', 'psychologist',
        'pharmacist', 'trainee', 'other')),
    credentials text not null default '' check (char_length(credentials) <= 100),
    institution text not null default '' check (char_length(institution) <= 200),
    is_admin boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    -- Emails are stored trimmed and lower-cased; the unique index then
    -- makes "A@x.org" and "a@x.org" one account.
    constraint users_email_normal check (email = lower(btrim(email))
        and char_length(email) between 3 and 254 and position('@' in email) > 1)
);
create unique index users_email_key on registrar.users (email);

create table registrar.courses (
    id uuid primary key default gen_random_uuid(),
    slug text not null unique check (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' and char_length(slug) <= 64),
    title text not null check (char_length(title) between 1 and 200),
    summary text not null default '' check (char_length(summary) <= 4000),
    credit_type text not null check (char_length(credit_type) between 1 and 100),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create table registrar.course_directors (
    course_id uuid not null references registrar.courses (id) on delete cascade,
    user_id uuid not null references registrar.users (id) on delete cascade,
    granted_at timestamptz not null default now(),
    primary key (course_id, user_id)
);
create index course_directors_user on registrar.course_directors (user_id);

-- The public form of a course, as API.md's `course`.
create function registrar.course_json(c registrar.courses) returns jsonb
language sql stable as $$
    select jsonb_build_object(
        'slug', c.slug,
        'title', c.title,
        'summary', c.summary,
        'credit_type', c.credit_type,
        'directors', coalesce((
            select jsonb_agg(jsonb_build_object('id', u.id, 'full_name', u.full_name)
                             order by u.full_name, u.id)
            from registrar.course_directors d
            join registrar.users u on u.id = d.user_id
            where d.course_id = c.id), '[]'::jsonb))
$$;

-- GET /api/v1/courses: a page of courses ordered by slug. The opaque cursor
-- is the hex of the previous page's last slug; bad hex raises SQLSTATE
-- class 22, which the server answers with 400.
create function registrar.courses_list(p_limit integer, p_cursor text) returns json
language plpgsql stable as $$
-- plpgsql rather than sql: its plan is cached per connection, where a
-- non-inlinable sql function is planned again on every call.
begin
    return (
        with page as (
            select c from registrar.courses c
            where p_cursor is null or c.slug > convert_from(decode(p_cursor, 'hex'), 'UTF8')
            order by c.slug
            limit p_limit + 1
        ), numbered as (
            select (p.c).slug as slug, registrar.course_json(p.c) as body,
                   row_number() over (order by (p.c).slug) as n
            from page p
        )
        select json_build_object(
            'items', coalesce((select json_agg(body order by n) from numbered where n <= p_limit), '[]'::json),
            'next_cursor', (select case when count(*) > p_limit
                                        then (select encode(convert_to(slug, 'UTF8'), 'hex') from numbered where n = p_limit) end
                            from numbered)));
end
$$;

-- GET /api/v1/courses/{slug}: the course and its offerings' summaries
-- (offerings arrive with migration 0003, which replaces this function).
-- p_viewer is the signed-in user or null; it decides which drafts show.
create function registrar.course_get(p_slug text, p_viewer uuid) returns json
language sql stable as $$
    select (registrar.course_json(c) || jsonb_build_object('offerings', '[]'::jsonb))::json
    from registrar.courses c
    where c.slug = p_slug
$$;

insert into registrar.courses (slug, title, summary, credit_type) values
('pcep', 'Palliative Care Education and Practice',
 'A faculty-development course for physicians and nurses who teach and lead palliative care: '
 'two in-person parts months apart, with a project carried out in between.',
 'AMA PRA Category 1'),
('practical-aspects', 'Practical Aspects of Palliative Care',
 'Three days of hands-on skills for the clinicians who care for seriously ill patients every day: '
 'symptom management, prognosis, goals-of-care conversations and care at the end of life.',
 'AMA PRA Category 1'),
('hospitalists-intensivists', 'Palliative Care for Hospitalists and Intensivists',
 'Two days on palliative care in the hospital and the intensive care unit: family meetings, '
 'time-limited trials, withdrawal of life-sustaining treatment and care of the dying patient.',
 'AMA PRA Category 1'),
('serious-illness-communication', 'Serious Illness Communication',
 'A one-day workshop of practised conversations with trained actors: sharing serious news, '
 'responding to emotion and talking about what matters most.',
 'AMA PRA Category 1');
