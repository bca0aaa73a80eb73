#!/usr/bin/python3
"""https-get - fetch one URL from the lab's policy host, as an MTA-STS
client would, and describe the answer (standard library only).

SYNOPSIS
    https-get.py CAFILE HOST ADDRESS [PATH]

DESCRIPTION
    Connects to ADDRESS port 443 (an IPv4 or IPv6 address: no DNS), TLS
    with SNI HOST, the certificate verified against CAFILE for the name
    HOST, and sends GET PATH (default /.well-known/mta-sts.txt) with
    Host: HOST.  No redirects are followed.  Prints one line
        status=N type=CONTENT-TYPE length=N location=URL|-
    then the body.  A TLS verification failure prints
        tls-error: REASON
    Exit status 0 when an HTTP answer came, 1 on TLS or connection errors.
"""

import http.client
import socket
import ssl
import sys


def main():
    if len(sys.argv) not in (4, 5):
        sys.stderr.write(__doc__)
        return 2
    cafile, host, addr = sys.argv[1:4]
    path = sys.argv[4] if len(sys.argv) == 5 else "/.well-known/mta-sts.txt"
    ctx = ssl.create_default_context(cafile=cafile)
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    try:
        raw = socket.socket(fam, socket.SOCK_STREAM)
        raw.settimeout(5)
        raw.connect((addr, 443))
        tls = ctx.wrap_socket(raw, server_hostname=host)
    except ssl.SSLCertVerificationError as e:
        print("tls-error: %s" % e.verify_message)
        return 1
    except OSError as e:
        print("connect-error: %s" % e)
        return 1
    conn = http.client.HTTPConnection(host, 443, timeout=5)
    conn.sock = tls
    conn.request("GET", path, headers={"User-Agent": "mxtls-lab"})
    r = conn.getresponse()
    body = r.read()
    print("status=%d type=%s length=%d location=%s" % (
        r.status, r.getheader("Content-Type", "-"), len(body), r.getheader("Location", "-")))
    sys.stdout.write(body.decode("utf-8", "replace"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
