"""Fetches every message of INBOX item by item with Python's imaplib and prints what it got as JSON.

Usage: imap_items.py HOST PORT USER PASSWORD login|plain

For each message (by UID) and each item, one UID FETCH of that item alone; the output lists the raw
response imaplib got (lines and literals joined as on the wire, hex) and its literals (hex). It also
records the capabilities, and what the server (or proxy) answered to STARTTLS.
"""
import imaplib
import json
import sys

ITEMS = [
    "BODYSTRUCTURE",
    "BODY",
    "ENVELOPE",
    "RFC822.SIZE",
    "BODY.PEEK[HEADER]",
    "BODY.PEEK[TEXT]",
    "BODY.PEEK[1]",
    "BODY.PEEK[1.MIME]",
    "BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)]",
    "RFC822.HEADER",
    "BODY.PEEK[]<0.100>",
    "BODY.PEEK[]<100.50>",
    "(RFC822.SIZE BODY.PEEK[TEXT])",
    "FLAGS",
    "BODY.PEEK[]",
    "FLAGS",
]


def hexed(b):
    return b.hex()


def main():
    host, port, user, password, mode = sys.argv[1:6]
    m = imaplib.IMAP4(host, int(port))
    out = {"capabilities": sorted(m.capabilities), "messages": []}
    try:
        typ, data = m._simple_command("STARTTLS")
        out["starttls"] = typ
    except imaplib.IMAP4.error as e:
        out["starttls"] = "refused: " + str(e)
    if mode == "plain":
        m.authenticate("PLAIN", lambda _: ("\0%s\0%s" % (user, password)).encode())
    else:
        m.login(user, password)
    m.select("INBOX")
    typ, data = m.uid("SEARCH", None, "ALL")
    for uid in data[0].split():
        msg = {"uid": int(uid), "items": []}
        for item in ITEMS:
            typ, data = m.uid("FETCH", uid, item)
            raw, literals = b"", []
            for d in data:
                if isinstance(d, tuple):
                    raw += d[0] + b"\r\n" + d[1]
                    literals.append(hexed(d[1]))
                elif d is not None:
                    raw += d
            msg["items"].append({"item": item, "status": typ, "raw": hexed(raw), "literals": literals})
        out["messages"].append(msg)
    m.logout()
    print(json.dumps(out))


main()
