#!/usr/bin/env python3
"""tuple_reuse.py - two TCP connections from one source address and port
to one MX (tests/lab/scenarios/tuple-reuse.sh).

usage: tuple_reuse.py MARK SRC PORT DST

The first connection carries SO_MARK MARK (as mxtlsd's upstream does,
upstream_mark), so the rules leave it alone: it talks to the MX at DST:25
itself, which (the lab's mx3, reset-in-data) resets it inside DATA.  The
second one, unmarked, from the same SRC:PORT to the same DST:25 right
after, must be redirected to mxtlsd like any other MTA connection.

Output, one "KEY: VALUE" line each: marked-banner, marked-reset (yes when
the MX reset it), unmarked-banner (or unmarked-error).
"""
import socket
import sys
import time


def conn(mark, src, port, dst):
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if mark:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, mark)
    s.bind((src, port))
    s.settimeout(5)
    s.connect((dst, 25))
    return s


def line(s):
    b = b""
    while not b.endswith(b"\r\n"):
        d = s.recv(4096)
        if not d:
            break
        b += d
    return b.decode(errors="replace").strip().replace("\r\n", " | ")


def main():
    mark = int(sys.argv[1], 0)
    src, port, dst = sys.argv[2], int(sys.argv[3]), sys.argv[4]
    s = conn(mark, src, port, dst)
    print("marked-banner:", line(s), flush=True)
    for c in ["EHLO tuple.lab.example", "MAIL FROM:<a@mta.lab.example>",
              "RCPT TO:<tuple@tls.lab.example>", "DATA"]:
        s.sendall((c + "\r\n").encode())
        line(s)
    reset = "no"
    try:
        for _ in range(4):
            s.sendall(b"x" * 4000 + b"\r\n")
            time.sleep(0.2)
        s.recv(100)
    except OSError:
        reset = "yes"
    print("marked-reset:", reset, flush=True)
    s.close()
    time.sleep(0.2)
    try:
        t = conn(0, src, port, dst)
        print("unmarked-banner:", line(t), flush=True)
        t.sendall(b"QUIT\r\n")
        t.close()
    except OSError as e:
        print("unmarked-error:", e, flush=True)


if __name__ == "__main__":
    main()
