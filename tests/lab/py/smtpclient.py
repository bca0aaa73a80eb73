#!/usr/bin/python3
"""smtpclient - the lab's scripted SMTP client.

SYNOPSIS
    smtpclient.py --connect ADDR:PORT --banner-only [--expect PREFIX]
    smtpclient.py --connect ADDR:PORT [--ehlo NAME] [--starttls|--starttls-if-offered]
                  --from ADDR (--rcpt ADDR ... | --rcpt-count N --rcpt-format FMT)
                  [--message FILE] [--pipeline] [--check-rcpt-echo]
                  [--expect-final PREFIX] [--json OUT] [--timeout S] [--source ADDR]

DESCRIPTION
    --banner-only connects, prints the first reply (the greeting, possibly a
    refusal), sends QUIT when the connection is still open, and exits 0 when
    the greeting starts with --expect (when given), 1 otherwise.

    Otherwise it runs one transaction.  With --pipeline, MAIL, every RCPT and
    DATA go out in ONE write (RFC 2920), then the replies are read one per
    command.  Without it, each command waits for its reply.  The message
    (--message FILE, LF or CRLF line ends; default a small built-in one) is
    sent with CRLF line ends and dot-stuffed.

    Every reply is printed as "<- CODE TEXT" (multi-line replies joined with
    " | "), every command as "-> COMMAND".  --check-rcpt-echo verifies that
    the i-th RCPT reply is 2xx and names the i-th address (<addr>), which
    proves that the replies came back in the order sent.  --json writes all
    replies for the caller to inspect.

    Exit status: 0 when every check passed; 1 with a line "smtpclient: FAIL:
    reason" on stderr otherwise; 2 on usage errors.
"""

import argparse
import json
import socket
import ssl
import sys


class Fail(Exception):
    pass


class Client:
    def __init__(self, addr, port, timeout, source=None):
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        if source:
            self.sock.bind((source, 0))
        self.sock.connect((addr, port))
        self.rf = self.sock.makefile("rb")
        self.closed = False

    def send(self, data, show=None):
        for l in (show if show is not None else data.decode("utf-8", "replace").splitlines()):
            print("-> %s" % l)
        self.sock.sendall(data)

    def reply(self):
        """Read one (possibly multi-line) reply: (code, [lines])."""
        lines = []
        while True:
            l = self.rf.readline(8192)
            if not l:
                if lines:
                    raise Fail("connection closed inside a multi-line reply")
                self.closed = True
                raise Fail("connection closed while waiting for a reply")
            s = l.rstrip(b"\r\n").decode("utf-8", "replace")
            lines.append(s)
            if len(s) < 3 or not s[:3].isdigit():
                raise Fail("malformed reply line %r" % s)
            if len(s) == 3 or s[3] == " ":
                break
            if s[3] != "-":
                raise Fail("malformed reply line %r" % s)
        code = int(lines[-1][:3])
        print("<- %s" % " | ".join(lines))
        sys.stdout.flush()
        return code, lines

    def starttls(self, server_name):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.rf.close()
        self.sock = ctx.wrap_socket(self.sock, server_hostname=server_name)
        self.rf = self.sock.makefile("rb")
        print("== TLS %s %s" % (self.sock.version(), self.sock.cipher()[0]))


def load_message(path):
    if path:
        with open(path, "rb") as f:
            data = f.read()
    else:
        data = (b"From: <lab@mta.lab.example>\nTo: <lab@lab.example>\n"
                b"Subject: smtpclient test\n\nHello from the lab.\n.leading dot\n")
    lines = data.replace(b"\r\n", b"\n").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    out = bytearray()
    for l in lines:
        if l.startswith(b"."):
            out += b"."
        out += l + b"\r\n"
    return bytes(out)


