/*
 * mail.h: messages of the outbox as RFC 5322 text, and their delivery to
 * an SMTP relay with libcurl.
 *
 * Layering: util only; the one module that includes <curl/curl.h>. Knows
 * nothing of the database: the jobs thread claims messages and records
 * the outcome (jobs.h).
 *
 * Privacy: nothing here logs. Recipients, subjects and bodies never leave
 * this module except towards the relay; an error is a short code such as
 * "curl 7" or "curl 55 smtp 451", which names no address.
 */
#ifndef REGISTRAR_MAIL_H
#define REGISTRAR_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* What the sender needs; the strings are copied by mail_sender_new(). */
struct mail_config {
    /* smtp://host[:port] (STARTTLS if offered; required with a password) or smtps:// */
    const char *url;
    const char *user;     /* NULL: no authentication */
    const char *password; /* NULL with user: empty */
    const char *from;     /* envelope and From: address, e.g. registrar@localhost */
};

/* One message; the caller owns the strings. */
struct mail_message {
    long long id;        /* the outbox row: makes the Message-ID, stable across re-sends */
    const char *to;      /* a bare address */
    const char *subject; /* UTF-8 */
    const char *body;    /* UTF-8, lines ended by \n or \r\n */
    time_t date;         /* when the message was written (Date:) */
};

/* Sizes of the error codes mail_send() writes. */
#define MAIL_ERROR_LEN 40

/*
 * True if text is an address we will put in an envelope and a header: an
 * '@' with something on each side, 3..254 bytes, no space, control
 * character, '<', '>', ',', '"', '(' or ')', and ASCII only.
 */
bool mail_address_ok(const char *text);

/*
 * The Subject: field's value: subject itself if it is printable ASCII;
 * otherwise RFC 2047 encoded-words "=?UTF-8?B?...?=" of at most 75
 * characters each, never splitting a UTF-8 sequence, joined by CRLF SP
 * (folding). Returns a malloc'd string.
 */
char *mail_encode_subject(const char *subject);

/*
 * body as quoted-printable (RFC 2045): lines end in CRLF, none longer than
 * 76 characters (soft breaks "=" CRLF), '=' and every byte outside
 * printable ASCII as =XX, a space or tab before a line end encoded.
 * Returns a malloc'd string.
 */
char *mail_encode_body(const char *body);

/*
 * The whole message: From, To, Subject, Date (RFC 5322, UTC),
 * Message-ID <registrar.ID.DATE@domain-of-from>, MIME-Version,
 * Content-Type text/plain; charset=utf-8, Content-Transfer-Encoding
 * quoted-printable, an empty line and the body; CRLF throughout. Dots at
 * line starts are left alone (libcurl stuffs them). Returns a malloc'd
 * string, or NULL if from or m->to fails mail_address_ok().
 */
char *mail_format(const struct mail_message *m, const char *from);

/* curl_global_init: once in main, before any thread starts. 0 or -1. */
int mail_global_init(void);
void mail_global_cleanup(void);

struct mail_sender;

/*
 * A sender for one thread; it keeps the connection to the relay between
 * messages. NULL if libcurl cannot make a handle. Free with
 * mail_sender_free() (accepts NULL), which says QUIT.
 */
struct mail_sender *mail_sender_new(const struct mail_config *config);
void mail_sender_free(struct mail_sender *s);

/*
 * Sends one message to m->to (connect timeout 10 s, whole transfer 30 s).
 * Returns 0 once the relay accepted it, or -1 with a short code in err
 * (MAIL_ERROR_LEN bytes): "bad-address", or "curl N" and " smtp NNN"
 * when the relay answered.
 */
int mail_send(struct mail_sender *s, const struct mail_message *m, char err[MAIL_ERROR_LEN]);

#endif
