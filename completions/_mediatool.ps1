
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'mediatool' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'mediatool'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'mediatool' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: -v for each request or step, -vv for everything')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: -v for each request or step, -vv for everything')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Serve every media file under DIR over RTSP, on demand')
            [CompletionResult]::new('probe', 'probe', [CompletionResultType]::ParameterValue, 'Show a media file''s container, tracks, codec parameters, exact duration and frame counts, and the SDP that `serve` would send for it')
            [CompletionResult]::new('packetize', 'packetize', [CompletionResultType]::ParameterValue, 'Write the RTP/RTCP packets that `serve` would send for FILE to a pcap')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script to stdout')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff) to stdout')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'mediatool;serve' {
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'RTSP port [default: 554, or 8554 if 554 cannot be bound]')
            [CompletionResult]::new('--bind', '--bind', [CompletionResultType]::ParameterName, 'Listen address [default: all interfaces, 0.0.0.0 and ::]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'YAML configuration file; flags override it')
            [CompletionResult]::new('--http-port', '--http-port', [CompletionResultType]::ParameterName, 'RTSP-over-HTTP tunneling port, 0 = off [default: first of 80, 8000, 8080 that binds]')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'TLS certificate chain (PEM): enables RTSPS (and RTSP over HTTPS); re-read on SIGHUP')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'TLS private key (PEM: RSA, ECDSA or Ed25519); re-read on SIGHUP')
            [CompletionResult]::new('--tls-port', '--tls-port', [CompletionResultType]::ParameterName, 'RTSPS port [default: 322, or 8322 if 322 cannot be bound]')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Require authentication as NAME:PASSWORD (repeatable)')
            [CompletionResult]::new('--realm', '--realm', [CompletionResultType]::ParameterName, 'Digest authentication realm [default: mediatool]')
            [CompletionResult]::new('--reclaim', '--reclaim', [CompletionResultType]::ParameterName, 'Idle session timeout in seconds, 0 = never [default: 65]')
            [CompletionResult]::new('--multicast', '--multicast', [CompletionResultType]::ParameterName, 'Offer multicast: each track a client sets up with multicast gets its own group of this IPv4 range, e.g. 239.255.42.0/24 [default: off, 461]')
            [CompletionResult]::new('--multicast-ttl', '--multicast-ttl', [CompletionResultType]::ParameterName, 'IP TTL of multicast packets [default: 1]')
            [CompletionResult]::new('--admin', '--admin', [CompletionResultType]::ParameterName, 'Admin HTTP listener: /metrics, /healthz, /readyz, /api/v1/...; `off` disables it [default: 127.0.0.1:9090]')
            [CompletionResult]::new('--ts-mode', '--ts-mode', [CompletionResultType]::ParameterName, 'How transport streams (.ts, .m2ts) are served: one RTP stream per elementary stream, or the whole stream as one MP2T (RFC 2250) stream of TS packets paced by its PCR [default: tracks]')
            [CompletionResult]::new('--pcm8', '--pcm8', [CompletionResultType]::ParameterName, 'How 8-bit PCM (8-bit WAV) is sent: widened to L16, which every client plays, or as L8 (RFC 3551), which ffmpeg cannot depacketize [default: l16]')
            [CompletionResult]::new('--srtp', '--srtp', [CompletionResultType]::ParameterName, 'SRTP (RTP/SAVP) media on RTSPS sessions, keys in the SDP (SDES and MIKEY) [default: on with --tls-cert]')
            [CompletionResult]::new('--no-srtp', '--no-srtp', [CompletionResultType]::ParameterName, 'Plain RTP media on RTSPS sessions')
            [CompletionResult]::new('--loop', '--loop', [CompletionResultType]::ParameterName, 'Restart files at their end instead of ending the stream')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: -v for each request or step, -vv for everything')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: -v for each request or step, -vv for everything')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mediatool;probe' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--ts-mode', '--ts-mode', [CompletionResultType]::ParameterName, 'Read a transport stream (.ts, .m2ts) as `serve --ts-mode` does: its elementary streams, or the whole stream as one MP2T stream [default: tracks]')
            [CompletionResult]::new('--pcm8', '--pcm8', [CompletionResultType]::ParameterName, 'How 8-bit PCM is sent, as `serve --pcm8` says: widened to L16 or as L8 (the RTP line and the SDP follow it) [default: l16]')
            [CompletionResult]::new('--sdp', '--sdp', [CompletionResultType]::ParameterName, 'Print only the SDP that `serve` would send for this file')
            [CompletionResult]::new('--srtp', '--srtp', [CompletionResultType]::ParameterName, 'With --sdp: the SDP `serve` sends over RTSPS with SRTP (RTP/SAVP, a=crypto and a=key-mgmt), with a fresh random key and SSRCs (serve makes new ones per session)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: -v for each request or step, -vv for everything')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: -v for each request or step, -vv for everything')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mediatool;packetize' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Capture file to write (`.pcapng` writes pcapng)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Capture file to write (`.pcapng` writes pcapng)')
            [CompletionResult]::new('--sdp', '--sdp', [CompletionResultType]::ParameterName, 'Also write the matching SDP here [default: OUT.sdp beside the pcap]')
            [CompletionResult]::new('--dest', '--dest', [CompletionResultType]::ParameterName, 'Destination of track 0; track i uses PORT + 2*i, RTCP on +1')
            [CompletionResult]::new('--multicast-ttl', '--multicast-ttl', [CompletionResultType]::ParameterName, 'TTL of the packets when --dest is a multicast group [default: 1]')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Source address of the packets')
            [CompletionResult]::new('--mtu', '--mtu', [CompletionResultType]::ParameterName, 'Largest IP packet in bytes')
            [CompletionResult]::new('--track', '--track', [CompletionResultType]::ParameterName, 'Only this track (repeatable) [default: all]')
            [CompletionResult]::new('--ssrc', '--ssrc', [CompletionResultType]::ParameterName, 'SSRC of the first track, in hex [default: random]')
            [CompletionResult]::new('--seq', '--seq', [CompletionResultType]::ParameterName, 'First RTP sequence number of the first track [default: random]')
            [CompletionResult]::new('--timestamp', '--timestamp', [CompletionResultType]::ParameterName, 'RTP timestamp base of the first track: its RTP time when the first packet goes out [default: random]')
            [CompletionResult]::new('--pt', '--pt', [CompletionResultType]::ParameterName, 'RTP payload type of the first track: 96-127, or its codec''s static one [default: per codec]')
            [CompletionResult]::new('--start-time', '--start-time', [CompletionResultType]::ParameterName, 'Capture time of the first packet, RFC 3339 [default: now]')
            [CompletionResult]::new('--ts-mode', '--ts-mode', [CompletionResultType]::ParameterName, 'How a transport stream (.ts, .m2ts) is sent: one RTP stream per elementary stream, or the whole stream as one MP2T (RFC 2250) stream of TS packets paced by its PCR [default: tracks]')
            [CompletionResult]::new('--pcm8', '--pcm8', [CompletionResultType]::ParameterName, 'How 8-bit PCM (8-bit WAV) is sent, as `serve --pcm8` says: widened to L16, which every client plays, or as L8 (RFC 3551) [default: l16]')
            [CompletionResult]::new('--no-rtsp', '--no-rtsp', [CompletionResultType]::ParameterName, 'Leave out the synthetic RTSP exchange that lets Wireshark decode the RTP streams')
            [CompletionResult]::new('--srtp', '--srtp', [CompletionResultType]::ParameterName, 'Write SRTP and SRTCP (AES_CM_128_HMAC_SHA1_80) under a fresh random key, given in the SDP as a=crypto and a=key-mgmt')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: -v for each request or step, -vv for everything')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: -v for each request or step, -vv for everything')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mediatool;completions' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: -v for each request or step, -vv for everything')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: -v for each request or step, -vv for everything')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mediatool;man' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more: -v for each request or step, -vv for everything')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more: -v for each request or step, -vv for everything')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'mediatool;help' {
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Serve every media file under DIR over RTSP, on demand')
            [CompletionResult]::new('probe', 'probe', [CompletionResultType]::ParameterValue, 'Show a media file''s container, tracks, codec parameters, exact duration and frame counts, and the SDP that `serve` would send for it')
            [CompletionResult]::new('packetize', 'packetize', [CompletionResultType]::ParameterValue, 'Write the RTP/RTCP packets that `serve` would send for FILE to a pcap')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script to stdout')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff) to stdout')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'mediatool;help;serve' {
            break
        }
        'mediatool;help;probe' {
            break
        }
        'mediatool;help;packetize' {
            break
        }
        'mediatool;help;completions' {
            break
        }
        'mediatool;help;man' {
            break
        }
        'mediatool;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