def main():
    ap = argparse.ArgumentParser(description="lab SMTP client")
    ap.add_argument("--connect", required=True, help="ADDR:PORT or [V6]:PORT")
    ap.add_argument("--banner-only", action="store_true")
    ap.add_argument("--expect", help="banner must start with this")
    ap.add_argument("--ehlo", default="client.lab.example")
    ap.add_argument("--starttls", action="store_true", help="require and use STARTTLS")
    ap.add_argument("--starttls-if-offered", action="store_true")
    ap.add_argument("--tls-name", default=None, help="SNI to send")
    ap.add_argument("--from", dest="mail_from", default="lab@mta.lab.example")
    ap.add_argument("--rcpt", action="append", default=[])
    ap.add_argument("--rcpt-count", type=int, default=0)
    ap.add_argument("--rcpt-format", default="rcpt{n}@tls.lab.example")
    ap.add_argument("--message")
    ap.add_argument("--pipeline", action="store_true")
    ap.add_argument("--require-pipelining", action="store_true",
                    help="fail unless EHLO advertises PIPELINING")
    ap.add_argument("--check-rcpt-echo", action="store_true")
    ap.add_argument("--expect-final", default="250", help="final DATA reply must start with this")
    ap.add_argument("--json")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--source", help="connect from this address")
    o = ap.parse_args()

    spec = o.connect
    if spec.startswith("["):
        host, _, port = spec[1:].partition("]:")
    else:
        host, _, port = spec.rpartition(":")
    result = {"connect": spec, "banner": None, "ehlo": None, "tls": None,
              "mail": None, "rcpts": [], "data": None, "final": None}

    def done(ok, why=None):
        if o.json:
            result["ok"] = ok
            result["error"] = why
            with open(o.json, "w") as f:
                json.dump(result, f, indent=1)
        if not ok:
            sys.stderr.write("smtpclient: FAIL: %s\n" % why)
            sys.exit(1)
        sys.exit(0)

    try:
        c = Client(host, int(port), o.timeout, o.source)
    except OSError as e:
        done(False, "connect %s: %s" % (spec, e))
    try:
        code, lines = c.reply()
        result["banner"] = lines
        if o.banner_only:
            try:
                c.send(b"QUIT\r\n")
                c.reply()
            except (Fail, OSError):
                pass
            first = lines[0]
            if o.expect and not first.startswith(o.expect):
                done(False, "greeting %r does not start with %r" % (first, o.expect))
            done(True)
        if code != 220:
            raise Fail("greeting is not 220: %s" % lines[0])

        def ehlo():
            c.send(b"EHLO %s\r\n" % o.ehlo.encode())
            code, lines = c.reply()
            if code != 250:
                raise Fail("EHLO: %s" % lines[-1])
            return [l[4:].upper() for l in lines[1:]]

        ext = ehlo()
        result["ehlo"] = ext
        offered = any(e.split()[0] == "STARTTLS" for e in ext if e)
        if o.starttls or (o.starttls_if_offered and offered):
            if not offered:
                raise Fail("STARTTLS required but not offered")
            c.send(b"STARTTLS\r\n")
            code, lines = c.reply()
            if code != 220:
                raise Fail("STARTTLS: %s" % lines[-1])
            c.starttls(o.tls_name)
            result["tls"] = c.sock.version()
            ext = ehlo()
            result["ehlo"] = ext
        if o.require_pipelining and not any(e.split()[0] == "PIPELINING" for e in ext if e):
            raise Fail("EHLO does not advertise PIPELINING: %s" % ext)

        rcpts = list(o.rcpt) + [o.rcpt_format.format(n=i) for i in range(1, o.rcpt_count + 1)]
        if not rcpts:
            raise Fail("no recipients given")
        body = load_message(o.message)
        cmds = [b"MAIL FROM:<%s>\r\n" % o.mail_from.encode()]
        cmds += [b"RCPT TO:<%s>\r\n" % r.encode() for r in rcpts]
        cmds += [b"DATA\r\n"]
        if o.pipeline:
            c.send(b"".join(cmds))
            replies = [c.reply() for _ in cmds]
        else:
            replies = []
            for cmd in cmds:
                c.send(cmd)
                replies.append(c.reply())
        result["mail"] = replies[0][1][-1]
        result["rcpts"] = [r[1][-1] for r in replies[1:-1]]
        result["data"] = replies[-1][1][-1]
        if replies[0][0] != 250:
            raise Fail("MAIL: %s" % replies[0][1][-1])
        if o.check_rcpt_echo:
            for i, (r, (code, lines)) in enumerate(zip(rcpts, replies[1:-1])):
                if code // 100 != 2:
                    raise Fail("RCPT %d <%s>: %s" % (i + 1, r, lines[-1]))
                if ("<%s>" % r).lower() not in lines[-1].lower():
                    raise Fail("RCPT reply %d does not echo <%s> (out of order?): %s"
                               % (i + 1, r, lines[-1]))
        if replies[-1][0] != 354:
            raise Fail("DATA: %s" % replies[-1][1][-1])
        c.send(body + b".\r\n", show=["(%d octets of message data)" % len(body), "."])
        code, lines = c.reply()
        result["final"] = lines[-1]
        if not lines[-1].startswith(o.expect_final):
            raise Fail("end of DATA: %s (expected %s)" % (lines[-1], o.expect_final))
        c.send(b"QUIT\r\n")
        try:
            c.reply()
        except Fail:
            pass
        done(True)
    except Fail as e:
        done(False, str(e))
    except (OSError, ssl.SSLError) as e:
        done(False, "%s: %s" % (type(e).__name__, e))


if __name__ == "__main__":
    main()
