#!/usr/bin/python3
"""The baseline of benches/smtp_vs_gpg.sh: an SMTP content filter that runs gpg once per message.

This is what Zeyple and gpgit do, as a Postfix after-queue content filter: for each outbound message
(envelope sender in --local-domain, no recipient in it), one `gpg --batch --yes --trust-model always
--sign --encrypt --armor -r RCPT... -u SENDER` over the message's MIME entity, the result wrapped as
PGP/MIME multipart/encrypted (RFC 3156 section 4), relayed to the next hop with smtplib; 250 only after
the next hop accepted, 451 when gpg or the relay failed temporarily, 554 when the relay refused for good.
Other mail is relayed unchanged.

Run with Debian's /usr/bin/python3 (it has python3-aiosmtpd):

    /usr/bin/python3 benches/zeyple_like.py --gnupghome DIR --listen 127.0.0.1:10025 --relay 127.0.0.1:10026

Concurrency, as aiosmtpd gives it: one asyncio event loop; each client connection is a task, and its
gpg runs as an asyncio subprocess, so as many gpg processes run at once as there are connections with a
message in DATA (--max-gpg bounds that; by default it is unbounded). gpg itself asks gpg-agent for the
signature, as it would under Zeyple or gpgit. The relay (blocking smtplib, one new connection per
message, as Zeyple does) runs in a thread pool so that it never stalls the event loop.

gpg gets --no-random-seed-file (unless --random-seed-file): otherwise every gpg run locks
GNUPGHOME/random_seed, and libgcrypt's lock retry sleeps 250 ms and more, so concurrent gpg runs queue
behind one another (measured on the 2-core benchmark machine, 36 KiB messages, gpg 2.2.40: about 40 msgs/s
with the seed file at any concurrency, against about 80 without it at 8 or more at once). A tuned
deployment would drop it; so does the baseline.

Where this is kinder to the baseline than the real tools: Zeyple and gpgit are started by Postfix once
per message (a Python or Perl interpreter start, module imports, and for Zeyple a second gpg run to look
up the key) and parse the message with a full MIME library; here one long-lived process splits the
header with a few byte operations. So the figures measured against it flatter the baseline, if anything.
"""

import argparse
import asyncio
import concurrent.futures
import os
import signal
import smtplib
import sys
import time
import uuid

from aiosmtpd.smtp import SMTP as SMTPServer


class Refused(Exception):
    """The message cannot go on now: `reply` is the SMTP reply to give the client."""

    def __init__(self, reply):
        super().__init__(reply)
        self.reply = reply


def domain(addr):
    return addr.rpartition("@")[2].lower().strip(">")


def split_header(content):
    """(header fields as a list of raw byte strings with their continuation lines, body)."""
    end = content.find(b"\r\n\r\n")
    if end < 0:
        head, body = content, b""
    else:
        head, body = content[: end + 2], content[end + 4 :]
    fields = []
    for line in head.split(b"\r\n"):
        if not line:
            continue
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line + b"\r\n"
        else:
            fields.append(line + b"\r\n")
    return fields, body


def name_of(field):
    return field.split(b":", 1)[0].strip().lower()


