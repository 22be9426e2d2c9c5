#!/usr/bin/env python3
"""Signed calls to nodepool-sim (or the real clouds) with nothing but the Python standard library.

  sim-call.py huawei METHOD PATH [JSON_BODY]      # SDK-HMAC-SHA256 with the demo AK/SK
  sim-call.py ens ACTION [Name=Value ...]         # Alibaba RPC, V1 HMAC-SHA1 signature

Environment: SIM_URL (default http://127.0.0.1:8787), HUAWEI_AK / HUAWEI_SK,
ALIBABA_AK / ALIBABA_SECRET (default: the simulator's demo identities).
"""
import base64
import datetime
import hashlib
import hmac
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid

URL = os.environ.get("SIM_URL", "http://127.0.0.1:8787").rstrip("/")


def quote(s):
    return urllib.parse.quote(s, safe="-_.~")


def huawei(method, path_and_query, body=""):
    ak = os.environ.get("HUAWEI_AK", "SIMHUAWEIAK000000001")
    sk = os.environ.get("HUAWEI_SK", "sim-huawei-secret-key")
    parsed = urllib.parse.urlsplit(path_and_query)
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    host = urllib.parse.urlsplit(URL).netloc
    headers = {"content-type": "application/json", "host": host, "x-sdk-date": date}
    uri = "/".join(quote(urllib.parse.unquote(seg)) for seg in parsed.path.split("/"))
    if not uri.endswith("/"):
        uri += "/"
    pairs = sorted(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
    query = "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs)
    signed = ";".join(sorted(headers))
    canonical = "\n".join([
        method, uri, query,
        "".join(f"{k}:{headers[k].strip()}\n" for k in sorted(headers)),
        signed, hashlib.sha256(body.encode()).hexdigest(),
    ])
    to_sign = f"SDK-HMAC-SHA256\n{date}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    signature = hmac.new(sk.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = f"SDK-HMAC-SHA256 Access={ak}, SignedHeaders={signed}, Signature={signature}"
    del headers["host"]
    return send(method, URL + path_and_query, headers, body.encode() if body else None)


def ens(action, params):
    key_id = os.environ.get("ALIBABA_AK", "LTAISIMULATOR0000000001")
    secret = os.environ.get("ALIBABA_SECRET", "sim-alibaba-secret")
    params = dict(params)
    params.update({
        "Action": action, "Version": "2017-11-10", "Format": "JSON", "AccessKeyId": key_id,
        "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0",
        "SignatureNonce": str(uuid.uuid4()),
        "Timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    })
    canonical = "&".join(f"{quote(k)}={quote(v)}" for k, v in sorted(params.items()))
    to_sign = "POST&%2F&" + quote(canonical)
    digest = hmac.new((secret + "&").encode(), to_sign.encode(), hashlib.sha1).digest()
    params["Signature"] = base64.b64encode(digest).decode()
    query = "&".join(f"{quote(k)}={quote(v)}" for k, v in params.items())
    return send("POST", f"{URL}/?{query}", {}, None)


def send(method, url, headers, data):
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    print(status)
    print(json.dumps(json.loads(body), indent=2, ensure_ascii=False))
    return 0 if status < 400 else 1


def main(argv):
    if len(argv) >= 3 and argv[0] == "huawei":
        return huawei(argv[1].upper(), argv[2], argv[3] if len(argv) > 3 else "")
    if len(argv) >= 2 and argv[0] == "ens":
        return ens(argv[1], [p.split("=", 1) for p in argv[2:]])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
