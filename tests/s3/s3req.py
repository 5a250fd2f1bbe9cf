#!/usr/bin/env python3
"""
tests/s3/s3req.py COMMAND ARGS: plain S3 requests for the tests (to set up
or change a bucket behind the drive's back, and to check what landed), signed
with SigV4 here: curl 7.88's --aws-sigv4 does not sign x-amz-content-sha256,
which RGW requires, and sorts no query string. Standard library only;
path-style URLs.

  ping                   signed ListBuckets: the gateway answers, keys work
  mb BUCKET              create a bucket
  rb BUCKET              delete an (empty) bucket
  put BUCKET KEY FILE [NAME=VALUE...]
                         upload FILE ("-": stdin) as KEY, with metadata
                         x-amz-meta-NAME: VALUE for each NAME=VALUE
  get BUCKET KEY FILE    download KEY to FILE ("-": stdout)
  rm BUCKET KEY          delete KEY (no error if it does not exist)
  ls BUCKET [PREFIX]     the keys under PREFIX, one a line, in order
  head BUCKET KEY        "size=N", "etag=E", "mtime=DATE" and "meta-NAME=V" lines
  uploads BUCKET         the multipart uploads in progress: "KEY PARTS" lines
  abort BUCKET           abort every multipart upload in progress
  purge BUCKET           delete its objects and multipart uploads, then it

Environment (tests/s3/server.sh's env file): CD_TEST_S3_ENDPOINT,
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION (default us-east-1).

Exit 0 on success, 3 if the bucket or key does not exist (HTTP 404),
2 on bad usage, 1 on any other error (the reason on stderr).
"""

import datetime
import hashlib
import hmac
import http.client
import os
import shutil
import sys
import tempfile
import urllib.parse
import xml.etree.ElementTree as ET

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
TIMEOUT = 60


class S3Error(Exception):
    def __init__(self, msg, status=0):
        super().__init__(msg)
        self.status = status


def quote(s, safe):
    return urllib.parse.quote(s, safe=safe)


def query_string(query):
    """The query, encoded and sorted as SigV4 and the URL both want."""
    return "&".join("%s=%s" % (quote(k, "-_.~"), quote(v, "-_.~"))
                    for k, v in sorted(query.items()))


def target(path, query):
    """The request target: the encoded path and query."""
    t = quote(path, "/-_.~")
    return t + "?" + query_string(query) if query else t


