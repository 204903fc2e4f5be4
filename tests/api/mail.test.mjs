// Delivery of the outbox by SMTP (server/jobs/mail.c, schema/0006): a fake
// relay on 127.0.0.1 speaks just enough SMTP and records what it is given.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { eventually, sleep } from '../lib/common.mjs';
import { startServer, client } from '../lib/harness.mjs';
import { signUp, uniqueEmail } from '../lib/accounts.mjs';

// A fake SMTP relay. mode.data: the reply to DATA ('354' to accept).
// messages: [{from, to: [..], data}] of accepted messages.
async function fakeRelay() {
  const relay = { messages: [], refused: 0, mode: { data: '354' }, sockets: new Set() };
  const server = net.createServer((sock) => {
    relay.sockets.add(sock);
    sock.on('close', () => relay.sockets.delete(sock));
    sock.on('error', () => {});
    let buf = '';
    let tx = null;
    let inData = false;
    let lines = [];
    sock.write('220 fake.test ESMTP\r\n');
    sock.on('data', (chunk) => {
      buf += chunk.toString('binary');
      let i;
      while ((i = buf.indexOf('\r\n')) !== -1) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            relay.messages.push({ ...tx, data: Buffer.from(lines.join('\r\n') + '\r\n', 'binary').toString('utf8') });
            tx = null;
            sock.write('250 2.0.0 queued\r\n');
          } else {
            lines.push(line.startsWith('..') ? line.slice(1) : line);
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') sock.write('250-fake.test\r\n250 8BITMIME\r\n');
        else if (verb === 'MAIL') { tx = { from: line.slice(10), to: [] }; sock.write('250 2.1.0 ok\r\n'); }
        else if (verb === 'RCPT') { tx?.to.push(line.slice(8)); sock.write('250 2.1.5 ok\r\n'); }
        else if (verb === 'DATA') {
          if (relay.mode.data !== '354') {
            relay.refused++;
            tx = null;
            sock.write(`${relay.mode.data} 4.3.0 try again later\r\n`);
          } else {
            inData = true;
            lines = [];
            sock.write('354 go ahead\r\n');
          }
        } else if (verb === 'RSET') { tx = null; sock.write('250 ok\r\n'); }
        else if (verb === 'NOOP') sock.write('250 ok\r\n');
        else if (verb === 'QUIT') { sock.write('221 bye\r\n'); sock.end(); }
        else sock.write('502 5.5.2 not implemented\r\n');
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  relay.url = `smtp://127.0.0.1:${server.address().port}`;
  relay.close = async () => {
    for (const s of relay.sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  return relay;
}

// Headers (unfolded, lower-case names) and the quoted-printable body decoded.
function parseMessage(data) {
  const split = data.indexOf('\r\n\r\n');
  assert.ok(split > 0, 'no empty line between headers and body');
  const headerText = data.slice(0, split);
  assert.ok(!/[^\r]\n/.test(data), 'bare LF in the message');
  const headers = {};
  for (const h of headerText.replace(/\r\n[ \t]/g, ' ').split('\r\n')) {
    const m = h.match(/^([A-Za-z-]+): (.*)$/);
    assert.ok(m, `malformed header line: ${JSON.stringify(h)}`);
    const name = m[1].toLowerCase();
    assert.equal(headers[name], undefined, `header ${name} twice`);
    headers[name] = m[2];
  }
  const qp = data.slice(split + 4).replace(/=\r\n/g, '');
  const body = Buffer.from(qp.replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))), 'binary')
    .toString('utf8');
  return { headers, body };
}

// The shared poller, in this file's argument order.
const until = (what, fn, ms = 15000) => eventually(fn, `timed out waiting for ${what}`, ms);

describe('outbox delivery by SMTP', () => {
  test('a password reset reaches the relay once, well formed, and the row is marked sent', async () => {
    const relay = await fakeRelay();
    const srv = await startServer({
      env: { REGISTRAR_SMTP_URL: relay.url, REGISTRAR_SWEEP_INTERVAL_MS: '200', REGISTRAR_MAIL_FROM: 'noreply@registrar.test' },
    });
    try {
      const c = client(srv.url);
      // Unverified: its verification message is delivered (and scrubbed) beside the reset.
      const { email } = await signUp(c, {}, { verified: false });
      assert.equal((await c.post('/api/v1/auth/password-resets', { json: { email } })).status, 202);
      const row = await until('sent_at', async () =>
        (await srv.sql("select * from registrar.outbox where recipient = $1 and sent_at is not null and subject like 'Reset%'", [email]))[0]);
      await until('both sent', async () =>
        (await srv.sql('select count(*)::int as n from registrar.outbox where sent_at is not null'))[0].n === 2);
      await sleep(600); // a few more sweeps: nothing is sent again
      assert.equal(relay.messages.length, 2, 'the verification and the reset message, once each');
      const msg = relay.messages.find((m) => /Subject: Reset/.test(m.data));
      assert.ok(msg, 'the reset message reached the relay');
      assert.equal(msg.from, '<noreply@registrar.test>');
      assert.deepEqual(msg.to, [`<${email}>`]);
      const { headers, body } = parseMessage(msg.data);
      assert.equal(headers.from, 'noreply@registrar.test');
      assert.equal(headers.to, email);
      assert.equal(headers.subject, 'Reset your Registrar password');
      assert.match(headers.date, /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d \+0000$/);
      assert.ok(Math.abs(Date.parse(headers.date) - row.created_at.getTime()) < 2000);
      assert.match(headers['message-id'], new RegExp(`^<registrar\\.${row.id}\\.\\d+@registrar\\.test>$`));
      assert.equal(headers['mime-version'], '1.0');
      assert.equal(headers['content-type'], 'text/plain; charset=utf-8');
      assert.equal(headers['content-transfer-encoding'], 'quoted-printable');
      assert.match(body, /\/#\/reset\?token=[A-Za-z0-9_-]{20,}\r\n/);
      // The row keeps the message, its link replaced once delivered.
      assert.equal(body.replace(/\r\n/g, '\n').replace(/\S*#\/reset\?token=[A-Za-z0-9_-]+/, '[link removed after delivery]'),
        row.body);
      assert.equal(row.attempts, 1);
      assert.equal(row.last_error, null);
      // The relay's conversation and the message stay out of the logs.
      const logs = srv.logs().join('\n');
      assert.ok(!logs.includes(email), 'a recipient address was logged');
      assert.ok(!logs.includes('reset?token'), 'a message body was logged');
      const metrics = await srv.metrics();
      assert.match(metrics, /^registrar_mail_sent_total 2$/m);
      assert.match(metrics, /^registrar_mail_failed_total 0$/m);
    } finally {
      await srv.stop();
      await relay.close();
    }
  });

  test('two server processes deliver each of 10 messages exactly once', async () => {
    const relay = await fakeRelay();
    const srv = await startServer({
      processes: 2, env: { REGISTRAR_SMTP_URL: relay.url, REGISTRAR_SWEEP_INTERVAL_MS: '200' },
    });
    try {
      const to = Array.from({ length: 10 }, (_, i) => uniqueEmail(`bulk${i}`));
      await srv.sql(
        "insert into registrar.outbox (recipient, subject, body) select r, 'Caf\u00e9 news ' || n, 'Hello ' || n || E'\\n.\\nend\\n' from unnest($1::text[]) with ordinality as t(r, n)",
        [to]);
      await until('all sent', async () =>
        (await srv.sql('select count(*)::int as n from registrar.outbox where sent_at is null'))[0].n === 0);
      await sleep(600);
      assert.equal(relay.messages.length, 10);
      const got = relay.messages.map((m) => m.to[0]).sort();
      assert.deepEqual(got, to.map((e) => `<${e}>`).sort());
      for (const m of relay.messages) {
        const { headers, body } = parseMessage(m.data);
        assert.match(headers.subject, /^=\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=$/);
        const n = Buffer.from(headers.subject.slice(10, -2), 'base64').toString('utf8').match(/^Caf\u00e9 news (\d+)$/)[1];
        assert.equal(`<${to[n - 1]}>`, m.to[0]);
        assert.equal(body, `Hello ${n}\r\n.\r\nend\r\n`); // the lone dot survived dot-stuffing
      }
      const rows = await srv.sql('select attempts from registrar.outbox');
      assert.ok(rows.every((r) => r.attempts === 1));
    } finally {
      await srv.stop();
      await relay.close();
    }
  });

  test('a relay answering 451 to DATA: not marked sent, retried with back-off, then delivered once', async () => {
    const relay = await fakeRelay();
    relay.mode.data = '451';
    const srv = await startServer({
      env: { REGISTRAR_SMTP_URL: relay.url, REGISTRAR_SWEEP_INTERVAL_MS: '200' },
    });
    try {
      const email = uniqueEmail('retry');
      await srv.sql("insert into registrar.outbox (recipient, subject, body) values ($1, 'Hi', E'Hello\\n')", [email]);
      const row = await until('a failed attempt', async () =>
        (await srv.sql('select * from registrar.outbox where attempts > 0'))[0]);
      assert.equal(row.sent_at, null);
      assert.match(row.last_error, /^curl \d+( smtp 451)?$/);
      assert.ok(!row.last_error.includes(email));
      assert.ok(row.last_error_at);
      // Back-off: 30 s after the first failure, so no second attempt now.
      assert.ok(row.claimed_until - row.last_error_at >= 29000);
      await sleep(800);
      const [again] = await srv.sql('select attempts from registrar.outbox where id = $1', [row.id]);
      assert.equal(again.attempts, 1);
      assert.equal(relay.refused, 1);
      // The relay recovers; age the back-off instead of waiting for it.
      relay.mode.data = '354';
      await srv.sql('update registrar.outbox set claimed_until = now() - interval \'1 second\' where id = $1', [row.id]);
      const sent = await until('sent_at', async () =>
        (await srv.sql('select * from registrar.outbox where id = $1 and sent_at is not null', [row.id]))[0]);
      await sleep(600);
      assert.equal(sent.attempts, 2);
      assert.equal(relay.messages.length, 1);
      assert.deepEqual(relay.messages[0].to, [`<${email}>`]);
      const metrics = await srv.metrics();
      assert.match(metrics, /^registrar_mail_sent_total 1$/m);
      assert.match(metrics, /^registrar_mail_failed_total 1$/m);
      assert.ok(!srv.logs().join('\n').includes(email), 'a recipient address was logged');

      // A message that has failed 20 times is given up: never claimed again.
      const dead = uniqueEmail('dead');
      const [gone] = await srv.sql(
        "insert into registrar.outbox (recipient, subject, body, attempts, last_error) values ($1, 'Hi', 'x', 20, 'curl 55 smtp 550') returning id",
        [dead]);
      const live = uniqueEmail('live');
      await srv.sql("insert into registrar.outbox (recipient, subject, body) values ($1, 'Hi', 'y')", [live]);
      await until('the live message sent', async () =>
        (await srv.sql('select 1 from registrar.outbox where recipient = $1 and sent_at is not null', [live]))[0]);
      await sleep(600);
      const [row20] = await srv.sql('select attempts, sent_at, claimed_until from registrar.outbox where id = $1', [gone.id]);
      assert.deepEqual([row20.attempts, row20.sent_at, row20.claimed_until], [20, null, null]);
      assert.ok(!relay.messages.some((m) => m.to[0] === `<${dead}>`));
    } finally {
      await srv.stop();
      await relay.close();
    }
  });

  test('an SMTP password goes over TLS only: a relay offering AUTH but no STARTTLS never sees it', async () => {
    // A relay that would gladly take the password in clear: it offers AUTH, not STARTTLS.
    const lines = [];
    const server = net.createServer((sock) => {
      sock.on('error', () => {});
      let buf = '';
      sock.write('220 plain.test ESMTP\r\n');
      sock.on('data', (chunk) => {
        buf += chunk.toString('binary');
        let i;
        while ((i = buf.indexOf('\r\n')) !== -1) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 2);
          lines.push(line);
          const verb = line.slice(0, 4).toUpperCase();
          if (verb === 'EHLO') sock.write('250-plain.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n');
          else if (verb === 'AUTH') sock.write('235 2.7.0 ok\r\n');
          else if (verb === 'QUIT') { sock.write('221 bye\r\n'); sock.end(); }
          else sock.write('250 ok\r\n');
        }
      });
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const password = 'relay-password-' + Date.now();
    const srv = await startServer({
      env: {
        REGISTRAR_SMTP_URL: `smtp://127.0.0.1:${server.address().port}`,
        REGISTRAR_SMTP_USER: 'registrar',
        REGISTRAR_SMTP_PASSWORD: password,
        REGISTRAR_SWEEP_INTERVAL_MS: '200',
      },
    });
    try {
      const c = client(srv.url);
      const { email } = await signUp(c);
      assert.equal((await c.post('/api/v1/auth/password-resets', { json: { email } })).status, 202);
      const row = await until('a failed attempt', async () =>
        (await srv.sql('select * from registrar.outbox where recipient = $1 and attempts > 0', [email]))[0]);
      assert.equal(row.sent_at, null);
      assert.ok(row.last_error, 'the failure is recorded');
      assert.ok(lines.some((l) => /^EHLO /i.test(l)), 'the relay was reached');
      assert.ok(!lines.some((l) => /^AUTH/i.test(l)), `AUTH sent without TLS: ${lines.join(' | ')}`);
      assert.ok(!lines.some((l) => /^MAIL /i.test(l)), 'a message went without TLS');
      const seen = Buffer.from(lines.join('\n'));
      assert.ok(!seen.includes(password) && !seen.includes(Buffer.from(password).toString('base64').slice(0, 12)));
      assert.ok(!srv.logs().join('\n').includes(password), 'the password was logged');
    } finally {
      await srv.stop();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
