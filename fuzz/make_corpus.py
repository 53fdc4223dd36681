#!/usr/bin/env python3
"""Writes the committed seed corpus, fuzz/corpus/<target>/, from the
repository's own material: the heads of the fixtures, the requests of the
client transcripts (tests/transcripts/), and RTP payloads that
`mediatool packetize` makes of the fixtures.

Usage (from the repository root, after `cargo build`):
    python3 fuzz/make_corpus.py [path/to/mediatool]

Seeds are named by content hash, so rerunning changes nothing unless the
sources did. The corpus stays small (well under 2 MB): what the fuzzer
finds in CI goes to a temporary directory, not here.
"""
import hashlib
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "fixtures")
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
MEDIATOOL = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "debug", "mediatool")


def seed(target, data):
    """Adds `data` to target's corpus under its hash."""
    if isinstance(data, str):
        data = data.encode()
    directory = os.path.join(CORPUS, target)
    os.makedirs(directory, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def fixture(name, head=None):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        data = f.read()
    return data if head is None else data[:head]


def fixtures_with(*extensions):
    names = sorted(os.listdir(FIXTURES)) + ["bad/" + n for n in sorted(os.listdir(os.path.join(FIXTURES, "bad")))]
    return [n for n in names if n.lower().endswith(extensions)]


def transcripts():
    """Each transcript: its requests, CRLF line ends, as the client sent them."""
    directory = os.path.join(ROOT, "tests", "transcripts")
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".txt"):
            continue
        requests, current = [], None
        for line in open(os.path.join(directory, name)).read().split("\n"):
            if line.startswith(">>> "):
                if current is not None:
                    requests.append(current)
                current = []
            elif current is not None and not line.startswith("#"):
                current.append(line)
        if current is not None:
            requests.append(current)
        texts = []
        for lines in requests:
            while lines and lines[-1] == "":
                lines.pop()
            texts.append("".join(l + "\r\n" for l in lines) + "\r\n")
        yield name, texts


def readers():
    for target, extensions, head in [
        ("h264", (".h264", ".264"), 16384),
        ("hevc", (".h265", ".265"), 16384),
        ("mpeg_audio", (".mp3", ".mp2"), 8192),
        ("adts", (".aac",), 8192),
        ("wav", (".wav",), 8192),
        ("matroska", (".mkv", ".mka", ".mk3d", ".webm"), 16384),
        ("ogg", (".ogg", ".oga", ".ogv", ".opus", ".spx"), 16384),
        ("mp4", (".mp4", ".m4v", ".m4a", ".mov", ".3gp"), 16384),
        ("mpeg_ps", (".mpg", ".mpeg", ".vob", ".m2p"), 16384),
        ("mpeg_ts", (".ts", ".m2ts", ".mts"), 16384),
        ("ac3", (".ac3", ".eac3"), 8192),
    ]:
        for name in fixtures_with(*extensions):
            seed(target, fixture(name, head))
    for name in fixtures_with(".h264", ".264", ".h265", ".265", ".mp3", ".mp2", ".aac", ".wav", ".bin", ".mkv", ".mka", ".webm", ".ogg", ".oga", ".ogv", ".opus", ".spx", ".mp4", ".m4v", ".m4a", ".mov", ".3gp", ".mpg", ".vob", ".ts", ".m2ts", ".ac3", ".eac3"):
        seed("detect", fixture(name, 2048))
    for name in fixtures_with(".h264", ".264"):
        seed("h264_syntax", fixture(name, 4096))
    for name in fixtures_with(".h265", ".265"):
        seed("hevc_syntax", fixture(name, 4096))
    for name in fixtures_with(".mp3", ".mp2", ".aac"):
        seed("audio_headers", fixture(name, 1024))


