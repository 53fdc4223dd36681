
use builtin;
use str;

set edit:completion:arg-completer[mediatool] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'mediatool'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'mediatool'= {
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for each request or step, -vv for everything'
            cand --verbose 'Print more: -v for each request or step, -vv for everything'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand serve 'Serve every media file under DIR over RTSP, on demand'
            cand probe 'Show a media file''s container, tracks, codec parameters, exact duration and frame counts, and the SDP that `serve` would send for it'
            cand packetize 'Write the RTP/RTCP packets that `serve` would send for FILE to a pcap'
            cand completions 'Print a shell completion script to stdout'
            cand man 'Print the man page (roff) to stdout'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'mediatool;serve'= {
            cand --port 'RTSP port [default: 554, or 8554 if 554 cannot be bound]'
            cand --bind 'Listen address [default: all interfaces, 0.0.0.0 and ::]'
            cand --config 'YAML configuration file; flags override it'
            cand --http-port 'RTSP-over-HTTP tunneling port, 0 = off [default: first of 80, 8000, 8080 that binds]'
            cand --tls-cert 'TLS certificate chain (PEM): enables RTSPS (and RTSP over HTTPS); re-read on SIGHUP'
            cand --tls-key 'TLS private key (PEM: RSA, ECDSA or Ed25519); re-read on SIGHUP'
            cand --tls-port 'RTSPS port [default: 322, or 8322 if 322 cannot be bound]'
            cand --user 'Require authentication as NAME:PASSWORD (repeatable)'
            cand --realm 'Digest authentication realm [default: mediatool]'
            cand --reclaim 'Idle session timeout in seconds, 0 = never [default: 65]'
            cand --multicast 'Offer multicast: each track a client sets up with multicast gets its own group of this IPv4 range, e.g. 239.255.42.0/24 [default: off, 461]'
            cand --multicast-ttl 'IP TTL of multicast packets [default: 1]'
            cand --admin 'Admin HTTP listener: /metrics, /healthz, /readyz, /api/v1/...; `off` disables it [default: 127.0.0.1:9090]'
            cand --ts-mode 'How transport streams (.ts, .m2ts) are served: one RTP stream per elementary stream, or the whole stream as one MP2T (RFC 2250) stream of TS packets paced by its PCR [default: tracks]'
            cand --pcm8 'How 8-bit PCM (8-bit WAV) is sent: widened to L16, which every client plays, or as L8 (RFC 3551), which ffmpeg cannot depacketize [default: l16]'
            cand --srtp 'SRTP (RTP/SAVP) media on RTSPS sessions, keys in the SDP (SDES and MIKEY) [default: on with --tls-cert]'
            cand --no-srtp 'Plain RTP media on RTSPS sessions'
            cand --loop 'Restart files at their end instead of ending the stream'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for each request or step, -vv for everything'
            cand --verbose 'Print more: -v for each request or step, -vv for everything'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mediatool;probe'= {
            cand --format 'Output format'
            cand --ts-mode 'Read a transport stream (.ts, .m2ts) as `serve --ts-mode` does: its elementary streams, or the whole stream as one MP2T stream [default: tracks]'
            cand --pcm8 'How 8-bit PCM is sent, as `serve --pcm8` says: widened to L16 or as L8 (the RTP line and the SDP follow it) [default: l16]'
            cand --sdp 'Print only the SDP that `serve` would send for this file'
            cand --srtp 'With --sdp: the SDP `serve` sends over RTSPS with SRTP (RTP/SAVP, a=crypto and a=key-mgmt), with a fresh random key and SSRCs (serve makes new ones per session)'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for each request or step, -vv for everything'
            cand --verbose 'Print more: -v for each request or step, -vv for everything'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mediatool;packetize'= {
            cand -o 'Capture file to write (`.pcapng` writes pcapng)'
            cand --output 'Capture file to write (`.pcapng` writes pcapng)'
            cand --sdp 'Also write the matching SDP here [default: OUT.sdp beside the pcap]'
            cand --dest 'Destination of track 0; track i uses PORT + 2*i, RTCP on +1'
            cand --multicast-ttl 'TTL of the packets when --dest is a multicast group [default: 1]'
            cand --source 'Source address of the packets'
            cand --mtu 'Largest IP packet in bytes'
            cand --track 'Only this track (repeatable) [default: all]'
            cand --ssrc 'SSRC of the first track, in hex [default: random]'
            cand --seq 'First RTP sequence number of the first track [default: random]'
            cand --timestamp 'RTP timestamp base of the first track: its RTP time when the first packet goes out [default: random]'
            cand --pt 'RTP payload type of the first track: 96-127, or its codec''s static one [default: per codec]'
            cand --start-time 'Capture time of the first packet, RFC 3339 [default: now]'
            cand --ts-mode 'How a transport stream (.ts, .m2ts) is sent: one RTP stream per elementary stream, or the whole stream as one MP2T (RFC 2250) stream of TS packets paced by its PCR [default: tracks]'
            cand --pcm8 'How 8-bit PCM (8-bit WAV) is sent, as `serve --pcm8` says: widened to L16, which every client plays, or as L8 (RFC 3551) [default: l16]'
            cand --no-rtsp 'Leave out the synthetic RTSP exchange that lets Wireshark decode the RTP streams'
            cand --srtp 'Write SRTP and SRTCP (AES_CM_128_HMAC_SHA1_80) under a fresh random key, given in the SDP as a=crypto and a=key-mgmt'
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for each request or step, -vv for everything'
            cand --verbose 'Print more: -v for each request or step, -vv for everything'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mediatool;completions'= {
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for each request or step, -vv for everything'
            cand --verbose 'Print more: -v for each request or step, -vv for everything'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mediatool;man'= {
            cand -q 'Print only errors'
            cand --quiet 'Print only errors'
            cand -v 'Print more: -v for each request or step, -vv for everything'
            cand --verbose 'Print more: -v for each request or step, -vv for everything'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'mediatool;help'= {
            cand serve 'Serve every media file under DIR over RTSP, on demand'
            cand probe 'Show a media file''s container, tracks, codec parameters, exact duration and frame counts, and the SDP that `serve` would send for it'
            cand packetize 'Write the RTP/RTCP packets that `serve` would send for FILE to a pcap'
            cand completions 'Print a shell completion script to stdout'
            cand man 'Print the man page (roff) to stdout'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'mediatool;help;serve'= {
        }
        &'mediatool;help;probe'= {
        }
        &'mediatool;help;packetize'= {
        }
        &'mediatool;help;completions'= {
        }
        &'mediatool;help;man'= {
        }
        &'mediatool;help;help'= {
        }
    ]
    $completions[$command]
}
