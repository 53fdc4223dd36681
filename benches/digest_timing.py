#!/usr/bin/python3
"""How long `mediatool serve` takes to refuse digest credentials of a known
user (wrong password) and of an unknown user: the medians should be equal,
or the time of a 401 tells whether a name exists (issue 12).

Usage: digest_timing.py PORT [N]
against a server started with `--user alice:...` serving clip.aac, e.g.

    mediatool serve DIR --port 8690 --bind 127.0.0.1 -q --user alice:wonderland

One connection; N requests for each user (default 3000), alternating, after
200 of warm-up; each timed from sending the request to reading the end of
the 401's header section.
"""
import socket
import statistics
import sys
import time


def header(url, user):
    return (
        f'Digest username="{user}", realm="mediatool", nonce="{"0" * 64}", '
        f'uri="{url}", response="{"0" * 64}", algorithm=SHA-256, qop=auth, '
        'nc=00000001, cnonce="abc"'
    )


def main():
    port = int(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    url = f"rtsp://127.0.0.1:{port}/clip.aac"
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    times = {"alice": [], "mallory": []}
    buf = b""
    for i in range(2 * n + 200):
        user = "alice" if i % 2 == 0 else "mallory"
        request = (
            f"DESCRIBE {url} RTSP/1.0\r\nCSeq: {i + 1}\r\n"
            f"Authorization: {header(url, user)}\r\n\r\n"
        ).encode()
        start = time.perf_counter_ns()
        s.sendall(request)
        while b"\r\n\r\n" not in buf:
            buf += s.recv(65536)
        took = time.perf_counter_ns() - start
        _, _, buf = buf.partition(b"\r\n\r\n")
        if i >= 200:
            times[user].append(took / 1000)
    for user, t in times.items():
        print(f"{user}: median {statistics.median(t):.1f} us over {len(t)}")


if __name__ == "__main__":
    main()