def server():
    session = re.compile(r"^(Session:\s*)[0-9A-Fa-f]{8,}", re.M)
    for name, requests in transcripts():
        # The offline server names sessions by number (see
        # src/server/offline.rs): the recorded ids become "0".
        seed("serve_requests", session.sub(r"\g<1>0", "".join(requests)))
        seed("rtsp_request", "".join(requests))
        for request in requests:
            uri = request.split(" ")[1]
            seed("rtsp_url", uri)
            for line in request.split("\r\n"):
                header, _, value = line.partition(": ")
                if header in ("Transport", "Range", "Session"):
                    seed("rtsp_headers", value)
                elif header == "Authorization":
                    seed("digest", uri + "\n" + value)
    for uri in ["/../fixtures/h264_bframes.264", "/bad/%2e%2e/h264_bframes.264/track0",
                "rtsp://h/%2Fetc%2Fpasswd", "rtsp://u:p@h:554/./audio_48k_mono.aac/track1?x#y", "*"]:
        seed("rtsp_url", uri)
    for value in ["RTP/AVP;multicast;ttl=3", "RTP/SAVP;unicast;client_port=5000-5001, RTP/AVP/TCP;interleaved=4-5",
                  'RTP/AVP;unicast;destination="a\\";mode=record', "npt=now-", "smpte=0:00:01:00-0:00:02:12.5",
                  "smpte-25=0:00:01:00-", "clock=19961108T143720.25Z-", "npt=1.5-0.5"]:
        seed("rtsp_headers", value)
    seed("digest", "rtsp://h/a.264\nBasic YWxpY2U6c2VjcmV0")
    seed("rtsp_request", "SET_PARAMETER * RTSP/1.0\r\nCSeq: 2\r\nContent-Length: 5\r\n\r\nx: 1\n"
         "$\x00\x00\x04abcdRTSP/1.0 200 OK\r\nCSeq: 3\r\n\r\n\r\nPLAY * RTSP/2.0\r\n\r\n")
    seed("serve_requests",
         "SETUP rtsp://h/h264_bframes.264 RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP;multicast\r\n\r\n"
         "PLAY rtsp://h/h264_bframes.264 RTSP/1.0\r\nCSeq: 2\r\nSession: 0\r\nRange: npt=1-1.5\r\n\r\n"
         "PAUSE rtsp://h/h264_bframes.264 RTSP/1.0\r\nCSeq: 3\r\nSession: 0\r\n\r\n"
         "SETUP rtsp://h/audio_48k_mono.aac/track0 RTSP/1.0\r\nCSeq: 4\r\n"
         "Transport: RTP/AVP/TCP;interleaved=2-3\r\n\r\n"
         "PLAY rtsp://h/audio_48k_mono.aac RTSP/1.0\r\nCSeq: 5\r\nSession: 1\r\nRange: npt=2-\r\n\r\n"
         "TEARDOWN rtsp://h/h264_bframes.264 RTSP/1.0\r\nCSeq: 6\r\nSession: 0\r\n\r\n")


def config():
    readme = open(os.path.join(ROOT, "README.md")).read()
    for block in re.findall(r"```yaml\n(.*?)```", readme, re.S):
        seed("config_yaml", block)
    seed("config_yaml", "multicast: 232.1.0.0/24\nmulticast_ttl: 4\nmax_sessions: 10\n"
         "stall_timeout: 3\nrequest-timeout: 2\nuser: carol:pw\nbasic_auth: true\n")
    seed("config_yaml", "a: &a [1, 2]\nb: &b [*a, *a]\nusers: *b\n")


def depacketize():
    """RTP payloads of each fixture as the packetizer makes them (small
    MTU: fragmented units), after the line naming the stream."""
    scratch = tempfile.mkdtemp()
    try:
        for name in fixtures_with(".h264", ".264", ".h265", ".265", ".mp3", ".mp2", ".aac", ".wav"):
            if name.startswith("bad/"):
                continue
            pcap = os.path.join(scratch, "out.pcap")
            subprocess.run([MEDIATOOL, "packetize", "-q", "--no-rtsp", "--mtu", "400", "--track", "0",
                            os.path.join(FIXTURES, name), "-o", pcap], check=True)
            sdp = open(pcap[:-5] + ".sdp").read()
            rtpmap = re.search(r"a=rtpmap:\d+ (\S+)", sdp).group(1)
            fmtp = re.search(r"a=fmtp:\d+ (.+?)\r?\n", sdp)
            line = rtpmap + (" " + fmtp.group(1) if fmtp else "") + "\n"
            seed("depacketize", line.encode() + rtp_packets(open(pcap, "rb").read(), 48))
    finally:
        shutil.rmtree(scratch)


def rtp_packets(pcap, count):
    """The first `count` RTP packets of a pcap (Ethernet, IPv4, UDP to even
    ports), each as the depacketize target reads them."""
    out, pos, last_seq = b"", 24, None
    while pos + 16 <= len(pcap) and count > 0:
        incl = struct.unpack_from("<I", pcap, pos + 8)[0]
        frame = pcap[pos + 16:pos + 16 + incl]
        pos += 16 + incl
        ihl = (frame[14] & 15) * 4
        udp = frame[14 + ihl:]
        if struct.unpack_from(">H", udp, 2)[0] % 2:
            continue  # RTCP
        rtp = udp[8:]
        seq = struct.unpack_from(">H", rtp, 2)[0]
        csrc = rtp[0] & 15
        payload = rtp[12 + 4 * csrc:]
        flags = (rtp[1] >> 7) | (0x10 if last_seq is not None and rtp[1] >> 7 else 0)
        last_seq = seq
        out += struct.pack(">HB", len(payload), flags) + payload
        count -= 1
    return out


if __name__ == "__main__":
    shutil.rmtree(CORPUS, ignore_errors=True)
    readers()
    server()
    config()
    depacketize()
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(CORPUS) for f in fs)
    print(f"fuzz/corpus: {total} bytes")
