#!/usr/bin/python3
"""An SMTP sink for sealpost's tests: the next hop behind `sealpost filter smtp`.

    /usr/bin/python3 tests/support/sink.py --port PORT --dir DIR

Listens on 127.0.0.1:PORT (0: any free port) and prints "ready PORT" on standard output once it accepts
connections. Each accepted message is written to DIR as NNNNNN.eml (the data exactly as received: CRLF
line ends, dot-stuffing removed) and NNNNNN.json ({"from": ..., "rcpts": [...]}), both written to a temporary
name first and renamed, the .json before the .eml, so a reader that lists *.eml never sees half a message.
Numbers continue after the highest already in DIR, so a restarted sink appends.

DIR/mode, re-read at the end of every DATA, says what to answer (a missing or empty file is "accept"):
    accept     store the message, 250
    tempfail   451, nothing stored
    permfail   554, nothing stored
    drop       store the message, then close the connection without a reply (the next hop took the message
               but its 250 never reached the client: the window where a retry duplicates)
    NNN text   answer that reply (a 2xx stores the message)
Every message not stored is recorded as one JSON line in DIR/refused.log.

SIGTERM or SIGINT: stop listening and exit 0. Needs aiosmtpd (Debian: python3-aiosmtpd).
"""

import argparse
import asyncio
import json
import logging
import os
import re
import signal
import sys

from aiosmtpd.smtp import SMTP

NAME = re.compile(r"^(\d{6,})\.eml$")


def highest(directory):
    """The highest message number already in the directory, or 0."""
    found = [int(m.group(1)) for m in map(NAME.match, os.listdir(directory)) if m]
    return max(found, default=0)


def write_atomically(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


class Handler:
    def __init__(self, directory):
        self.dir = directory
        self.count = highest(directory)

    def mode(self):
        try:
            with open(os.path.join(self.dir, "mode"), encoding="utf-8") as f:
                return f.read().strip() or "accept"
        except FileNotFoundError:
            return "accept"

    def store(self, envelope):
        # The handler never awaits before this returns, so numbers are unique without a lock.
        self.count += 1
        base = os.path.join(self.dir, "%06d" % self.count)
        meta = {"from": envelope.mail_from, "rcpts": list(envelope.rcpt_tos)}
        write_atomically(base + ".json", json.dumps(meta).encode("utf-8"))
        write_atomically(base + ".eml", envelope.original_content)

    def refuse(self, envelope, reply):
        line = json.dumps({"from": envelope.mail_from, "rcpts": list(envelope.rcpt_tos), "reply": reply})
        with open(os.path.join(self.dir, "refused.log"), "a", encoding="utf-8") as f:
            f.write(line + "\n")

    async def handle_DATA(self, server, session, envelope):
        mode = self.mode()
        if mode == "accept":
            self.store(envelope)
            return "250 2.0.0 stored as %06d" % self.count
        if mode == "drop":
            self.store(envelope)
            if server.transport is not None:
                server.transport.abort()
            return "250 2.0.0 never sent"
        if mode == "tempfail":
            reply = "451 4.3.0 sink: temporary failure (mode tempfail)"
        elif mode == "permfail":
            reply = "554 5.7.1 sink: permanent failure (mode permfail)"
        elif re.match(r"^[245]\d\d[ -]", mode + " "):
            if mode.startswith("2"):
                self.store(envelope)
                return mode
            reply = mode
        else:
            reply = "451 4.3.5 sink: unknown mode %r" % mode
        self.refuse(envelope, reply)
        return reply


async def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    handler = Handler(args.dir)
    loop = asyncio.get_running_loop()

    def factory():
        # hostname given: aiosmtpd would otherwise look up this host's FQDN (slow without DNS).
        return SMTP(handler, hostname="sink.test", enable_SMTPUTF8=True, data_size_limit=64 << 20)

    server = await loop.create_server(factory, args.host, args.port, backlog=256)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    port = server.sockets[0].getsockname()[1]
    print("ready %d" % port, flush=True)
    await stop.wait()
    server.close()


if __name__ == "__main__":
    # aiosmtpd logs every connection at INFO; only problems go to standard error.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(main())