class Filter:
    def __init__(self, args):
        self.args = args
        self.local = {d.lower() for d in args.local_domain}
        self.env = dict(os.environ, GNUPGHOME=args.gnupghome)
        self.gpg_slots = asyncio.Semaphore(args.max_gpg) if args.max_gpg > 0 else None
        # Enough threads that the relay never queues behind the clients (one per client at most).
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.relay_threads)
        host, _, port = args.relay.rpartition(":")
        self.relay_addr = (host, int(port))
        self.stats = {"relayed": 0, "sealed": 0, "gpg_failed": 0, "relay_failed": 0, "gpg_seconds": 0.0}

    async def handle_DATA(self, server, session, envelope):
        sender, rcpts, content = envelope.mail_from, list(envelope.rcpt_tos), envelope.content
        try:
            outbound = domain(sender) in self.local and all(domain(r) not in self.local for r in rcpts)
            if outbound:
                content = await self.seal(content, sender, rcpts)
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self.pool, self.relay, sender, rcpts, content)
        except Refused as e:
            return e.reply
        self.stats["relayed"] += 1
        return "250 2.0.0 Ok: relayed"

    async def seal(self, content, sender, rcpts):
        fields, body = split_header(content)
        # RFC 3156 section 4: what is encrypted is the MIME entity (its Content-* fields and body); the
        # outer header keeps the rest.
        inner_fields = [f for f in fields if name_of(f).startswith(b"content-")]
        outer_fields = [f for f in fields if not name_of(f).startswith(b"content-") and name_of(f) != b"mime-version"]
        if not inner_fields:
            inner_fields = [b"Content-Type: text/plain; charset=us-ascii\r\n"]
        entity = b"".join(inner_fields) + b"\r\n" + body
        cmd = [self.args.gpg, "--batch", "--yes", "--trust-model", "always", "--sign", "--encrypt", "--armor"]
        if not self.args.random_seed_file:
            cmd.append("--no-random-seed-file")
        for r in rcpts:
            cmd += ["-r", r]
        cmd += ["-u", sender]
        if self.gpg_slots:
            await self.gpg_slots.acquire()
        start = time.monotonic()
        try:
            proc = await asyncio.create_subprocess_exec(
                *cmd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, env=self.env)
            try:
                armored, err = await asyncio.wait_for(proc.communicate(entity), self.args.gpg_timeout)
            except asyncio.TimeoutError:
                proc.kill()
                await proc.wait()
                self.stats["gpg_failed"] += 1
                raise Refused("451 4.3.0 gpg timed out")
        finally:
            self.stats["gpg_seconds"] += time.monotonic() - start
            if self.gpg_slots:
                self.gpg_slots.release()
        if proc.returncode != 0:
            self.stats["gpg_failed"] += 1
            first = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["?"]
            raise Refused(f"451 4.3.0 gpg failed ({proc.returncode}): {first[0][:200]}")
        self.stats["sealed"] += 1
        boundary = "pgp-" + uuid.uuid4().hex
        armored = armored.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        return b"".join(outer_fields) + (
            "MIME-Version: 1.0\r\n"
            f'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted";\r\n boundary="{boundary}"\r\n'
            "\r\n"
            "This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n"
            f"--{boundary}\r\n"
            "Content-Type: application/pgp-encrypted\r\n"
            "Content-Description: PGP/MIME version identification\r\n"
            "\r\n"
            "Version: 1\r\n"
            "\r\n"
            f"--{boundary}\r\n"
            'Content-Type: application/octet-stream; name="encrypted.asc"\r\n'
            "Content-Description: OpenPGP encrypted message\r\n"
            'Content-Disposition: inline; filename="encrypted.asc"\r\n'
            "\r\n"
        ).encode() + armored + f"\r\n--{boundary}--\r\n".encode()

    def relay(self, sender, rcpts, content):
        """Blocking: one SMTP connection to the next hop per message (as Zeyple's smtplib.SMTP.sendmail)."""
        try:
            with smtplib.SMTP(*self.relay_addr, timeout=self.args.relay_timeout) as s:
                refused = s.sendmail(sender, rcpts, content)
        except smtplib.SMTPRecipientsRefused as e:
            self.stats["relay_failed"] += 1
            codes = [c for c, _ in e.recipients.values()]
            raise Refused(f"{451 if all(400 <= c < 500 for c in codes) else 554} 5.0.0 relay refused every recipient")
        except smtplib.SMTPResponseException as e:
            self.stats["relay_failed"] += 1
            text = e.smtp_error.decode("utf-8", "replace") if isinstance(e.smtp_error, bytes) else str(e.smtp_error)
            raise Refused(f"{451 if 400 <= e.smtp_code < 500 else 554} relay: {e.smtp_code} {text[:200]}")
        except (OSError, smtplib.SMTPException) as e:
            self.stats["relay_failed"] += 1
            raise Refused(f"451 4.4.1 relay: {e}")
        if refused:
            # Some recipients refused: a real filter would bounce them; the benchmark never gets here.
            self.stats["relay_failed"] += 1
            raise Refused("451 4.4.1 relay refused some recipients")


async def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--listen", default="127.0.0.1:10025")
    p.add_argument("--relay", default="127.0.0.1:10026")
    p.add_argument("--gnupghome", required=True, help="holds the senders' secret keys and the recipients' certificates")
    p.add_argument("--local-domain", action="append", default=None, help="repeatable (default: example.org)")
    p.add_argument("--gpg", default="gpg")
    p.add_argument("--max-gpg", type=int, default=0, help="gpg processes at once (0: one per busy connection)")
    p.add_argument("--relay-threads", type=int, default=64)
    p.add_argument("--random-seed-file", action="store_true",
                   help="let gpg lock and update GNUPGHOME/random_seed, as stock Zeyple and gpgit do "
                   "(slower, see above)")
    p.add_argument("--gpg-timeout", type=float, default=120)
    p.add_argument("--relay-timeout", type=float, default=120)
    args = p.parse_args()
    args.local_domain = args.local_domain or ["example.org"]

    loop = asyncio.get_running_loop()
    handler = Filter(args)
    host, _, port = args.listen.rpartition(":")
    server = await loop.create_server(
        lambda: SMTPServer(handler, hostname="zeyple-like.example.org", data_size_limit=64 << 20, loop=loop),
        host, int(port), backlog=1024)
    print(f"zeyple_like: listening on {args.listen}, relaying to {args.relay}", file=sys.stderr, flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    s = handler.stats
    print(f"zeyple_like: {s['relayed']} relayed ({s['sealed']} sealed), {s['gpg_failed']} gpg failures, "
          f"{s['relay_failed']} relay failures, {s['gpg_seconds']:.1f} s in gpg (summed over messages)",
          file=sys.stderr, flush=True)
    handler.pool.shutdown(wait=False)


if __name__ == "__main__":
    asyncio.run(main())