def signature(env, amz_date, canon):
    """SigV4 of a canonical request made at amz_date: (scope, signature)."""
    day = amz_date[:8]
    scope = "%s/%s/s3/aws4_request" % (day, env["region"])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canon.encode()).hexdigest()])
    key = ("AWS4" + env["secret"]).encode()
    for part in (day, env["region"], "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return scope, hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def sign(method, path, query, headers, payload_sha, env):
    """Add x-amz-date, x-amz-content-sha256 and Authorization to headers."""
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    headers["x-amz-date"] = amz_date
    headers["x-amz-content-sha256"] = payload_sha
    signed = sorted(k.lower() for k in headers)
    canon_headers = "".join(
        "%s:%s\n" % (k, " ".join(str(headers[h]).split()))
        for k in signed for h in headers if h.lower() == k)
    canon = "\n".join([method, quote(path, "/-_.~"), query_string(query),
                       canon_headers, ";".join(signed), payload_sha])
    scope, sig = signature(env, amz_date, canon)
    headers["Authorization"] = (
        "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s"
        % (env["access"], scope, ";".join(signed), sig))


def request(env, method, path, query=None, body=None, size=0, sha=None,
            out=None, extra=None):
    """
    One signed request; returns the response (read). body: a binary file
    object of size bytes whose sha256 is sha, or None. The response body is
    copied to out if given and the status is 2xx, else kept as resp.data.
    extra: more headers to send (signed). Raises S3Error on a status >= 300.
    """
    query = query or {}
    url = urllib.parse.urlsplit(env["endpoint"])
    headers = {"Host": url.netloc}
    headers.update(extra or {})
    if body is not None:
        headers["Content-Length"] = str(size)
    sign(method, path, query, headers, sha or EMPTY_SHA256, env)
    cls = (http.client.HTTPSConnection if url.scheme == "https"
           else http.client.HTTPConnection)
    conn = cls(url.hostname, url.port, timeout=TIMEOUT)
    try:
        conn.request(method, target(path, query), body=body,
                     headers=headers)
        resp = conn.getresponse()
        resp.data = b""
        if resp.status < 300 and out is not None:
            shutil.copyfileobj(resp, out, 1 << 20)
        else:
            resp.data = resp.read()
    except OSError as e:
        raise S3Error("%s %s: %s: %s" % (method, path, env["endpoint"], e))
    finally:
        conn.close()
    if resp.status >= 300:
        code = msg = ""
        try:
            root = ET.fromstring(resp.data)
            code = root.findtext("Code") or ""
            msg = root.findtext("Message") or ""
        except ET.ParseError:
            pass
        raise S3Error("%s %s: HTTP %d %s %s" % (method, path, resp.status,
                                              code, msg), resp.status)
    return resp


def file_sha(f):
    h = hashlib.sha256()
    size = 0
    while True:
        b = f.read(1 << 20)
        if not b:
            break
        h.update(b)
        size += len(b)
    f.seek(0)
    return size, h.hexdigest()


def cmd_put(env, bucket, key, name, *meta):
    extra = {}
    for m in meta:
        k, sep, v = m.partition("=")
        if not sep or not k:
            raise S3Error("put: metadata %r is not NAME=VALUE" % m)
        extra["x-amz-meta-" + k] = v
    if name == "-":
        # stdin may be a pipe: spool it, the signature needs its hash first
        with tempfile.TemporaryFile() as f:
            shutil.copyfileobj(sys.stdin.buffer, f)
            f.seek(0)
            size, sha = file_sha(f)
            request(env, "PUT", "/%s/%s" % (bucket, key), body=f,
                    size=size, sha=sha, extra=extra)
        return
    with open(name, "rb") as f:
        size, sha = file_sha(f)
        request(env, "PUT", "/%s/%s" % (bucket, key), body=f, size=size,
                sha=sha, extra=extra)


def cmd_get(env, bucket, key, name):
    if name == "-":
        request(env, "GET", "/%s/%s" % (bucket, key), out=sys.stdout.buffer)
        return
    # Into a temp file first: a failed GET leaves no partial FILE.
    d = os.path.dirname(os.path.abspath(name))
    with tempfile.NamedTemporaryFile(dir=d, delete=False) as f:
        try:
            request(env, "GET", "/%s/%s" % (bucket, key), out=f)
        except BaseException:
            os.unlink(f.name)
            raise
    os.replace(f.name, name)


def cmd_ls(env, bucket, prefix=""):
    query = {"list-type": "2", "prefix": prefix}
    while True:
        root = ET.fromstring(request(env, "GET", "/" + bucket, query).data)
        for c in root.iter(NS + "Contents"):
            print(c.findtext(NS + "Key"))
        token = root.findtext(NS + "NextContinuationToken")
        if root.findtext(NS + "IsTruncated") != "true" or not token:
            break
        query["continuation-token"] = token


def cmd_head(env, bucket, key):
    resp = request(env, "HEAD", "/%s/%s" % (bucket, key))
    print("size=%s" % resp.getheader("Content-Length"))
    print("etag=%s" % resp.getheader("ETag", "").strip('"'))
    print("mtime=%s" % resp.getheader("Last-Modified"))
    for name, value in sorted(resp.getheaders()):
        if name.lower().startswith("x-amz-meta-"):
            print("meta-%s=%s" % (name.lower()[len("x-amz-meta-"):], value))


def cmd_uploads(env, bucket):
    resp = request(env, "GET", "/" + bucket, {"uploads": ""})
    for u in ET.fromstring(resp.data).iter(NS + "Upload"):
        key = u.findtext(NS + "Key")
        parts = request(env, "GET", "/%s/%s" % (bucket, key),
                        {"uploadId": u.findtext(NS + "UploadId")})
        n = len(list(ET.fromstring(parts.data).iter(NS + "Part")))
        print("%s %d" % (key, n))


def cmd_abort(env, bucket):
    resp = request(env, "GET", "/" + bucket, {"uploads": ""})
    for u in ET.fromstring(resp.data).iter(NS + "Upload"):
        request(env, "DELETE", "/%s/%s" % (bucket, u.findtext(NS + "Key")),
                {"uploadId": u.findtext(NS + "UploadId")})


def cmd_purge(env, bucket):
    while True:
        resp = request(env, "GET", "/" + bucket, {"list-type": "2"})
        keys = [c.findtext(NS + "Key")
                for c in ET.fromstring(resp.data).iter(NS + "Contents")]
        if not keys:
            break
        for key in keys:
            request(env, "DELETE", "/%s/%s" % (bucket, key))
    cmd_abort(env, bucket)
    request(env, "DELETE", "/" + bucket)


COMMANDS = {
    # name: (number of arguments, optional ones, function)
    "ping": (0, 0, lambda env: request(env, "GET", "/")),
    "mb": (1, 0, lambda env, b: request(env, "PUT", "/" + b)),
    "rb": (1, 0, lambda env, b: request(env, "DELETE", "/" + b)),
    "put": (3, 8, cmd_put),
    "get": (3, 0, cmd_get),
    "rm": (2, 0, lambda env, b, k: request(env, "DELETE", "/%s/%s" % (b, k))),
    "ls": (1, 1, cmd_ls),
    "head": (2, 0, cmd_head),
    "uploads": (1, 0, cmd_uploads),
    "abort": (1, 0, cmd_abort),
    "purge": (1, 0, cmd_purge),
}


def env_of():
    """The server and keys, from the environment (KeyError if one is unset)."""
    return {
        "endpoint": os.environ["CD_TEST_S3_ENDPOINT"].rstrip("/"),
        "access": os.environ["AWS_ACCESS_KEY_ID"],
        "secret": os.environ["AWS_SECRET_ACCESS_KEY"],
        "region": os.environ.get("AWS_REGION") or "us-east-1",
    }


def run(argv, commands, doc, prog):
    """Runs the command argv names from the table commands; an exit code."""
    if len(argv) < 2 or argv[1] not in commands:
        sys.stderr.write(doc)
        return 2
    nargs, nopt, fn = commands[argv[1]]
    args = argv[2:]
    if not nargs <= len(args) <= nargs + nopt:
        sys.stderr.write("%s: %s takes %d argument(s)\n" % (prog, argv[1], nargs))
        return 2
    try:
        env = env_of()
    except KeyError as e:
        sys.stderr.write("%s: %s is not set (source the server's env)\n"
                         % (prog, e.args[0]))
        return 2
    try:
        fn(env, *args)
    except S3Error as e:
        sys.stderr.write("%s: %s\n" % (prog, e))
        return 3 if e.status == 404 else 1
    except (OSError, http.client.HTTPException) as e:
        sys.stderr.write("%s: %s\n" % (prog, e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv, COMMANDS, __doc__, "s3req"))
