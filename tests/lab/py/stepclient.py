#!/usr/bin/python3
"""stepclient - an SMTP client that follows a script of steps, for tests that
must hold a session in a chosen state while something else happens (a
SIGHUP, a SIGTERM).

SYNOPSIS
    stepclient.py --connect ADDR:PORT [--ctl DIR] [--timeout S] STEP...
    stepclient.py --connect ADDR:PORT --expect-refused [--timeout S]

STEPS
    expect:PREFIX     read one reply (multi-line replies joined); it must
                      start with PREFIX
    send:TEXT         send TEXT and CRLF
    data:FILE         send FILE (LF or CRLF line ends) with CRLF line ends,
                      dot-stuffed, without the terminating "."
    dot               send ".", CRLF (end of DATA)
    mark:NAME         create DIR/NAME: tells the caller this step was reached
    wait:NAME         wait until DIR/NAME exists (at most --timeout seconds)
    eof               the server must close the connection (within --timeout)

    Every reply is printed as "<- TEXT", every command as "-> TEXT", each
    with the time.  --expect-refused: the TCP connection must be refused.

EXIT STATUS
    0 when every step succeeded; 1 with "stepclient: FAIL: step N (STEP):
    reason" on stdout otherwise; 2 on usage errors.
"""

import argparse
import os
import socket
import sys
import time


class Fail(Exception):
    pass


def stamp():
    t = time.time()
    return time.strftime("%H:%M:%S", time.localtime(t)) + ".%03d" % (int(t * 1000) % 1000)


def say(fmt, *a):
    print("%s %s" % (stamp(), fmt % a if a else fmt), flush=True)


class Conn:
    def __init__(self, host, port, timeout):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.buf = b""

    def line(self):
        while b"\n" not in self.buf:
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                raise Fail("timed out waiting for a reply")
            except OSError as e:
                raise Fail("read: %s" % e)
            if not d:
                raise Fail("connection closed by the server (partial: %r)" % self.buf[:200])
            self.buf += d
        l, _, self.buf = self.buf.partition(b"\n")
        return l.rstrip(b"\r").decode("utf-8", "replace")

    def reply(self):
        lines = []
        while True:
            l = self.line()
            lines.append(l)
            if len(l) < 4 or l[3] != "-":
                break
        return " | ".join(lines)

    def send(self, data):
        try:
            self.sock.sendall(data)
        except OSError as e:
            raise Fail("write: %s" % e)

    def eof(self):
        while True:
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                raise Fail("the server did not close the connection")
            except ConnectionResetError:
                return "reset"
            if not d:
                return "closed"
            say("<- (after the last reply) %r", d[:200])


def body(path):
    with open(path, "rb") as f:
        text = f.read().replace(b"\r\n", b"\n")
    if text.endswith(b"\n"):
        text = text[:-1]
    out = []
    for l in text.split(b"\n"):
        if l.startswith(b"."):
            l = b"." + l
        out.append(l + b"\r\n")
    return b"".join(out)


def main():
    ap = argparse.ArgumentParser(description="scripted SMTP client")
    ap.add_argument("--connect", required=True)
    ap.add_argument("--ctl", default=".")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--expect-refused", action="store_true")
    ap.add_argument("steps", nargs="*")
    o = ap.parse_args()
    if o.connect.startswith("["):
        host, _, port = o.connect[1:].partition("]:")
    else:
        host, _, port = o.connect.rpartition(":")
    if o.expect_refused:
        try:
            Conn(host, int(port), o.timeout)
        except ConnectionRefusedError:
            say("connection to %s refused", o.connect)
            return 0
        except OSError as e:
            print("stepclient: FAIL: connect to %s: %s (expected: refused)" % (o.connect, e))
            return 1
        print("stepclient: FAIL: connection to %s was accepted (expected: refused)" % o.connect)
        return 1
    try:
        c = Conn(host, int(port), o.timeout)
    except OSError as e:
        print("stepclient: FAIL: connect to %s: %s" % (o.connect, e))
        return 1
    say("connected to %s", o.connect)
    for i, step in enumerate(o.steps, 1):
        kind, _, arg = step.partition(":")
        try:
            if kind == "expect":
                r = c.reply()
                say("<- %s", r)
                if not r.startswith(arg):
                    raise Fail("got %r" % r)
            elif kind == "send":
                say("-> %s", arg)
                c.send(arg.encode("utf-8") + b"\r\n")
            elif kind == "data":
                b = body(arg)
                say("-> (%d octets of message data from %s)", len(b), arg)
                c.send(b)
            elif kind == "dot":
                say("-> .")
                c.send(b".\r\n")
            elif kind == "mark":
                with open(os.path.join(o.ctl, arg), "w") as f:
                    f.write("%s\n" % stamp())
                say("mark %s", arg)
            elif kind == "wait":
                end = time.time() + o.timeout
                p = os.path.join(o.ctl, arg)
                while not os.path.exists(p):
                    if time.time() > end:
                        raise Fail("%s did not appear" % p)
                    time.sleep(0.02)
                say("got %s", arg)
            elif kind == "eof":
                say("connection %s by the server", c.eof())
            else:
                print("stepclient: unknown step %r" % step)
                return 2
        except Fail as e:
            print("stepclient: FAIL: step %d (%s): %s" % (i, step, e))
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
