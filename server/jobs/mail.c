/* mail.c: see mail.h. */
#include "registrar/mail.h"

#include "registrar/util.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 2047: an encoded-word is at most 75 characters; 12 go to "=?UTF-8?B?" and "?=". */
#define MAIL_WORD_BYTES 45
#define MAIL_QP_LINE 76

static const char MAIL_B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char MAIL_HEX[] = "0123456789ABCDEF";

struct mail_sender {
    CURL *curl;
    char *url;
    char *user;
    char *password;
    char *from;
    bool tls_required;
};

/* The upload in progress, for the read callback. */
struct mail_upload {
    const char *data;
    size_t len;
    size_t pos;
};

bool mail_address_ok(const char *text)
{
    size_t n = text != NULL ? strlen(text) : 0;
    const char *at;

    if (n < 3 || n > 254)
        return false;
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++)
        if (*p <= ' ' || *p >= 0x7f || strchr("<>,\"()", *p) != NULL)
            return false;
    at = strrchr(text, '@');
    return at != NULL && at != text && at[1] != '\0';
}

static void mail_base64(struct sbuf *sb, const unsigned char *in, size_t n)
{
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        sbuf_addc(sb, MAIL_B64[(v >> 18) & 63]);
        sbuf_addc(sb, MAIL_B64[(v >> 12) & 63]);
        sbuf_addc(sb, i + 1 < n ? MAIL_B64[(v >> 6) & 63] : '=');
        sbuf_addc(sb, i + 2 < n ? MAIL_B64[v & 63] : '=');
    }
}

static bool mail_printable_ascii(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
        if (*p < ' ' || *p >= 0x7f)
            return false;
    return true;
}

char *mail_encode_subject(const char *subject)
{
    struct sbuf sb = SBUF_INIT;
    const unsigned char *p = (const unsigned char *)subject;
    size_t n = strlen(subject);

    /* "=?" in plain text would read as an encoded-word: encode that too. */
    if (mail_printable_ascii(subject) && strstr(subject, "=?") == NULL) {
        sbuf_adds(&sb, subject);
        return sbuf_detach(&sb, NULL);
    }
    for (size_t i = 0; i < n;) {
        size_t take = n - i < MAIL_WORD_BYTES ? n - i : MAIL_WORD_BYTES;
        /* Back off to the start of a UTF-8 sequence (a byte not 10xxxxxx). */
        while (i + take < n && take > 1 && (p[i + take] & 0xc0) == 0x80)
            take--;
        if (i > 0)
            sbuf_adds(&sb, "\r\n ");
        sbuf_adds(&sb, "=?UTF-8?B?");
        mail_base64(&sb, p + i, take);
        sbuf_adds(&sb, "?=");
        i += take;
    }
    return sbuf_detach(&sb, NULL);
}

/* Adds one encoded unit (1 or 3 characters), breaking the line softly if it would pass 76. */
static void mail_qp_put(struct sbuf *sb, size_t *col, const char *unit, size_t ulen, bool last)
{
    /* Room for a trailing "=" unless this unit ends the line. */
    size_t limit = last ? MAIL_QP_LINE : MAIL_QP_LINE - 1;
    if (*col + ulen > limit) {
        sbuf_adds(sb, "=\r\n");
        *col = 0;
    }
    sbuf_add(sb, unit, ulen);
    *col += ulen;
}

char *mail_encode_body(const char *body)
{
    struct sbuf sb = SBUF_INIT;
    const unsigned char *p = (const unsigned char *)body;

    while (*p != '\0') {
        size_t len = strcspn((const char *)p, "\n");
        size_t end = len;
        size_t col = 0;
        if (end > 0 && p[end - 1] == '\r')
            end--;
        for (size_t i = 0; i < end; i++) {
            unsigned char ch = p[i];
            bool last = i + 1 == end;
            char unit[3];
            size_t ulen = 1;
            if ((ch >= 33 && ch <= 126 && ch != '=') || ((ch == ' ' || ch == '\t') && !last)) {
                unit[0] = (char)ch;
            } else {
                unit[0] = '=';
                unit[1] = MAIL_HEX[ch >> 4];
                unit[2] = MAIL_HEX[ch & 15];
                ulen = 3;
            }
            mail_qp_put(&sb, &col, unit, ulen, last);
        }
        sbuf_adds(&sb, "\r\n");
        p += len;
        if (*p == '\n')
            p++;
    }
    return sbuf_detach(&sb, NULL);
}

