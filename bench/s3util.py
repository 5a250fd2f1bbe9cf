#!/usr/bin/env python3
"""
bench/s3util.py COMMAND ARGS: the S3 requests of bench/s3.sh that
tests/s3/s3req.py does not make (its SigV4 signer is reused): the bucket's
data, made fast, and the "direct" anchors, the server's own speed with no
file system in between. Path-style URLs; the server from the environment
(tests/s3/server.sh's env file: CD_TEST_S3_ENDPOINT, AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_REGION).

  put BUCKET KEY FILE        upload FILE in one PUT, streamed (UNSIGNED-PAYLOAD),
                             with s3fs's metadata (x-amz-meta-mode 0100644,
                             x-amz-meta-mtime, uid, gid); prints "secs=S"
  fill BUCKET DIR N [THREADS]
                             the directory DIR/ as s3fs makes one (a zero-byte
                             "DIR/" object, mode 040755) and N one-byte objects
                             DIR/f0 .. DIR/f(N-1) with the same metadata as
                             put, THREADS requests at a time (default 32)
  randget BUCKET KEY N SEED  N ranged GETs of 4 KiB at the offsets randread.c
                             reads (same SEED, same size), one after the
                             other on one keep-alive connection; prints
                             "ops=N bytes=B secs=S ops_per_s=R sum=X" as
                             randread does (X: the same checksum)
  list BUCKET PREFIX         ListObjectsV2 of PREFIX with delimiter "/", all
                             pages; prints "keys=N secs=S": the number of
                             keys and prefixes (PREFIX itself, a directory
                             object, not counted)
  copy BUCKET SRC DST        CopyObject SRC to DST in the bucket (one
                             request); prints "secs=S"
  copymany BUCKET SRC PREFIX FIRST END [THREADS]
                             CopyObject SRC to PREFIX{FIRST} ..
                             PREFIX{END-1} (metadata copied too), THREADS
                             requests at a time (default 8)

The times printed are of the requests alone (from the connection's opening to
the last response), not of the interpreter's start.
  presign BUCKET KEY         a presigned GET URL (1 h), for curl

Exit 0 on success, 3 if the bucket or key does not exist (HTTP 404), 1 on
any other error (the reason on stderr), 2 on bad usage.
"""

import concurrent.futures
import http.client
import os
import struct
import sys
import time
import urllib.parse
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "s3"))
import s3req  # noqa: E402  (tests/s3/s3req.py: sign, request, S3Error)

BLK = 4096
MASK = (1 << 64) - 1
UNSIGNED = "UNSIGNED-PAYLOAD"


def connect(env):
    url = urllib.parse.urlsplit(env["endpoint"])
    cls = (http.client.HTTPSConnection if url.scheme == "https"
           else http.client.HTTPConnection)
    return url, cls(url.hostname, url.port, timeout=300, blocksize=1 << 20)


def call(env, conn, url, method, path, query=None, headers=None, body=None,
         size=0, sha=None, ok=(200,)):
    """One signed request on conn (kept open); returns (status, headers, data)."""
    query = query or {}
    h = {"Host": url.netloc}
    h.update(headers or {})
    if body is not None:
        h["Content-Length"] = str(size)
    s3req.sign(method, path, query, h, sha or s3req.EMPTY_SHA256, env)
    conn.request(method, s3req.target(path, query), body=body, headers=h)
    resp = conn.getresponse()
    data = resp.read()
    if resp.status not in ok:
        raise s3req.S3Error("%s %s: HTTP %d %s" % (method, path, resp.status,
                                                 data[:300]), resp.status)
    return resp.status, resp, data


def s3fs_meta(mode):
    return {"x-amz-meta-mode": str(mode),
            "x-amz-meta-mtime": str(int(time.time())),
            "x-amz-meta-uid": "0", "x-amz-meta-gid": "0"}


def cmd_put(env, bucket, key, name):
    size = os.path.getsize(name)
    with open(name, "rb") as f:
        t0 = time.monotonic()
        url, conn = connect(env)
        call(env, conn, url, "PUT", "/%s/%s" % (bucket, key),
             headers=s3fs_meta(0o100644), body=f, size=size, sha=UNSIGNED)
        secs = time.monotonic() - t0
    conn.close()
    print("secs=%.6f" % secs)


def cmd_fill(env, bucket, d, n, threads="32"):
    n, threads = int(n), int(threads)
    d = d.strip("/")
    jobs = [("%s/" % d, b"", 0o40755, "application/x-directory")]
    jobs += [("%s/f%d" % (d, i), b"x", 0o100644, "application/octet-stream")
             for i in range(n)]

    def worker(part):
        url, conn = connect(env)
        for key, data, mode, ctype in part:
            h = s3fs_meta(mode)
            h["Content-Type"] = ctype
            for attempt in range(5):
                try:
                    call(env, conn, url, "PUT", "/%s/%s" % (bucket, key),
                         headers=h, body=data, size=len(data),
                         sha=s3req.hashlib.sha256(data).hexdigest())
                    break
                except (OSError, http.client.HTTPException):
                    if attempt == 4:
                        raise
                    conn.close()
                    url, conn = connect(env)
        conn.close()

    parts = [jobs[i::threads] for i in range(threads)]
    with concurrent.futures.ThreadPoolExecutor(threads) as ex:
        for fut in [ex.submit(worker, p) for p in parts]:
            fut.result()


