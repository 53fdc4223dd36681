# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_mediatool_global_optspecs
    string join \n q/quiet v/verbose h/help V/version
end

function __fish_mediatool_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_mediatool_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_mediatool_using_subcommand
    set -l cmd (__fish_mediatool_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c mediatool -n "__fish_mediatool_needs_command" -s q -l quiet -d 'Print only errors'
complete -c mediatool -n "__fish_mediatool_needs_command" -s v -l verbose -d 'Print more: -v for each request or step, -vv for everything'
complete -c mediatool -n "__fish_mediatool_needs_command" -s h -l help -d 'Print help'
complete -c mediatool -n "__fish_mediatool_needs_command" -s V -l version -d 'Print version'
complete -c mediatool -n "__fish_mediatool_needs_command" -f -a "serve" -d 'Serve every media file under DIR over RTSP, on demand'
complete -c mediatool -n "__fish_mediatool_needs_command" -f -a "probe" -d 'Show a media file\'s container, tracks, codec parameters, exact duration and frame counts, and the SDP that `serve` would send for it'
complete -c mediatool -n "__fish_mediatool_needs_command" -f -a "packetize" -d 'Write the RTP/RTCP packets that `serve` would send for FILE to a pcap'
complete -c mediatool -n "__fish_mediatool_needs_command" -f -a "completions" -d 'Print a shell completion script to stdout'
complete -c mediatool -n "__fish_mediatool_needs_command" -f -a "man" -d 'Print the man page (roff) to stdout'
complete -c mediatool -n "__fish_mediatool_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c mediatool -n "__fish_mediatool_using_subcommand serve" -l port -d 'RTSP port [default: 554, or 8554 if 554 cannot be bound]' -r
complete -c mediatool -n "__fish_mediatool_using_subcommand serve" -l bind -d 'Listen address [default: all interfaces, 0.0.0.0 and ::]' -r
complete -c mediatool -n "__fish_mediatool_using_subcommand serve" -l config -d 'YAML configuration file; flags override it' -r -F
complete -c mediatool -n "__fish_mediatool_using_subcommand serve" -l http-port -d 'RTSP-over-HTTP tunneling port, 0 = off [default: first of 80, 8000, 8080 that binds]' -r
complete -c mediatool -n "__fish_mediatool_using_subcommand serve" -l tls-cert -d 'TLS certificate chain (PEM): enables RTSPS (and RTSP over HTTPS); re-read on SIGHUP' -r -F
complete -c mediatool -n "__fish_mediatool_using_subcommand serve" -l tls-key -d 'TLS private key (PEM: RSA, ECDSA or Ed25519); re-read on SIGHUP' -r -F
complete -c mediatool -n "__fish_mediatool_using_subcommand serve" -l tls-port -d 'RTSPS port [default: 322, or 8322 if 322 cannot be bound]' -r
complete -c mediatool -n "__fish_mediatool_using_subcommand serve" -l user -d 'Require authentication as NAME:PASSWORD (repeatable)' -r
complete -c mediatool -n "__fish_mediatool_using_subcommand serve" -l realm -d 'Digest authentication realm [default: mediatool]' -r
complete -c mediatool -n "__fish_mediatool_using_subcommand serve" -l reclaim -d 'Idle session timeout in seconds, 0 = never [default: 65]' -r
complete -c mediatool -n "__fish_mediatool_using_subcommand serve" -l multicast -d 'Offer multicast: each track a client sets up with multicast gets its own group of this IPv4 range, e.g. 239.255.42.0/24 [default: off, 461]' -r
complete -c mediatool -n "__fish_mediatool_using_subcommand serve" -l multicast-ttl -d 'IP TTL of multicast packets [default: 1]' -r
complete -c mediatool -n "__fish_mediatool_using_subcommand serve" -l admin -d 'Admin HTTP listener: /metrics, /healthz, /readyz, /api/v1/...; `off` disables it [default: 127.0.0.1:9090]' -r
complete -c mediatool -n "__fish_mediatool_using_subcommand serve" -l ts-mode -d 'How transport streams (.ts, .m2ts) are served: one RTP stream per elementary stream, or the whole stream as one MP2T (RFC 2250) stream of TS packets paced by its PCR [default: tracks]' -r -f -a "tracks\t''
mp2t\t''"
complete -c mediatool -n "__fish_mediatool_using_subcommand serve" -l pcm8 -d 'How 8-bit PCM (8-bit WAV) is sent: widened to L16, which every client plays, or as L8 (RFC 3551), which ffmpeg cannot depacketize [default: l16]' -r -f -a "l16\t''
l8\t''"
complete -c mediatool -n "__fish_mediatool_using_subcommand serve" -l srtp -d 'SRTP (RTP/SAVP) media on RTSPS sessions, keys in the SDP (SDES and MIKEY) [default: on with --tls-cert]'
complete -c mediatool -n "__fish_mediatool_using_subcommand serve" -l no-srtp -d 'Plain RTP media on RTSPS sessions'
complete -c mediatool -n "__fish_mediatool_using_subcommand serve" -l loop -d 'Restart files at their end instead of ending the stream'
complete -c mediatool -n "__fish_mediatool_using_subcommand serve" -s q -l quiet -d 'Print only errors'
complete -c mediatool -n "__fish_mediatool_using_subcommand serve" -s v -l verbose -d 'Print more: -v for each request or step, -vv for everything'
complete -c mediatool -n "__fish_mediatool_using_subcommand serve" -s h -l help -d 'Print help'
complete -c mediatool -n "__fish_mediatool_using_subcommand serve" -s V -l version -d 'Print version'
complete -c mediatool -n "__fish_mediatool_using_subcommand probe" -l format -d 'Output format' -r -f -a "table\t'A human-readable table'
json\t'JSON (keys as in ffprobe where one exists)'
yaml\t'YAML, same keys as JSON'"
complete -c mediatool -n "__fish_mediatool_using_subcommand probe" -l ts-mode -d 'Read a transport stream (.ts, .m2ts) as `serve --ts-mode` does: its elementary streams, or the whole stream as one MP2T stream [default: tracks]' -r -f -a "tracks\t''
mp2t\t''"
complete -c mediatool -n "__fish_mediatool_using_subcommand probe" -l pcm8 -d 'How 8-bit PCM is sent, as `serve --pcm8` says: widened to L16 or as L8 (the RTP line and the SDP follow it) [default: l16]' -r -f -a "l16\t''
l8\t''"
complete -c mediatool -n "__fish_mediatool_using_subcommand probe" -l sdp -d 'Print only the SDP that `serve` would send for this file'
complete -c mediatool -n "__fish_mediatool_using_subcommand probe" -l srtp -d 'With --sdp: the SDP `serve` sends over RTSPS with SRTP (RTP/SAVP, a=crypto and a=key-mgmt), with a fresh random key and SSRCs (serve makes new ones per session)'
complete -c mediatool -n "__fish_mediatool_using_subcommand probe" -s q -l quiet -d 'Print only errors'
complete -c mediatool -n "__fish_mediatool_using_subcommand probe" -s v -l verbose -d 'Print more: -v for each request or step, -vv for everything'
complete -c mediatool -n "__fish_mediatool_using_subcommand probe" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mediatool -n "__fish_mediatool_using_subcommand probe" -s V -l version -d 'Print version'
complete -c mediatool -n "__fish_mediatool_using_subcommand packetize" -s o -l output -d 'Capture file to write (`.pcapng` writes pcapng)' -r -F
complete -c mediatool -n "__fish_mediatool_using_subcommand packetize" -l sdp -d 'Also write the matching SDP here [default: OUT.sdp beside the pcap]' -r -F
complete -c mediatool -n "__fish_mediatool_using_subcommand packetize" -l dest -d 'Destination of track 0; track i uses PORT + 2*i, RTCP on +1' -r
complete -c mediatool -n "__fish_mediatool_using_subcommand packetize" -l multicast-ttl -d 'TTL of the packets when --dest is a multicast group [default: 1]' -r
complete -c mediatool -n "__fish_mediatool_using_subcommand packetize" -l source -d 'Source address of the packets' -r
complete -c mediatool -n "__fish_mediatool_using_subcommand packetize" -l mtu -d 'Largest IP packet in bytes' -r
complete -c mediatool -n "__fish_mediatool_using_subcommand packetize" -l track -d 'Only this track (repeatable) [default: all]' -r
complete -c mediatool -n "__fish_mediatool_using_subcommand packetize" -l ssrc -d 'SSRC of the first track, in hex [default: random]' -r
complete -c mediatool -n "__fish_mediatool_using_subcommand packetize" -l seq -d 'First RTP sequence number of the first track [default: random]' -r
complete -c mediatool -n "__fish_mediatool_using_subcommand packetize" -l timestamp -d 'RTP timestamp base of the first track: its RTP time when the first packet goes out [default: random]' -r
complete -c mediatool -n "__fish_mediatool_using_subcommand packetize" -l pt -d 'RTP payload type of the first track: 96-127, or its codec\'s static one [default: per codec]' -r
complete -c mediatool -n "__fish_mediatool_using_subcommand packetize" -l start-time -d 'Capture time of the first packet, RFC 3339 [default: now]' -r
complete -c mediatool -n "__fish_mediatool_using_subcommand packetize" -l ts-mode -d 'How a transport stream (.ts, .m2ts) is sent: one RTP stream per elementary stream, or the whole stream as one MP2T (RFC 2250) stream of TS packets paced by its PCR [default: tracks]' -r -f -a "tracks\t''
mp2t\t''"
complete -c mediatool -n "__fish_mediatool_using_subcommand packetize" -l pcm8 -d 'How 8-bit PCM (8-bit WAV) is sent, as `serve --pcm8` says: widened to L16, which every client plays, or as L8 (RFC 3551) [default: l16]' -r -f -a "l16\t''
l8\t''"
complete -c mediatool -n "__fish_mediatool_using_subcommand packetize" -l no-rtsp -d 'Leave out the synthetic RTSP exchange that lets Wireshark decode the RTP streams'
complete -c mediatool -n "__fish_mediatool_using_subcommand packetize" -l srtp -d 'Write SRTP and SRTCP (AES_CM_128_HMAC_SHA1_80) under a fresh random key, given in the SDP as a=crypto and a=key-mgmt'
complete -c mediatool -n "__fish_mediatool_using_subcommand packetize" -s q -l quiet -d 'Print only errors'
complete -c mediatool -n "__fish_mediatool_using_subcommand packetize" -s v -l verbose -d 'Print more: -v for each request or step, -vv for everything'
complete -c mediatool -n "__fish_mediatool_using_subcommand packetize" -s h -l help -d 'Print help'
complete -c mediatool -n "__fish_mediatool_using_subcommand packetize" -s V -l version -d 'Print version'
complete -c mediatool -n "__fish_mediatool_using_subcommand completions" -s q -l quiet -d 'Print only errors'
complete -c mediatool -n "__fish_mediatool_using_subcommand completions" -s v -l verbose -d 'Print more: -v for each request or step, -vv for everything'
complete -c mediatool -n "__fish_mediatool_using_subcommand completions" -s h -l help -d 'Print help'
complete -c mediatool -n "__fish_mediatool_using_subcommand completions" -s V -l version -d 'Print version'
complete -c mediatool -n "__fish_mediatool_using_subcommand man" -s q -l quiet -d 'Print only errors'
complete -c mediatool -n "__fish_mediatool_using_subcommand man" -s v -l verbose -d 'Print more: -v for each request or step, -vv for everything'
complete -c mediatool -n "__fish_mediatool_using_subcommand man" -s h -l help -d 'Print help'
complete -c mediatool -n "__fish_mediatool_using_subcommand man" -s V -l version -d 'Print version'
complete -c mediatool -n "__fish_mediatool_using_subcommand help; and not __fish_seen_subcommand_from serve probe packetize completions man help" -f -a "serve" -d 'Serve every media file under DIR over RTSP, on demand'
complete -c mediatool -n "__fish_mediatool_using_subcommand help; and not __fish_seen_subcommand_from serve probe packetize completions man help" -f -a "probe" -d 'Show a media file\'s container, tracks, codec parameters, exact duration and frame counts, and the SDP that `serve` would send for it'
complete -c mediatool -n "__fish_mediatool_using_subcommand help; and not __fish_seen_subcommand_from serve probe packetize completions man help" -f -a "packetize" -d 'Write the RTP/RTCP packets that `serve` would send for FILE to a pcap'
complete -c mediatool -n "__fish_mediatool_using_subcommand help; and not __fish_seen_subcommand_from serve probe packetize completions man help" -f -a "completions" -d 'Print a shell completion script to stdout'
complete -c mediatool -n "__fish_mediatool_using_subcommand help; and not __fish_seen_subcommand_from serve probe packetize completions man help" -f -a "man" -d 'Print the man page (roff) to stdout'
complete -c mediatool -n "__fish_mediatool_using_subcommand help; and not __fish_seen_subcommand_from serve probe packetize completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
