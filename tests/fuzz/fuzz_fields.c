/*
 * fuzz_fields.c: libFuzzer harness for request bodies through the real
 * field tables of the real handlers (api_body_tables). Input: one byte
 * choosing the table, then the body as sent.
 *
 * What must hold: the strict JSON checks (body.c) and the table either
 * accept or name a field with a message; an accepted body holds only the
 * table's members, of their types, and checking it again changes nothing
 * (trimming is done once); every text member obeys its character rules.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registrar/api.h"
#include "registrar/body.h"
#include "registrar/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every member of obj is in the table, and its text obeys the table's character rules. */
static void fuzz_fields_audit(json_t *obj, const struct api_field *fields)
{
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v)
    {
        const struct api_field *f = fields;
        while (f->name != NULL && strcmp(f->name, key) != 0)
            f++;
        if (f->name == NULL)
            abort();
        if (json_is_string(v)) {
            const char *s = json_string_value(v);
            if (!util_utf8_valid(s, json_string_length(v)))
                abort();
            if (f->type == API_T_STRING && api_text_problem(s, f->flags) != NULL)
                abort();
            if (f->type == API_T_UUID && !api_uuid_valid(s))
                abort();
            if (f->type == API_T_INT || f->type == API_T_BOOL || f->type == API_T_NUMBER)
                abort();
        }
        if (f->type == API_T_STRINGS || f->type == API_T_UUIDS) {
            size_t i;
            json_t *item;
            json_array_foreach(v, i, item)
            {
                const char *s = json_string_value(item);
                if (s == NULL || (f->type == API_T_UUIDS && !api_uuid_valid(s)) ||
                    (f->type == API_T_STRINGS && api_text_problem(s, f->flags) != NULL))
                    abort();
            }
        }
        if (f->type == API_T_OBJECTS && json_is_array(v)) {
            size_t i;
            json_t *item;
            json_array_foreach(v, i, item) fuzz_fields_audit(item, f->items);
        }
        if (f->type == API_T_OBJECT && json_is_object(v))
            fuzz_fields_audit(v, f->items);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n;
    const struct api_body_table *tables = api_body_tables(&n);
    json_t *body = NULL;
    struct body_error berr;
    struct api_field_error err;

    if (size < 1)
        return 0;
    const struct api_body_table *t = &tables[data[0] % n];
    bool creating = (data[0] / n) % 2 == 0 ? t->creating : !t->creating;
    if (body_parse(HTTP_BODY_JSON, (const char *)data + 1, size - 1, "application/json", &body,
            &berr) == -1) {
        if (body != NULL || berr.status < 400 || berr.status > 415)
            abort();
        return 0;
    }
    if (api_fields_check(body, t->fields, "", creating, &err) == -1) {
        if (err.field == NULL || err.message == NULL || err.message[0] == '\0')
            abort();
        api_field_error_release(&err);
    } else {
        fuzz_fields_audit(body, t->fields);
        char *once = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
        if (api_fields_check(body, t->fields, "", creating, &err) == -1)
            abort();
        char *twice = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
        if (strcmp(once, twice) != 0)
            abort();
        free(once);
        free(twice);
    }
    json_decref(body);
    return 0;
}