def offsets(size, n, seed):
    """The offsets randread.c reads: splitmix64 from SEED."""
    state = int(seed) & MASK
    nblocks = size // BLK
    for _ in range(n):
        state = (state + 0x9e3779b97f4a7c15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & MASK
        z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & MASK
        z ^= z >> 31
        yield (z % nblocks) * BLK


def block_sum(buf):
    return sum(struct.unpack("<%dQ" % (BLK // 8), buf)) & MASK


def cmd_randget(env, bucket, key, n, seed):
    n = int(n)
    url, conn = connect(env)
    path = "/%s/%s" % (bucket, key)
    _, resp, _ = call(env, conn, url, "HEAD", path)
    size = int(resp.getheader("Content-Length"))
    offs = list(offsets(size, n, seed))
    blocks = []
    t0 = time.monotonic()
    for off in offs:
        _, _, data = call(env, conn, url, "GET", path, ok=(206,), headers={
            "Range": "bytes=%d-%d" % (off, off + BLK - 1)})
        if len(data) != BLK:
            raise s3req.S3Error("GET %s at %d: %d bytes" % (path, off,
                                                           len(data)))
        blocks.append(data)
    secs = time.monotonic() - t0
    conn.close()
    total = 0
    for i, b in enumerate(blocks):
        total = (total + (i + 1) * block_sum(b)) & MASK
    print("ops=%d bytes=%d secs=%.6f ops_per_s=%.1f sum=%016x"
          % (n, n * BLK, secs, n / secs, total))


def cmd_list(env, bucket, prefix):
    t0 = time.monotonic()
    url, conn = connect(env)
    q = {"list-type": "2", "prefix": prefix, "delimiter": "/"}
    count = 0
    while True:
        _, _, data = call(env, conn, url, "GET", "/" + bucket, q)
        root = ET.fromstring(data)
        # the directory object PREFIX itself is not an entry of it
        count += sum(1 for c in root.iter(s3req.NS + "Contents")
                     if c.findtext(s3req.NS + "Key") != prefix)
        count += len(root.findall(s3req.NS + "CommonPrefixes"))
        token = root.findtext(s3req.NS + "NextContinuationToken")
        if root.findtext(s3req.NS + "IsTruncated") != "true" or not token:
            break
        q["continuation-token"] = token
    secs = time.monotonic() - t0
    conn.close()
    print("keys=%d secs=%.6f" % (count, secs))


def cmd_copy(env, bucket, src, dst):
    t0 = time.monotonic()
    url, conn = connect(env)
    _, _, data = call(env, conn, url, "PUT", "/%s/%s" % (bucket, dst),
                      headers={"x-amz-copy-source": "/%s/%s" % (bucket, src)})
    # a copy can fail after its 200: the error is then in the body
    if b"<Error>" in data:
        raise s3req.S3Error("copy %s to %s: %s" % (src, dst, data[:300]))
    secs = time.monotonic() - t0
    conn.close()
    print("secs=%.6f" % secs)


def cmd_copymany(env, bucket, src, prefix, first, end, threads="8"):
    first, end, threads = int(first), int(end), int(threads)

    def worker(part):
        url, conn = connect(env)
        for i in part:
            _, _, data = call(env, conn, url, "PUT",
                              "/%s/%s%d" % (bucket, prefix, i),
                              headers={"x-amz-copy-source":
                                       "/%s/%s" % (bucket, src)})
            if b"<Error>" in data:
                raise s3req.S3Error("copy %s to %s%d: %s"
                                    % (src, prefix, i, data[:300]))
        conn.close()

    numbers = list(range(first, end))
    parts = [numbers[i::threads] for i in range(threads)]
    with concurrent.futures.ThreadPoolExecutor(threads) as ex:
        for fut in [ex.submit(worker, p) for p in parts if p]:
            fut.result()


def cmd_presign(env, bucket, key):
    import datetime
    url = urllib.parse.urlsplit(env["endpoint"])
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    scope = "%s/%s/s3/aws4_request" % (amz_date[:8], env["region"])
    q = {"X-Amz-Algorithm": "AWS4-HMAC-SHA256",
         "X-Amz-Credential": "%s/%s" % (env["access"], scope),
         "X-Amz-Date": amz_date, "X-Amz-Expires": "3600",
         "X-Amz-SignedHeaders": "host"}
    cq = s3req.query_string(q)
    path = s3req.quote("/%s/%s" % (bucket, key), "/-_.~")
    canon = "\n".join(["GET", path, cq, "host:%s\n" % url.netloc, "host",
                       UNSIGNED])
    _, sig = s3req.signature(env, amz_date, canon)
    print("%s%s?%s&X-Amz-Signature=%s" % (env["endpoint"], path, cq, sig))


COMMANDS = {
    "put": (3, 0, cmd_put),
    "fill": (3, 1, cmd_fill),
    "randget": (4, 0, cmd_randget),
    "list": (2, 0, cmd_list),
    "copy": (3, 0, cmd_copy),
    "copymany": (5, 1, cmd_copymany),
    "presign": (2, 0, cmd_presign),
}


if __name__ == "__main__":
    sys.exit(s3req.run(sys.argv, COMMANDS, __doc__, "s3util"))
