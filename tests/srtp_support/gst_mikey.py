#!/usr/bin/python3
"""Parse a MIKEY message with GStreamer's own parser and print what it read.

Usage: gst_mikey.py BASE64

Two paths, as a GStreamer client takes them:
- gst_mikey_message_new_from_data (libgstsdp), through ctypes: PyGObject
  cannot pass the NULL GstMIKEYDecryptInfo the C API accepts. The header,
  crypto session map and payloads are read with libgstsdp's accessors and
  the public struct layouts of gstmikey.h (x86-64).
- gst_sdp_media_attributes_to_caps on an SDP media section carrying
  a=key-mgmt:mikey, through PyGObject: what rtspsrc does with a DESCRIBE
  answer (the srtp-key, srtp-cipher, srtp-auth... it gives srtpdec).

Prints one JSON object. Needs python3-gi, gir1.2-gstreamer-1.0 and
gir1.2-gst-plugins-base-1.0 (run with /usr/bin/python3).
"""

import base64
import ctypes
import json
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSdp", "1.0")
from gi.repository import Gst, GstSdp  # noqa: E402

MINI_OBJECT = 64  # sizeof(GstMiniObject)
PAYLOAD = MINI_OBJECT + 8  # sizeof(GstMIKEYPayload): type, len
KEMAC, T, SP, RAND = 1, 5, 10, 11


def u8(p, off):
    return ctypes.c_uint8.from_address(p + off).value


def u16(p, off):
    return ctypes.c_uint16.from_address(p + off).value


def u32(p, off):
    return ctypes.c_uint32.from_address(p + off).value


def ptr(p, off):
    return ctypes.c_void_p.from_address(p + off).value


def read(p, n):
    return bytes(ctypes.string_at(p, n)) if n else b""


def parse(lib, data):
    fn = lib.gst_mikey_message_new_from_data
    fn.restype = ctypes.c_void_p
    fn.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_void_p]
    msg = fn(data, len(data), None, None)
    if not msg:
        return None
    for name, res in [
        ("gst_mikey_message_get_n_cs", ctypes.c_uint),
        ("gst_mikey_message_get_n_payloads", ctypes.c_uint),
        ("gst_mikey_message_get_cs_srtp", ctypes.c_void_p),
        ("gst_mikey_message_get_payload", ctypes.c_void_p),
        ("gst_mikey_payload_sp_get_n_params", ctypes.c_uint),
        ("gst_mikey_payload_sp_get_param", ctypes.c_void_p),
        ("gst_mikey_payload_kemac_get_n_sub", ctypes.c_uint),
        ("gst_mikey_payload_kemac_get_sub", ctypes.c_void_p),
    ]:
        getattr(lib, name).restype = res
        getattr(lib, name).argtypes = [ctypes.c_void_p] + (
            [ctypes.c_uint] if "get_n" not in name else []
        )
    # GstMIKEYMessage: mini object, guint8 version, type, V, prf_func,
    # CSB_id, map_type (enums and gboolean are 4 bytes).
    out = {
        "version": u8(msg, MINI_OBJECT),
        "type": u32(msg, MINI_OBJECT + 4),
        "V": u32(msg, MINI_OBJECT + 8),
        "prf": u32(msg, MINI_OBJECT + 12),
        "csb_id": u32(msg, MINI_OBJECT + 16),
        "map_type": u32(msg, MINI_OBJECT + 20),
        "cs": [],
        "payloads": [],
    }
    for i in range(lib.gst_mikey_message_get_n_cs(msg)):
        cs = lib.gst_mikey_message_get_cs_srtp(msg, i)  # guint8, guint32, guint32
        out["cs"].append({"policy": u8(cs, 0), "ssrc": u32(cs, 4), "roc": u32(cs, 8)})
    for i in range(lib.gst_mikey_message_get_n_payloads(msg)):
        p = lib.gst_mikey_message_get_payload(msg, i)
        kind = u32(p, MINI_OBJECT)
        entry = {"type": kind}
        if kind == T:
            entry["ts_type"] = u32(p, PAYLOAD)
        elif kind == RAND:
            entry["len"] = u8(p, PAYLOAD)
        elif kind == SP:
            entry["policy"] = u32(p, PAYLOAD)
            entry["proto"] = u32(p, PAYLOAD + 4)
            params = []
            for j in range(lib.gst_mikey_payload_sp_get_n_params(p)):
                q = lib.gst_mikey_payload_sp_get_param(p, j)  # type, len, *val
                params.append([u8(q, 0), read(ptr(q, 8), u8(q, 1)).hex()])
            entry["params"] = params
        elif kind == KEMAC:
            entry["enc_alg"] = u32(p, PAYLOAD)
            entry["mac_alg"] = u32(p, PAYLOAD + 4)
            subs = []
            for j in range(lib.gst_mikey_payload_kemac_get_n_sub(p)):
                k = lib.gst_mikey_payload_kemac_get_sub(p, j)
                # GstMIKEYPayloadKeyData: key_type, guint16 key_len, *key_data,
                # guint16 salt_len, *salt_data, kv_type, guint8 kv_len[2], *kv_data[2]
                subs.append(
                    {
                        "key_type": u32(k, PAYLOAD),
                        "key": read(ptr(k, PAYLOAD + 8), u16(k, PAYLOAD + 4)).hex(),
                        "salt_len": u16(k, PAYLOAD + 16),
                        "kv_type": u32(k, PAYLOAD + 32),
                        "spi": read(ptr(k, PAYLOAD + 40), u8(k, PAYLOAD + 36)).hex(),
                    }
                )
            entry["subpayloads"] = subs
        out["payloads"].append(entry)
    return out


def caps_from_sdp(b64):
    sdp = (
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
        "m=audio 0 RTP/SAVP 96\r\na=rtpmap:96 L16/8000\r\n"
        "a=key-mgmt:mikey " + b64 + "\r\n"
    )
    res, message = GstSdp.SDPMessage.new_from_text(sdp)
    if res != GstSdp.SDPResult.OK:
        return None
    caps = Gst.Caps.new_empty_simple("application/x-srtp")
    if message.get_media(0).attributes_to_caps(caps) != GstSdp.SDPResult.OK:
        return None
    s = caps.get_structure(0)
    fields = {}
    for name in ["srtp-cipher", "srtp-auth", "srtcp-cipher", "srtcp-auth"]:
        if s.has_field(name):
            fields[name] = s.get_string(name)
    if s.has_field("srtp-key"):
        buf = s.get_value("srtp-key")
        fields["srtp-key"] = buf.extract_dup(0, buf.get_size()).hex()
    fields["mki"] = s.has_field("mki")
    return fields


def main():
    Gst.init(None)
    b64 = sys.argv[1]
    lib = ctypes.CDLL("libgstsdp-1.0.so.0")
    print(json.dumps({"message": parse(lib, base64.b64decode(b64)), "caps": caps_from_sdp(b64)}))


if __name__ == "__main__":
    main()