static void mail_date(struct sbuf *sb, time_t t)
{
    static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
        "Sep", "Oct", "Nov", "Dec" };
    struct tm tm;

    gmtime_r(&t, &tm);
    sbuf_addf(sb, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
        months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

char *mail_format(const struct mail_message *m, const char *from)
{
    struct sbuf sb = SBUF_INIT;
    char *subject, *body;

    if (!mail_address_ok(from) || !mail_address_ok(m->to))
        return NULL;
    subject = mail_encode_subject(m->subject);
    body = mail_encode_body(m->body);
    sbuf_addf(&sb, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: ", from, m->to, subject);
    mail_date(&sb, m->date);
    sbuf_addf(&sb, "\r\nMessage-ID: <registrar.%lld.%lld@%s>\r\n", m->id, (long long)m->date,
        strrchr(from, '@') + 1);
    sbuf_adds(&sb, "MIME-Version: 1.0\r\n"
                   "Content-Type: text/plain; charset=utf-8\r\n"
                   "Content-Transfer-Encoding: quoted-printable\r\n"
                   "\r\n");
    sbuf_adds(&sb, body);
    free(subject);
    free(body);
    return sbuf_detach(&sb, NULL);
}

int mail_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void mail_global_cleanup(void)
{
    curl_global_cleanup();
}

struct mail_sender *mail_sender_new(const struct mail_config *config)
{
    struct mail_sender *s = xcalloc(1, sizeof(*s));

    s->curl = curl_easy_init();
    if (s->curl == NULL) {
        free(s);
        return NULL;
    }
    s->url = xstrdup(config->url);
    s->user = config->user != NULL ? xstrdup(config->user) : NULL;
    s->password = xstrdup(config->password != NULL ? config->password : "");
    s->from = xstrdup(config->from);
    /*
     * With a password, TLS is required: smtps://, or STARTTLS that the
     * relay must offer (CURLUSESSL_ALL), else the send fails before AUTH
     * and the password never crosses the network in clear.
     */
    s->tls_required = strncmp(config->url, "smtps://", 8) == 0 ||
                      (config->password != NULL && config->password[0] != '\0');
    return s;
}

void mail_sender_free(struct mail_sender *s)
{
    if (s == NULL)
        return;
    curl_easy_cleanup(s->curl);
    free(s->url);
    free(s->user);
    explicit_bzero(s->password, strlen(s->password));
    free(s->password);
    free(s->from);
    free(s);
}

static size_t mail_read(char *buf, size_t size, size_t nitems, void *arg)
{
    struct mail_upload *u = arg;
    size_t n = size * nitems;

    if (n > u->len - u->pos)
        n = u->len - u->pos;
    memcpy(buf, u->data + u->pos, n);
    u->pos += n;
    return n;
}

int mail_send(struct mail_sender *s, const struct mail_message *m, char err[MAIL_ERROR_LEN])
{
    struct curl_slist *rcpt = NULL;
    char *text = mail_format(m, s->from);
    char *env_from = NULL, *env_to = NULL;
    struct mail_upload up;
    CURL *c = s->curl;
    CURLcode rc;
    int ret = -1;

    err[0] = '\0';
    if (text == NULL) {
        snprintf(err, MAIL_ERROR_LEN, "bad-address");
        goto out;
    }
    env_from = xasprintf("<%s>", s->from);
    env_to = xasprintf("<%s>", m->to);
    rcpt = curl_slist_append(NULL, env_to);
    if (rcpt == NULL) {
        snprintf(err, MAIL_ERROR_LEN, "curl %d", (int)CURLE_OUT_OF_MEMORY);
        goto out;
    }
    up = (struct mail_upload){ text, strlen(text), 0 };
    /* The handle keeps its connection; every option is set again for each message. */
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, s->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(
        c, CURLOPT_USE_SSL, s->tls_required ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_TRY);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    if (s->user != NULL) {
        curl_easy_setopt(c, CURLOPT_USERNAME, s->user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, s->password);
    }
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, env_from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)up.len);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, mail_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &up);
    rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        long code = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        if (code > 0)
            snprintf(err, MAIL_ERROR_LEN, "curl %d smtp %ld", (int)rc, code);
        else
            snprintf(err, MAIL_ERROR_LEN, "curl %d", (int)rc);
        goto out;
    }
    ret = 0;
out:
    curl_slist_free_all(rcpt);
    free(env_from);
    free(env_to);
    free(text);
    return ret;
}
